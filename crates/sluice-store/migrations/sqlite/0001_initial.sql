-- sluice state store, SQLite flavour. Keep in step with migrations/postgres/0001_initial.sql: the same tables,
-- columns and constraints, in each backend's native types. STRICT tables make SQLite enforce the column types.
-- Ids are UUIDs stored as 16-byte blobs; timestamps are UTC RFC 3339 text with exactly six fractional digits,
-- so that text order is time order; group lists and options are JSON text.

CREATE TABLE users (
    id          BLOB    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('human', 'service')),
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'auditor', 'user')),
    groups      TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(groups) = 'array'),
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at  TEXT    NOT NULL
) STRICT;

CREATE TABLE tokens (
    id              BLOB NOT NULL PRIMARY KEY,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT,
    -- SHA-256 of the token text; the unique index is the authentication lookup.
    hash            BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    display_prefix  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT,
    revoked_at      TEXT,
    last_used_at    TEXT
) STRICT;

CREATE INDEX tokens_by_user ON tokens (user_id, created_at);

CREATE TABLE connections (
    id                 BLOB    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    protocol           TEXT    NOT NULL CHECK (protocol IN ('postgres', 'mysql', 'ssh', 'http')),
    host               TEXT    NOT NULL,
    port               INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username           TEXT,
    dbname             TEXT,
    groups             TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(groups) = 'array'),
    credential_kind    TEXT    CHECK (credential_kind IN ('password', 'private_key')),
    -- XChaCha20-Poly1305 blob sealed with the master key, bound to the connection name. Never plaintext.
    credential_sealed  BLOB,
    options            TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(options) = 'object'),
    created_at         TEXT    NOT NULL,
    CHECK ((credential_kind IS NULL) = (credential_sealed IS NULL))
) STRICT;

CREATE TABLE policies (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL
) STRICT;

-- Append-only. No foreign key to users: the log must outlive the users it mentions.
CREATE TABLE audit (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL CHECK (actor_name <> ''),
    actor_id    BLOB,
    address     TEXT,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX audit_by_time ON audit (at);

-- Small facts about the store itself, such as the master key check.
CREATE TABLE meta (
    key    TEXT NOT NULL PRIMARY KEY,
    value  BLOB NOT NULL
) STRICT;
