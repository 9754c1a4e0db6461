-- +goose Up
-- A user's manager (Graph's manager reference): the internal id of another
-- user of the same tenant, or NULL. Deleting the manager clears it (in
-- DeleteUser); restoring the manager does not bring it back.
ALTER TABLE users ADD COLUMN manager_id BIGINT;
CREATE INDEX users_manager ON users (manager_id);

-- +goose Down
DROP INDEX users_manager;
ALTER TABLE users DROP COLUMN manager_id;
