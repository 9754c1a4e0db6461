-- +goose Up
-- Seat history (history.go): per product the counters at the end of each
-- bucket in which they changed, at three levels: 0 a second, 1 an hour,
-- 2 a day (bucket = its start, unix seconds). Every write that changes a
-- product's counters upserts its three rows in its own transaction; peak is
-- the highest consumed count a change in the bucket left.
CREATE TABLE seat_history (
    product_id BIGINT NOT NULL,
    level      SMALLINT NOT NULL,
    bucket     BIGINT NOT NULL,
    tenant_id  BIGINT NOT NULL,
    enabled    INTEGER NOT NULL,
    consumed   INTEGER NOT NULL,
    waiting    INTEGER NOT NULL,
    peak       INTEGER NOT NULL,
    PRIMARY KEY (product_id, level, bucket)
);

-- The first points: every product's counters when the feature first runs.
INSERT INTO seat_history (product_id, level, bucket, tenant_id, enabled, consumed, waiting, peak)
SELECT p.id, l.level, (floor(extract(epoch FROM now()))::bigint / l.size) * l.size, p.tenant_id,
       p.enabled_units, p.consumed_units, p.waiting_units, p.consumed_units
FROM products p, (VALUES (0, 1), (1, 3600), (2, 86400)) AS l (level, size);

-- A product's unit price for cost reports (reports.go): an amount in
-- minor units (cents) per seat and term, a currency and an optional end
-- of the commitment.
CREATE TABLE product_prices (
    product_id     BIGINT PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    unit_price     BIGINT NOT NULL,
    term           TEXT NOT NULL,
    commitment_end BIGINT,
    updated_at     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE product_prices;
DROP TABLE seat_history;
