-- Just-in-time approvals, PostgreSQL flavour. Keep in step with migrations/sqlite/0005_reviews.sql.
-- No foreign keys to users, sessions or connections: a review is evidence and must outlive what it mentions.

-- One statement held for approval (or approved after its hold timed out).
CREATE TABLE reviews (
    id                  TEXT        NOT NULL PRIMARY KEY,
    status              TEXT        NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    -- The statement as the client sent it, and the hex SHA-256 of its normalised text (what a grant matches).
    statement           TEXT        NOT NULL,
    statement_hash      TEXT        NOT NULL CHECK (statement_hash ~ '^[0-9a-f]{64}$'),
    parameters          JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parameters) = 'array'),
    user_id             UUID        NOT NULL,
    user_name           TEXT        NOT NULL,
    connection_name     TEXT        NOT NULL,
    session_id          UUID,
    rule                TEXT        NOT NULL,
    reason              TEXT        NOT NULL,
    justification       TEXT,
    approver_groups     JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(approver_groups) = 'array'),
    approvals_required  BIGINT      NOT NULL CHECK (approvals_required >= 1),
    admins_may_approve  BOOLEAN     NOT NULL,
    -- Every vote, in order: [{"approver_id", "approver", "approve", "comment", "at"}].
    decisions           JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(decisions) = 'array'),
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL,
    decided_at          TIMESTAMPTZ,
    -- An approval grants one execution of this statement hash to this user on this connection until then.
    grant_window_secs   BIGINT      NOT NULL CHECK (grant_window_secs >= 0),
    grant_until         TIMESTAMPTZ,
    grant_used_at       TIMESTAMPTZ
);

CREATE INDEX reviews_by_time ON reviews (created_at);
CREATE INDEX reviews_by_status ON reviews (status, created_at);
CREATE INDEX reviews_grants ON reviews (user_id, connection_name, statement_hash, status);

-- Time-bound access to a connection.
CREATE TABLE access_requests (
    id                  TEXT        NOT NULL PRIMARY KEY,
    status              TEXT        NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    user_id             UUID        NOT NULL,
    user_name           TEXT        NOT NULL,
    connection_name     TEXT        NOT NULL,
    duration_secs       BIGINT      NOT NULL CHECK (duration_secs > 0),
    reason              TEXT        NOT NULL,
    approver_groups     JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(approver_groups) = 'array'),
    admins_may_approve  BOOLEAN     NOT NULL,
    decisions           JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(decisions) = 'array'),
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL,
    decided_at          TIMESTAMPTZ,
    -- Set on approval: access lasts until then.
    grant_until         TIMESTAMPTZ
);

CREATE INDEX access_requests_by_time ON access_requests (created_at);
CREATE INDEX access_requests_grants ON access_requests (user_id, connection_name, status);

-- Outgoing webhook attempts, for admins to read.
CREATE TABLE webhook_deliveries (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    event        TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    url          TEXT        NOT NULL,
    attempt      BIGINT      NOT NULL CHECK (attempt >= 1),
    status_code  BIGINT,
    ok           BOOLEAN     NOT NULL,
    error        TEXT
);

CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at);
