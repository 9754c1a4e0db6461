package web_test

// Accessibility checks of the admin center in the browser: axe-core
// (vendored in testdata/axe, test-only) on every page, and a keyboard-only
// walk of the main flows.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"allot"
	"allot/store/sqlstore"
)

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// axeSource is axe.min.js, read once.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		b, err := os.ReadFile("testdata/axe/axe.min.js")
		axeJS, axeErr = string(b), err
	})
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	return axeJS
}

// axeViolation is one failed rule of an axe run.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axeViolations runs axe-core on the page the tab shows (after htmx
// settles) with the WCAG 2.0/2.1/2.2 A and AA rules and axe's best
// practices, and returns its violations.
func (b *tab) axeViolations(name string) []axeViolation {
	b.t.Helper()
	b.settle("body")
	// The page's CSP does not apply to DevTools' evaluation.
	b.do(chromedp.Evaluate[chromedp.Void](`if (!window.axe) (function(){` + axeSource(b.t) + "\n})(); void 0"))
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		resultTypes: ["violations"]
	}).then(function (r) { return r.violations; })`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatal("axe on %s: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal(raw, &vs); err != nil {
		b.fatal("axe result on %s: %v", name, err)
	}
	return vs
}

// axeCheck fails the test for each serious or critical axe violation of
// the page the tab shows.
func (b *tab) axeCheck(name string) {
	b.t.Helper()
	for _, v := range b.axeViolations(name) {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var targets []string
		for _, nd := range v.Nodes {
			targets = append(targets, fmt.Sprint(nd.Target...))
		}
		b.t.Errorf("%s (%s): %s [%s] on %d element(s): %s\n  %s", name, b.path(), v.ID, v.Impact, len(v.Nodes),
			strings.Join(targets, " | "), v.Help)
	}
}

// Every page of the admin center, as a Global Administrator sees it in a
// wide and in a phone-sized window, some as a Global Reader sees them, and
// the sign-in, error and no-access pages, has no serious or critical axe
// violation of WCAG 2.2 AA (and the check does see a nameless button).
func TestBrowserAxeEveryPage(t *testing.T) {
	e := newEnv(t, 25)
	e.assign("Adele Vance", "SPE_E5")
	e.assign("Alex Wilber", "SPE_E5")
	g := e.group("Insights Pilot", "Adele Vance", "Alex Wilber")
	ins := e.skus["WORKPLACE_ANALYTICS_INSIGHTS"].SkuID
	e5 := e.skus["SPE_E5"].SkuID
	adele := e.users["Adele Vance"].GUID
	dyn := &allot.Group{DisplayName: "Dynamic A", MembershipRule: `user.displayName -startsWith "A"`, RuleState: allot.RuleOn}
	if err := e.st.CreateGroup(t.Context(), actor, e.tenant.ID, dyn); err != nil {
		t.Fatal(err)
	}

	// A license pool, so that the product page shows its Pools section
	// with a bar and its forms (pools_test.go tests the section itself).
	allotted, dept := 5, "Sales"
	if _, err := e.st.CreatePool(t.Context(), actor, e.tenant.ID, sqlstore.PoolInput{ProductRef: ins, AllottedUnits: &allotted, Department: &dept}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.open("/signin")
	b.waitPath("/signin")
	b.axeCheck("sign-in")
	// The check sees a violation: a button without a name.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("main").appendChild(document.createElement("button")).id = "nameless"; void 0`))
	found := false
	for _, v := range b.axeViolations("sign-in with a nameless button") {
		found = found || v.ID == "button-name" && v.Impact == "critical"
	}
	if !found {
		t.Fatal("axe does not report a button without a name")
	}
	b.signIn(adminUPN, password)
	b.waitPath("/users")

	// Give the group a license through the admin center, so that the group
	// and product pages show one.
	b.open("/licenses/" + ins + "/assign/review?" + url.Values{"pick": {"g:" + g.GUID}}.Encode())
	b.click("#confirm-assign")
	b.waitText("#results", "Insights Pilot")
	b.axeCheck("assign done")
	b.open("/groups/" + g.GUID)
	b.waitText("#processing-state", "Processing complete")

	ep := &sqlstore.WebhookEndpoint{GUID: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", TenantID: e.tenant.ID, URL: "https://siem.contoso.example/hook", Description: "SIEM", Secret: "whsec_test"}
	if err := e.st.CreateWebhookEndpoint(t.Context(), actor, ep); err != nil {
		t.Fatal(err)
	}
	// An alert rule, made through its form (refused once: an error in place).
	b.open("/alerts")
	b.fill(`#alert-form input[name=name]`, "Insights almost full")
	b.fill(`#alert-form input[name=threshold]`, "abc")
	b.fill(`#alert-form input[name=emails]`, "licensing@contoso.com")
	b.click(`#alert-form button[type=submit]`)
	b.waitText("main [role=alert]", "threshold")
	b.axeCheck("alerts refused")
	b.fill(`#alert-form input[name=threshold]`, "80")
	b.click(`#alert-form button[type=submit]`)
	b.waitText("main [role=status]", "Alert rule created")
	b.axeCheck("alerts")

	pages := []struct{ name, path, wait string }{
		{"home", "/", "#main"},
		{"users", "/users", "#users-table"},
		{"users search", "/users?q=Ad", "#users-table"},
		{"user", "/users/" + adele, "#panel"},
		{"assign more", "/assign-more?user=" + adele, "#assign-more-form"},
		{"licenses", "/licenses", "main table"},
		{"product", "/licenses/" + ins, "#seat-counts"},
		{"product groups", "/licenses/" + ins + "?tab=groups", ".tab-body"},
		{"assign pick", "/licenses/" + e5 + "/assign?q=Insights&pick=u:" + adele, "#picker"},
		{"assign options", "/licenses/" + e5 + "/assign/options?pick=u:" + adele, "#assign-form"},
		{"assign review", "/licenses/" + e5 + "/assign/review?pick=u:" + adele, "#preview"},
		{"seats review", "/licenses/" + e5 + "/seats?enabledUnits=30", "#main"},
		{"waiting room", "/licenses/" + ins + "/waiting-room", "#waiting-table"},
		{"groups", "/groups", "#main"},
		{"group", "/groups/" + g.GUID, "#license-summary"},
		{"group all members", "/groups/" + g.GUID + "?members=all", "#members-table"},
		{"dynamic group", "/groups/" + dyn.GUID, "code[data-rule]"},
		{"rule preview", "/groups/" + dyn.GUID + "/rule/preview?" + url.Values{"rule": {`user.displayName -startsWith "Al"`}, "state": {"On"}}.Encode(), "#main"},
		{"seats refused", "/licenses/" + e5 + "/seats?enabledUnits=x", "#main"},
		{"group remove license", "/groups/" + g.GUID + "/licenses/remove?sku=" + ins, "#remove-form"},
		{"group delete review", "/groups/" + g.GUID + "/delete", "#main"},
		{"group member remove review", "/groups/" + g.GUID + "/members/remove?member=" + adele, "#confirm-change"},
		{"webhooks", "/webhooks", "#main"},
		{"webhook", "/webhooks/" + ep.GUID, "#main"},
		{"alerts page", "/alerts", "#alerts-table"},
		{"reclamation", "/reclamation", "#reclaim-rules"},
		{"schedules", "/schedules", "#schedules-table"},
		{"roles", "/roles", "#main"},
		{"reports", "/reports", "#main"},
		{"audit", "/audit", "#audit-table"},
		{"clients", "/clients", "#main"},
		{"not found", "/no-such-page", "#main"},
	}
	// In a wide window, and in a phone-sized one (tables scroll).
	for _, w := range []int64{1280, 390} {
		b.do(chromedp.EmulateViewport(w, 900))
		for _, p := range pages {
			b.open(p.path)
			b.text(p.wait)
			if title, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.title`)); strings.HasPrefix(title, "Error") != (p.name == "not found") {
				t.Errorf("%s (%s): title %q", p.name, p.path, title)
			}
			b.axeCheck(fmt.Sprintf("%s at %dpx", p.name, w))
		}
	}
	b.do(chromedp.EmulateViewport(1280, 900))

	// The user panel opened in the users list (htmx), a refused save in it,
	// and the results of Assign more.
	b.open("/users")
	b.click(`#row-` + adele + ` a`)
	b.waitText("#panel h2", "Adele Vance")
	b.axeCheck("users with panel")
	b.open("/users/" + e.users["Lee Gu"].GUID)
	b.click("#sku-" + e5)
	b.click("#save-licenses")
	b.waitText("#panel .msg.error", "usage location")
	b.axeCheck("user panel error")
	b.open("/assign-more?user=" + e.users["Lee Gu"].GUID + "&user=" + e.users["Megan Bowen"].GUID)
	b.click("#sku-" + e5)
	b.click("#save-more")
	b.waitText("#results", "Megan Bowen")
	b.axeCheck("assign more results")
	// Unassign review (a POST from the product page).
	b.open("/licenses/" + e5)
	b.click(`input[name=user][value="` + adele + `"]`)
	b.click("#unassign")
	b.text("#confirm-unassign")
	b.axeCheck("unassign review")

	// What a Global Reader sees: the same pages without the controls that
	// change anything.
	rd := e.browser()
	rd.signIn(readerUPN, password)
	rd.waitPath("/users")
	for _, p := range []string{"/users", "/users/" + adele, "/licenses", "/licenses/" + ins, "/groups/" + g.GUID, "/roles", "/audit"} {
		rd.open(p)
		rd.text("#main")
		rd.axeCheck("reader " + p)
	}

	// A person with no role.
	e.addUser("Nobody Here", "US")
	if err := e.st.SetPassword(t.Context(), actor, e.tenant.ID, upnOf("Nobody Here"), password); err != nil {
		t.Fatal(err)
	}
	nb := e.browser()
	nb.signIn(upnOf("Nobody Here"), password)
	nb.waitText("main h1", "No access")
	nb.axeCheck("no access")
}

// press sends keys to the focused element, as typed.
func (b *tab) press(keys string, opts ...chromedp.KeyOption) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(keys, opts...))
}

