-- +goose Up
-- When assignments end (unix ms). A direct assignment's end is kept beside
-- its license state (the state is the intent); a group assignment's on its
-- group_licenses row (0: it does not end). The reconciler takes ended
-- assignments away (ExpireDue) and gives their seats to the waiters.
CREATE TABLE direct_ends (
    user_id    BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    tenant_id  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX direct_ends_due ON direct_ends (ends_at);
ALTER TABLE group_licenses ADD COLUMN ends_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE group_licenses DROP COLUMN ends_at;
DROP TABLE direct_ends;
