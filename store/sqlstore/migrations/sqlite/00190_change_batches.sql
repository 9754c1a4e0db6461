-- +goose Up
-- The users whose license states one write changed, in one row per write
-- (users: their internal ids, sorted, as unsigned varint differences), so
-- that a group batch of 25,000 members writes one row instead of 25,000.
-- A delta reader expands the rows below its watermark into
-- directory_changes (delta_batches.go) before it reads the feed.
CREATE TABLE directory_change_batches (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    users     BLOB NOT NULL
);
CREATE INDEX directory_change_batches_tenant ON directory_change_batches (tenant_id, seq);

-- +goose Down
DROP TABLE directory_change_batches;
