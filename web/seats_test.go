package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/store/sqlstore/pgtest"
)

const insights = "WORKPLACE_ANALYTICS_INSIGHTS"

// insightsLine makes a group that assigns SPE_E3 and Insights and adds
// the members one at a time, each processed before the next: with too
// few Insights seats the later ones wait in exactly this order.
func (e *env) insightsLine(members ...string) {
	e.t.Helper()
	g := e.group("Insights Line")
	e.assignGroup(g.GUID, "SPE_E3", insights)
	for _, m := range members {
		if err := e.st.AddMember(context.Background(), actor, e.tenant.ID, g.GUID, e.users[m].GUID); err != nil {
			e.t.Fatal(err)
		}
		e.waitInsightsState(m)
	}
}

// waitInsightsState waits until the user has a state for Insights: holds it,
// or waits for it.
func (e *env) waitInsightsState(name string) {
	e.t.Helper()
	u := e.users[name]
	deadline := time.Now().Add(browserWait)
	for time.Now().Before(deadline) {
		lic, err := e.st.UserLicenses(context.Background(), e.tenant.ID, []int64{u.ID})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, v := range lic[u.ID] {
			if v.Product.SkuPartNumber == insights {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("%s never got an Insights state", name)
}

// api sends method path with a JSON body and the token; it returns the
// status and the decoded answer.
func (e *env) api(token, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(buf))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// dataUsers returns the data-user attributes of the elements sel finds.
func (b *tab) dataUsers(sel string) []string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("`+sel+`")).map(function(e){return e.dataset.user})`))
	if err != nil {
		b.fatal("data-user of %s: %v", sel, err)
	}
	return v
}

// Task: three people wait for Insights. Raising its seats from 2 to 5
// previews who from the waiting list gets a seat, by name and first in line
// first; applying it licenses them, the counts show it and the audit log
// has the change.
func TestBrowserSeatRaiseLicensesWaiters(t *testing.T) { seatRaise(t, newEnv(t, 2)) }

// The same on PostgreSQL (the waiting list's query is the store's own SQL).
func TestBrowserSeatRaiseOnPostgres(t *testing.T) {
	e := newEnvOn(t, pgtest.Open, 2)
	e.startWorker()
	seatRaise(t, e)
}

func seatRaise(t *testing.T, e *env) {
	// Added last first: the line is not the order of the users' ids.
	e.insightsLine("Adele Vance", "Alex Wilber", "Henrietta Mueller", "Grady Archie", "Diego Siciliani")
	e.waitHolds(insights, true, "Adele Vance", "Alex Wilber")
	ins := e.skus[insights]

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + ins.SkuID + "/seats?enabledUnits=lots")
	if msg := b.text("#seats-error"); msg != "Enter the number of seats bought: a whole number from 0 to 10,000,000." {
		t.Errorf("error for a non-number: %q", msg)
	}
	b.open("/licenses/" + ins.SkuID)
	b.waitText("#seats-waiting", "3")
	b.screenshot("seats-product")
	b.fill("#seats-input", "5")
	b.click("#seats-preview")
	b.waitPath("/licenses/" + ins.SkuID + "/seats")
	if head := b.text("#seats-headline"); !strings.Contains(head, "From 2 seats to 5: 3 more.") || !strings.Contains(head, "5 of 5 in use") {
		t.Errorf("headline: %q", head)
	}
	if line := b.text("#seats-gain-line"); line != "Would license 3 people from the waiting list, first in line first:" {
		t.Errorf("gain line: %q", line)
	}
	want := []string{upnOf("Henrietta Mueller"), upnOf("Grady Archie"), upnOf("Diego Siciliani")}
	if got := b.dataUsers("#seats-gains li"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("would license %v, want %v (first in line first)", got, want)
	}
	if got := b.text("#seats-gains"); !strings.Contains(got, "Henrietta Mueller") {
		t.Errorf("gains without names: %q", got)
	}
	b.text("#review-no-loss")
	if n := b.count("#confirm-loss"); n != 0 {
		t.Errorf("a loss confirmation on more seats")
	}
	if e.holds("Diego Siciliani")[insights] {
		t.Fatalf("the preview licensed someone")
	}
	if btn := b.text("#seats-apply"); btn != "Change to 5 seats" {
		t.Errorf("button: %q", btn)
	}
	b.screenshot("seats-raise-review")
	b.click("#seats-apply")
	b.waitPath("/licenses/" + ins.SkuID + "?seats=changed")
	b.waitText(".msg.ok", "Seats changed: Microsoft Workplace Analytics Insights now has 5 seats.")
	e.waitHolds(insights, true, "Henrietta Mueller", "Grady Archie", "Diego Siciliani")
	b.waitText("#seats-assigned", "5")
	b.waitText("#seats-waiting", "0")
	b.waitText("#seat-counts", "5 of 5 assigned, 0 available")

	b.open("/audit?activity=" + url.QueryEscape("Update subscription"))
	if row := b.rowText("#audit-table tbody", "enabledUnits"); !strings.Contains(row, "enabledUnits: 2 → 5") || !strings.Contains(row, insights) {
		t.Errorf("audit row: %q", row)
	}
}

// Task: five hold Insights; lowering its seats to 3 previews the two who
// would lose it, as the API's preview does. Nothing changes without the
// second confirmation (the browser does not send the form, the server
// refuses the POST); with it the change is the API's.
func TestBrowserSeatLowerNeedsSecondConfirmation(t *testing.T) {
	e := newEnv(t, 5)
	holders := []string{"Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Henrietta Mueller"}
	e.insightsLine(holders...)
	e.waitHolds(insights, true, holders...)
	ins := e.skus[insights]
	_, token := e.newClient("Seat check", "Directory.Read.All")
	code, pv := e.api(token, "POST", "/allot/v1/preview", map[string]any{"action": "setSeats", "skuId": ins.SkuID, "enabledUnits": 3})
	if code != http.StatusOK {
		t.Fatalf("API preview: %d %v", code, pv)
	}
	var apiLosses []string
	for _, l := range pv["losses"].([]any) {
		m := l.(map[string]any)
		apiLosses = append(apiLosses, m["userPrincipalName"].(string)+" "+m["skuPartNumber"].(string))
	}
	if len(apiLosses) != 2 {
		t.Fatalf("the API's preview takes %v away, want 2 licenses", apiLosses)
	}

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + ins.SkuID)
	b.fill("#seats-input", "3")
	b.click("#seats-preview")
	b.waitPath("/licenses/" + ins.SkuID + "/seats")
	if head := b.text("#review-losses h3"); head != "2 people would lose 2 licenses." {
		t.Errorf("losses headline: %q", head)
	}
	if got := sorted(b.reviewedLosses()); strings.Join(got, ",") != strings.Join(sorted(apiLosses), ",") {
		t.Errorf("page lists losses %v, the API %v", got, sorted(apiLosses))
	}
	if row := b.text("#review-losses tbody tr"); !strings.Contains(row, "Microsoft Workplace Analytics Insights") || !strings.Contains(row, "fewer seats") {
		t.Errorf("loss row: %q", row)
	}
	if label := b.text(`label[for="confirm-loss"]`); label != "I understand that 2 people will lose licenses." {
		t.Errorf("confirmation: %q", label)
	}
	if btn := b.text("#seats-apply"); btn != "Change to 3 seats and take 2 licenses away" {
		t.Errorf("button: %q", btn)
	}
	b.screenshot("seats-lower-review")

	// Apply without the tick: the browser does not send the form…
	b.click("#seats-apply")
	time.Sleep(300 * time.Millisecond)
	if p := b.path(); p != "/licenses/"+ins.SkuID+"/seats?enabledUnits=3" {
		t.Errorf("submitted without the confirmation, now at %s", p)
	}
	// …nor does the server take the POST.
	reviewed := b.attr(`input[name=reviewed]`, "value")
	c := e.client(adminUPN)
	resp, err := c.PostForm(e.srv.URL+"/licenses/"+ins.SkuID+"/seats", url.Values{"enabledUnits": {"3"}, "reviewed": {reviewed}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("POST without confirmLoss: %d, want 409", resp.StatusCode)
	}
	if p, _ := e.st.Product(context.Background(), e.tenant.ID, ins.SkuID); p.EnabledUnits != 5 {
		t.Errorf("seats %d after an unconfirmed POST, want 5", p.EnabledUnits)
	}
	e.waitHolds(insights, true, holders...)

	before := map[string]map[string]bool{}
	for _, h := range holders {
		before[h] = e.holds(h)
	}
	b.click("#confirm-loss")
	b.click("#seats-apply")
	b.waitPath("/licenses/" + ins.SkuID + "?seats=changed")
	b.waitText(".msg.ok", "now has 3 seats")
	b.waitText("#seats-waiting", "2")
	b.waitText("#seat-counts", "3 of 3 assigned, 0 available")
	if got := e.lostSince(before); strings.Join(got, ",") != strings.Join(sorted(apiLosses), ",") {
		t.Errorf("lost %v, the API's preview said %v", got, sorted(apiLosses))
	}
	b.open("/audit?activity=" + url.QueryEscape("Seats reduced below consumption"))
	if row := b.rowText("#audit-table tbody", insights); !strings.Contains(row, "usersWaiting: 2") {
		t.Errorf("audit row: %q", row)
	}
}

// A Global Reader sees a product's seat counts but no Change seats form,
// and the server refuses the reader's review and change.
func TestBrowserSeatReaderSeesNoForm(t *testing.T) {
	e := newEnv(t, 25)
	ins := e.skus[insights]
	b := e.browser()
	b.signIn(readerUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + ins.SkuID)
	b.waitText("#seats-enabled", "25")
	if n := b.count(`#seats-form, #seats-input, form[action$="/seats"]`); n != 0 {
		t.Errorf("%d Change seats controls for a reader", n)
	}
	c := e.client(readerUPN)
	resp, err := c.Get(e.srv.URL + "/licenses/" + ins.SkuID + "/seats?enabledUnits=30")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("reader's review: %d, want 403", resp.StatusCode)
	}
	resp, err = c.PostForm(e.srv.URL+"/licenses/"+ins.SkuID+"/seats", url.Values{"enabledUnits": {"30"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("reader's POST: %d, want 403", resp.StatusCode)
	}
	if p, _ := e.st.Product(context.Background(), e.tenant.ID, ins.SkuID); p.EnabledUnits != 25 {
		t.Errorf("a reader's POST changed the seats to %d", p.EnabledUnits)
	}
}

// The seat counts of an open product page follow a change made elsewhere
// (through the API, and a license assigned meanwhile) without a reload.
func TestBrowserSeatLiveCounts(t *testing.T) {
	e := newEnv(t, 25)
	ins := e.skus[insights]
	e.assign("Adele Vance", "SPE_E3", insights)
	b := e.browser()
	b.signIn(readerUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + ins.SkuID)
	b.waitText("#seat-counts", "1 of 25 assigned, 24 available")
	b.evalBool(`window.allotNoReload = true`)

	_, token := e.newClient("Seat sync", "Organization.ReadWrite.All")
	if code, out := e.api(token, "PATCH", "/allot/v1/subscribedSkus/"+ins.SkuID, map[string]any{"enabledUnits": 1200}); code != http.StatusOK {
		t.Fatalf("API PATCH: %d %v", code, out)
	}
	e.assign("Alex Wilber", "SPE_E3", insights)
	b.waitText("#seats-enabled", "1,200")
	b.waitText("#seat-counts", "2 of 1,200 assigned, 1,198 available")
	if got := b.text("#seats-available"); got != "1,198" {
		t.Errorf("available: %q", got)
	}
	if !b.evalBool(`window.allotNoReload === true`) {
		t.Errorf("the page reloaded")
	}
}
