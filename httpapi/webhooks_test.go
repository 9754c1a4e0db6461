package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/alerts"
	"allot/events"
	"allot/internal/egress"
)

// hookReceiver is a plain webhook receiver: it records every POST and
// answers the statuses in turn (the last one repeats).
type hookReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []hookPost
}

type hookPost struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T, statuses ...int) *hookReceiver {
	rc := &hookReceiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		st := rc.statuses[min(len(rc.got), len(rc.statuses)-1)]
		rc.got = append(rc.got, hookPost{header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookReceiver) posts() []hookPost {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookPost(nil), rc.got...)
}

// verifyHook checks a delivery as a receiver should: the signature header
// t=<unix>,v1=<hex> is the HMAC-SHA256 of "<t>.<body>" with the secret, and
// t is within 5 minutes of now and equals the timestamp header.
func verifyHook(t *testing.T, p hookPost, secret string) {
	t.Helper()
	sig := p.header.Get(events.SignatureHeader)
	var ts, v1 string
	for _, part := range strings.Split(sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts != p.header.Get(events.TimestampHeader) {
		t.Fatalf("%s %q and %s %q: want t=<unix> equal to the timestamp", events.SignatureHeader, sig, events.TimestampHeader, p.header.Get(events.TimestampHeader))
	}
	if age := time.Since(time.Unix(unix, 0)); age < -time.Minute || age > 5*time.Minute {
		t.Errorf("signature timestamp is %v old, want under 5 minutes", age)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(p.body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(v1), []byte(want)) {
		t.Errorf("signature v1=%s does not verify with the endpoint's secret (want %s)", v1, want)
	}
}

func fastHooks(h *harness, attempts int) {
	startDispatcher(h, events.Config{Poll: 20 * time.Millisecond, ClaimEvery: 40 * time.Millisecond,
		Retry: []time.Duration{100 * time.Millisecond}, WebhookAttempts: attempts})
}

// TestWebhookTestEventArrivesAsSignedCloudEvent: an endpoint is created
// (its secret shown once, audited), POST …/test answers 202 with an event
// id, and the receiver gets that event as CloudEvents 1.0 structured JSON
// whose signature verifies with the secret; the delivery log shows it
// delivered; deleting the endpoint is audited and it is gone.
func TestWebhookTestEventArrivesAsSignedCloudEvent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		rc := newHookReceiver(t, 200)
		fastHooks(h, 0)
		ep := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": rc.srv.URL + "/hook", "description": "SIEM"}).object(t)
		id, secret := ep["id"].(string), ep["secret"].(string)
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
			t.Fatalf("secret %q: want whsec_ and 32 random bytes", secret)
		}
		if got := c.must(200, "GET", "/allot/v1/webhookEndpoints/"+id, nil).object(t); got["secret"] != nil || got["url"] != rc.srv.URL+"/hook" {
			t.Errorf("GET shows %v: want the url and no secret", got)
		}
		if list := c.must(200, "GET", "/allot/v1/webhookEndpoints", nil).values(t); len(list) != 1 || list[0]["secret"] != nil {
			t.Errorf("list %v: want the one endpoint without its secret", list)
		}
		evID := c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil).object(t)["eventId"].(string)
		waitUntil(t, 10*time.Second, "the test event", func() bool { return len(rc.posts()) == 1 })
		p := rc.posts()[0]
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
			t.Errorf("Content-Type %q, want application/cloudevents+json", ct)
		}
		var ce map[string]any
		if err := json.Unmarshal(p.body, &ce); err != nil {
			t.Fatalf("body %s: %v", p.body, err)
		}
		if ce["specversion"] != "1.0" || ce["id"] != evID || ce["type"] != "allot.test" || ce["datacontenttype"] != "application/json" ||
			ce["source"] != "/allot/tenants/"+c.Tenant.GUID || ce["data"] == nil {
			t.Errorf("CloudEvent %s: want specversion 1.0, id %s, type allot.test, source of the tenant, data", p.body, evID)
		}
		if _, err := time.Parse(time.RFC3339, ce["time"].(string)); err != nil {
			t.Errorf("time %v: %v", ce["time"], err)
		}
		verifyHook(t, p, secret)
		waitUntil(t, 5*time.Second, "the delivery log", func() bool {
			return len(c.must(200, "GET", "/allot/v1/webhookEndpoints/"+id+"/deliveries", nil).values(t)) == 1
		})
		d := c.must(200, "GET", "/allot/v1/webhookEndpoints/"+id+"/deliveries", nil).values(t)[0]
		if d["eventId"] != evID || d["status"] != "delivered" || d["httpStatus"] != float64(200) || d["attempt"] != float64(1) {
			t.Errorf("delivery log %v: want attempt 1 of %s delivered with 200", d, evID)
		}
		c.must(204, "DELETE", "/allot/v1/webhookEndpoints/"+id, nil)
		c.expectError(404, "Request_ResourceNotFound", "GET", "/allot/v1/webhookEndpoints/"+id, nil)
		audits := c.listAll("/v1.0/auditLogs/directoryAudits")
		var acts []string
		for _, a := range audits {
			if tr := a["targetResources"].([]any)[0].(map[string]any); tr["id"] == id {
				acts = append(acts, a["activityDisplayName"].(string))
			}
		}
		if strings.Join(acts, "|") != "Delete webhook endpoint|Add webhook endpoint" {
			t.Errorf("audit of the endpoint: %q, want its deletion and creation", acts)
		}
	})
}

