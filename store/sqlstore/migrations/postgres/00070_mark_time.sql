-- +goose Up
-- When a target was first marked and not yet processed (Unix ms; 0 for
-- marks written before this column): the age of the oldest mark, a metric.
-- Marking a marked target again keeps the first time.
ALTER TABLE marks ADD COLUMN marked_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE marks DROP COLUMN marked_at;
