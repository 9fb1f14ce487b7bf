-- SSH keys, SQLite flavour. Keep in step with migrations/postgres/0003_ssh_keys.sql.
-- ssh_keys: public keys users log in to the SSH gateway with. The identity of an SSH client is the owner of the key
-- whose signature the gateway verified, so a fingerprint belongs to exactly one user.
-- ssh_host_keys: the target host key pinned for an SSH connection (trust on first use, or set by an admin);
-- a target presenting another key is refused.

CREATE TABLE ssh_keys (
    -- `SHA256:...` as `ssh-keygen -l` prints it; the lookup key of authentication.
    fingerprint   TEXT NOT NULL PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT,
    -- `ssh-ed25519 AAAA...`, without comment.
    public_key    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
) STRICT;

CREATE INDEX ssh_keys_by_user ON ssh_keys (user_id, created_at);

CREATE TABLE ssh_host_keys (
    connection_id  BLOB NOT NULL PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    public_key     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    pinned_at      TEXT NOT NULL
) STRICT;
