-- +goose Up
-- PostgreSQL mirror of migrations/sqlite/00190_change_batches.sql.
CREATE TABLE directory_change_batches (
    id        BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    users     BYTEA NOT NULL
);
CREATE INDEX directory_change_batches_tenant ON directory_change_batches (tenant_id, seq);

-- +goose Down
DROP TABLE directory_change_batches;
