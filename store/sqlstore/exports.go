package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"allot"
	"allot/store"
)

// Report exports as jobs (docs/design.md, "Seat history and cost"): a job
// row holds the report, its progress and the cursor of the last row it
// wrote; a runner (httpapi's RunExports) claims it under a lease and writes
// the file a page at a time, each page one transaction that appends a chunk,
// moves the cursor and renews the lease. A runner that stops (a restart)
// leaves the job with its cursor; once the lease runs out another runner
// claims it and goes on from there, so the file holds every row once.

// Export job statuses.
const (
	ExportQueued    = "notStarted"
	ExportRunning   = "running"
	ExportSucceeded = "succeeded"
	ExportFailed    = "failed"
)

// Reports that run as export jobs.
const (
	ReportLicenseAssignments = "licenseAssignments"
	ReportUnusedSeats        = "unusedSeats"
)

// ExportJob is one report export.
type ExportJob struct {
	ID, Report, Format, Status string
	TenantID                   int64
	RowsWritten, TotalRows     int
	// Cursor is the last row written (zero before the first page).
	Cursor      store.AssignmentCursor
	Chunks      int
	Bytes       int64
	Error       string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  time.Time
	leaseUntil  int64
	ownerHolder string
}

const exportCols = `id, tenant_id, report, format, status, rows_written, total_rows, cursor_user, cursor_product, chunks, bytes,
	error, created_by, created_at, updated_at, finished_at, lease_until, owner`

func scanExport(r interface{ Scan(...any) error }) (*ExportJob, error) {
	var j ExportJob
	var created, updated, finished int64
	err := r.Scan(&j.ID, &j.TenantID, &j.Report, &j.Format, &j.Status, &j.RowsWritten, &j.TotalRows, &j.Cursor.User, &j.Cursor.Product,
		&j.Chunks, &j.Bytes, &j.Error, &j.CreatedBy, &created, &updated, &finished, &j.leaseUntil, &j.ownerHolder)
	if err != nil {
		return nil, err
	}
	j.CreatedAt, j.UpdatedAt = msTime(created), msTime(updated)
	if finished > 0 {
		j.FinishedAt = msTime(finished)
	}
	return &j, nil
}

