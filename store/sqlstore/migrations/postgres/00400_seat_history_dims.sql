-- +goose Up
-- Seat history per group, department and usage location (history_dims.go).
-- seat_dim_counts holds the current counts per product × dimension value
-- (kind 1 a group, key its internal id; 2 a department; 3 a usage
-- location), changed by every licensing plan in its transaction;
-- seat_dim_history holds their points per second, hour and day like
-- seat_history (enabled seats are the product's, read from seat_history).
CREATE TABLE seat_dim_counts (
    product_id BIGINT NOT NULL,
    kind       SMALLINT NOT NULL,
    key        TEXT NOT NULL,
    tenant_id  BIGINT NOT NULL,
    consumed   INTEGER NOT NULL,
    waiting    INTEGER NOT NULL,
    PRIMARY KEY (product_id, kind, key)
);

CREATE TABLE seat_dim_history (
    product_id BIGINT NOT NULL,
    kind       SMALLINT NOT NULL,
    key        TEXT NOT NULL,
    level      SMALLINT NOT NULL,
    bucket     BIGINT NOT NULL,
    tenant_id  BIGINT NOT NULL,
    consumed   INTEGER NOT NULL,
    waiting    INTEGER NOT NULL,
    peak       INTEGER NOT NULL,
    PRIMARY KEY (product_id, kind, key, level, bucket)
);

-- The counts as they are when the feature first runs.
INSERT INTO seat_dim_counts (product_id, kind, key, tenant_id, consumed, waiting)
SELECT ls.product_id, 2, u.department, u.tenant_id,
       COUNT(DISTINCT CASE WHEN ls.state = 'Active' THEN ls.user_id END),
       COUNT(DISTINCT CASE WHEN ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption') THEN ls.user_id END)
FROM license_states ls JOIN users u ON u.id = ls.user_id GROUP BY ls.product_id, u.department, u.tenant_id;
INSERT INTO seat_dim_counts (product_id, kind, key, tenant_id, consumed, waiting)
SELECT ls.product_id, 3, u.usage_location, u.tenant_id,
       COUNT(DISTINCT CASE WHEN ls.state = 'Active' THEN ls.user_id END),
       COUNT(DISTINCT CASE WHEN ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption') THEN ls.user_id END)
FROM license_states ls JOIN users u ON u.id = ls.user_id GROUP BY ls.product_id, u.usage_location, u.tenant_id;
INSERT INTO seat_dim_counts (product_id, kind, key, tenant_id, consumed, waiting)
SELECT ls.product_id, 1, ls.source_id::text, u.tenant_id,
       SUM(CASE WHEN ls.state = 'Active' THEN 1 ELSE 0 END),
       SUM(CASE WHEN ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption') THEN 1 ELSE 0 END)
FROM license_states ls JOIN users u ON u.id = ls.user_id WHERE ls.source_id <> 0 GROUP BY ls.product_id, ls.source_id, u.tenant_id;
INSERT INTO seat_dim_history (product_id, kind, key, level, bucket, tenant_id, consumed, waiting, peak)
SELECT c.product_id, c.kind, c.key, l.level, (floor(extract(epoch FROM now()))::bigint / l.size) * l.size, c.tenant_id,
       c.consumed, c.waiting, c.consumed
FROM seat_dim_counts c, (VALUES (0, 1), (1, 3600), (2, 86400)) AS l (level, size);

-- Whether the seat history was backfilled from the audit log (one row once
-- done; history_backfill.go).
CREATE TABLE seat_history_backfill (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    done_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE seat_history_backfill;
DROP TABLE seat_dim_history;
DROP TABLE seat_dim_counts;
