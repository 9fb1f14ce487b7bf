-- External identities and login sessions, SQLite flavour. Keep in step with migrations/postgres/0004_identities.sql.
-- identities: a user of an OpenID provider, known by (provider name, `sub`), linked to the sluice user created for it
-- at first login (just-in-time provisioning). The provider groups seen at the last login are kept for display.
-- login_sessions: marks the tokens issued by a login (rather than `sluice token create`) and records the identity
-- and groups they were issued for. The token itself (hash, expiry, revocation) stays in `tokens`.

CREATE TABLE identities (
    provider         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email            TEXT,
    provider_groups  TEXT NOT NULL DEFAULT '[]' CHECK (json_type(provider_groups) = 'array'),
    created_at       TEXT NOT NULL,
    last_login_at    TEXT NOT NULL,
    PRIMARY KEY (provider, subject)
) STRICT;

CREATE INDEX identities_by_user ON identities (user_id);

CREATE TABLE login_sessions (
    token_id    BLOB NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    provider    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    groups      TEXT NOT NULL DEFAULT '[]' CHECK (json_type(groups) = 'array'),
    created_at  TEXT NOT NULL
) STRICT;
