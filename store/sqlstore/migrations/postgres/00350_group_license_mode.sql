-- +goose Up
-- How a group grants its products: 0 all or nothing (rule 5), 1 best
-- effort (each product as far as it can be).
ALTER TABLE dir_groups ADD COLUMN license_mode BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE dir_groups DROP COLUMN license_mode;
