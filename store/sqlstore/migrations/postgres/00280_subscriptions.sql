-- +goose Up
-- PostgreSQL mirror of migrations/sqlite/00280_subscriptions.sql.
CREATE TABLE subscriptions (
    id                  BIGSERIAL PRIMARY KEY,
    guid                TEXT NOT NULL UNIQUE,
    tenant_id           BIGINT NOT NULL,
    resource            TEXT NOT NULL,
    change_type         TEXT NOT NULL,
    notification_url    TEXT NOT NULL,
    lifecycle_url       TEXT NOT NULL DEFAULT '',
    client_state        TEXT NOT NULL DEFAULT '',
    tls_version         TEXT NOT NULL DEFAULT 'v1_2',
    application_id      TEXT NOT NULL DEFAULT '',
    creator_id          TEXT NOT NULL DEFAULT '',
    expiration          BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    feed_from           BIGINT NOT NULL,
    feed_to             BIGINT NOT NULL,
    feed_after          TEXT NOT NULL DEFAULT '',
    lease_owner         TEXT NOT NULL DEFAULT '',
    lease_until         BIGINT NOT NULL DEFAULT 0,
    next_attempt        BIGINT NOT NULL DEFAULT 0,
    failures            BIGINT NOT NULL DEFAULT 0,
    last_error          TEXT NOT NULL DEFAULT '',
    delivered           BIGINT NOT NULL DEFAULT 0,
    reauth_sent         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, id);
CREATE INDEX subscriptions_due ON subscriptions (next_attempt);

-- +goose Down
DROP TABLE subscriptions;
