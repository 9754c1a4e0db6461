-- +goose Up
-- PostgreSQL mirror of migrations/sqlite/00150_directory_changes.sql. seq is
-- the writing transaction's id (pg_current_xact_id, 64 bits, never wraps).
CREATE TABLE directory_changes (
    tenant_id   BIGINT NOT NULL,
    feed        BIGINT NOT NULL,
    kind        BIGINT NOT NULL,
    object_num  BIGINT NOT NULL,
    member_num  BIGINT NOT NULL DEFAULT 0,
    object_id   TEXT COLLATE "C" NOT NULL,
    member_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    member_type BIGINT NOT NULL DEFAULT 0,
    removed     BIGINT NOT NULL DEFAULT 0,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, object_num, member_num, object_id, member_id)
);
CREATE INDEX directory_changes_feed ON directory_changes (tenant_id, feed, seq, kind, object_num, member_num, object_id, member_id);
CREATE INDEX directory_changes_at ON directory_changes (at);

CREATE TABLE delta_state (
    tenant_id BIGINT PRIMARY KEY,
    seq       BIGINT NOT NULL DEFAULT 0,
    floor     BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE delta_state;
DROP TABLE directory_changes;
