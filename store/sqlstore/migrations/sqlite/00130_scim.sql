-- +goose Up
-- What SCIM provisioning keeps beside a user (kind 0) or group (kind 1)
-- that the directory has no column for: the identity provider's
-- externalId and the Enterprise User attributes costCenter, division and
-- manager (the manager's user id, a GUID).
CREATE TABLE scim_attrs (
    kind        INTEGER NOT NULL,
    target_id   INTEGER NOT NULL,
    tenant_id   INTEGER NOT NULL,
    external_id TEXT NOT NULL DEFAULT '',
    cost_center TEXT NOT NULL DEFAULT '',
    division    TEXT NOT NULL DEFAULT '',
    manager     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kind, target_id)
);
CREATE INDEX scim_attrs_external ON scim_attrs (tenant_id, kind, external_id);

-- +goose Down
DROP TABLE scim_attrs;
