-- sluice state store, PostgreSQL flavour. Keep in step with migrations/sqlite/0001_initial.sql: the same tables,
-- columns and constraints, in each backend's native types.

CREATE TABLE users (
    id          UUID        NOT NULL PRIMARY KEY,
    name        TEXT        NOT NULL UNIQUE,
    kind        TEXT        NOT NULL CHECK (kind IN ('human', 'service')),
    role        TEXT        NOT NULL CHECK (role IN ('admin', 'auditor', 'user')),
    groups      JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(groups) = 'array'),
    disabled    BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE tokens (
    id              UUID        NOT NULL PRIMARY KEY,
    user_id         UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT,
    -- SHA-256 of the token text; the unique index is the authentication lookup.
    hash            BYTEA       NOT NULL UNIQUE CHECK (length(hash) = 32),
    display_prefix  TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ,
    last_used_at    TIMESTAMPTZ
);

CREATE INDEX tokens_by_user ON tokens (user_id, created_at);

CREATE TABLE connections (
    id                 UUID        NOT NULL PRIMARY KEY,
    name               TEXT        NOT NULL UNIQUE,
    protocol           TEXT        NOT NULL CHECK (protocol IN ('postgres', 'mysql', 'ssh', 'http')),
    host               TEXT        NOT NULL,
    port               INTEGER     NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username           TEXT,
    dbname             TEXT,
    groups             JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(groups) = 'array'),
    credential_kind    TEXT        CHECK (credential_kind IN ('password', 'private_key')),
    -- XChaCha20-Poly1305 blob sealed with the master key, bound to the connection name. Never plaintext.
    credential_sealed  BYTEA,
    options            JSONB       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    created_at         TIMESTAMPTZ NOT NULL,
    CHECK ((credential_kind IS NULL) = (credential_sealed IS NULL))
);

CREATE TABLE policies (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL
);

-- Append-only. No foreign key to users: the log must outlive the users it mentions.
CREATE TABLE audit (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_name  TEXT        NOT NULL CHECK (actor_name <> ''),
    actor_id    UUID,
    address     TEXT,
    action      TEXT        NOT NULL,
    target      TEXT        NOT NULL,
    detail      JSONB       NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_by_time ON audit (at);

-- Small facts about the store itself, such as the master key check.
CREATE TABLE meta (
    key    TEXT  NOT NULL PRIMARY KEY,
    value  BYTEA NOT NULL
);
