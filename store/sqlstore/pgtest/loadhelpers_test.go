package pgtest

// Helpers shared by the workload and the regression tests of this package:
// a tally of answers by request kind and status, request bodies, drain
// detection over the servers' API and the database, and license-state reads.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/store/sqlstore"
)

// newSQLiteCluster starts one `allot serve` on a fresh SQLite data directory
// (one process serves an SQLite file) and opens a store of the test's own
// on the same directory, for set-up and checks.
func newSQLiteCluster(t *testing.T) (*cluster, *server) {
	t.Helper()
	dir := t.TempDir()
	s := startServer(t, "S", "", "--data", dir)
	st, err := sqlstore.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ten, err := st.DefaultTenant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, st: st, tenant: ten}, s
}

// tally counts answers by request kind, status and (for errors) code, and
// keeps every answer with status 500 or more and every transport error, to
// print them.
type tally struct {
	mu     sync.Mutex
	byKind map[string]map[answerKey]int
	bad    []string
	total  int
}

// answerKey is a status with, for an error, its Graph error code.
type answerKey struct {
	status int // -1 for a transport error
	code   string
}

func newTally() *tally { return &tally{byKind: map[string]map[answerKey]int{}} }

// add records one answer; status is ignored when err is set.
func (t *tally) add(kind string, s *server, method, path string, status int, body map[string]any, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	k := answerKey{status: status}
	if err != nil {
		k.status = -1
	} else if status >= 400 {
		k.code = errCode(body)
	}
	if t.byKind[kind] == nil {
		t.byKind[kind] = map[answerKey]int{}
	}
	t.byKind[kind][k]++
	switch {
	case err != nil:
		t.bad = append(t.bad, fmt.Sprintf("%s %s %s: transport error: %v", s.name, method, path, err))
	case status >= 500:
		t.bad = append(t.bad, fmt.Sprintf("%s %s %s → %d %v", s.name, method, path, status, body))
	}
}

// count returns how many answers of kind had status (any code).
func (t *tally) count(kind string, status int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, c := range t.byKind[kind] {
		if k.status == status {
			n += c
		}
	}
	return n
}

// failures returns the answers ≥ 500 and transport errors.
func (t *tally) failures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.bad...)
}

// report renders the tally: one line per kind with its statuses and error
// codes (-1 is a transport error).
func (t *tally) report() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	kinds := make([]string, 0, len(t.byKind))
	for k := range t.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests", t.total)
	for _, kind := range kinds {
		var keys []answerKey
		n := 0
		for k, c := range t.byKind[kind] {
			keys = append(keys, k)
			n += c
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].status != keys[j].status {
				return keys[i].status < keys[j].status
			}
			return keys[i].code < keys[j].code
		})
		fmt.Fprintf(&b, "\n  %-22s %6d:", kind, n)
		for _, k := range keys {
			if k.code != "" {
				fmt.Fprintf(&b, " %d %s×%d", k.status, k.code, t.byKind[kind][k])
			} else {
				fmt.Fprintf(&b, " %d×%d", k.status, t.byKind[kind][k])
			}
		}
	}
	return b.String()
}

// checkNo5xx fails the test for every answer ≥ 500 and transport error of
// the tally, printing up to 20 of them.
func (t *tally) checkNo5xx(tb testing.TB) {
	tb.Helper()
	bad := t.failures()
	if len(bad) == 0 {
		return
	}
	shown := bad[:min(len(bad), 20)]
	tb.Errorf("%d of %d answers had status ≥ 500 or no answer at all; first %d:\n  %s", len(bad), t.total, len(shown), strings.Join(shown, "\n  "))
}

// addBody is an assignLicense body that adds skus and removes remove.
func addBody(add []string, remove []string) map[string]any {
	adds := []map[string]any{}
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	return map[string]any{"addLicenses": adds, "removeLicenses": remove}
}

// ruledProduct adds a custom product with rules through the server and
// returns its skuId.
func ruledProduct(s *server, part string, seats int, requiresAnyOf, exclusiveWith []string) string {
	s.t.Helper()
	body := map[string]any{
		"skuPartNumber": part, "displayName": part, "enabledUnits": seats,
		"servicePlans": []map[string]any{{"servicePlanName": part + "_PLAN"}},
	}
	if requiresAnyOf != nil {
		body["requiresAnyOf"] = requiresAnyOf
	}
	if exclusiveWith != nil {
		body["mutuallyExclusiveWith"] = exclusiveWith
	}
	return s.must(201, "POST", "/allot/v1/subscribedSkus", body)["skuId"].(string)
}

