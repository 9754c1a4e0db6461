-- +goose Up
-- Plain webhook endpoints (POST /allot/v1/webhookEndpoints) and their
-- outbox: each event for an endpoint is one webhook_outbox row, written in
-- the transaction that causes it, holding the CloudEvent exactly as sent
-- (its id stays the same across retries). The events dispatcher claims due
-- rows with a lease like subscriptions (lease_owner, lease_until, ms),
-- retries with backoff (next_attempt, ms) and dead-letters a row after its
-- last attempt: state 0 pending, 1 delivered, 2 dead-lettered.
-- webhook_attempts is the delivery log: one row per attempt, http_status 0
-- when no answer came (error says why), next_retry 0 when none follows.
CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL,
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_outbox (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL,
    endpoint_id  INTEGER NOT NULL,
    tenant_id    INTEGER NOT NULL,
    event_type   TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    state        INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt);
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint_id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL,
    endpoint_id INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    http_status INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    next_retry  INTEGER NOT NULL DEFAULT 0,
    state       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);

-- An alert rule may send its firing and resolved through an endpoint
-- (0: none).
ALTER TABLE alert_rules ADD COLUMN webhook_endpoint_id INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alert_rules DROP COLUMN webhook_endpoint_id;
DROP TABLE webhook_attempts;
DROP TABLE webhook_outbox;
DROP TABLE webhook_endpoints;
