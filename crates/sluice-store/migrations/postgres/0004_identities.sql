-- External identities and login sessions, PostgreSQL flavour. Keep in step with migrations/sqlite/0004_identities.sql.

CREATE TABLE identities (
    provider         TEXT        NOT NULL,
    subject          TEXT        NOT NULL,
    user_id          UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email            TEXT,
    provider_groups  JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(provider_groups) = 'array'),
    created_at       TIMESTAMPTZ NOT NULL,
    last_login_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE INDEX identities_by_user ON identities (user_id);

CREATE TABLE login_sessions (
    token_id    UUID        NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    provider    TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    groups      JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(groups) = 'array'),
    created_at  TIMESTAMPTZ NOT NULL
);
