package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserExportAllAssignmentsShowsProgressAndDownloads clicks "Export
// all assignments" on the Reports page with an export runner writing a row
// a page, follows the progress bar htmx polls until the download link
// shows, and checks the downloaded file against the direct CSV export.
func TestBrowserExportAllAssignmentsShowsProgressAndDownloads(t *testing.T) {
	e := newEnv(t, 25)
	e.bulkUsers(12)
	e.apiSrv.SetExportPage(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.apiSrv.RunExports(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/reports")
	b.click("#export-all")
	b.waitCount("#export-progress", 1)
	b.waitCount("#export-download", 1)
	if got := b.text("#export-words"); got != "Done: 12 rows." {
		t.Errorf("export words %q", got)
	}
	if !b.evalBool(`document.querySelector('#export-progress').value === document.querySelector('#export-progress').max && document.querySelector('#export-progress').dataset.status === 'succeeded'`) {
		t.Errorf("the progress bar is not full once done")
	}
	if b.count("#export-all") != 1 {
		t.Errorf("no button to export again")
	}
	hc := e.client(adminUPN)
	read := func(path string, accept string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, data)
		}
		return string(data)
	}
	href, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#export-download').getAttribute('href')`))
	if err != nil || !strings.HasPrefix(href, "/allot/v1/reports/exports/") {
		t.Fatalf("download link %q: %v", href, err)
	}
	file, direct := read(href, ""), read("/allot/v1/reports/licenseAssignments", "text/csv")
	if file != direct || strings.Count(file, "\n") != 13 {
		t.Errorf("the downloaded export differs from the direct CSV:\n%s\n---\n%s", file, direct)
	}
	b.screenshot("reports-export")
}
