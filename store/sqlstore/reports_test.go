package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// loadAssignments creates n users in one group, product E3 granted to all of
// them by the group and directly to every third one, and extra groups that
// also grant E3 to the first users (so that some rows have many sources).
// The rows are written with plain SQL: a fixture of the report, not of
// licensing. It returns the tenant id.
func loadAssignments(t testing.TB, st *sqlstore.Store, n, extraGroups int) int64 {
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "Reports", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := catalog.Lookup("SPE_E3")
	p, err := st.AddProduct(ctx, histActor, ten.ID, d, n+10)
	if err != nil {
		t.Fatal(err)
	}
	g, ids, err := st.LoadGroup(ctx, ten.ID, "All Staff", "r", n)
	if err != nil {
		t.Fatal(err)
	}
	first, last := ids[0], ids[len(ids)-1]
	err = st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
		if err := exec(`INSERT INTO license_states (user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at)
			SELECT id, ?, ?, 'Active', '', '', id, 0 FROM users WHERE id BETWEEN ? AND ?`, p.ID, g.ID, first, last); err != nil {
			return err
		}
		if err := exec(`INSERT INTO license_states (user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at)
			SELECT id, ?, 0, 'Active', '', '', id, 0 FROM users WHERE id BETWEEN ? AND ? AND id % 3 = 0`, p.ID, first, last); err != nil {
			return err
		}
		return exec(`UPDATE products SET consumed_units = ? WHERE id = ?`, n, p.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range extraGroups {
		eg := &allot.Group{DisplayName: fmt.Sprintf("Extra %d", i)}
		if err := st.CreateGroup(ctx, histActor, ten.ID, eg); err != nil {
			t.Fatal(err)
		}
		if err := st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
			return exec(`INSERT INTO license_states (user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at)
				SELECT id, ?, ?, 'Error', 'noSeatsAvailable', '', id, 0 FROM users WHERE id BETWEEN ? AND ?`, p.ID, eg.ID, first, first+int64(n/2))
		}); err != nil {
			t.Fatal(err)
		}
	}
	return ten.ID
}

// TestAssignmentPagesEqualTheStream reads the report in pages of 1, 2, 3
// and 7 rows, where rows have up to 8 sources (more than a page's query reads
// per row), and checks that the pages together are exactly the streamed
// report.
func TestAssignmentPagesEqualTheStream(t *testing.T) {
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			st := eng.open(t)
			tid := loadAssignments(t, st, 40, 6)
			ctx := context.Background()
			var all []string
			key := func(a store.AssignmentRow) string {
				return fmt.Sprintf("%s %s %s %v %v %v", a.UserPrincipalName, a.SkuPartNumber, a.State, a.Direct, a.Groups, a.Errors)
			}
			if _, err := st.EachAssignment(ctx, tid, store.AssignmentQuery{}, func(a store.AssignmentRow) error {
				all = append(all, key(a))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(all) != 40 || !strings.Contains(all[0], "[All Staff Extra 0 Extra 1 Extra 2 Extra 3 Extra 4 Extra 5]") {
				t.Fatalf("stream: %d rows, first %q", len(all), all[0])
			}
			for _, size := range []int{1, 2, 3, 7} {
				var paged []string
				q := store.AssignmentQuery{Limit: size}
				for pages := 0; ; pages++ {
					if pages > 100 {
						t.Fatalf("pages of %d: no end", size)
					}
					n := 0
					next, err := st.EachAssignment(ctx, tid, q, func(a store.AssignmentRow) error {
						paged, n = append(paged, key(a)), n+1
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if n > size {
						t.Fatalf("a page of %d has %d rows", size, n)
					}
					if next == (store.AssignmentCursor{}) {
						break
					}
					q.After = next
				}
				if strings.Join(paged, "\n") != strings.Join(all, "\n") {
					t.Errorf("pages of %d differ from the stream:\n%s\n---\n%s", size, strings.Join(paged, "\n"), strings.Join(all, "\n"))
				}
			}
		})
	}
}

// rssBytes is the process's resident set now (Linux; 0 elsewhere).
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestAssignmentsCSVExportSpeed exports the licenseAssignments report as CSV
// through a real HTTP server and measures rows per second and the growth of
// the resident set while it streams, next to the floor of the bare query
// over the same rows. ALLOT_REPORT_ROWS sets the size (default 20,000; the
// figure in docs/benchmarks.md is 1,000,000).
func TestAssignmentsCSVExportSpeed(t *testing.T) {
	n := 20000
	if v := os.Getenv("ALLOT_REPORT_ROWS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			st := eng.open(t)
			tid := loadAssignments(t, st, n, 0)
			ctx := context.Background()
			raw := sqlstore.TokenPrefix + "report-speed-" + strings.Repeat("x", 32)
			if err := st.CreateToken(ctx, tid, "speed", store.RoleGlobalReader, raw); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(httpapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.DefaultLimits).Handler())
			defer srv.Close()

			floorStart := time.Now()
			floorRows, err := st.CountAssignmentRows(ctx, tid)
			if err != nil {
				t.Fatal(err)
			}
			floor := time.Since(floorStart)

			runtime.GC()
			base := rssBytes()
			var peak atomic.Int64
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
						if r := rssBytes(); r > peak.Load() {
							peak.Store(r)
						}
					}
				}
			}()
			req, _ := http.NewRequest("GET", srv.URL+"/allot/v1/reports/licenseAssignments", nil)
			req.Header.Set("Authorization", "Bearer "+raw)
			req.Header.Set("Accept", "text/csv")
			start := time.Now()
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(res.Body)
			lines, direct := 0, 0
			for sc.Scan() {
				lines++
				if strings.Contains(sc.Text(), ",Direct; All Staff,") {
					direct++
				}
			}
			res.Body.Close()
			took := time.Since(start)
			close(stop)
			if res.StatusCode != 200 || sc.Err() != nil || lines != n+1 || direct != n/3 || floorRows != n+n/3 {
				t.Fatalf("export: status %d, %d lines (want %d), %d direct rows (want %d), floor rows %d, err %v", res.StatusCode, lines, n+1, direct, n/3, floorRows, sc.Err())
			}
			rate := float64(n) / took.Seconds()
			growth := max(0, peak.Load()-base)
			t.Logf("%s: %d rows in %v = %.0f rows/s (floor: the bare query over the %d state rows in %v = %.0f rows/s); RSS %d MiB before, peak growth %d MiB while streaming",
				eng.name, n, took.Round(time.Millisecond), rate, floorRows, floor.Round(time.Millisecond), float64(floorRows)/floor.Seconds(), base>>20, growth>>20)
			if rate < 100000 && n >= 100000 {
				t.Errorf("export at %.0f rows/s, below 100,000 rows/s", rate)
			}
			if growth > 100<<20 {
				t.Errorf("RSS grew %d MiB while streaming, more than 100 MiB", growth>>20)
			}
		})
	}
}
