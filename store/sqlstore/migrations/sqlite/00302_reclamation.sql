-- +goose Up
-- Reclamation: when a user was disabled (0: enabled, or unknown: then the
-- user's creation counts), the rules, the notices given and the runs.
ALTER TABLE users ADD COLUMN disabled_since BIGINT NOT NULL DEFAULT 0;
CREATE TABLE reclaim_rules (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    display_name   TEXT NOT NULL,
    product_id     BIGINT NOT NULL,
    disabled_for   BIGINT NOT NULL,
    notice         BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX reclaim_rules_tenant ON reclaim_rules (tenant_id);
CREATE TABLE reclaim_notices (
    rule_id    BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    tenant_id  BIGINT NOT NULL,
    noticed_at BIGINT NOT NULL,
    PRIMARY KEY (rule_id, user_id)
);
CREATE TABLE reclaim_runs (
    id        INTEGER PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    rule_id   BIGINT NOT NULL,
    ran_at    BIGINT NOT NULL,
    noticed   BIGINT NOT NULL,
    reclaimed BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    skipped   BIGINT NOT NULL
);
CREATE INDEX reclaim_runs_tenant ON reclaim_runs (tenant_id, id);

-- +goose Down
DROP TABLE reclaim_runs;
DROP TABLE reclaim_notices;
DROP TABLE reclaim_rules;
ALTER TABLE users DROP COLUMN disabled_since;
