-- +goose Up
-- A product's assignment policy: any (direct and group assignments),
-- groupOnly (new direct assignments are refused) or directOnly (new group
-- assignments are refused). Existing assignments are kept either way.
ALTER TABLE products ADD COLUMN assignment_policy TEXT NOT NULL DEFAULT 'any';

-- +goose Down
ALTER TABLE products DROP COLUMN assignment_policy;
