package httpapi

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"allot/events"
)

// TestEventsThroughputBench (ALLOT_EVENTS_BENCH=1; figures in
// docs/benchmarks.md): 20,000 users licensed by one group batch while the
// dispatcher is stopped are 20,000 undelivered notifications; the
// dispatcher then delivers them to a local receiver (floor 2,000/s). Then
// direct assignments' p99 with a subscriber (the dispatcher delivering
// each change) against without (floor: within 10 %).
func TestEventsThroughputBench(t *testing.T) {
	if os.Getenv("ALLOT_EVENTS_BENCH") == "" {
		t.Skip("set ALLOT_EVENTS_BENCH=1")
	}
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		const n, assigns = 20000, 300
		h := newHarness(t, open)
		ctx := context.Background()
		c := h.newTenant("Bench", "NAM", "US", map[string]int{"SPE_E3": n + 2*assigns + 10}).with(t)
		rc := newGraphReceiver(t, "b")
		c.must(201, "POST", "/v1.0/subscriptions", subBody(rc.srv.URL, "users", "b", time.Hour))
		g, _, err := h.st.LoadGroup(ctx, c.Tenant.ID, "Bench", "bench", n)
		if err != nil {
			t.Fatal(err)
		}
		c.must(202, "POST", "/v1.0/groups/"+g.GUID+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		h.drain()
		start := time.Now()
		startDispatcher(h, events.Config{Workers: 1})
		waitUntil(t, 120*time.Second, "every notification", func() bool { return len(rc.notes()) >= n })
		took := time.Since(start)
		rate := float64(n) / took.Seconds()
		t.Logf("throughput: %d notifications in %v = %.0f/s (floor 2000/s), %d POSTs", n, took.Round(time.Millisecond), rate, rc.posts)
		if rate < 2000 {
			t.Errorf("throughput %.0f/s < 2000/s", rate)
		}
		ids := map[string]bool{}
		for _, note := range rc.notes() {
			ids[note["resourceData"].(map[string]any)["id"].(string)] = true
		}
		if len(ids) != n {
			t.Errorf("%d distinct users notified, want %d", len(ids), n)
		}
		// Direct assignments: the dispatcher runs in both rounds; the
		// second has the subscriber, so each assignment is delivered.
		p99 := func(prefix string) time.Duration {
			var lat []time.Duration
			for i := range assigns {
				u := c.createUser(fmt.Sprintf("%s%d@bench.test", prefix, i), "US")
				t0 := time.Now()
				c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			return lat[len(lat)*99/100]
		}
		with := p99("with")
		subs := c.must(200, "GET", "/v1.0/subscriptions", nil).values(t)
		c.must(204, "DELETE", "/v1.0/subscriptions/"+subs[0]["id"].(string), nil)
		without := p99("without")
		t.Logf("direct assign p99: %v with a subscriber, %v without (floor: within 10%%, ≤ %v)", with, without, time.Duration(float64(without)*1.1))
		if float64(with) > 1.1*float64(without) {
			t.Errorf("direct assign p99 with a subscriber %v is more than 10%% over %v", with, without)
		}
	})
}
