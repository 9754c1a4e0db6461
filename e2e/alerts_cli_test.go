package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAlertCommands: `alerts create` makes a rule that the running server
// checks; a rule whose condition already holds fires once to its webhook,
// `alerts` shows it firing, `alerts delete` removes it, and bad input is
// refused with the server's message.
func TestAlertCommands(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	srv := startServerWith(t, nil, "--alerts-every", "100ms", "--webhook-allow-private")
	c := newCLI(t, srv)
	out := c.ok("alerts", "create", "--name", "E3 running low", "--product", "SPE_E3", "--metric", "availableSeats",
		"--threshold", "1000000", "--webhook", hook.URL)
	contains(t, out, `Created alert rule "E3 running low"`, "Microsoft 365 E3: available seats ≤ 1000000")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rule did not fire within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // five more checks: no second firing
	mu.Lock()
	if len(got) != 1 || got[0]["status"] != "firing" || got[0]["skuPartNumber"] != "SPE_E3" {
		t.Errorf("webhook got %v, want one firing of SPE_E3", got)
	}
	mu.Unlock()
	list := c.ok("alerts")
	line := lineWith(t, list, "E3 running low", "firing")
	id := fields(line)[len(fields(line))-1]
	c.fail(2, []string{"metric 'heat' is not valid"}, "alerts", "create", "--name", "x", "--metric", "heat", "--webhook", hook.URL)
	contains(t, c.ok("alerts", "delete", id), "Deleted alert rule")
	if out := c.ok("alerts"); strings.Contains(out, "E3 running low") {
		t.Errorf("the rule is still listed:\n%s", out)
	}
}
