-- +goose Up
-- Report exports run as jobs (exports.go): the job, its progress and the
-- cursor it resumes from after a restart; the file it wrote, in chunks.
CREATE TABLE report_exports (
    id             TEXT PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    report         TEXT NOT NULL,
    format         TEXT NOT NULL,
    status         TEXT NOT NULL,
    rows_written   BIGINT NOT NULL DEFAULT 0,
    total_rows     BIGINT NOT NULL DEFAULT 0,
    cursor_user    BIGINT NOT NULL DEFAULT 0,
    cursor_product BIGINT NOT NULL DEFAULT 0,
    chunks         BIGINT NOT NULL DEFAULT 0,
    bytes          BIGINT NOT NULL DEFAULT 0,
    owner          TEXT NOT NULL DEFAULT '',
    lease_until    BIGINT NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    finished_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX report_exports_tenant ON report_exports (tenant_id, created_at);

CREATE TABLE report_export_chunks (
    export_id TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (export_id, seq)
);

-- +goose Down
DROP TABLE report_export_chunks;
DROP TABLE report_exports;
