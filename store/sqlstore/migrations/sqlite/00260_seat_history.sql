-- +goose Up
-- Seat history (history.go): per product the counters at the end of each
-- bucket in which they changed, at three levels: 0 a second, 1 an hour,
-- 2 a day (bucket = its start, unix seconds). Every write that changes a
-- product's counters upserts its three rows in its own transaction; peak is
-- the highest consumed count a change in the bucket left.
CREATE TABLE seat_history (
    product_id INTEGER NOT NULL,
    level      INTEGER NOT NULL,
    bucket     INTEGER NOT NULL,
    tenant_id  INTEGER NOT NULL,
    enabled    INTEGER NOT NULL,
    consumed   INTEGER NOT NULL,
    waiting    INTEGER NOT NULL,
    peak       INTEGER NOT NULL,
    PRIMARY KEY (product_id, level, bucket)
) WITHOUT ROWID;

-- The first points: every product's counters when the feature first runs.
INSERT INTO seat_history (product_id, level, bucket, tenant_id, enabled, consumed, waiting, peak)
SELECT p.id, l.level, (CAST(strftime('%s', 'now') AS INTEGER) / l.size) * l.size, p.tenant_id,
       p.enabled_units, p.consumed_units, p.waiting_units, p.consumed_units
FROM products p, (SELECT 0 AS level, 1 AS size UNION ALL SELECT 1, 3600 UNION ALL SELECT 2, 86400) l;

-- A product's unit price for cost reports (reports.go): an amount in
-- minor units (cents) per seat and term, a currency and an optional end
-- of the commitment.
CREATE TABLE product_prices (
    product_id     INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    unit_price     INTEGER NOT NULL,
    term           TEXT NOT NULL,
    commitment_end INTEGER,
    updated_at     INTEGER NOT NULL
);

-- +goose Down
DROP TABLE product_prices;
DROP TABLE seat_history;
