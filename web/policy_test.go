package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"allot/store"
)

// TestBrowserPolicyAndMoveToGroup: on Office 365 E3's page a Global
// Administrator sets the policy to group assignments only (the page then
// says what GET …/assignmentPolicy says: groupOnly, 2 direct holders),
// presses "Move 2 direct assignments to group…", sees the API's preview
// (the same moved count and no loss), confirms, and the two users hold the
// product through the group only, with nobody unlicensed.
func TestBrowserPolicyAndMoveToGroup(t *testing.T) {
	e := newEnv(t, 25)
	ctx := context.Background()
	e.assign("Adele Vance", "ENTERPRISEPACK")
	e.assign("Alex Wilber", "ENTERPRISEPACK")
	g := e.group("E3 Staff")
	pack := e.skus["ENTERPRISEPACK"]
	if _, err := e.st.AssignGroupLicenses(ctx, actor, e.tenant.ID, g.GUID, []store.LicenseRequest{{SkuID: pack.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + pack.SkuID)
	if got := b.text("#policy [data-policy]"); got != "Direct and group assignments" {
		t.Errorf("policy %q", got)
	}
	b.do(chromedp.SetValue(chromedp.CSS("#policy-select"), "groupOnly"))
	b.click("#policy-save")
	b.waitText("main [role=status]", "Assignment policy changed")
	hc := e.client(adminUPN)
	var api struct {
		AssignmentPolicy  string
		DirectAssignments int
	}
	apiGet(t, hc, e.srv.URL+"/allot/v1/subscribedSkus/"+pack.SkuID+"/assignmentPolicy", &api)
	if got := b.text("#policy [data-policy]"); api.AssignmentPolicy != "groupOnly" || got != "Group assignments only" {
		t.Errorf("page %q, API %q", got, api.AssignmentPolicy)
	}
	if got, want := b.text("#policy [data-direct]"), fmt.Sprintf("%d users still hold it directly; new direct assignments are refused.", api.DirectAssignments); got != want || api.DirectAssignments != 2 {
		t.Errorf("page %q, want %q", got, want)
	}
	b.axeCheck("product with groupOnly")
	if got := b.text("#move-preview"); got != "Move 2 direct assignments to group…" {
		t.Errorf("button %q", got)
	}
	b.do(chromedp.Focus(chromedp.CSS("#move-preview")), chromedp.KeyEvent("\r"))
	b.waitText("#move-summary", "would move")
	var pv struct {
		Moved          int
		LicenseChanges struct{ LossCount int }
	}
	apiPost(t, hc, e.srv.URL+"/allot/v1/subscribedSkus/"+pack.SkuID+"/moveDirectAssignments", fmt.Sprintf(`{"groupId": %q, "preview": true}`, g.GUID), &pv)
	want := fmt.Sprintf("This would move %d direct assignments of Office 365 E3 to group 'E3 Staff'; 0 users keep a direct assignment; nobody is left unlicensed.", pv.Moved)
	if got := b.text("#move-summary"); got != want || pv.Moved != 2 || pv.LicenseChanges.LossCount != 0 {
		t.Errorf("preview %q, API moved %d with %d losses", got, pv.Moved, pv.LicenseChanges.LossCount)
	}
	b.axeCheck("move review")
	b.click("#confirm-move")
	b.waitText("main [role=status]", "Direct assignments moved")
	apiGet(t, hc, e.srv.URL+"/allot/v1/subscribedSkus/"+pack.SkuID+"/assignmentPolicy", &api)
	if api.DirectAssignments != 0 || b.count("#policy [data-direct]") != 0 {
		t.Errorf("after the move: %d direct holders", api.DirectAssignments)
	}
	for _, n := range []string{"Adele Vance", "Alex Wilber"} {
		if !e.holds(n)["ENTERPRISEPACK"] {
			t.Errorf("%s is unlicensed after the move", n)
		}
	}
}
