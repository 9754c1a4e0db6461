-- +goose Up
-- Assignments that start later (startDateTime): kind 0 a user's direct
-- assignment, 1 a group's. The row is the whole request (disabled plans,
-- its end); when its time comes the worker makes the assignment and
-- deletes the row in one transaction, so a restart neither loses nor
-- repeats it.
CREATE TABLE assignment_starts (
    kind           INTEGER NOT NULL,
    target_id      BIGINT NOT NULL,
    product_id     BIGINT NOT NULL,
    tenant_id      BIGINT NOT NULL,
    starts_at      BIGINT NOT NULL,
    ends_at        BIGINT NOT NULL DEFAULT 0,
    disabled_plans TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kind, target_id, product_id)
);
CREATE INDEX assignment_starts_due ON assignment_starts (starts_at);

-- +goose Down
DROP TABLE assignment_starts;
