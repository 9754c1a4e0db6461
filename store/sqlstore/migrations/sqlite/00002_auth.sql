-- +goose Up
-- Access control: directory role assignments, people's passwords and
-- sign-in sessions, links to single sign-on identities, API clients.
-- Secrets (passwords, session ids, API tokens) are never stored in plain
-- text: passwords as Argon2id hashes, session ids and tokens as SHA-256.

-- principal_kind: 'user' (users.id) or 'client' (tokens.id); role_id is the
-- Entra role template id (62e90394-… is Global Administrator).
CREATE TABLE role_assignments (
    id             INTEGER PRIMARY KEY,
    guid           TEXT NOT NULL UNIQUE,
    tenant_id      INTEGER NOT NULL,
    principal_kind TEXT NOT NULL,
    principal_id   INTEGER NOT NULL,
    role_id        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (tenant_id, principal_kind, principal_id, role_id)
);
CREATE INDEX role_assignments_principal ON role_assignments (principal_kind, principal_id);
CREATE INDEX role_assignments_role ON role_assignments (tenant_id, role_id);

-- password_hash is a PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash
CREATE TABLE user_credentials (
    user_id       INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE external_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    tenant_id  INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);

-- hash is the SHA-256 of the cookie value. A session ends at expires_at
-- (absolute), at idle_until (sliding), or when revoked (sign-out).
CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    tenant_id  INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    method     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    idle_until INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);

-- API clients are rows of tokens: scopes are Graph permission names
-- separated by spaces ('' = an operator token limited by its roles only);
-- owner is who created it (a user or another client; '' = the operator).
ALTER TABLE tokens ADD COLUMN guid TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN owner_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE tokens SET guid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
    WHERE guid = '';
CREATE UNIQUE INDEX tokens_guid ON tokens (guid) WHERE guid <> '';
CREATE INDEX tokens_tenant ON tokens (tenant_id, id);

-- Tokens made before roles were assignments keep their role.
INSERT INTO role_assignments (guid, tenant_id, principal_kind, principal_id, role_id, created_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
    tenant_id, 'client', id,
    CASE role
        WHEN 'Global Administrator' THEN '62e90394-69f5-4237-9190-012177145e10'
        WHEN 'License Administrator' THEN '4d6ac14f-3453-41d0-bef9-a3e0c569773a'
        WHEN 'User Administrator' THEN 'fe930be7-5e62-47db-91af-98c3a49a38b1'
        WHEN 'Global Reader' THEN 'f2ef992c-3afb-46b9-b7cf-a126ee74c451'
        WHEN 'Insights Administrator' THEN 'eb1f4a8d-243a-41f0-9fbd-c7cdf6c5ef7c'
        WHEN 'Insights Business Leader' THEN '31e939ad-9672-4796-9c2e-873181342d2d'
    END, created_at
FROM tokens
WHERE role IN ('Global Administrator', 'License Administrator', 'User Administrator', 'Global Reader',
    'Insights Administrator', 'Insights Business Leader');

-- +goose Down
DELETE FROM role_assignments;
DROP INDEX tokens_tenant;
DROP INDEX tokens_guid;
ALTER TABLE tokens DROP COLUMN expires_at;
ALTER TABLE tokens DROP COLUMN owner_id;
ALTER TABLE tokens DROP COLUMN owner_kind;
ALTER TABLE tokens DROP COLUMN scopes;
ALTER TABLE tokens DROP COLUMN guid;
DROP TABLE sessions;
DROP TABLE external_identities;
DROP TABLE user_credentials;
DROP TABLE role_assignments;
