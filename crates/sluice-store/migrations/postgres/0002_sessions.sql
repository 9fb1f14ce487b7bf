-- The sessions index, PostgreSQL flavour. Keep in step with migrations/sqlite/0002_sessions.sql.
-- One row per proxied session; the session's recording (under the data directory) is the evidence, this row is how
-- it is found. No foreign keys to users or connections: the index must outlive what it mentions.

CREATE TABLE sessions (
    id               UUID        NOT NULL PRIMARY KEY,
    user_id          UUID        NOT NULL,
    user_name        TEXT        NOT NULL,
    token_id         UUID,
    connection_name  TEXT        NOT NULL,
    protocol         TEXT        NOT NULL CHECK (protocol IN ('postgres', 'mysql', 'ssh', 'http')),
    client_addr      TEXT        NOT NULL,
    tls              BOOLEAN     NOT NULL,
    recording_path   TEXT        NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    -- Counters: bumped while the session runs, final when it closes. Unsigned values saturate at 2^63 - 1.
    statements       BIGINT      NOT NULL DEFAULT 0 CHECK (statements >= 0),
    bytes_client     BIGINT      NOT NULL DEFAULT 0 CHECK (bytes_client >= 0),
    bytes_target     BIGINT      NOT NULL DEFAULT 0 CHECK (bytes_target >= 0),
    ended_at         TIMESTAMPTZ,
    -- Lower-case hex SHA-256 of the recording's last record: proves the tail of the recording.
    final_hash       TEXT        CHECK (final_hash ~ '^[0-9a-f]{64}$'),
    error            TEXT,
    CHECK (ended_at IS NOT NULL OR (final_hash IS NULL AND error IS NULL))
);

CREATE INDEX sessions_by_time ON sessions (started_at);
CREATE INDEX sessions_by_user ON sessions (user_id, started_at);
CREATE INDEX sessions_by_user_name ON sessions (user_name, started_at);
CREATE INDEX sessions_by_connection ON sessions (connection_name, started_at);
