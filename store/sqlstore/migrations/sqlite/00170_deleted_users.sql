-- +goose Up
-- Deleted users (Graph's directory/deletedItems): a deleted user leaves
-- users, its seats and memberships at once, and waits here until restored,
-- deleted permanently or purged after the retention period. user_id is the
-- id it had; remembered is a JSON object of what a restore gives back (its
-- direct licenses with their disabled plans, the groups it was in, its
-- proxy addresses and SCIM attributes).
CREATE TABLE deleted_users (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    guid            TEXT NOT NULL UNIQUE,
    upn             TEXT NOT NULL,
    upn_key         TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL DEFAULT '',
    surname         TEXT NOT NULL DEFAULT '',
    mail            TEXT NOT NULL DEFAULT '',
    job_title       TEXT NOT NULL DEFAULT '',
    department      TEXT NOT NULL DEFAULT '',
    usage_location  TEXT NOT NULL DEFAULT '',
    account_enabled INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    profile         TEXT NOT NULL DEFAULT '{}',
    deleted_at      INTEGER NOT NULL,
    remembered      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX deleted_users_tenant ON deleted_users (tenant_id, id);
CREATE INDEX deleted_users_age ON deleted_users (deleted_at);

-- +goose Down
DROP TABLE deleted_users;