// TestWebhookRetriesShowInDeliveryLog: a receiver that answers 500 and
// then 200 gets the same event twice (same id, each signed); the delivery
// log lists both attempts newest first, the failed one with its status,
// error and next retry, paged with @odata.nextLink. An endpoint whose
// receiver always fails is dead-lettered after its last attempt.
func TestWebhookRetriesShowInDeliveryLog(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		flaky, down := newHookReceiver(t, 500, 200), newHookReceiver(t, 503)
		fastHooks(h, 3)
		ep := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": flaky.srv.URL}).object(t)
		id := ep["id"].(string)
		evID := c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil).object(t)["eventId"].(string)
		path := "/allot/v1/webhookEndpoints/" + id + "/deliveries"
		waitUntil(t, 10*time.Second, "two attempts in the log", func() bool { return len(c.listAll(path)) == 2 })
		for _, p := range flaky.posts() {
			verifyHook(t, p, ep["secret"].(string))
			if p.header.Get(events.EventIDHeader) != evID {
				t.Errorf("retry carries event id %q, want %s", p.header.Get(events.EventIDHeader), evID)
			}
		}
		page := c.must(200, "GET", path+"?$top=1", nil).object(t)
		next, _ := page["@odata.nextLink"].(string)
		if next == "" {
			t.Fatalf("page of 1 of 2 attempts has no @odata.nextLink: %v", page)
		}
		newest := page["value"].([]any)[0].(map[string]any)
		older := c.must(200, "GET", h.relative(next), nil).values(t)
		if newest["attempt"] != float64(2) || newest["status"] != "delivered" || newest["httpStatus"] != float64(200) {
			t.Errorf("newest attempt %v: want attempt 2 delivered with 200", newest)
		}
		if len(older) != 1 || older[0]["attempt"] != float64(1) || older[0]["httpStatus"] != float64(500) ||
			older[0]["status"] != "retrying" || older[0]["nextRetryDateTime"] == nil || older[0]["error"] == nil || older[0]["eventId"] != evID {
			t.Errorf("older attempt %v: want attempt 1 of %s answered 500, retrying, with its next retry", older, evID)
		}

		dead := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": down.srv.URL}).object(t)["id"].(string)
		c.must(202, "POST", "/allot/v1/webhookEndpoints/"+dead+"/test", nil)
		dpath := "/allot/v1/webhookEndpoints/" + dead + "/deliveries"
		waitUntil(t, 10*time.Second, "three attempts", func() bool { return len(c.listAll(dpath)) == 3 })
		time.Sleep(300 * time.Millisecond)
		log := c.listAll(dpath)
		if len(log) != 3 || log[0]["status"] != "deadLettered" || log[0]["nextRetryDateTime"] != nil || len(down.posts()) != 3 {
			t.Errorf("always-failing receiver: %d attempts, %d posts, newest %v; want 3, dead-lettered", len(log), len(down.posts()), log[0])
		}
	})
}