// CreateExport queues an export of a report (licenseAssignments or
// unusedSeats) as CSV and counts the rows it will write; audited.
func (s *Store) CreateExport(ctx context.Context, a allot.Actor, tenantID int64, report, format string) (*ExportJob, error) {
	if report != ReportLicenseAssignments && report != ReportUnusedSeats {
		return nil, allot.Errorf(allot.EInvalid, "report must be licenseAssignments or unusedSeats, not '%s'.", report)
	}
	if format == "" {
		format = "csv"
	}
	if format != "csv" {
		return nil, allot.Errorf(allot.EInvalid, "format must be csv, not '%s'.", format)
	}
	total, err := s.countAssignments(ctx, tenantID, report == ReportUnusedSeats)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	err = s.write(ctx, func(t *tx) error {
		if _, err := t.exec(`INSERT INTO report_exports (id, tenant_id, report, format, status, total_rows, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, tenantID, report, format, ExportQueued, total, a.Name, t.now, t.now); err != nil {
			return err
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "Reports", Activity: allot.ActStartExport, TargetKind: "Export",
			TargetID: id, TargetName: report, Changes: []allot.Change{{Property: "totalRows", New: fmt.Sprint(total)}}})
	})
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, tenantID, id)
}

// countAssignments counts the rows of the licenseAssignments report (one
// per user × product), or of unusedSeats with disabled.
func (s *Store) countAssignments(ctx context.Context, tenantID int64, disabled bool) (int, error) {
	q := `SELECT COUNT(*) FROM (SELECT DISTINCT ls.user_id, ls.product_id FROM users u JOIN license_states ls ON ls.user_id = u.id WHERE u.tenant_id = ?`
	args := []any{tenantID}
	if disabled {
		q += ` AND u.account_enabled = ? AND ls.state = ?`
		args = append(args, 0, allot.StateActive)
	}
	var n int
	err := s.queryRow(ctx, q+`) x`, args...).Scan(&n)
	return n, err
}

// Export returns the tenant's export job id.
func (s *Store) Export(ctx context.Context, tenantID int64, id string) (*ExportJob, error) {
	j, err := scanExport(s.queryRow(ctx, `SELECT `+exportCols+` FROM report_exports WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, allot.Errorf(allot.ENotFound, "There is no export '%s'.", id)
	}
	return j, err
}

// ClaimExport claims the oldest export that is queued, or running under a
// lease that ran out, for owner until now + lease; nil when there is none.
func (s *Store) ClaimExport(ctx context.Context, owner string, lease time.Duration) (*ExportJob, error) {
	var claimed *ExportJob
	err := s.write(ctx, func(t *tx) error {
		now := nowMS()
		j, err := scanExport(t.queryRow(`SELECT `+exportCols+` FROM report_exports
			WHERE status = ? OR (status = ? AND lease_until < ?) ORDER BY created_at, id LIMIT 1`, ExportQueued, ExportRunning, now))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := t.exec(`UPDATE report_exports SET status = ?, owner = ?, lease_until = ?, updated_at = ?
			WHERE id = ? AND status = ? AND lease_until = ?`, ExportRunning, owner, now+lease.Milliseconds(), now, j.ID, j.Status, j.leaseUntil)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			j.Status, j.ownerHolder = ExportRunning, owner
			claimed = j
		}
		return nil
	})
	return claimed, err
}

// errExportLease is returned when another runner holds the job now.
var errExportLease = allot.Errorf(allot.EConflict, "The export is being written by another process.")

// AppendExport writes one page of an export held by owner: the chunk, the
// rows it holds and the cursor of its last row, renewing the lease; with
// done the job succeeds (audited).
func (s *Store) AppendExport(ctx context.Context, owner string, j *ExportJob, data []byte, rows int, next store.AssignmentCursor, done bool, lease time.Duration) error {
	return s.write(ctx, func(t *tx) error {
		now := nowMS()
		status, finished := ExportRunning, int64(0)
		if done {
			status, finished = ExportSucceeded, now
		}
		res, err := t.exec(`UPDATE report_exports SET rows_written = rows_written + ?, cursor_user = ?, cursor_product = ?, chunks = chunks + 1,
			bytes = bytes + ?, lease_until = ?, updated_at = ?, status = ?, finished_at = ?
			WHERE id = ? AND owner = ? AND status = ? AND chunks = ?`,
			rows, next.User, next.Product, len(data), now+lease.Milliseconds(), now, status, finished, j.ID, owner, ExportRunning, j.Chunks)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errExportLease
		}
		if _, err := t.exec(`INSERT INTO report_export_chunks (export_id, seq, data) VALUES (?, ?, ?)`, j.ID, j.Chunks, data); err != nil {
			return err
		}
		j.Chunks++
		j.RowsWritten += rows
		j.Cursor = next
		if !done {
			return nil
		}
		j.Status = ExportSucceeded
		return t.audit(j.TenantID, allot.SystemActor, allot.AuditEvent{Category: "Reports", Activity: allot.ActFinishExport, TargetKind: "Export",
			TargetID: j.ID, TargetName: j.Report, Changes: []allot.Change{{Property: "rowsWritten", New: fmt.Sprint(j.RowsWritten)}}})
	})
}

// FailExport ends a job held by owner with an error (audited).
func (s *Store) FailExport(ctx context.Context, owner string, j *ExportJob, msg string) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE report_exports SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ? AND owner = ?`,
			ExportFailed, msg, t.now, t.now, j.ID, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		return t.audit(j.TenantID, allot.SystemActor, allot.AuditEvent{Category: "Reports", Activity: allot.ActFinishExport, TargetKind: "Export",
			TargetID: j.ID, TargetName: j.Report, Result: "failure", ResultReason: msg})
	})
}

// EachExportChunk calls fn with the chunks of the tenant's export, in
// order, one read at a time (constant memory).
func (s *Store) EachExportChunk(ctx context.Context, tenantID int64, id string, fn func([]byte) error) error {
	j, err := s.Export(ctx, tenantID, id)
	if err != nil {
		return err
	}
	for seq := 0; seq < j.Chunks; seq++ {
		var data []byte
		if err := s.queryRow(ctx, `SELECT data FROM report_export_chunks WHERE export_id = ? AND seq = ?`, id, seq).Scan(&data); err != nil {
			return err
		}
		if err := fn(data); err != nil {
			return err
		}
	}
	return nil
}
