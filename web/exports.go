package web

import (
	"fmt"
	"time"

	"allot/store/sqlstore"
)

// ---- Reports: every assignment exported as a job with progress ----

// createExport queues an export of every license assignment and answers
// with its progress bar, which polls itself.
func (s *Server) createExport(q *req) error {
	j, err := s.st.CreateExport(q.ctx(), q.p.Actor(), q.tenant(), sqlstore.ReportLicenseAssignments, "csv")
	if err != nil {
		return err
	}
	s.api.KickExports()
	return q.render(exportPanel(j, s.exportPoll(j)))
}

// exportStatus answers with an export's progress bar.
func (s *Server) exportStatus(q *req) error {
	j, err := s.st.Export(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	return q.render(exportPanel(j, s.exportPoll(j)))
}

// exportPoll is htmx's polling trigger while the job runs, "" once it ended.
func (s *Server) exportPoll(j *sqlstore.ExportJob) string {
	if j.Status == sqlstore.ExportSucceeded || j.Status == sqlstore.ExportFailed {
		return ""
	}
	every := s.PollInterval
	if every <= 0 {
		every = time.Second
	}
	return "load delay:" + every.String()
}

func exportedRows(j *sqlstore.ExportJob) int {
	if j.Status == sqlstore.ExportSucceeded {
		return max(j.TotalRows, 1)
	}
	return min(j.RowsWritten, j.TotalRows)
}

func exportPercent(j *sqlstore.ExportJob) int {
	if j.Status == sqlstore.ExportSucceeded || j.TotalRows == 0 {
		return 100
	}
	return min(99, j.RowsWritten*100/j.TotalRows)
}

// exportWords says where the export is, in an admin's words.
func exportWords(j *sqlstore.ExportJob) string {
	switch j.Status {
	case sqlstore.ExportSucceeded:
		return fmt.Sprintf("Done: %s rows.", num(j.RowsWritten))
	case sqlstore.ExportFailed:
		return "The export failed: " + j.Error
	case sqlstore.ExportQueued:
		return fmt.Sprintf("Waiting to start (%s rows to write).", num(j.TotalRows))
	}
	return fmt.Sprintf("%s of %s rows written (%d%%).", num(j.RowsWritten), num(j.TotalRows), exportPercent(j))
}
