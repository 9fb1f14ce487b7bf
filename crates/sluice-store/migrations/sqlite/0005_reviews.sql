-- Just-in-time approvals, SQLite flavour. Keep in step with migrations/postgres/0005_reviews.sql.
-- No foreign keys to users, sessions or connections: a review is evidence and must outlive what it mentions.

-- One statement held for approval (or approved after its hold timed out).
CREATE TABLE reviews (
    id                  TEXT    NOT NULL PRIMARY KEY,
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    -- The statement as the client sent it, and the hex SHA-256 of its normalised text (what a grant matches).
    statement           TEXT    NOT NULL,
    statement_hash      TEXT    NOT NULL CHECK (length(statement_hash) = 64),
    parameters          TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(parameters) = 'array'),
    user_id             BLOB    NOT NULL,
    user_name           TEXT    NOT NULL,
    connection_name     TEXT    NOT NULL,
    session_id          BLOB,
    rule                TEXT    NOT NULL,
    reason              TEXT    NOT NULL,
    justification       TEXT,
    approver_groups     TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(approver_groups) = 'array'),
    approvals_required  INTEGER NOT NULL CHECK (approvals_required >= 1),
    admins_may_approve  INTEGER NOT NULL CHECK (admins_may_approve IN (0, 1)),
    -- Every vote, in order: [{"approver_id", "approver", "approve", "comment", "at"}].
    decisions           TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(decisions) = 'array'),
    created_at          TEXT    NOT NULL,
    expires_at          TEXT    NOT NULL,
    decided_at          TEXT,
    -- An approval grants one execution of this statement hash to this user on this connection until then.
    grant_window_secs   INTEGER NOT NULL CHECK (grant_window_secs >= 0),
    grant_until         TEXT,
    grant_used_at       TEXT
) STRICT;

CREATE INDEX reviews_by_time ON reviews (created_at);
CREATE INDEX reviews_by_status ON reviews (status, created_at);
CREATE INDEX reviews_grants ON reviews (user_id, connection_name, statement_hash, status);

-- Time-bound access to a connection.
CREATE TABLE access_requests (
    id                  TEXT    NOT NULL PRIMARY KEY,
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    user_id             BLOB    NOT NULL,
    user_name           TEXT    NOT NULL,
    connection_name     TEXT    NOT NULL,
    duration_secs       INTEGER NOT NULL CHECK (duration_secs > 0),
    reason              TEXT    NOT NULL,
    approver_groups     TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(approver_groups) = 'array'),
    admins_may_approve  INTEGER NOT NULL CHECK (admins_may_approve IN (0, 1)),
    decisions           TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(decisions) = 'array'),
    created_at          TEXT    NOT NULL,
    expires_at          TEXT    NOT NULL,
    decided_at          TEXT,
    -- Set on approval: access lasts until then.
    grant_until         TEXT
) STRICT;

CREATE INDEX access_requests_by_time ON access_requests (created_at);
CREATE INDEX access_requests_grants ON access_requests (user_id, connection_name, status);

-- Outgoing webhook attempts, for admins to read.
CREATE TABLE webhook_deliveries (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at           TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    status_code  INTEGER,
    ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error        TEXT
) STRICT;

CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at);
