package web_test

import (
	"strings"
	"testing"
)

// The product's Assigned users tab unassigns direct licenses, after a
// confirmation: a user whose other product needs this one keeps both and
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
