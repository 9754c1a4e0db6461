-- +goose Up
-- Members a write added to a group, in one row per write as well (users:
-- their ids; group_id, group_guid: the group), so that a rule evaluated
-- over a large tenant writes one row instead of a feed row per member. A
-- reader of the groups feed expands them like the users' rows
-- (delta_batches.go). group_id 0: the users' license changes.
ALTER TABLE directory_change_batches ADD COLUMN group_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_change_batches ADD COLUMN group_guid TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE directory_change_batches DROP COLUMN group_guid;
ALTER TABLE directory_change_batches DROP COLUMN group_id;
