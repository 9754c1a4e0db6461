package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot/store/sqlstore"
)

// runExporter runs a report export runner of server s, pages of page rows,
// until stop is called or afterPage returns false.
func runExporter(s *Server, page int, afterPage func(*sqlstore.ExportJob) bool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	s.exports.page, s.exports.lease, s.exports.poll = page, 300*time.Millisecond, 20*time.Millisecond
	s.exports.afterPage = func(j *sqlstore.ExportJob) {
		if afterPage != nil && !afterPage(j) {
			cancel()
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); s.RunExports(ctx) }()
	return func() { cancel(); <-done }
}

// TestExportJobSurvivesARestartAndMatchesTheDirectCSV queues an export of
// every license assignment, stops its runner after two pages (as a restart
// would), starts another server's runner on the same database, which
// takes the job over once the lease runs out and goes on from the last
// page, and checks the progress on the way, the file against the direct
// CSV export row by row (no row lost or twice), the audit events, and
// that bad requests are refused with 4xx and change nothing.
func TestExportJobSurvivesARestartAndMatchesTheDirectCSV(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3, e5 := c.sku("SPE_E3"), c.sku("SPE_E5")
		g := c.createGroup("Everyone")
		for i := range 23 {
			u := c.createUser(fmt.Sprintf("u%02d@contoso.com", i), "US")
			c.addMember(g, u)
			if i%3 == 0 {
				c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e5}, nil))
			}
		}
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
		h.drain()
		direct := c.getCSV("/allot/v1/reports/licenseAssignments")
		total := len(direct) - 1

		before := c.snapshot()
		c.expectError(400, "", "POST", "/allot/v1/reports/exports", map[string]any{"report": "everything"})
		c.expectError(400, "", "POST", "/allot/v1/reports/exports", map[string]any{"report": "licenseAssignments", "format": "xlsx"})
		c.expectError(400, "", "POST", "/allot/v1/reports/exports", map[string]any{})
		c.unchanged(before, "refused exports")
		c.expectError(404, "", "GET", "/allot/v1/reports/exports/nope", nil)

		job := c.must(202, "POST", "/allot/v1/reports/exports", map[string]any{"report": "licenseAssignments", "format": "csv"}).object(t)
		id := job["id"].(string)
		if job["status"] != sqlstore.ExportQueued || job["totalRows"] != float64(total) || job["rowsWritten"] != float64(0) {
			t.Fatalf("queued job: %v (want %d rows)", job, total)
		}
		c.expectError(400, "", "GET", "/allot/v1/reports/exports/"+id+"/content", nil) // not finished yet

		pages := 0
		stopped := make(chan struct{})
		stopA := runExporter(h.server, 4, func(*sqlstore.ExportJob) bool {
			if pages++; pages == 2 {
				close(stopped)
				return false // the runner stops after its second page: a restart
			}
			return true
		})
		<-stopped
		stopA()
		mid := c.must(200, "GET", "/allot/v1/reports/exports/"+id, nil).object(t)
		if mid["status"] != sqlstore.ExportRunning || mid["rowsWritten"] != float64(8) || mid["percentComplete"].(float64) >= 100 {
			t.Fatalf("interrupted job: %v", mid)
		}

		restarted := New(h.st, slog.New(h.logs), h.server.limits)
		stopB := runExporter(restarted, 4, nil)
		defer stopB()
		last := 8.0
		deadline := time.Now().Add(30 * time.Second)
		var done map[string]any
		for time.Now().Before(deadline) {
			j := c.must(200, "GET", "/allot/v1/reports/exports/"+id, nil).object(t)
			if w := j["rowsWritten"].(float64); w < last {
				t.Fatalf("progress went back: %v after %v", w, last)
			} else {
				last = w
			}
			if j["status"] == sqlstore.ExportSucceeded {
				done = j
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if done == nil || done["rowsWritten"] != float64(total) || done["percentComplete"] != float64(100) ||
			!strings.HasSuffix(done["contentUrl"].(string), "/allot/v1/reports/exports/"+id+"/content") {
			t.Fatalf("finished job: %v (want %d rows)", done, total)
		}
		res := c.must(200, "GET", "/allot/v1/reports/exports/"+id+"/content", nil)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("content type %q", res.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		if err != nil || !reflect.DeepEqual(recs, direct) {
			t.Errorf("exported file (%v) differs from the direct CSV:\n%q\n%q", err, recs, direct)
		}
		audits := c.listAll("/v1.0/auditLogs/directoryAudits")
		seen := map[string]int{}
		for _, a := range audits {
			seen[fmt.Sprint(a["activityDisplayName"])]++
		}
		if seen["Start report export"] != 1 || seen["Finish report export"] != 1 {
			t.Errorf("audit: %v", seen)
		}
	})
}

// TestExportJobResumesAfterTheStoreIsReopened stops an export's runner
// after its first page, closes the SQLite store as a restart of allot serve
// would, opens the same directory again and runs a runner there: the job
// ends with every row once, the same file as the direct CSV export.
func TestExportJobResumesAfterTheStoreIsReopened(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, func(t *testing.T) *sqlstore.Store {
		st, err := sqlstore.OpenSQLite(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
	c := h.A
	e3 := c.sku("SPE_E3")
	for i := range 9 {
		u := c.createUser(fmt.Sprintf("r%02d@contoso.com", i), "US")
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
	}
	direct := c.getCSV("/allot/v1/reports/licenseAssignments")
	id := c.must(202, "POST", "/allot/v1/reports/exports", map[string]any{"report": "licenseAssignments"}).object(t)["id"].(string)
	stopped := make(chan struct{})
	stop := runExporter(h.server, 2, func(*sqlstore.ExportJob) bool { close(stopped); return false })
	<-stopped
	stop()
	h.srv.Close()
	h.st.Close()

	st, err := sqlstore.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := st.Export(context.Background(), c.Tenant.ID, id)
	if err != nil || j.Status != sqlstore.ExportRunning || j.RowsWritten != 2 {
		t.Fatalf("after the restart: %+v %v", j, err)
	}
	again := New(st, slog.New(h.logs), h.server.limits)
	stopB := runExporter(again, 2, nil)
	defer stopB()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && j.Status != sqlstore.ExportSucceeded; time.Sleep(20 * time.Millisecond) {
		if j, err = st.Export(context.Background(), c.Tenant.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	var file strings.Builder
	if err := st.EachExportChunk(context.Background(), c.Tenant.ID, id, func(b []byte) error { file.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(file.String())).ReadAll()
	if j.Status != sqlstore.ExportSucceeded || j.RowsWritten != 9 || err != nil || !reflect.DeepEqual(recs, direct) {
		t.Errorf("resumed job %+v (%v):\n%q\nwant %q", j, err, recs, direct)
	}
}
