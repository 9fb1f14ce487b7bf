-- The sessions index, SQLite flavour. Keep in step with migrations/postgres/0002_sessions.sql.
-- One row per proxied session; the session's recording (under the data directory) is the evidence, this row is how
-- it is found. No foreign keys to users or connections: the index must outlive what it mentions.

CREATE TABLE sessions (
    id               BLOB    NOT NULL PRIMARY KEY,
    user_id          BLOB    NOT NULL,
    user_name        TEXT    NOT NULL,
    token_id         BLOB,
    connection_name  TEXT    NOT NULL,
    protocol         TEXT    NOT NULL CHECK (protocol IN ('postgres', 'mysql', 'ssh', 'http')),
    client_addr      TEXT    NOT NULL,
    tls              INTEGER NOT NULL CHECK (tls IN (0, 1)),
    recording_path   TEXT    NOT NULL,
    started_at       TEXT    NOT NULL,
    -- Counters: bumped while the session runs, final when it closes. Unsigned values saturate at 2^63 - 1.
    statements       INTEGER NOT NULL DEFAULT 0 CHECK (statements >= 0),
    bytes_client     INTEGER NOT NULL DEFAULT 0 CHECK (bytes_client >= 0),
    bytes_target     INTEGER NOT NULL DEFAULT 0 CHECK (bytes_target >= 0),
    ended_at         TEXT,
    -- Lower-case hex SHA-256 of the recording's last record: proves the tail of the recording.
    final_hash       TEXT    CHECK (length(final_hash) = 64 AND final_hash NOT GLOB '*[^0-9a-f]*'),
    error            TEXT,
    CHECK (ended_at IS NOT NULL OR (final_hash IS NULL AND error IS NULL))
) STRICT;

CREATE INDEX sessions_by_time ON sessions (started_at);
CREATE INDEX sessions_by_user ON sessions (user_id, started_at);
CREATE INDEX sessions_by_user_name ON sessions (user_name, started_at);
CREATE INDEX sessions_by_connection ON sessions (connection_name, started_at);
