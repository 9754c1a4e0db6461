package httpapi

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"allot/alerts"
	"allot/internal/egress"
)

// TestGroupLicenseErrorsAlertFiresAfterItsDurationAndResolves: a rule on
// license errors from one group, for 1.2 s, fires once when two members of
// the group cannot get Insights (no prerequisite) and the errors have lasted
// that long, not at once; it says the numbers and links the group's page,
// and resolves when the errors are gone. A rule on another group's errors
// stays quiet throughout.
func TestGroupLicenseErrorsAlertFiresAfterItsDurationAndResolves(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		hook := newWebhookSink(t)
		pilot, other := c.createGroup("Insights pilot"), c.createGroup("Other group")
		c.must(202, "POST", "/v1.0/groups/"+pilot+"/assignLicense", assignBody([]string{c.sku("WORKPLACE_ANALYTICS_INSIGHTS")}, nil))
		rule := c.must(201, "POST", "/allot/v1/alertRules", map[string]any{"displayName": "Pilot has errors",
			"metric": "licenseErrors", "group": pilot, "threshold": 0, "forMinutes": 0.02, "webhookUrl": hook.srv.URL}).object(t)
		if rule["group"] != pilot || rule["forMinutes"] != 0.02 || rule["link"] != "/groups/"+pilot {
			t.Fatalf("rule = %v", rule)
		}
		c.must(201, "POST", "/allot/v1/alertRules", map[string]any{"displayName": "Other has errors",
			"metric": "licenseErrors", "group": other, "threshold": 0, "webhookUrl": hook.srv.URL})
		w := alerts.NewWatcher(h.st, slog.New(h.logs), alerts.Config{Webhooks: egress.Policy{AllowPrivate: true}, BaseURL: "https://allot.contoso.com/"})
		check := func(want int) []alerts.Event {
			t.Helper()
			if err := w.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Deliver(context.Background()); err != nil {
				t.Fatal(err)
			}
			evs := hook.events()
			if len(evs) != want {
				t.Fatalf("%d events, want %d: %+v", len(evs), want, evs)
			}
			return evs
		}
		a, b := c.createUser("a@contoso.com", "US"), c.createUser("b@contoso.com", "US")
		c.addMember(pilot, a)
		c.addMember(pilot, b)
		h.drain()
		check(0) // the errors began: not yet for 1.2 s
		time.Sleep(1300 * time.Millisecond)
		ev := check(1)[0]
		if ev.Status != "firing" || ev.Metric != "licenseErrors" || ev.Value != 2 || ev.Group != "Insights pilot" ||
			ev.Link != "https://allot.contoso.com/groups/"+pilot || !strings.Contains(ev.Condition, "from group Insights pilot") {
			t.Errorf("firing event = %+v", ev)
		}
		check(1) // once per episode
		for _, u := range []string{a, b} {
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		}
		h.drain()
		if evs := check(2); evs[1].Status != "resolved" || evs[1].Value != 0 {
			t.Errorf("resolved event = %+v", evs[1])
		}
	})
}

// TestWaitAndLagAlertsFireAndResolve: "someone waits for Insights" fires
// when a user is put on the waiting list and resolves when seats are
// bought; "processing behind" fires while a group's change is unprocessed
// and resolves once it is processed.
func TestWaitAndLagAlertsFireAndResolve(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		hook := newWebhookSink(t)
		c.must(201, "POST", "/allot/v1/alertRules", map[string]any{"displayName": "Someone waits", "product": "ENTERPRISEPACK",
			"metric": "oldestWaitMinutes", "threshold": 0, "webhookUrl": hook.srv.URL})
		w := alerts.NewWatcher(h.st, slog.New(h.logs), alerts.Config{Webhooks: egress.Policy{AllowPrivate: true}})
		check := func() []alerts.Event {
			t.Helper()
			if err := w.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Deliver(context.Background()); err != nil {
				t.Fatal(err)
			}
			return hook.events()
		}
		g := c.createGroup("Office")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{c.sku("ENTERPRISEPACK")}, nil))
		for i := 0; i < 11; i++ { // 10 seats: the 11th waits
			c.addMember(g, c.createUser("o"+string(rune('a'+i))+"@contoso.com", "US"))
		}
		h.drain()
		time.Sleep(20 * time.Millisecond)
		if evs := check(); len(evs) != 1 || evs[0].Status != "firing" || evs[0].Value <= 0 || evs[0].Link != "/licenses/"+c.sku("ENTERPRISEPACK") {
			t.Fatalf("after the 11th member: %+v", evs)
		}
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+c.sku("ENTERPRISEPACK"), map[string]any{"enabledUnits": 12}) // one for "late" below
		h.drain()
		if evs := check(); len(evs) != 2 || evs[1].Status != "resolved" {
			t.Fatalf("after buying a seat: %+v", evs)
		}

		c.must(201, "POST", "/allot/v1/alertRules", map[string]any{"displayName": "Processing behind",
			"metric": "processingLagMinutes", "threshold": 0, "webhookUrl": hook.srv.URL})
		c.addMember(g, c.createUser("late@contoso.com", "US")) // a mark waits: the harness runs no worker
		time.Sleep(20 * time.Millisecond)
		if evs := check(); len(evs) != 3 || evs[2].Status != "firing" || evs[2].Metric != "processingLagMinutes" {
			t.Fatalf("with a change waiting: %+v", evs)
		}
		h.drain()

		if evs := check(); len(evs) != 4 || evs[3].Status != "resolved" {
			t.Fatalf("after processing: %+v", evs)
		}
	})
}

// TestAlertKindsRefuseBadInput: a group with a metric other than
// licenseErrors, a product on processing lag, an unknown group and a
// negative or over-long duration are refused and create nothing.
func TestAlertKindsRefuseBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		g := c.createGroup("G")
		hook := "http://127.0.0.1:1/"
		for name, tc := range map[string]struct {
			status int
			code   string
			body   map[string]any
		}{
			"group on utilization": {400, "Request_BadRequest", map[string]any{"displayName": "x", "metric": "utilization", "threshold": 90, "group": g, "webhookUrl": hook}},
			"product on lag":       {400, "Request_BadRequest", map[string]any{"displayName": "x", "metric": "processingLagMinutes", "threshold": 5, "product": "SPE_E3", "webhookUrl": hook}},
			"negative duration":    {400, "Request_BadRequest", map[string]any{"displayName": "x", "metric": "licenseErrors", "threshold": 0, "forMinutes": -1, "webhookUrl": hook}},
			"over 30 days":         {400, "Request_BadRequest", map[string]any{"displayName": "x", "metric": "licenseErrors", "threshold": 0, "forMinutes": 50000, "webhookUrl": hook}},
			"unknown group":        {404, "Request_ResourceNotFound", map[string]any{"displayName": "x", "metric": "licenseErrors", "threshold": 0, "group": "8c5e3a64-0000-4000-8000-000000000000", "webhookUrl": hook}},
		} {
			t.Run(name, func(t *testing.T) { c.with(t).expectError(tc.status, tc.code, "POST", "/allot/v1/alertRules", tc.body) })
		}
		if n := len(c.must(200, "GET", "/allot/v1/alertRules", nil).values(t)); n != 0 {
			t.Errorf("%d rules after refusals", n)
		}
	})
}
