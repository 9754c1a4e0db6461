package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// Large exports as jobs (docs/api.md, "Report exports"): POST queues a job
// and answers 202; RunExports (allot serve) writes it a page at a time into
// the store, so its progress shows and a restart resumes it from its last
// page (store/sqlstore/exports.go).

// exportState is the runner's configuration and its wake-up channel.
type exportState struct {
	kick  chan struct{}
	page  int           // rows a page
	lease time.Duration // a claim's lease, renewed by every page
	poll  time.Duration // how often to look for jobs besides a kick
	// afterPage, when set (tests), hears of every page written.
	afterPage func(j *sqlstore.ExportJob)
}

func newExportState() *exportState {
	return &exportState{kick: make(chan struct{}, 1), page: 5000, lease: 30 * time.Second, poll: time.Second}
}

func (s *Server) exportRoutes() {
	if s.exports == nil {
		s.exports = newExportState()
	}
	s.handle("POST /allot/v1/reports/exports", PermReportsRead, s.createExport)
	s.handle("GET /allot/v1/reports/exports/{id}", PermReportsRead, s.getExport)
	s.handle("GET /allot/v1/reports/exports/{id}/content", PermReportsRead, s.exportContent)
}

type exportBody struct {
	Report string `json:"report"`
	Format string `json:"format"`
}

func (s *Server) createExport(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b exportBody
	if err := decodeBody(r, &b, "export"); err != nil {
		return err
	}
	if b.Report == "" {
		return allot.Errorf(allot.EInvalid, "report is required: licenseAssignments or unusedSeats.")
	}
	j, err := s.st.CreateExport(r.Context(), p.Actor(), p.Tenant.ID, b.Report, b.Format)
	if err != nil {
		return err
	}
	s.KickExports()
	w.Header().Set("Location", s.baseURL(r)+"/allot/v1/reports/exports/"+j.ID)
	writeJSON(w, http.StatusAccepted, s.exportJSON(r, j))
	return nil
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	j, err := s.st.Export(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.exportJSON(r, j))
	return nil
}

// ExportJSON is an export job as the API shows it.
func ExportJSON(base string, j *sqlstore.ExportJob) map[string]any {
	pct := 100
	if j.TotalRows > 0 {
		pct = min(100, j.RowsWritten*100/j.TotalRows)
	}
	if j.Status != sqlstore.ExportSucceeded && pct == 100 {
		pct = 99
	}
	out := map[string]any{"id": j.ID, "report": j.Report, "format": j.Format, "status": j.Status,
		"rowsWritten": j.RowsWritten, "totalRows": j.TotalRows, "percentComplete": pct,
		"createdDateTime": graphTime(j.CreatedAt), "lastUpdatedDateTime": graphTime(j.UpdatedAt)}
	if !j.FinishedAt.IsZero() {
		out["completedDateTime"] = graphTime(j.FinishedAt)
	}
	if j.Status == sqlstore.ExportSucceeded {
		out["contentUrl"] = base + "/allot/v1/reports/exports/" + j.ID + "/content"
	}
	if j.Error != "" {
		out["error"] = map[string]any{"message": j.Error}
	}
	return out
}

func (s *Server) exportJSON(r *http.Request, j *sqlstore.ExportJob) map[string]any {
	return ExportJSON(s.baseURL(r), j)
}

func (s *Server) exportContent(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	j, err := s.st.Export(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.Status != sqlstore.ExportSucceeded {
		return allot.Errorf(allot.EConflict, "The export is not finished yet: %d of %d rows written (%s).", j.RowsWritten, j.TotalRows, j.Status)
	}
	return WriteExportContent(w, r, s.st, p.Tenant.ID, j)
}

// WriteExportContent streams a finished export's file.
func WriteExportContent(w http.ResponseWriter, r *http.Request, st *sqlstore.Store, tenantID int64, j *sqlstore.ExportJob) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(j.Bytes))
	w.Header().Set("Content-Disposition", `attachment; filename="`+exportFileName(j)+`"`)
	w.WriteHeader(http.StatusOK)
	err := st.EachExportChunk(r.Context(), tenantID, j.ID, func(b []byte) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		panic(http.ErrAbortHandler) // the status is sent: cut the answer short
	}
	return nil
}

func exportFileName(j *sqlstore.ExportJob) string {
	name := map[string]string{sqlstore.ReportLicenseAssignments: "license-assignments", sqlstore.ReportUnusedSeats: "unused-seats"}[j.Report]
	return name + "-" + j.CreatedAt.UTC().Format("20060102-150405") + ".csv"
}

// SetExportPage sets the rows an export writes a page (tests; 5,000 by
// default). Call it before RunExports.
func (s *Server) SetExportPage(rows int) { s.exports.page = max(1, rows) }

// KickExports wakes the export runner: a job was queued.
func (s *Server) KickExports() {
	select {
	case s.exports.kick <- struct{}{}:
	default:
	}
}

// RunExports writes queued export jobs until ctx ends: it claims one at a
// time (also one whose runner stopped and whose lease ran out) and writes
// it page by page.
func (s *Server) RunExports(ctx context.Context) {
	owner := randomOwner()
	t := time.NewTicker(s.exports.poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			j, err := s.st.ClaimExport(ctx, owner, s.exports.lease)
			if err != nil || j == nil {
				if err != nil && ctx.Err() == nil {
					s.log.Error("claim a report export", "error", err)
				}
				break
			}
			s.runExport(ctx, owner, j)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.exports.kick:
		}
	}
}

func randomOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runExport writes a claimed job from its cursor to its end.
func (s *Server) runExport(ctx context.Context, owner string, j *sqlstore.ExportJob) {
	for ctx.Err() == nil {
		data, n, next, err := s.exportPage(ctx, j)
		if err == nil {
			err = s.st.AppendExport(ctx, owner, j, data, n, next, next == (store.AssignmentCursor{}), s.exports.lease)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("write a report export", "export", j.ID, "error", err)
				s.st.FailExport(context.WithoutCancel(ctx), owner, j, "The export stopped: "+err.Error())
			}
			return
		}
		if s.exports.afterPage != nil {
			s.exports.afterPage(j)
		}
		if j.Status == sqlstore.ExportSucceeded {
			return
		}
	}
}

// exportPage renders the rows after the job's cursor, a page of them, as
// CSV (the header first on the first page).
func (s *Server) exportPage(ctx context.Context, j *sqlstore.ExportJob) ([]byte, int, store.AssignmentCursor, error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if j.Chunks == 0 {
		cw.Write(assignmentHeader)
	}
	rec := make([]string, 0, len(assignmentHeader))
	n := 0
	q := store.AssignmentQuery{DisabledOnly: j.Report == sqlstore.ReportUnusedSeats, After: j.Cursor, Limit: s.exports.page}
	next, err := s.st.EachAssignment(ctx, j.TenantID, q, func(a store.AssignmentRow) error {
		n++
		return cw.Write(assignmentRecord(rec, a))
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return buf.Bytes(), n, next, err
}
