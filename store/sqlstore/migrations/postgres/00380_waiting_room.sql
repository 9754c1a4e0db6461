-- +goose Up
-- A group assignment's fallback chain (docs/design.md, rule 16): the
-- products a member gets instead of product_id, in position order, while
-- it waits for a seat of it.
CREATE TABLE group_license_fallbacks (
    group_id    BIGINT NOT NULL,
    product_id  BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    fallback_id BIGINT NOT NULL,
    tenant_id   BIGINT NOT NULL,
    PRIMARY KEY (group_id, product_id, position)
);
CREATE INDEX group_license_fallbacks_tenant ON group_license_fallbacks (tenant_id);

-- 1: the group's members wait ahead of others (rule 17).
ALTER TABLE dir_groups ADD COLUMN waiting_vip BIGINT NOT NULL DEFAULT 0;

-- The last time an admin moved a waiter up, and why (shown in the waiting room).
CREATE TABLE waiting_moves (
    product_id BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    tenant_id  BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    moved_at   BIGINT NOT NULL,
    PRIMARY KEY (product_id, user_id)
);

-- +goose Down
DROP TABLE waiting_moves;
ALTER TABLE dir_groups DROP COLUMN waiting_vip;
DROP TABLE group_license_fallbacks;
