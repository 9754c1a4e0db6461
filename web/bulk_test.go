package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"allot"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// bulkUsers adds n users "Bulk User001"… with E3 directly and raises the
// E3 and E5 seats so that all of them fit.
func (e *env) bulkUsers(n int) {
	e.t.Helper()
	for _, part := range []string{"SPE_E3", "SPE_E5"} {
		if _, err := e.st.SetSeats(context.Background(), actor, e.tenant.ID, e.skus[part].SkuID, 500, false); err != nil {
			e.t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("Bulk User%03d", i)
		e.addUser(name, "US")
		e.assign(name, "SPE_E3")
	}
}

// sources lists a user's active licenses as "PART/direct" or "PART/group".
func (e *env) sources(name string) []string {
	e.t.Helper()
	u := e.users[name]
	lic, err := e.st.UserLicenses(context.Background(), e.tenant.ID, []int64{u.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, v := range lic[u.ID] {
		if v.State != allot.StateActive {
			continue
		}
		src := "group"
		if v.Source == allot.DirectSource {
			src = "direct"
		}
		out = append(out, v.Product.SkuPartNumber+"/"+src)
	}
	slices.Sort(out)
	return out
}

// selectBulk selects Bulk User001–050 (page 1, select all) and 051–055
// (page 2, one by one) in Active users: 55 users over two pages.
func (b *tab) selectBulk(e *env) {
	b.open("/users?q=Bulk")
	b.waitText("#users-table .pager", "1–50 of 60")
	b.click("#select-all")
	b.waitText("#selected-count", "50 selected")
	b.click(`#users-table .pager a[rel=next]`)
	b.waitText("#users-table .pager", "51–60 of 60")
	for i := 51; i <= 55; i++ {
		b.click(`input[name=user][value="` + e.users[fmt.Sprintf("Bulk User%03d", i)].GUID + `"]`)
	}
	b.waitText("#selected-count", "55 selected")
}

// Replace E3 with E5 for 55 users selected over two pages: the review
// lists who loses E3, nothing changes without the confirmation (the server
// re-checks), and with it each user holds exactly E5 directly and keeps the
// licenses from groups, which the report says in words.
func TestBrowserBulkReplace(t *testing.T) { bulkReplace(t, openSQLite) }

// TestBrowserBulkReplaceOnPostgres is the same on PostgreSQL (its locks and
// READ COMMITTED transactions).
func TestBrowserBulkReplaceOnPostgres(t *testing.T) { bulkReplace(t, pgtest.Open) }

func bulkReplace(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	e := newEnvOn(t, open, 5)
	e.startWorker()
	e.bulkUsers(60)
	g := e.group("Office group", "Bulk User001", "Bulk User051")
	e.assignGroup(g.GUID, "ENTERPRISEPACK")
	e.waitHolds("ENTERPRISEPACK", true, "Bulk User001", "Bulk User051")
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.selectBulk(e)
	b.click("#replace-licenses")
	b.waitPath("/bulk-licenses")
	b.waitText("#bulk-form legend", "55 users selected")
	b.click("#bulk-sku-" + e.skus["SPE_E5"].SkuID)
	b.click("#review-bulk")
	b.waitText("#review-losses", "55 people would lose 55 licenses")
	losses := b.reviewedLosses()
	if len(losses) != 55 || !slices.Contains(losses, upnOf("Bulk User001")+" SPE_E3") || slices.Contains(losses, upnOf("Bulk User056")+" SPE_E3") {
		t.Errorf("losses reviewed: %d %v", len(losses), losses[:min(3, len(losses))])
	}
	if s := b.text("#review-losses") + b.text("#group-note"); strings.Contains(s, "ENTERPRISEPACK") || strings.Contains(s, "Office 365 E3") || !strings.Contains(s, "never removed") {
		t.Errorf("review: group license listed, or no word about groups: %q", s)
	}
	// A browser that ignores the required box sends no confirmation.
	b.evalBool(`(function(){document.getElementById("confirm-loss").required=false;return true})()`)
	b.click("#apply-bulk")
	b.waitText(".msg.error", "tick the box to confirm")
	if h := e.sources("Bulk User001"); !slices.Equal(h, []string{"ENTERPRISEPACK/group", "SPE_E3/direct"}) {
		t.Fatalf("changed without confirmation: %v", h)
	}
	b.click("#confirm-loss")
	b.click("#apply-bulk")
	b.waitText(".msg.ok", "55 users changed, 0 refusals")
	res := b.text("#results")
	if !strings.Contains(res, "Bulk User001: Done: removed Microsoft 365 E3, assigned Microsoft 365 E5. Keeps Office 365 E3 (from group Office group): a license from a group is never removed") {
		t.Errorf("results: %q", res[:min(400, len(res))])
	}
	noPartNumbers(t, res)
	for i := 1; i <= 60; i++ {
		n := fmt.Sprintf("Bulk User%03d", i)
		want := []string{"SPE_E5/direct"}
		if i > 55 {
			want = []string{"SPE_E3/direct"}
		}
		if i == 1 || i == 51 {
			want = []string{"ENTERPRISEPACK/group", "SPE_E5/direct"}
		}
		if h := e.sources(n); !slices.Equal(h, want) {
			t.Errorf("%s holds %v, want %v", n, h, want)
		}
	}
	b.click("#done")
	b.waitPath("/users")
	b.waitCount("#selected-count[hidden]", 1)
}

// Unassign all, with no product chosen, on 55 users selected over two
// pages: the same review and confirmation, then a per-user report; every
// direct license goes, and a user whose license from a group needs what
// goes is refused, in product names, and keeps everything.
func TestBrowserBulkUnassignAll(t *testing.T) {
	e := newEnv(t, 5)
	e.bulkUsers(60)
	e.assign("Bulk User002", "WORKPLACE_ANALYTICS_INSIGHTS")
	g := e.group("Insights group", "Bulk User003")
	e.assignGroup(g.GUID, "WORKPLACE_ANALYTICS_INSIGHTS")
	e.waitHolds("WORKPLACE_ANALYTICS_INSIGHTS", true, "Bulk User003")
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.selectBulk(e)
	b.click("#unassign-all")
	b.waitPath("/bulk-licenses")
	b.click("#review-bulk")
	b.waitText("#review-losses", "54 people would lose 55 licenses")
	if e.holds("Bulk User001")["SPE_E3"] == false {
		t.Fatalf("E3 went before the confirmation")
	}
	b.click("#confirm-loss")
	b.click("#apply-bulk")
	b.waitText(".msg.warn", "54 users changed, 1 refusal")
	res := b.text("#results")
	for _, want := range []string{"Bulk User001: Done: removed Microsoft 365 E3.",
		"Bulk User002: Done: removed Microsoft 365 E3, removed Microsoft Workplace Analytics Insights.",
		"Bulk User003: Refused, nothing changed: The change would also take Microsoft Workplace Analytics Insights away"} {
		if !strings.Contains(res, want) {
			t.Errorf("results lack %q: %q", want, res[:min(600, len(res))])
		}
	}
	noPartNumbers(t, res)
	for i := 1; i <= 60; i++ {
		n := fmt.Sprintf("Bulk User%03d", i)
		want := []string{}
		switch {
		case i == 3:
			want = []string{"SPE_E3/direct", "WORKPLACE_ANALYTICS_INSIGHTS/group"}
		case i > 55:
			want = []string{"SPE_E3/direct"}
		}
		if h := e.sources(n); !slices.Equal(h, want) && (len(h) > 0 || len(want) > 0) {
			t.Errorf("%s holds %v, want %v", n, h, want)
		}
	}
}

// A reader gets 403 on the bulk POSTs, and nothing changes.
func TestBulkPostsRefusedForReader(t *testing.T) {
	e := newEnv(t, 5)
	e.assign("Adele Vance", "SPE_E3")
	c := e.client(readerUPN)
	adele := e.users["Adele Vance"].GUID
	for _, action := range []string{"replace", "unassign"} {
		for _, path := range []string{"/bulk-licenses/review", "/bulk-licenses/apply"} {
			resp, err := c.PostForm(e.srv.URL+path, url.Values{"action": {action}, "user": {adele}, "sku": {e.skus["SPE_E5"].SkuID}, "confirmLoss": {"1"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("reader POST %s (%s): %d, want 403", path, action, resp.StatusCode)
			}
		}
	}
	if !e.holds("Adele Vance")["SPE_E3"] {
		t.Errorf("a reader's POST took E3 away")
	}
}

// The store's bulk change reports per mention: an unknown user is not
// found, a repeat shares the first mention's outcome, a license from a
// group stays and is named with its group, and a user with nothing to
// change is left alone.
func TestBulkChangeDirectOutcomes(t *testing.T) {
	e := newEnv(t, 5)
	e.assign("Adele Vance", "SPE_E3")
	g := e.group("E3 group", "Alex Wilber")
	e.assignGroup(g.GUID, "SPE_E3")
	e.waitHolds("SPE_E3", true, "Alex Wilber")
	adele, alex, grady := e.users["Adele Vance"].GUID, e.users["Alex Wilber"].GUID, e.users["Grady Archie"].GUID
	out, err := e.st.BulkChangeDirect(context.Background(), actor, e.tenant.ID, sqlstore.BulkDirectRequest{
		Users: []string{adele, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", alex, adele, grady}, All: true})
	if err != nil {
		t.Fatal(err)
	}
	e3 := e.skus["SPE_E3"].SkuID
	switch {
	case len(out) != 5:
		t.Fatalf("%d outcomes", len(out))
	case len(out[0].Removed) != 1 || out[0].Removed[0].SkuID != e3 || out[0].Code != "":
		t.Errorf("Adele: %+v", out[0])
	case !out[1].NotFound:
		t.Errorf("unknown user: %+v", out[1])
	case !out[2].NoDiff || out[2].FromGroup[e3] != "E3 group":
		t.Errorf("Alex: %+v", out[2])
	case out[3].GUID != adele || len(out[3].Removed) != 1:
		t.Errorf("repeat of Adele: %+v", out[3])
	case !out[4].NoDiff || out[4].FromGroup != nil:
		t.Errorf("Grady: %+v", out[4])
	}
	if e.holds("Adele Vance")["SPE_E3"] || !e.holds("Alex Wilber")["SPE_E3"] {
		t.Errorf("Adele %v, Alex %v", e.holds("Adele Vance"), e.holds("Alex Wilber"))
	}
}
