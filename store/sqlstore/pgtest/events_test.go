package pgtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot/store/sqlstore"
)

// sampleReceiver is a Graph webhook receiver written as Microsoft's samples
// write one: it echoes validationToken as text/plain, checks clientState,
// answers 202. While failing is set it answers 500; each POST takes delay.
type sampleReceiver struct {
	srv     *httptest.Server
	failing atomic.Bool
	delay   time.Duration
	mu      sync.Mutex
	seen    map[string]int // user id → notifications received
	total   int
	bad     int
}

func newSampleReceiver(t *testing.T, secret string, delay time.Duration) *sampleReceiver {
	rc := &sampleReceiver{seen: map[string]int{}, delay: delay}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		if rc.failing.Load() {
			http.Error(w, "down", 500)
			return
		}
		time.Sleep(rc.delay)
		var body struct {
			Value []struct {
				ClientState  string `json:"clientState"`
				ChangeType   string `json:"changeType"`
				ResourceData struct {
					ID string `json:"id"`
				} `json:"resourceData"`
			} `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, n := range body.Value {
			if n.ClientState != secret || n.ChangeType != "updated" {
				rc.bad++
				continue
			}
			rc.seen[n.ResourceData.ID]++
			rc.total++
		}
		w.WriteHeader(202)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *sampleReceiver) counts() (distinct, total int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen), rc.total
}

// TestKilledServerDeliversEveryEventAfterRestart: 10,000 users licensed by
// group processing while the receiver is down make 10,000 undelivered
// events; the server is killed (SIGKILL) and restarted, and delivers them
// all; killed again in the middle of delivering, the next one delivers the
// rest, each user at least once, with no more duplicates than one in-flight
// batch. The retry schedule is 200 ms (the is minutes) and the
// lease 2 s, so that a restarted server takes over soon.
func TestKilledServerDeliversEveryEventAfterRestart(t *testing.T) {
	flags := []string{"--webhook-allow-private", "--events-retry", "200ms", "--events-lease", "2s", "--events-batch", "50", "--log-level", "warn"}
	t.Run("postgres", func(t *testing.T) {
		c, a := newCluster(t, flags...)
		killAndRestart(t, c, a, func(name string) *server { return startServer(t, name, c.db, flags...) })
	})
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		args := append([]string{"--data", dir}, flags...)
		a := startServer(t, "A", "", args...)
		st, err := sqlstore.OpenSQLite(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ten, err := st.DefaultTenant(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := &cluster{t: t, st: st, tenant: ten}
		killAndRestart(t, c, a, func(name string) *server { return startServer(t, name, "", args...) })
	})
}

// killAndRestart runs the kill -9 scenario on a cluster whose first server
// is a; start starts another server on the same store.
func killAndRestart(t *testing.T, c *cluster, a *server, start func(name string) *server) {
	const members, batch = 10000, 50
	ctx := context.Background()
	rc := newSampleReceiver(t, "sample-secret", 20*time.Millisecond)
	rc.failing.Store(true)
	a.must(201, "POST", "/v1.0/subscriptions", map[string]any{"changeType": "updated", "notificationUrl": rc.srv.URL + "/api/notifications",
		"resource": "users", "expirationDateTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "clientState": "sample-secret"})
	sku := customProduct(a, "EVENTS_K", members)
	g := a.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Everyone", "mailEnabled": false, "securityEnabled": true, "mailNickname": "everyone"})
	gid := g["id"].(string)
	a.must(202, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": sku}}, "removeLicenses": []string{}})
	grp, err := c.st.Group(ctx, c.tenant.ID, gid)
	if err != nil {
		t.Fatal(err)
	}
	ids := c.loadUsers("ev", members)
	if err := c.st.LoadMembers(ctx, c.tenant.ID, grp.ID, ids); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every member licensed", 120*time.Second, func() bool { return c.consumed(sku) == members }, a)
	if d, _ := rc.counts(); d != 0 {
		t.Fatalf("%d users notified while the receiver was down", d)
	}
	a.kill()
	rc.failing.Store(false)
	b := start("B")
	waitFor(t, "B delivers some", 60*time.Second, func() bool { d, _ := rc.counts(); return d >= 3000 }, b)
	b.kill()
	mid, _ := rc.counts()
	cs := start("C")
	waitFor(t, "every user notified", 120*time.Second, func() bool { d, _ := rc.counts(); return d == members }, cs)
	time.Sleep(500 * time.Millisecond)
	d, total := rc.counts()
	t.Logf("B was killed after %d users; %d notifications for %d users, %d duplicates (batch %d)", mid, total, d, total-d, batch)
	if total-d > batch {
		t.Errorf("%d duplicates, more than one in-flight batch (%d)", total-d, batch)
	}
	if rc.bad > 0 {
		t.Errorf("%d notifications with a wrong clientState or changeType", rc.bad)
	}
}
