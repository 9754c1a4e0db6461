package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/store"
)

// waitHolds waits until every named user holds (or, with want false, does
// not hold) the product, as the group-licensing worker gets there.
func (e *env) waitHolds(part string, want bool, names ...string) {
	e.t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		done := true
		for _, n := range names {
			if e.holds(n)[part] != want {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%v never reached holds %s = %v", names, part, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assignGroup makes the group assign the products, through the store.
func (e *env) assignGroup(groupGUID string, parts ...string) {
	e.t.Helper()
	var add []store.LicenseRequest
	for _, p := range parts {
		add = append(add, store.LicenseRequest{SkuID: e.skus[p].SkuID})
	}
	if _, err := e.st.AssignGroupLicenses(context.Background(), actor, e.tenant.ID, groupGUID, add, nil, false); err != nil {
		e.t.Fatal(err)
	}
}

// reviewedLosses returns the "upn sku" pairs the review on the page lists
// as losses, in page order.
func (b *tab) reviewedLosses() []string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#review-losses tbody tr")).map(function(r){return r.dataset.user+" "+r.dataset.sku})`))
	if err != nil {
		b.fatal("losses on the review: %v", err)
	}
	return v
}

// lostSince returns the "upn sku" pairs that users held in before and no
// longer hold.
func (e *env) lostSince(before map[string]map[string]bool) []string {
	var out []string
	for name, held := range before {
		now := e.holds(name)
		for part := range held {
			if !now[part] {
				out = append(out, upnOf(name)+" "+part)
			}
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// Task: a group whose members hold SPE_E3 through it gets Insights with
// too few seats. The review is the store's preview of that assignment: no
// one loses anything, two wait; Assign applies it with one click.
func TestBrowserReviewWaitsButNoLoss(t *testing.T) {
	e := newEnv(t, 3)
	members := []string{"Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Henrietta Mueller"}
	g := e.group("E3 Staff", members...)
	e.assignGroup(g.GUID, "SPE_E3")
	e.waitHolds("SPE_E3", true, members...)
	ins := e.skus["WORKPLACE_ANALYTICS_INSIGHTS"]

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	b.do(chromedp.SetValue(chromedp.ID("assign-sku"), ins.SkuID))
	b.click(`form.assign-group button[type=submit]`)
	b.waitPath("/licenses/" + ins.SkuID + "/assign/options")
	b.click("#to-review")
	b.waitPath("/licenses/" + ins.SkuID + "/assign/review")
	if got := b.text("#review-no-loss"); got != "No one would lose a license." {
		t.Errorf("losses line: %q", got)
	}
	if n := b.count("#review-losses"); n != 0 {
		t.Errorf("a losses alert on a change that takes nothing away")
	}
	if head := b.text("#preview .headline"); !strings.Contains(head, "Would license 3 of 5 members; 2 would wait for seats") {
		t.Errorf("headline: %q", head)
	}
	if line := b.text(`#review-products li[data-sku="WORKPLACE_ANALYTICS_INSIGHTS"]`); !strings.Contains(line, "3 would get it; 2 would wait for a seat") ||
		strings.Contains(line, "lose") {
		t.Errorf("Insights line: %q", line)
	}
	if n := b.count(`#review-products li[data-sku="SPE_E3"]`); n != 0 {
		t.Errorf("SPE_E3 listed as changing")
	}
	if n := b.count("#confirm-loss"); n != 0 {
		t.Errorf("a loss confirmation on a change without losses")
	}
	if btn := b.text("#confirm-assign"); btn != "Assign" {
		t.Errorf("button: %q", btn)
	}
	b.screenshot("review-no-loss")
	b.click("#confirm-assign")
	b.waitText("#results", "Assigned to the group")
	waiting := 0
	deadline := time.Now().Add(browserWait)
	for time.Now().Before(deadline) {
		held := 0
		for _, m := range members {
			if e.holds(m)["WORKPLACE_ANALYTICS_INSIGHTS"] {
				held++
			}
		}
		if waiting = len(members) - held; held == 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if waiting != 2 {
		t.Errorf("%d members wait after the assignment, the review said 2", waiting)
	}
	for _, m := range members {
		if !e.holds(m)["SPE_E3"] {
			t.Errorf("%s lost SPE_E3", m)
		}
	}
}

// Task: removing SPE_E3 from a group whose Insights needs it. The review
// lists, first and in an alert, everyone who would lose Insights (and
// SPE_E3); Remove needs the box ticked; a review that no longer holds is
// shown again; after confirming, exactly the listed licenses are gone.
func TestBrowserReviewLossesFirst(t *testing.T) {
	e := newEnv(t, 25)
	e.assign("Megan Bowen", "SPE_E5") // keeps Insights: E5 satisfies it
	members := []string{"Adele Vance", "Alex Wilber", "Diego Siciliani", "Megan Bowen"}
	g := e.group("Analysts", members...)
	e.assignGroup(g.GUID, "SPE_E3", "WORKPLACE_ANALYTICS_INSIGHTS")
	e.waitHolds("WORKPLACE_ANALYTICS_INSIGHTS", true, members...)

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	b.click(`tr[data-sku="SPE_E3"] button.danger`)
	b.waitPath("/groups/" + g.GUID + "/licenses/remove")

	// Losses first, in an alert, red, before anything else of the review.
	if role := b.attr("#review-losses", "role"); role != "alert" {
		t.Errorf("losses role = %q", role)
	}
	if first, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(document.querySelector("#review-losses").compareDocumentPosition(document.querySelector("#review-products")) & Node.DOCUMENT_POSITION_FOLLOWING)`)); !first {
		t.Errorf("the losses do not come before the other changes")
	}
	if c, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#review-losses")).color`)); c != "rgb(179, 38, 30)" {
		t.Errorf("losses colour %q, want the error red", c)
	}
	if head := b.text("#review-losses h3"); head != "4 people would lose 7 licenses." {
		t.Errorf("losses headline: %q", head)
	}
	losses := b.reviewedLosses()
	want := []string{}
	for _, m := range members {
		want = append(want, upnOf(m)+" SPE_E3")
		if m != "Megan Bowen" {
			want = append(want, upnOf(m)+" WORKPLACE_ANALYTICS_INSIGHTS")
		}
	}
	if got := sorted(losses); strings.Join(got, ",") != strings.Join(sorted(want), ",") {
		t.Errorf("losses listed %v, want %v", got, sorted(want))
	}
	// Side effects (Insights) come before what the change names (SPE_E3).
	for i, l := range losses {
		if strings.HasSuffix(l, "SPE_E3") != (i >= 3) {
			t.Errorf("loss %d is %s: side effects first", i, l)
		}
	}
	row := b.text(`#review-losses tr[data-user="adele.vance@contoso.com"][data-sku="WORKPLACE_ANALYTICS_INSIGHTS"]`)
	for _, w := range []string{"Adele Vance", "adele.vance@contoso.com", "Microsoft Workplace Analytics Insights", "needs a product"} {
		if !strings.Contains(row, w) {
			t.Errorf("Adele's loss row %q lacks %q", row, w)
		}
	}
	if label := b.text(`label[for="confirm-loss"]`); label != "I understand that 4 people will lose licenses." {
		t.Errorf("confirmation: %q", label)
	}
	b.screenshot("review-losses")

	// Remove without the tick: the browser does not send the form.
	b.click("#confirm-remove")
	time.Sleep(300 * time.Millisecond)
	if p := b.path(); !strings.HasPrefix(p, "/groups/"+g.GUID+"/licenses/remove") {
		t.Errorf("submitted without the confirmation, now at %s", p)
	}
	// Nor does the server take a POST without it.
	reviewed := b.attr(`input[name=reviewed]`, "value")
	c := e.client(adminUPN)
	resp, err := c.PostForm(e.srv.URL+"/groups/"+g.GUID+"/licenses/remove", url.Values{"sku": {e.skus["SPE_E3"].SkuID}, "reviewed": {reviewed}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("POST without confirmLoss: %d, want 409", resp.StatusCode)
	}
	e.waitHolds("WORKPLACE_ANALYTICS_INSIGHTS", true, members...)

	// The group changes after the review: the confirmed POST shows the new
	// review instead of applying more than was reviewed.
	if err := e.st.AddMember(context.Background(), actor, e.tenant.ID, g.GUID, e.users["Lynne Robbins"].GUID); err != nil {
		t.Fatal(err)
	}
	e.waitHolds("WORKPLACE_ANALYTICS_INSIGHTS", true, "Lynne Robbins")
	b.click("#confirm-loss")
	b.click("#confirm-remove")
	b.waitText(".msg.error", "no longer what you reviewed")
	b.waitText("#review-losses h3", "5 people would lose 9 licenses.")
	if !e.holds("Lynne Robbins")["SPE_E3"] || !e.holds("Adele Vance")["WORKPLACE_ANALYTICS_INSIGHTS"] {
		t.Fatalf("a changed review applied the removal")
	}
	losses = b.reviewedLosses()
	before := map[string]map[string]bool{}
	for _, m := range append(members, "Lynne Robbins") {
		before[m] = e.holds(m)
	}

	b.click("#confirm-loss")
	b.click("#confirm-remove")
	b.waitText(".msg.ok", "Removed Microsoft 365 E3 from the group")
	b.waitText("#processing-state", "Processing complete")
	e.waitHolds("WORKPLACE_ANALYTICS_INSIGHTS", false, "Adele Vance", "Alex Wilber", "Diego Siciliani", "Lynne Robbins")
	if got := e.lostSince(before); strings.Join(got, ",") != strings.Join(sorted(losses), ",") {
		t.Errorf("lost %v, the review said %v", got, sorted(losses))
	}
	if !e.holds("Megan Bowen")["WORKPLACE_ANALYTICS_INSIGHTS"] {
		t.Errorf("Megan lost Insights, which her E5 satisfies")
	}
}

// attr returns an attribute of the first element the CSS selector finds.
func (b *tab) attr(sel, name string) string {
	b.t.Helper()
	// The page may still be loading after waitPath saw its address: wait
	// for the element, then read the attribute.
	b.waitCount(sel, 1)
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?(e.getAttribute(%q)||""):""})()`, sel, name)))
	if err != nil {
		b.fatal("attribute %s of %s: %v", name, sel, err)
	}
	return v
}
