package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot/alerts"
)

// TestBrowserAlertRules: a Global Administrator creates "Insights ≥ 10%
// used" from the Alerts page's form; the table shows it, in product words,
// OK; once 3 of 25 seats are used and the watcher has checked, the page
// says Firing; a threshold that is not a number is refused in words with
// the form kept; Delete removes the rule. A Global Reader sees the rules
// but no form and no Delete, and their POST is 403.
func TestBrowserAlertRules(t *testing.T) {
	e := newEnv(t, 25)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.click(`nav.side a[href="/alerts"]`)
	b.waitPath("/alerts")
	b.fill(`#alert-form input[name=name]`, "Insights almost full")
	b.do(chromedp.SetValue(chromedp.CSS(`#alert-form select[name=metric]`), "utilization"),
		chromedp.SetValue(chromedp.CSS(`#alert-form select[name=product]`), e.skus["WORKPLACE_ANALYTICS_INSIGHTS"].SkuID))
	b.fill(`#alert-form input[name=threshold]`, "abc")
	b.fill(`#alert-form input[name=emails]`, "licensing@contoso.com")
	b.click(`#alert-form button[type=submit]`)
	b.waitText("main [role=alert]", "Enter the threshold as a number")
	if got := b.value(`#alert-form input[name=name]`); got != "Insights almost full" {
		t.Errorf("the refused form lost the name: %q", got)
	}
	b.fill(`#alert-form input[name=threshold]`, "10")
	b.click(`#alert-form button[type=submit]`)
	b.waitText("main [role=status]", "Alert rule created")
	row := `#alerts-table tbody tr`
	if got := b.text(row + ` [data-condition]`); got != "Microsoft Workplace Analytics Insights: ≥ 10% of seats used" {
		t.Errorf("condition %q", got)
	}
	if got := b.text(row + ` [data-state]`); got != "OK" {
		t.Errorf("state %q, want OK", got)
	}
	for _, name := range []string{"Adele Vance", "Alex Wilber", "Diego Siciliani"} {
		e.assign(name, "SPE_E3", "WORKPLACE_ANALYTICS_INSIGHTS")
	}
	w := alerts.NewWatcher(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), alerts.Config{})
	if err := w.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.open("/alerts")
	if got := b.text(row + ` [data-state]`); !strings.HasPrefix(got, "Firing") {
		t.Errorf("state after 3 of 25 seats: %q, want Firing", got)
	}
	b.screenshotView("alerts")

	r := e.browser()
	r.signIn(readerUPN, password)
	r.waitPath("/users")
	r.open("/alerts")
	if r.count(`#alert-form`)+r.count(`#alerts-table form`) != 0 {
		t.Error("a Global Reader sees the form or Delete")
	}
	rules, err := e.st.AlertRules(context.Background(), e.tenant.ID)
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules %v, %v", rules, err)
	}
	guid := rules[0].GUID
	resp, err := e.client(readerUPN).PostForm(e.srv.URL+"/alerts/"+guid+"/delete", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reader's delete: %d, want 403", resp.StatusCode)
	}

	b.click(`#alerts-table form button`)
	b.waitText("main [role=status]", "Alert rule deleted")
	if n := b.count(row); n != 0 {
		t.Errorf("%d rules after Delete", n)
	}
}
