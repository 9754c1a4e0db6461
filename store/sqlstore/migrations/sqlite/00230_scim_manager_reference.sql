-- +goose Up
-- SCIM's enterprise manager.value is now the directory's manager reference
-- (users.manager_id, 00220), no longer an attribute SCIM keeps beside the
-- user. Move the values stored so far that name another user of the
-- tenant onto the reference (unless the user already has a manager), and
-- clear them; a value that names no user is kept in scim_attrs, unread.
UPDATE users SET manager_id = (
    SELECT m.id FROM scim_attrs sa JOIN users m ON m.tenant_id = sa.tenant_id AND m.guid = lower(sa.manager)
    WHERE sa.kind = 0 AND sa.target_id = users.id AND m.id <> users.id)
WHERE manager_id IS NULL AND EXISTS (
    SELECT 1 FROM scim_attrs sa JOIN users m ON m.tenant_id = sa.tenant_id AND m.guid = lower(sa.manager)
    WHERE sa.kind = 0 AND sa.target_id = users.id AND m.id <> users.id);
UPDATE scim_attrs SET manager = '' WHERE kind = 0 AND manager <> '' AND EXISTS (
    SELECT 1 FROM users m WHERE m.tenant_id = scim_attrs.tenant_id AND m.guid = lower(scim_attrs.manager));

-- +goose Down
SELECT 1;
