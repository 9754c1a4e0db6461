-- +goose Up
-- License pools (allotments, docs/design.md rule 16): part of a product's
-- seats reserved for the users of a scope, a group (transitively) or a
-- department value (scope_group_id 0). Consumption is not stored: it is
-- counted from license_states when a snapshot is loaded.
CREATE TABLE license_pools (
    id               BIGSERIAL PRIMARY KEY,
    tenant_id        BIGINT NOT NULL,
    guid             TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    product_id       BIGINT NOT NULL,
    allotted_units   BIGINT NOT NULL,
    allows_borrowing BIGINT NOT NULL DEFAULT 0,
    scope_group_id   BIGINT NOT NULL DEFAULT 0,
    scope_department TEXT NOT NULL DEFAULT '',
    manager_user_id  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX license_pools_tenant ON license_pools (tenant_id, product_id);

-- +goose Down
DROP TABLE license_pools;
