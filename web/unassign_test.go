package web_test

import (
	"fmt"
	"strings"
	"testing"
)

// The product's Assigned users tab unassigns direct licenses, after the
// loss review and its confirmation: a user whose other product needs this one keeps both and
// is told why (a warning, in product names); a license from a group has
// no box to tick.
func TestBrowserUnassignFromAssignedUsers(t *testing.T) {
	e := newEnv(t, 5)
	e.assign("Adele Vance", "SPE_E3")
	e.assign("Alex Wilber", "SPE_E3", "WORKPLACE_ANALYTICS_INSIGHTS")
	g := e.group("E3 group", "Grady Archie")
	e3 := e.skus["SPE_E3"]
	e.assignGroup(g.GUID, "SPE_E3")
	e.waitHolds("SPE_E3", true, "Grady Archie")
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + e3.SkuID + "?tab=users")
	b.waitText("table[aria-label='Assigned users']", "Alex Wilber")
	if n := b.count(`table[aria-label='Assigned users'] input[value="` + e.users["Grady Archie"].GUID + `"]`); n != 0 {
		t.Errorf("a license from a group can be ticked for Unassign")
	}
	b.click(`table[aria-label='Assigned users'] input[value="` + e.users["Adele Vance"].GUID + `"]`)
	b.click(`table[aria-label='Assigned users'] input[value="` + e.users["Alex Wilber"].GUID + `"]`)
	b.click("#unassign")
	b.waitText("#unassign-confirm", "2 users lose their direct assignment of Microsoft 365 E3")
	if e.holds("Adele Vance")["SPE_E3"] == false {
		t.Fatalf("Adele lost E3 before the confirmation")
	}
	if l := b.reviewedLosses(); len(l) != 1 || l[0] != upnOf("Adele Vance")+" SPE_E3" {
		t.Errorf("losses reviewed: %v", l)
	}
	b.click("#confirm-loss")
	b.click("#confirm-unassign")
	res := b.waitText("#results", "Alex Wilber")
	if sum := b.text(".msg.warn"); !strings.Contains(sum, "1 license of Microsoft 365 E3 unassigned, 1 failure") {
		t.Errorf("summary: %q", sum)
	}
	if !strings.Contains(res, "Alex Wilber: The change would also take Microsoft Workplace Analytics Insights away from the user") {
		t.Errorf("results: %q", res)
	}
	noPartNumbers(t, res)
	if e.holds("Adele Vance")["SPE_E3"] {
		t.Errorf("Adele still holds E3")
	}
	if h := e.holds("Alex Wilber"); !h["SPE_E3"] || !h["WORKPLACE_ANALYTICS_INSIGHTS"] {
		t.Errorf("Alex lost something: %v", h)
	}
}

// Unassign on the Assigned users tab works on a selection kept across
// pages: 55 of 60 holders ticked over two pages lose E3 in one batch, after
// the review and its confirmation; Done clears the selection.
func TestBrowserUnassignSelectionAcrossPages(t *testing.T) {
	e := newEnv(t, 5)
	e.bulkUsers(60)
	e3 := e.skus["SPE_E3"]
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + e3.SkuID + "?tab=users")
	b.waitCount("#unassign:disabled", 1)
	b.click("#select-all")
	b.waitText("#selected-count", "50 selected")
	b.click(".pager a[rel=next]")
	b.waitText("table[aria-label='Assigned users']", "Bulk User060")
	for i := 51; i <= 55; i++ {
		b.click(`table[aria-label='Assigned users'] input[value="` + e.users[fmt.Sprintf("Bulk User%03d", i)].GUID + `"]`)
	}
	b.waitText("#selected-count", "55 selected")
	b.click("#unassign")
	b.waitText("#unassign-confirm", "55 users lose their direct assignment of Microsoft 365 E3")
	b.waitText("#review-losses", "55 people would lose 55 licenses")
	if !e.holds("Bulk User001")["SPE_E3"] {
		t.Fatalf("E3 went before the confirmation")
	}
	b.click("#confirm-loss")
	b.click("#confirm-unassign")
	b.waitText(".msg.ok", "55 licenses of Microsoft 365 E3 unassigned, 0 failures")
	for i := 1; i <= 60; i++ {
		n := fmt.Sprintf("Bulk User%03d", i)
		if got, want := e.holds(n)["SPE_E3"], i > 55; got != want {
			t.Errorf("%s holds E3: %v, want %v", n, got, want)
		}
	}
	b.click("#done")
	b.waitText("table[aria-label='Assigned users']", "Bulk User056")
	b.waitCount("#selected-count[hidden]", 1)
}