// focused tells whether the focused element matches the CSS selector.
func (b *tab) focused(sel string) bool {
	b.t.Helper()
	return b.evalBool(fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel))
}

// activeDesc describes the focused element, for messages.
func (b *tab) activeDesc() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function(){var a=document.activeElement;return a?a.outerHTML.slice(0,160):"nothing"})()`))
	return s
}

// tabTo presses Tab (Shift+Tab when back) until the focused element
// matches the CSS selector, at most max times.
func (b *tab) tabTo(sel string, max int, back bool) {
	b.t.Helper()
	b.settle("body")
	var opts []chromedp.KeyOption
	if back {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	for i := 0; i < max && !b.focused(sel); i++ {
		b.press(kb.Tab, opts...)
	}
	if !b.focused(sel) {
		b.fatal("%d Tabs never reached %s; focus is on %s", max, sel, b.activeDesc())
	}
	if !b.evalBool(`(function(){var s=getComputedStyle(document.activeElement);return s.outlineStyle!=="none"&&parseFloat(s.outlineWidth)>=2})()`) {
		b.t.Errorf("focus on %s is not shown", sel)
	}
}

// wantFocus fails the test unless the focused element matches sel.
func (b *tab) wantFocus(sel, when string) {
	b.t.Helper()
	b.settle("body")
	deadline := time.Now().Add(2 * time.Second)
	for !b.focused(sel) {
		if time.Now().After(deadline) {
			b.t.Errorf("%s: focus is on %s, want %s", when, b.activeDesc(), sel)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The seed's main flows with the keyboard only (Tab, Shift+Tab, Space,
// Enter, Escape, typing): sign in; in Active users, Enter ticks a user's
// check box without submitting, Clear selection leaves focus on Select all;
// a user's panel opens with Enter, Set keeps focus on Set, Enter ticks a
// product without saving,
// Escape folds its service plans back, Save keeps focus on Save and the
// result is read out through the live region, Escape closes the panel and
// gives focus back to the user's name; Assign more to two users (Space on
// their boxes, Enter on a product's box, Save, Done), its results read out;
// then Licenses → a product → Assign: ticking a search result keeps focus
// on it as it moves to the selection, the selection is read out, and the
// assignment goes through to results that are read out.
func TestBrowserKeyboardOnly(t *testing.T) {
	e := newEnv(t, 25)
	e5, e3 := e.skus["SPE_E5"].SkuID, e.skus["SPE_E3"].SkuID
	adele, lidia := e.users["Adele Vance"].GUID, e.users["Lidia Holloway"].GUID
	b := e.browser()

	b.open("/signin")
	b.wantFocus("#userName", "sign-in page")
	b.press(adminUPN)
	b.press(kb.Tab)
	b.press(password)
	b.press(kb.Enter)
	b.waitPath("/users")
	b.waitText("#users-table", "Adele Vance")

	// Enter on a row's check box ticks it and stays on the list.
	box := `input[name=user][value="` + adele + `"]`
	b.tabTo(box, 40, false)
	b.press(kb.Enter)
	time.Sleep(500 * time.Millisecond) // a submission would have left by now
	if p := b.path(); !strings.HasPrefix(p, "/users") || !b.checked(box) {
		t.Errorf("Enter on a user's check box: at %s, ticked %v; want it ticked on /users", p, b.checked(box))
	}
	b.waitText("#selected-count", "1 selected")
	b.press(" ") // Space clears it, and ticks it again
	if b.checked(box) {
		t.Errorf("Space did not clear the check box")
	}
	b.press(" ")
	// Clear selection hides itself: focus goes to Select all.
	b.tabTo("#clear-selection", 10, true)
	b.press(kb.Enter)
	b.waitText("#selected-count", "0 selected")
	b.wantFocus("#select-all", "after Clear selection")
	if b.evalBool(`document.getElementById("clear-selection").offsetParent !== null`) {
		t.Errorf("Clear selection still shows with nothing selected")
	}
	if b.checked(box) {
		t.Errorf("Clear selection left the check box ticked")
	}

	// The user's panel: open with Enter; focus goes to its heading.
	name := `a[data-opens-panel="` + adele + `"]`
	b.tabTo(name, 5, false)
	b.press(kb.Enter)
	b.waitText("#panel h2", "Adele Vance")
	b.wantFocus("#panel-title", "panel opened")
	// Set the usage location: focus stays on Set.
	b.tabTo("#usageLocation", 5, false)
	b.press("Canada") // type-ahead in the list of countries
	b.press(kb.Tab)
	b.press(kb.Enter)
	b.waitText("#panel .msg.ok", "Usage location set to CA")
	b.wantFocus("#set-usage-location", "after Set")
	b.waitText("#announce", "Usage location set to CA")
	sku := "#sku-" + e5
	b.tabTo(sku, 40, false)
	b.press(kb.Enter)
	time.Sleep(500 * time.Millisecond)
	if msg := b.text("#panel .msg"); !b.checked(sku) || !strings.Contains(msg, "Usage location") || e.holds("Adele Vance")["SPE_E5"] {
		t.Errorf("Enter on a product's check box: ticked %v, message %q, holds E5 %v; want ticked and nothing saved",
			b.checked(sku), msg, e.holds("Adele Vance")["SPE_E5"])
	}
	// Its service plans: Enter opens them, Escape folds them back to the
	// summary (and leaves the panel open).
	plans := `[data-sku="SPE_E5"] summary`
	b.tabTo(plans, 2, false)
	b.press(kb.Enter)
	b.press(kb.Tab)
	b.wantFocus(`[data-sku="SPE_E5"] details[open] input[role=switch]`, "Tab into the service plans")
	b.press(kb.Escape)
	b.wantFocus(plans, "Escape in the service plans")
	if b.evalBool(`!!document.querySelector('[data-sku="SPE_E5"] details[open]')`) || b.count("#panel.panel") != 1 {
		t.Errorf("Escape in the service plans: they stay open, or the panel closed")
	}
	b.tabTo("#save-licenses", 80, false)
	b.press(kb.Enter)
	b.waitText("#panel .msg.ok", "Saved: assigned Microsoft 365 E5")
	b.wantFocus("#save-licenses", "after Save")
	b.waitText("#announce", "Saved: assigned Microsoft 365 E5")
	b.press(kb.Escape)
	b.waitCount("#panel.panel", 0)
	b.wantFocus(name, "after Escape closed the panel")
	if !e.holds("Adele Vance")["SPE_E5"] {
		t.Errorf("Adele does not hold E5")
	}

	// Assign more: Space on two users' boxes, Enter on a product's box,
	// Save, Done.
	alex := `input[name=user][value="` + e.users["Alex Wilber"].GUID + `"]`
	b.tabTo(box, 2, true)
	b.press(" ")
	b.tabTo(alex, 5, false)
	b.press(" ")
	b.waitText("#selected-count", "2 selected")
	b.tabTo("#assign-more", 20, true)
	b.press(kb.Enter)
	b.waitPath("/assign-more")
	o3 := "#sku-" + e.skus["ENTERPRISEPACK"].SkuID
	b.tabTo(o3, 200, false)
	b.press(kb.Enter)
	time.Sleep(300 * time.Millisecond)
	if !b.checked(o3) || b.count("#results") != 0 {
		t.Errorf("Enter on a product in Assign more: ticked %v, results %d; want ticked, nothing sent", b.checked(o3), b.count("#results"))
	}
	b.tabTo("#save-more", 200, false)
	b.press(kb.Enter)
	b.waitText("#results", "Alex Wilber")
	b.waitText("#announce", "2 licenses assigned, 0 failures")
	b.tabTo("#done", 20, false)
	b.press(kb.Enter)
	b.waitPath("/users")
	if !e.holds("Adele Vance")["ENTERPRISEPACK"] || !e.holds("Alex Wilber")["ENTERPRISEPACK"] {
		t.Errorf("Assign more did not assign Office 365 E3 to both")
	}

	// Licenses → Microsoft 365 E3 → Assign.
	b.tabTo(`nav.side a[href="/licenses"]`, 40, false)
	b.press(kb.Enter)
	b.waitPath("/licenses")
	b.tabTo(`a[href="/licenses/`+e3+`"]`, 40, false)
	b.press(kb.Enter)
	b.waitPath("/licenses/" + e3)
	b.tabTo("#assign", 40, false)
	b.press(kb.Enter)
	b.waitPath("/licenses/" + e3 + "/assign")
	b.tabTo("#pick-q", 40, false)
	b.press("Lidia")
	b.waitText("#search-results", "Lidia Holloway")
	b.tabTo("#add-"+lidia, 10, false)
	b.press(kb.Enter) // ticks; the form's Next is not submitted
	b.waitText("#selected", "Lidia Holloway")
	if p := b.path(); !strings.HasPrefix(p, "/licenses/"+e3+"/assign") || strings.Contains(p, "/options") {
		t.Errorf("Enter on a search result submitted the form: at %s", p)
	}
	b.wantFocus("#pick-"+lidia, "after ticking a search result")
	b.waitText("#announce", "Selected items (1)")
	b.press(" ") // clear it: back to the search results, focus with it
	b.waitCount("#selected input", 0)
	b.wantFocus("#add-"+lidia, "after clearing a selected item")
	b.waitText("#announce", "Selected items (0)")
	b.press(" ")
	b.waitText("#selected", "Lidia Holloway")
	b.wantFocus("#pick-"+lidia, "after ticking it again")

	b.tabTo("#to-options", 10, false)
	b.press(kb.Enter)
	b.waitPath("/licenses/" + e3 + "/assign/options")
	b.tabTo("#to-review", 200, false)
	b.press(kb.Enter)
	b.waitPath("/licenses/" + e3 + "/assign/review")
	b.tabTo("#confirm-assign", 40, false)
	b.press(kb.Enter)
	b.waitText("#results", "Lidia Holloway")
	b.waitText("#announce", "Assigned Microsoft 365 E3 to 1 user.")
	if !e.holds("Lidia Holloway")["SPE_E3"] {
		t.Errorf("Lidia does not hold E3")
	}
}
