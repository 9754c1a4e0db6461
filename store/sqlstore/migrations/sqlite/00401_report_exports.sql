-- +goose Up
-- Report exports run as jobs (exports.go): the job, its progress and the
-- cursor it resumes from after a restart; the file it wrote, in chunks.
CREATE TABLE report_exports (
    id             TEXT PRIMARY KEY,
    tenant_id      INTEGER NOT NULL,
    report         TEXT NOT NULL,
    format         TEXT NOT NULL,
    status         TEXT NOT NULL,
    rows_written   INTEGER NOT NULL DEFAULT 0,
    total_rows     INTEGER NOT NULL DEFAULT 0,
    cursor_user    INTEGER NOT NULL DEFAULT 0,
    cursor_product INTEGER NOT NULL DEFAULT 0,
    chunks         INTEGER NOT NULL DEFAULT 0,
    bytes          INTEGER NOT NULL DEFAULT 0,
    owner          TEXT NOT NULL DEFAULT '',
    lease_until    INTEGER NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX report_exports_tenant ON report_exports (tenant_id, created_at);

CREATE TABLE report_export_chunks (
    export_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (export_id, seq)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE report_export_chunks;
DROP TABLE report_exports;
