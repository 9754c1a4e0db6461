package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/store"
	"allot/store/sqlstore"
)

// TestBrowserReclamationRulesDryRunAndRuns: a Global Administrator
// creates "no activity for 30 days, notice 0 days" on Office 365 E3 with
// Leadership exempt from the Reclamation page (a period that is not a
// number is refused in words first). Adele and Grady (inactive), Alex
// (active by the activity report) and Diego (inactive, in Leadership) hold
// it directly, assigned 100 days ago. Dry run names Adele and Grady as the
// API's dry run does and records nothing; Run now gives them the notice
// (the notices table says when each is taken back, as the API's notices
// list does); Keep for Grady; the next run takes Adele's license back and
// withdraws Grady's notice, and the runs table shows what the API's runs
// list says, with the price saved. A Global Reader sees neither the form nor the
// buttons, and their POST is 403. The reconciler does not run, so that
// the rule runs only when a button says so.
func TestBrowserReclamationRulesDryRunAndRuns(t *testing.T) {
	e := newEnvPaused(t, 25) // no reconciler: the rule runs only when pressed
	ctx := context.Background()
	for _, n := range []string{"Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie"} {
		e.assign(n, "ENTERPRISEPACK")
	}
	if _, err := e.st.DB().ExecContext(ctx, fmt.Sprintf(`UPDATE license_states SET updated_at = updated_at - %d WHERE source_id = 0`, int64(100*24*time.Hour/time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ImportActivity(ctx, actor, e.tenant.ID, []sqlstore.ActivityRow{{Row: 1, User: upnOf("Alex Wilber"), Product: "ENTERPRISEPACK", At: time.Now().UnixMilli()}}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetPrice(ctx, actor, e.tenant.ID, "ENTERPRISEPACK", &store.Price{Currency: "USD", UnitPrice: 1000, Term: store.TermMonthly}); err != nil {
		t.Fatal(err)
	}
	lead := e.group("Leadership", "Diego Siciliani")
	pack := e.skus["ENTERPRISEPACK"]

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.click(`nav.side a[href="/reclamation"]`)
	b.waitPath("/reclamation")
	b.do(chromedp.SetValue(chromedp.CSS(`#reclaim-form select[name=product]`), pack.SkuID),
		chromedp.SetValue(chromedp.CSS(`#reclaim-form select[name=kind]`), "noActivity"))
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#reclaim-form select[name=exempt] option[value="` + lead.GUID + `"]').selected = true; void 0`))
	b.fill(`#reclaim-form input[name=days]`, "thirty")
	b.fill(`#reclaim-form input[name=notice]`, "0")
	b.click(`#reclaim-form button[type=submit]`)
	b.waitText("main [role=alert]", "Enter the period as a number of days")
	b.axeCheck("reclamation refused")
	b.fill(`#reclaim-form input[name=days]`, "30")
	b.click(`#reclaim-form button[type=submit]`)
	b.waitText("main [role=status]", "Reclamation rule created")
	row := `#reclaim-rules tbody tr`
	if got := b.text(row + ` [data-condition]`); got != "No activity for 30 days, then a notice of 0 days" {
		t.Errorf("condition %q", got)
	}
	if got, want := b.text(row+` [data-product]`), pack.DisplayName; got != want {
		t.Errorf("product %q, want %q", got, want)
	}
	if got := b.text(row + ` [data-exempt]`); got != "Leadership" {
		t.Errorf("exempt %q", got)
	}
	b.axeCheck("reclamation")

	hc := e.client(adminUPN)
	rules, err := e.st.ReclaimRules(ctx, e.tenant.ID)
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules %v %v", rules, err)
	}
	runURL := fmt.Sprintf("%s/allot/v1/reclamationRules/%d/run", e.srv.URL, rules[0].ID)
	var api struct {
		Noticed int
		Users   map[string][]string
	}
	apiPost(t, hc, runURL, `{"preview": true}`, &api)

	// Dry run, by keyboard: focus the button and press Enter.
	b.do(chromedp.Focus(chromedp.CSS(row+` [data-dry-run]`)), chromedp.KeyEvent("\r"))
	b.waitText("#reclaim-result [data-summary]", "Dry run")
	if got := b.text("#reclaim-result [data-summary]"); !strings.Contains(got, "would give 2 notices,") {
		t.Errorf("dry run %q", got)
	}
	if got, want := b.text(`#reclaim-result [data-users=noticed]`), "Would be noticed: "+strings.Join(api.Users["noticed"], ", "); got != want || api.Noticed != 2 {
		t.Errorf("dry run names %q, API %q (%d)", got, want, api.Noticed)
	}
	if n := b.count(`#reclaim-runs tbody tr`); n != 0 {
		t.Errorf("a dry run recorded %d runs", n)
	}
	b.axeCheck("reclamation dry run")

	b.click(row + ` [data-run]`)
	b.waitText("#reclaim-result [data-summary]", "gave 2 notices")
	// The notices, as the API lists them; Grady answers "keep".
	var notices struct {
		Value []struct {
			UserPrincipalName string
			ReclaimDateTime   time.Time
		}
	}
	apiGet(t, hc, e.srv.URL+"/allot/v1/reclamationNotices", &notices)
	if n := b.count(`#reclaim-notices tbody tr`); n != len(notices.Value) || n != 2 {
		t.Errorf("%d notices shown, API %d", n, len(notices.Value))
	}
	for _, n := range notices.Value {
		if got, want := b.text(`#reclaim-notices tr[data-notice="`+n.UserPrincipalName+`"] [data-reclaim-at]`), n.ReclaimDateTime.UTC().Format("2006-01-02 15:04:05")+" UTC"; got != want {
			t.Errorf("%s: taken back on %q, API %q", n.UserPrincipalName, got, want)
		}
	}
	b.axeCheck("reclamation notices")
	b.click(`#reclaim-notices tr[data-notice="` + upnOf("Grady Archie") + `"] [data-keep]`)
	b.waitText("main [role=status]", "Kept")
	if got := b.text(`#reclaim-notices tr[data-notice="` + upnOf("Grady Archie") + `"] [data-reclaim-at]`); got != "Kept; withdrawn at the next run" {
		t.Errorf("kept notice %q", got)
	}
	b.click(row + ` [data-run]`)
	b.waitText("#reclaim-result [data-summary]", "took back 1 license")
	if got := b.text("#reclaim-result [data-summary]"); !strings.Contains(got, "withdrew 1 notice") {
		t.Errorf("run %q", got)
	}
	if got := b.text("#reclaim-result [data-summary]"); !strings.Contains(got, "saves 10.00 USD a month") {
		t.Errorf("run %q", got)
	}
	var runs struct {
		Value []struct {
			Reclaimed      int
			ReclaimedUsers []string
			SavedPerMonth  struct{ Amount float64 }
		}
	}
	apiGet(t, hc, e.srv.URL+"/allot/v1/reclamationRuns", &runs)
	last := `#reclaim-runs tbody tr:first-child`
	if got, want := b.text(last+` [data-reclaimed]`), fmt.Sprintf("%d%s", runs.Value[0].Reclaimed, strings.Join(runs.Value[0].ReclaimedUsers, ", ")); strings.ReplaceAll(got, "\n", "") != want || want != "1"+upnOf("Adele Vance") {
		t.Errorf("last run shows %q, API %q", got, want)
	}
	if got := b.text(last + ` [data-saved]`); got != fmt.Sprintf("%.2f USD a month", runs.Value[0].SavedPerMonth.Amount) {
		t.Errorf("saved %q, API %v", got, runs.Value[0].SavedPerMonth.Amount)
	}
	if h := e.holds("Adele Vance"); h["ENTERPRISEPACK"] {
		t.Error("Adele still holds Office 365 E3")
	}
	for _, n := range []string{"Alex Wilber", "Diego Siciliani", "Grady Archie"} {
		if !e.holds(n)["ENTERPRISEPACK"] {
			t.Errorf("%s lost Office 365 E3", n)
		}
	}
	b.screenshotView("reclamation")

	r := e.browser()
	r.signIn(readerUPN, password)
	r.waitPath("/users")
	r.open("/reclamation")
	if r.count(`#reclaim-form`)+r.count(`#reclaim-rules form`) != 0 {
		t.Error("a Global Reader sees the form or the buttons")
	}
	resp, err := e.client(readerUPN).PostForm(fmt.Sprintf("%s/reclamation/%d/run", e.srv.URL, rules[0].ID), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reader's run: %d, want 403", resp.StatusCode)
	}
}

// apiPost POSTs a JSON body with a signed-in client and decodes the answer.
func apiPost(t *testing.T, hc *http.Client, url, body string, v any) {
	t.Helper()
	res, err := hc.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(data, v) != nil {
		t.Fatalf("POST %s: %d %s", url, res.StatusCode, data)
	}
}
