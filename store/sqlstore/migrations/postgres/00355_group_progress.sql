-- +goose Up
-- How far a worker is through a group mark: members recomputed of the
-- group's members (both 0 until a worker starts it, and again when the
-- group is marked anew), for the admin center's "12,400 of 50,000".
ALTER TABLE marks ADD COLUMN progress_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE marks ADD COLUMN progress_total BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE marks DROP COLUMN progress_total;
ALTER TABLE marks DROP COLUMN progress_done;