// TestWebhookEndpointsRefuseBadInput: a plain http URL where the operator
// does not allow private receivers, a missing or non-http URL, a read-only
// property, and unknown ids answer 4xx with the Graph error envelope, and
// nothing is created.
func TestWebhookEndpointsRefuseBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		limits := DefaultLimits
		limits.RatePerSecond = 0
		strict := httptest.NewServer(New(h.st, slog.New(h.logs), limits).Handler())
		defer strict.Close()
		sc := c.with(t)
		sc.h = &harness{t: t, st: h.st, srv: strict, hc: h.hc, logs: h.logs}
		for _, u := range []string{"http://hooks.example.com/allot", "https://127.0.0.1/hook", "https://localhost/hook"} {
			e := sc.expectError(400, "Request_BadRequest", "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": u})
			if !strings.Contains(e.Message, "refused") {
				t.Errorf("%s: %q, want it to say why it is refused", u, e.Message)
			}
		}
		for _, b := range []map[string]any{{}, {"url": ""}, {"url": "ftp://hooks.example.com/x"}, {"url": "not a url"},
			{"url": "https://hooks.example.com/x", "secret": "mine"}, {"url": "https://hooks.example.com/" + strings.Repeat("x", 2048)},
			{"url": "https://hooks.example.com/x", "description": strings.Repeat("d", 501)}, {"url": "https://hooks.example.com/x", "color": "red"}} {
			c.expectError(400, "Request_BadRequest", "POST", "/allot/v1/webhookEndpoints", b)
		}
		unknown := "00000000-0000-4000-8000-000000000000"
		for _, r := range [][2]string{{"GET", ""}, {"DELETE", ""}, {"POST", "/test"}, {"GET", "/deliveries"}} {
			c.expectError(404, "Request_ResourceNotFound", r[0], "/allot/v1/webhookEndpoints/"+unknown+r[1], nil)
		}
		if n := len(c.must(200, "GET", "/allot/v1/webhookEndpoints", nil).values(t)); n != 0 {
			t.Errorf("%d endpoints exist after refusals", n)
		}
	})
}

// TestAlertRuleSendsThroughWebhookEndpoint: an alert rule that names a
// webhook endpoint sends its firing and resolved as signed CloudEvents
// (allot.alert.fired, allot.alert.resolved) through the endpoint's outbox;
// an unknown endpoint is refused with 404; deleting the endpoint leaves the
// rule without it.
func TestAlertRuleSendsThroughWebhookEndpoint(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		rc := newHookReceiver(t, 200)
		fastHooks(h, 0)
		ep := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": rc.srv.URL}).object(t)
		id := ep["id"].(string)
		body := map[string]any{"displayName": "E3 full", "product": "ENTERPRISEPACK", "metric": "availableSeats", "threshold": 10,
			"webhookEndpointId": "00000000-0000-4000-8000-000000000000"}
		c.expectError(404, "Request_ResourceNotFound", "POST", "/allot/v1/alertRules", body)
		body["webhookEndpointId"] = id
		rule := c.must(201, "POST", "/allot/v1/alertRules", body).object(t)
		if rule["webhookEndpointId"] != id {
			t.Errorf("rule %v: want webhookEndpointId %s", rule, id)
		}
		w := alerts.NewWatcher(h.st, slog.New(h.logs), alerts.Config{Webhooks: egress.Policy{AllowPrivate: true}})
		check := func() {
			t.Helper()
			if err := w.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Deliver(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		check()
		waitUntil(t, 10*time.Second, "allot.alert.fired", func() bool { return len(rc.posts()) == 1 })
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+c.sku("ENTERPRISEPACK"), map[string]any{"enabledUnits": 20})
		check()
		waitUntil(t, 10*time.Second, "allot.alert.resolved", func() bool { return len(rc.posts()) == 2 })
		for i, want := range []string{"allot.alert.fired", "allot.alert.resolved"} {
			p := rc.posts()[i]
			verifyHook(t, p, ep["secret"].(string))
			var ce struct {
				Type, Subject string
				Data          alerts.Event
			}
			json.Unmarshal(p.body, &ce)
			if ce.Type != want || ce.Subject != "alertRules/"+rule["id"].(string) || ce.Data.RuleID != rule["id"] {
				t.Errorf("event %d: %s, want %s of the rule", i, p.body, want)
			}
		}
		c.must(204, "DELETE", "/allot/v1/webhookEndpoints/"+id, nil)
		if got := c.must(200, "GET", "/allot/v1/alertRules", nil).values(t)[0]; got["webhookEndpointId"] != nil {
			t.Errorf("rule after its endpoint was deleted: %v", got)
		}
	})
}

