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
		const n, assigns, rounds = 20000, 1200, 6
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
		// Direct assignments, in blocks that alternate between with a
		// subscriber (the dispatcher delivering each change) and without
		// (the subscription deleted), in turn first, so that drift and a
		// warming cache fall on both sides alike.
		var with, without []time.Duration
		sub := c.must(200, "GET", "/v1.0/subscriptions", nil).values(t)[0]["id"].(string)
		block := func(prefix string, out *[]time.Duration) {
			for i := range assigns / rounds {
				u := c.createUser(fmt.Sprintf("%s%d@bench.test", prefix, i), "US")
				t0 := time.Now()
				c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
				*out = append(*out, time.Since(t0))
			}
		}
		for r := range rounds {
			subscribed := func() {
				if sub == "" {
					sub = c.must(201, "POST", "/v1.0/subscriptions", subBody(rc.srv.URL, "users", "b", time.Hour)).object(t)["id"].(string)
				}
				block(fmt.Sprintf("with%d-", r), &with)
			}
			unsubscribed := func() {
				if sub != "" {
					c.must(204, "DELETE", "/v1.0/subscriptions/"+sub, nil)
					sub = ""
				}
				block(fmt.Sprintf("without%d-", r), &without)
			}
			if r%2 == 0 {
				subscribed()
				unsubscribed()
			} else {
				unsubscribed()
				subscribed()
			}
		}
		pct := func(lat []time.Duration) (p50, p99 time.Duration) {
			slices.Sort(lat)
			return lat[len(lat)/2], lat[len(lat)*99/100]
		}
		w50, w99 := pct(with)
		o50, o99 := pct(without)
		t.Logf("direct assign, %d each in %d alternating blocks: with a subscriber p50 %v p99 %v; without p50 %v p99 %v (floor: p99 within 10%%, ≤ %v)",
			len(with), 2*rounds, w50, w99, o50, o99, time.Duration(float64(o99)*1.1))
		if float64(w99) > 1.1*float64(o99) {
			t.Errorf("direct assign p99 with a subscriber %v is more than 10%% over %v", w99, o99)
		}
	})
}