// guidsOf returns the users' GUIDs in the order of ids.
func guidsOf(t testing.TB, st *sqlstore.Store, ids []int64) []string {
	t.Helper()
	m, err := st.UserGUIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		if out[i] = m[id]; out[i] == "" {
			t.Fatalf("user %d has no GUID", id)
		}
	}
	return out
}

// groupStates returns every group's licenseProcessingState as the server
// reports it, by group id.
func groupStates(s *server) (map[string]string, error) {
	out := map[string]string{}
	path := "/v1.0/groups?$top=999"
	for path != "" {
		status, body, err := s.do("GET", path, nil)
		if err != nil {
			return nil, err
		}
		if status != 200 {
			return nil, fmt.Errorf("GET %s: %d %v", path, status, body)
		}
		vals, _ := body["value"].([]any)
		for _, v := range vals {
			g := v.(map[string]any)
			st, _ := g["licenseProcessingState"].(map[string]any)
			state, _ := st["state"].(string)
			out[g["id"].(string)] = state
		}
		path = ""
		if next, _ := body["@odata.nextLink"].(string); next != "" {
			path = strings.TrimPrefix(next, s.url)
		}
	}
	return out, nil
}

// drained tells whether group licensing has nothing left to do: no mark
// waits or is being processed and every group's processing is complete.
// busy says what is left otherwise.
func drained(st *sqlstore.Store, s *server) (ok bool, busy string, err error) {
	n, err := st.PendingMarks(context.Background())
	if err != nil {
		return false, "", err
	}
	if n > 0 {
		return false, fmt.Sprintf("%d pending marks", n), nil
	}
	states, err := groupStates(s)
	if err != nil {
		return false, "", err
	}
	for id, state := range states {
		if state != allot.ProcessingComplete {
			return false, fmt.Sprintf("group %s is %s", id, state), nil
		}
	}
	// A mark written by a commit that raced the group listing.
	if n, err = st.PendingMarks(context.Background()); err != nil || n > 0 {
		return false, fmt.Sprintf("%d pending marks", n), err
	}
	return true, "", nil
}

// waitDrained polls until group licensing has converged (see drained).
func waitDrained(t testing.TB, what string, timeout time.Duration, st *sqlstore.Store, servers ...*server) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, busy, err := drained(st, servers[0])
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, s := range servers {
				t.Logf("%s log:\n%s", s.name, tail(s.log(), 30))
			}
			t.Fatalf("%s: group licensing did not converge within %s (%s)", what, timeout, busy)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// activeBoth returns the users among ids that hold both products (by
// internal product id) Active, from any source.
func activeBoth(t testing.TB, st *sqlstore.Store, tenantID int64, ids []int64, p, q int64) []int64 {
	t.Helper()
	lic, err := st.UserLicenses(context.Background(), tenantID, ids)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, id := range ids {
		var hp, hq bool
		for _, v := range lic[id] {
			if v.State == allot.StateActive {
				hp = hp || v.ProductID == p
				hq = hq || v.ProductID == q
			}
		}
		if hp && hq {
			out = append(out, id)
		}
	}
	return out
}

// productID returns the internal id of the tenant's product.
func productID(t testing.TB, st *sqlstore.Store, tenantID int64, ref string) int64 {
	t.Helper()
	p, err := st.Product(context.Background(), tenantID, ref)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// checkSeatCounters fails the test when a product's consumedUnits differs
// from the number of users holding it or exceeds its enabledUnits.
func checkSeatCounters(t testing.TB, st *sqlstore.Store, tenantID int64) int {
	t.Helper()
	ps, err := st.Products(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	holders, err := st.CountHolders(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ConsumedUnits != holders[p.ID] {
			t.Errorf("%s: consumedUnits %d, but %d users hold it", p.SkuPartNumber, p.ConsumedUnits, holders[p.ID])
		}
		if holders[p.ID] > p.EnabledUnits {
			t.Errorf("%s: %d users hold it, more than its %d enabled units", p.SkuPartNumber, holders[p.ID], p.EnabledUnits)
		}
	}
	return 2 * len(ps)
}

// sample returns up to n items of s, for messages.
func sample[T any](s []T, n int) []T { return s[:min(len(s), n)] }
