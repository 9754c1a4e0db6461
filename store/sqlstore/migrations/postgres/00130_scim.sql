-- +goose Up
-- What SCIM provisioning keeps beside a user (kind 0) or group (kind 1)
-- that the directory has no column for: the identity provider's
-- externalId and the Enterprise User attributes costCenter, division and
-- manager (the manager's user id, a GUID).
CREATE TABLE scim_attrs (
    kind        BIGINT NOT NULL,
    target_id   BIGINT NOT NULL,
    tenant_id   BIGINT NOT NULL,
    external_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    cost_center TEXT COLLATE "C" NOT NULL DEFAULT '',
    division    TEXT COLLATE "C" NOT NULL DEFAULT '',
    manager     TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (kind, target_id)
);
CREATE INDEX scim_attrs_external ON scim_attrs (tenant_id, kind, external_id);

-- +goose Down
DROP TABLE scim_attrs;
