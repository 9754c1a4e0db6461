package scim_test

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInitialSyncRate provisions users the way Entra's initial cycle does
// (a filter query, then a create, one user per request, 16 in parallel)
// and reports users per second. It runs only when ALLOT_SCIM_SYNC_USERS
// says how many users (for example 10000).
func TestInitialSyncRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ALLOT_SCIM_SYNC_USERS"))
	if n <= 0 {
		t.Skip("set ALLOT_SCIM_SYNC_USERS=10000 to measure an initial sync")
	}
	forEachEngine(t, func(t *testing.T, h *harness) {
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					name := fmt.Sprintf("sync%06d@contoso.com", i)
					st, _, _ := h.do(h.scim, "GET", "/scim/v2/Users?filter=userName+eq+%22"+name+"%22", nil)
					st2, _, _ := h.do(h.scim, "POST", "/scim/v2/Users", map[string]any{"userName": name, "active": true,
						"externalId": name, "name": map[string]any{"givenName": "Sync", "familyName": strconv.FormatInt(i, 10)},
						"emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
						ent:      map[string]any{"department": "Sales", "employeeNumber": strconv.FormatInt(i, 10)}})
					if st != 200 || st2 != 201 {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		if failed.Load() > 0 {
			t.Fatalf("%d users failed", failed.Load())
		}
		if got := h.sc(200, "GET", "/Users?count=0", nil)["totalResults"]; got != float64(n) {
			t.Fatalf("%v users, want %d", got, n)
		}
		t.Logf("initial sync: %d users in %v: %.0f users/s (a query and a create each, 16 in parallel)", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	})
}
