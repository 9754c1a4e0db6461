-- +goose Up
-- Times are unix milliseconds; booleans are 0/1 integers; internal ids are
-- integers and GUIDs appear only at the API edge.
CREATE TABLE tenants (
    id                     INTEGER PRIMARY KEY,
    guid                   TEXT NOT NULL UNIQUE,
    display_name           TEXT NOT NULL,
    data_location          TEXT NOT NULL,
    default_usage_location TEXT NOT NULL DEFAULT '',
    is_default             INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL,
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
    UNIQUE (tenant_id, upn_key)
);

CREATE TABLE proxy_addresses (
    tenant_id INTEGER NOT NULL,
    addr_key  TEXT NOT NULL,
    user_id   INTEGER NOT NULL,
    address   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, addr_key)
);
CREATE INDEX proxy_addresses_user ON proxy_addresses (user_id);

CREATE TABLE dir_groups (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL,
    guid             TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    mail_nickname    TEXT NOT NULL DEFAULT '',
    security_enabled INTEGER NOT NULL DEFAULT 1,
    mail_enabled     INTEGER NOT NULL DEFAULT 0,
    processing_state TEXT NOT NULL DEFAULT 'ProcessingComplete',
    error_count      INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);
CREATE INDEX dir_groups_tenant ON dir_groups (tenant_id, id);

-- member_type: 0 user, 1 group. seq orders members by when they were added.
CREATE TABLE memberships (
    group_id    INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    member_type INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    tenant_id   INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX memberships_member ON memberships (member_type, member_id, group_id);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL,
    sku_guid         TEXT NOT NULL,
    part_number      TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    service_plans    TEXT NOT NULL,
    rules            TEXT NOT NULL,
    enabled_units    INTEGER NOT NULL,
    warning_units    INTEGER NOT NULL DEFAULT 0,
    suspended_units  INTEGER NOT NULL DEFAULT 0,
    locked_out_units INTEGER NOT NULL DEFAULT 0,
    consumed_units   INTEGER NOT NULL DEFAULT 0,
    waiting_units    INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, sku_guid),
    UNIQUE (tenant_id, part_number)
);

-- A group's intent to license its members.
CREATE TABLE group_licenses (
    group_id       INTEGER NOT NULL,
    product_id     INTEGER NOT NULL,
    tenant_id      INTEGER NOT NULL,
    disabled_plans TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (group_id, product_id)
);

-- One source's grant of one product to one user (source 0 = direct, else the
-- group id). A user holds a seat of a product while any of its rows is Active.
-- seq orders grants (newest lose first on seat reduction) and waiters (FIFO).
CREATE TABLE license_states (
    user_id        INTEGER NOT NULL,
    product_id     INTEGER NOT NULL,
    source_id      INTEGER NOT NULL,
    state          TEXT NOT NULL,
    code           TEXT NOT NULL DEFAULT '',
    disabled_plans TEXT NOT NULL DEFAULT '',
    seq            INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id, source_id)
) WITHOUT ROWID;
CREATE INDEX license_states_waiting ON license_states (product_id, seq)
    WHERE code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption');

-- Durable "to recompute" marks. kind: 0 user, 1 group (all transitive members).
CREATE TABLE marks (
    kind        INTEGER NOT NULL,
    target_id   INTEGER NOT NULL,
    tenant_id   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, target_id)
);
CREATE INDEX marks_order ON marks (lease_until, seq);

CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO sequences (name, value) VALUES ('order', 0);

CREATE TABLE audit_events (
    id             INTEGER PRIMARY KEY,
    guid           TEXT NOT NULL,
    tenant_id      INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    category       TEXT NOT NULL,
    activity       TEXT NOT NULL,
    result         TEXT NOT NULL,
    result_reason  TEXT NOT NULL DEFAULT '',
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    target_kind    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    target_name    TEXT NOT NULL,
    changes        TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE sequences;
DROP TABLE marks;
DROP TABLE license_states;
DROP TABLE group_licenses;
DROP TABLE products;
DROP TABLE memberships;
DROP TABLE dir_groups;
DROP TABLE proxy_addresses;
DROP TABLE users;
DROP TABLE tokens;
DROP TABLE tenants;
