-- +goose Up
-- The admin center's users list sorts by name and by department and
-- filters by department (userPrincipalName has its unique index), a page
-- at a time; the departments are listed by skipping through the second.
CREATE INDEX users_tenant_name ON users (tenant_id, display_name, id);
CREATE INDEX users_tenant_department ON users (tenant_id, department, id);

-- +goose Down
DROP INDEX users_tenant_department;
DROP INDEX users_tenant_name;
