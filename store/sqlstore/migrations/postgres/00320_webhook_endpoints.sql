-- +goose Up
-- PostgreSQL mirror of migrations/sqlite/00320_webhook_endpoints.sql.
CREATE TABLE webhook_endpoints (
    id          BIGSERIAL PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    tenant_id   BIGINT NOT NULL,
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_outbox (
    id           BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL,
    endpoint_id  BIGINT NOT NULL,
    tenant_id    BIGINT NOT NULL,
    event_type   TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    state        BIGINT NOT NULL DEFAULT 0,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt);
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint_id);

CREATE TABLE webhook_attempts (
    id          BIGSERIAL PRIMARY KEY,
    outbox_id   BIGINT NOT NULL,
    endpoint_id BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    http_status BIGINT NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    next_retry  BIGINT NOT NULL DEFAULT 0,
    state       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);

-- An alert rule may send its firing and resolved through an endpoint
-- (0: none).
ALTER TABLE alert_rules ADD COLUMN webhook_endpoint_id BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alert_rules DROP COLUMN webhook_endpoint_id;
DROP TABLE webhook_attempts;
DROP TABLE webhook_outbox;
DROP TABLE webhook_endpoints;
