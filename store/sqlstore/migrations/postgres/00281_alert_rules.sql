-- +goose Up
-- PostgreSQL mirror of migrations/sqlite/00281_alert_rules.sql.
CREATE TABLE alert_rules (
    id          BIGSERIAL PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    tenant_id   BIGINT NOT NULL,
    name        TEXT NOT NULL,
    product_id  BIGINT NOT NULL DEFAULT 0,
    metric      BIGINT NOT NULL,
    threshold   DOUBLE PRECISION NOT NULL,
    webhook_url TEXT NOT NULL DEFAULT '',
    emails      TEXT NOT NULL DEFAULT '',
    firing      BIGINT NOT NULL DEFAULT 0,
    changed_at  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX alert_rules_tenant ON alert_rules (tenant_id, id);

-- +goose Down
DROP TABLE alert_rules;
