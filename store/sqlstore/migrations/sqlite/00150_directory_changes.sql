-- +goose Up
-- The change feeds of users/delta (feed 0) and groups/delta (feed 1),
-- written by delta.go: one row per
-- changed object (kind 0 user, 1 group) and per changed membership (kind 2:
-- object is the group, member the member, member_type 0 user, 1 group),
-- keyed by internal id (object_num, member_num: a large batch writes its
-- rows in key order) and GUID (object_id, member_id: SQLite may reuse the
-- id of a deleted row, whose removal must stay). A row is overwritten by the object's next change, so an object
-- changed many times is one row; seq is the order of the last change (the
-- tenant's counter in delta_state on SQLite, the writer's transaction id on
-- PostgreSQL), removed tells whether that change deleted it.
CREATE TABLE directory_changes (
    tenant_id   INTEGER NOT NULL,
    feed        INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    object_num  INTEGER NOT NULL,
    member_num  INTEGER NOT NULL DEFAULT 0,
    object_id   TEXT NOT NULL,
    member_id   TEXT NOT NULL DEFAULT '',
    member_type INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, object_num, member_num, object_id, member_id)
) WITHOUT ROWID;
CREATE INDEX directory_changes_feed ON directory_changes (tenant_id, feed, seq, kind, object_num, member_num, object_id, member_id);
CREATE INDEX directory_changes_at ON directory_changes (at);

-- Per tenant: seq is SQLite's change counter; floor is the oldest position
-- a delta token may start from (rows before it were pruned).
CREATE TABLE delta_state (
    tenant_id INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL DEFAULT 0,
    floor     INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE delta_state;
DROP TABLE directory_changes;