// TestWebhookDeliveryIsCheckedAgainstTheEgressPolicy: an endpoint stored
// while private receivers were allowed is not called by a dispatcher whose
// policy does not allow them: the attempt is logged with the reason, and
// the receiver gets nothing.
func TestWebhookDeliveryIsCheckedAgainstTheEgressPolicy(t *testing.T) {
	h := newHarness(t, openSQLiteStore)
	c := h.A.with(t)
	rc := newHookReceiver(t, 200)
	ctx, cancel := context.WithCancel(context.Background())
	d := events.NewDispatcher(h.st, slog.New(h.logs), events.Config{Poll: 20 * time.Millisecond, ClaimEvery: 40 * time.Millisecond,
		WebhookAttempts: 1}, nil) // Webhooks: the default policy, https to public addresses only
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	id := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": rc.srv.URL}).object(t)["id"].(string)
	c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil)
	path := "/allot/v1/webhookEndpoints/" + id + "/deliveries"
	waitUntil(t, 10*time.Second, "the refused attempt", func() bool { return len(c.listAll(path)) == 1 })
	a := c.listAll(path)[0]
	if msg, _ := a["error"].(string); a["status"] != "deadLettered" || a["httpStatus"] != nil || !strings.Contains(msg, "refused") {
		t.Errorf("attempt %v: want dead-lettered, no status, refused by the policy", a)
	}
	if n := len(rc.posts()); n != 0 {
		t.Errorf("the receiver on 127.0.0.1 got %d POSTs", n)
	}
}

// TestWebhookHistoryPurgeKeepsPendingEvents: purging drops delivered
// events and their delivery log, and keeps an event not yet delivered,
// which is then delivered.
func TestWebhookHistoryPurgeKeepsPendingEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		rc := newHookReceiver(t, 200)
		ctx := context.Background()
		d := events.NewDispatcher(h.st, slog.New(h.logs), events.Config{Webhooks: egress.Policy{AllowPrivate: true}}, nil)
		id := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": rc.srv.URL}).object(t)["id"].(string)
		c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil)
		c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil)
		if err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
		pending := c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil).object(t)["eventId"]
		gone, err := h.st.PurgeWebhookHistory(ctx, time.Now().Add(time.Minute), 100)
		if err != nil || gone != 4 {
			t.Fatalf("purge: %d rows, %v; want 2 delivered events and their 2 attempts", gone, err)
		}
		path := "/allot/v1/webhookEndpoints/" + id + "/deliveries"
		if n := len(c.listAll(path)); n != 0 {
			t.Errorf("%d log entries after the purge", n)
		}
		if err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if log := c.listAll(path); len(log) != 1 || log[0]["eventId"] != pending || len(rc.posts()) != 3 {
			t.Errorf("after the purge: log %v, %d posts; want the pending event delivered", log, len(rc.posts()))
		}
	})
}

// TestWebhookEventsAreSentOnceByConcurrentDispatchers: two dispatchers on
// one database share an outbox through their leases: each event reaches
// the receiver once.
func TestWebhookEventsAreSentOnceByConcurrentDispatchers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		rc := newHookReceiver(t, 200)
		id := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": rc.srv.URL}).object(t)["id"].(string)
		const n = 40
		for range n {
			c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil)
		}
		fastHooks(h, 0)
		fastHooks(h, 0)
		waitUntil(t, 20*time.Second, "every event", func() bool { return len(rc.posts()) >= n })
		time.Sleep(200 * time.Millisecond)
		seen := map[string]int{}
		for _, p := range rc.posts() {
			seen[p.header.Get(events.EventIDHeader)]++
		}
		for ev, k := range seen {
			if k != 1 {
				t.Errorf("event %s sent %d times", ev, k)
			}
		}
		if len(seen) != n {
			t.Errorf("%d distinct events reached the receiver, want %d", len(seen), n)
		}
	})
}

// TestWebhookGivesUpAfterItsRetryWindow: with no cap on attempts, an event
// a receiver always refuses is retried until the next try would come after
// the retry window (here 450 ms; 24 h by default), then dead-lettered; the
// log shows several attempts, the last one deadLettered, and nothing more
// is sent.
func TestWebhookGivesUpAfterItsRetryWindow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		rc := newHookReceiver(t, 500)
		startDispatcher(h, events.Config{Poll: 20 * time.Millisecond, ClaimEvery: 40 * time.Millisecond,
			Retry: []time.Duration{100 * time.Millisecond}, WebhookGiveUp: 450 * time.Millisecond})
		id := c.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": rc.srv.URL}).object(t)["id"].(string)
		c.must(202, "POST", "/allot/v1/webhookEndpoints/"+id+"/test", nil)
		path := "/allot/v1/webhookEndpoints/" + id + "/deliveries"
		waitUntil(t, 10*time.Second, "the event dead-lettered", func() bool {
			log := c.listAll(path)
			return len(log) > 0 && log[0]["status"] == "deadLettered"
		})
		n := len(rc.posts())
		time.Sleep(300 * time.Millisecond)
		log := c.listAll(path)
		if n < 3 || len(rc.posts()) != n || len(log) != n {
			t.Errorf("%d POSTs (then %d), %d log entries: want at least 3 within the window and none after", n, len(rc.posts()), len(log))
		}
	})
}
