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

	"github.com/chromedp/chromedp"

	"allot"
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
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeViolations runs axe-core on the page the tab shows (after htmx
// settles) with the WCAG 2.0/2.1/2.2 A and AA rules and returns its
// violations.
func (b *tab) axeViolations(name string) []axeViolation {
	b.t.Helper()
	b.settle("body")
	// The page's CSP does not apply to DevTools' evaluation.
	b.do(chromedp.Evaluate[chromedp.Void](`if (!window.axe) (function(){` + axeSource(b.t) + "\n})(); void 0"))
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
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

// Every page of the admin center, as a Global Administrator sees it (and
// the sign-in, error and no-access pages), has no serious or critical axe
// violation of WCAG 2.2 AA.
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
		{"groups", "/groups", "#main"},
		{"group", "/groups/" + g.GUID, "#license-summary"},
		{"group all members", "/groups/" + g.GUID + "?members=all", "#members-table"},
		{"dynamic group", "/groups/" + dyn.GUID, "code[data-rule]"},
		{"rule preview", "/groups/" + dyn.GUID + "/rule/preview?" + url.Values{"rule": {`user.displayName -startsWith "Al"`}, "state": {"On"}}.Encode(), "#main"},
		{"seats refused", "/licenses/" + e5 + "/seats?enabledUnits=x", "#main"},
		{"group remove license", "/groups/" + g.GUID + "/licenses/remove?sku=" + ins, "#remove-form"},
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
