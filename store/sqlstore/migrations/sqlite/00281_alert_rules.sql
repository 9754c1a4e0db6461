-- +goose Up
-- Alert rules on seats (alerts/): per product (product_id) or for the
-- whole tenant (product_id 0), a metric (0 available seats ≤ threshold,
-- 1 utilisation ≥ threshold percent, 2 waiting list > threshold), where to
-- send (a webhook URL, e-mail addresses comma-separated), and the episode:
-- firing 1 from the check that found the condition until the one that
-- found it gone; changed_at is when it last turned.
CREATE TABLE alert_rules (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    product_id  INTEGER NOT NULL DEFAULT 0,
    metric      INTEGER NOT NULL,
    threshold   REAL NOT NULL,
    webhook_url TEXT NOT NULL DEFAULT '',
    emails      TEXT NOT NULL DEFAULT '',
    firing      INTEGER NOT NULL DEFAULT 0,
    changed_at  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX alert_rules_tenant ON alert_rules (tenant_id, id);

-- +goose Down
DROP TABLE alert_rules;
