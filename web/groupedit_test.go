package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// addBySearch types the start of a name into Add members, waits for the
// small result list and adds the one with the GUID.
func (b *tab) addBySearch(typed, guid, name string) {
	b.t.Helper()
	b.settle("#member-q")
	b.fill("#member-q", typed)
	b.waitText("#member-results", name)
	if n := b.count("#member-results li"); n == 0 || n > 8 {
		b.fatal("%d results for %q, want 1 to 8", n, typed)
	}
	b.click(`button[data-add="` + guid + `"]`)
	b.waitText(".msg.ok", "Added "+name+" to the group")
}

// Task: create a group, rename it, give it a license and add two members
// through search-as-you-type; the license reaches them, and the audit log
// has every step.
func TestBrowserGroupCreateRenameAddMembers(t *testing.T) {
	e := newEnv(t, 25)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups")
	b.click(".new-group summary")
	b.click("#create-group") // empty: refused in words, nothing created
	if b.path() != "/groups" {
		// The browser's required check keeps the form; the server refuses too.
		t.Errorf("an empty name left the page: %s", b.path())
	}
	b.fill("#new-group-name", "Project Falcon")
	b.fill("#new-group-description", "Falcon launch team")
	b.screenshotView("admin-groups-new")
	b.click("#create-group")
	b.waitText(".msg.ok", "Created the group Project Falcon")
	guid := strings.TrimPrefix(strings.SplitN(b.path(), "?", 2)[0], "/groups/")
	b.click(".group-rename summary")
	b.fill("#group-name", "Project Kestrel")
	b.click("#rename-save")
	b.waitText(".msg.ok", "Saved the name and description.")
	if h := b.text("main h1"); h != "Project Kestrel" {
		t.Errorf("heading after rename: %q", h)
	}
	e.assignGroup(guid, "SPE_E3")
	b.open("/groups/" + guid)
	b.fill("#member-q", "Al")
	b.waitText("#member-results", "Alex Wilber")
	b.screenshotView("admin-group-add-search")
	b.addBySearch("Adel", e.users["Adele Vance"].GUID, "Adele Vance")
	b.addBySearch("alex.w", e.users["Alex Wilber"].GUID, "Alex Wilber")
	e.waitHolds("SPE_E3", true, "Adele Vance", "Alex Wilber")
	b.open("/groups/" + guid) // the page as it is now both hold E3 (the one open may predate the second)
	b.waitText("#members-table", "Has license")
	if row := b.rowText("#members-table", "Alex Wilber"); !strings.Contains(row, "Has license") {
		t.Errorf("Alex's row: %q", row)
	}
	b.screenshotView("admin-group-members")
	b.open("/audit")
	for _, act := range []string{"Add group", "Update group", "Add member to group"} {
		b.waitText("#audit-table", act)
	}
	if row := b.rowText("#audit-table", "Update group"); !strings.Contains(row, "Project Kestrel") {
		t.Errorf("rename audit row: %q", row)
	}
}

// Task: removing a member who holds a license through the group shows the
// loss and needs the second confirmation; the server refuses it unticked.
func TestBrowserRemoveLicensedMemberNeedsConfirm(t *testing.T) {
	e := newEnv(t, 25)
	g := e.group("Sales Team", "Adele Vance", "Alex Wilber")
	e.assignGroup(g.GUID, "SPE_E3")
	e.waitHolds("SPE_E3", true, "Adele Vance", "Alex Wilber")
	adele := e.users["Adele Vance"]
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	b.click(`button[data-remove="` + adele.GUID + `"]`)
	b.waitPath("/groups/" + g.GUID + "/members/remove")
	if got := b.reviewedLosses(); !slices.Equal(got, []string{"adele.vance@contoso.com SPE_E3"}) {
		t.Errorf("losses on the review: %v", got)
	}
	if !strings.Contains(b.text("#confirm-change"), "take 1 license away") {
		t.Errorf("button: %q", b.text("#confirm-change"))
	}
	reviewed := b.value(`input[name=reviewed]`)
	b.click("#confirm-change") // unticked: the browser keeps the form
	if !strings.HasPrefix(b.path(), "/groups/"+g.GUID+"/members/remove") || !e.holds("Adele Vance")["SPE_E3"] {
		t.Fatalf("removed without the confirmation")
	}
	// The server checks it too.
	resp, err := e.client(adminUPN).PostForm(e.srv.URL+"/groups/"+g.GUID+"/members/remove", url.Values{"member": {adele.GUID}, "reviewed": {reviewed}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || len(e.memberUPNs(g)) != 2 {
		t.Errorf("unconfirmed POST: %d, members %v", resp.StatusCode, e.memberUPNs(g))
	}
	b.screenshotView("admin-group-remove-member")
	b.click("#confirm-loss")
	b.click("#confirm-change")
	b.waitText(".msg.ok", "Removed Adele Vance from the group")
	e.waitHolds("SPE_E3", false, "Adele Vance")
	if !e.holds("Alex Wilber")["SPE_E3"] {
		t.Errorf("Alex lost SPE_E3")
	}
	b.open("/audit")
	b.waitText("#audit-table", "Remove member from group")
}

// Task: deleting a licensed group lists who would lose what and needs the
// confirmation; deleting an unlicensed one is one click after the review.
func TestBrowserDeleteGroupReview(t *testing.T) {
	e := newEnv(t, 25)
	g := e.group("Licensed Crew", "Adele Vance", "Alex Wilber")
	e.assignGroup(g.GUID, "SPE_E3")
	e.assign("Alex Wilber", "SPE_E3") // keeps it directly
	plain := e.group("Book Club", "Diego Siciliani")
	empty := e.group("Empty Licensed")
	e.assignGroup(empty.GUID, "SPE_E5")
	e.waitHolds("SPE_E3", true, "Adele Vance", "Alex Wilber")
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	b.click("#delete-group")
	b.waitPath("/groups/" + g.GUID + "/delete")
	if got := b.reviewedLosses(); !slices.Equal(got, []string{"adele.vance@contoso.com SPE_E3"}) {
		t.Errorf("losers: %v", got)
	}
	b.click("#confirm-change") // unticked
	if !strings.HasPrefix(b.path(), "/groups/"+g.GUID+"/delete") {
		t.Fatalf("deleted without the confirmation")
	}
	b.screenshotView("admin-group-delete")
	b.click("#confirm-loss")
	b.click("#confirm-change")
	b.waitText(".msg.ok", "Deleted the group Licensed Crew")
	e.waitHolds("SPE_E3", false, "Adele Vance")
	if !e.holds("Alex Wilber")["SPE_E3"] {
		t.Errorf("Alex lost his direct SPE_E3")
	}

	b.open("/groups/" + plain.GUID)
	b.click("#delete-group")
	b.waitText("#review-no-loss", "No one would lose a license.")
	if n := b.count("#confirm-loss"); n != 0 {
		t.Errorf("a confirmation box for a delete that takes nothing away")
	}
	b.click("#confirm-change")
	b.waitText(".msg.ok", "Deleted the group Book Club")
	if _, err := e.st.Group(context.Background(), e.tenant.ID, plain.GUID); err == nil {
		t.Errorf("Book Club still exists")
	}
	// A group that assigns a license but takes none away: no box either.
	b.open("/groups/" + empty.GUID)
	b.click("#delete-group")
	b.waitText("#review-no-loss", "No one would lose a license.")
	b.click("#confirm-change")
	b.waitText(".msg.ok", "Deleted the group Empty Licensed")
	b.open("/audit")
	b.waitText("#audit-table", "Delete group")
}

// Task: Reprocess re-marks the group and the page shows how far the worker
// is ("8 of 16 members processed") until processing is complete.
func TestBrowserReprocessShowsProgress(t *testing.T) { reprocessShowsProgress(t, openSQLite) }

// TestBrowserReprocessShowsProgressOnPostgres is the same on PostgreSQL
// (the progress columns have a migration of each engine).
func TestBrowserReprocessShowsProgressOnPostgres(t *testing.T) {
	reprocessShowsProgress(t, pgtest.Open)
}

func reprocessShowsProgress(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	e := newEnvOn(t, open, 25)
	var names []string
	for _, p := range people {
		names = append(names, p.name)
	}
	g := e.group("Everyone", names...)
	e.assignGroup(g.GUID, "SPE_E3")
	// A worker that recomputes 4 members a transaction, slowly.
	w := reconcile.New(e.st, e.log, reconcile.WithHooks(reconcile.Hooks{Batch: func(kind string, _ int, _ time.Duration) {
		if kind == "group" {
			time.Sleep(700 * time.Millisecond)
		}
	}}))
	w.GroupChunk = 4
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	b.waitText("#processing-state", "Processing complete")
	b.click("#reprocess")
	b.waitText(".msg.ok", "Reprocessing")
	b.waitText("#processing-progress", "8 of 16 members processed.")
	b.screenshotView("admin-group-reprocess")
	b.waitText("#processing-state", "Processing complete")
	if n := b.count("#processing-progress"); n != 0 {
		t.Errorf("progress still shown after processing")
	}
	b.open("/audit")
	b.waitText("#audit-table", "Reprocess user license")
}

// A Global Reader gets 403 from every POST that manages groups (and from
// the reviews and the member search, which are for writers), and nothing
// changes. TestBrowserReaderSeesNoWriteControls checks the reader sees
// none of the controls.
func TestGroupWritesRefusedForReader(t *testing.T) {
	e := newEnv(t, 25)
	g := e.group("Sales Team", "Adele Vance")
	e.assignGroup(g.GUID, "SPE_E3")
	c := e.client(readerUPN)
	adele, alex := e.users["Adele Vance"].GUID, e.users["Alex Wilber"].GUID
	gp := "/groups/" + g.GUID
	posts := map[string]url.Values{
		"/groups":              {"name": {"Readers"}},
		gp + "/rename":         {"name": {"Renamed"}},
		gp + "/delete":         {"confirmLoss": {"1"}},
		gp + "/members":        {"member": {alex}},
		gp + "/members/remove": {"member": {adele}, "confirmLoss": {"1"}},
		gp + "/reprocess":      {},
	}
	gets := []string{gp + "/members/search?mq=Al", gp + "/delete", gp + "/members/remove?member=" + adele}
	status := func(resp *http.Response, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for path, form := range posts {
		if got := status(c.PostForm(e.srv.URL+path, form)); got != http.StatusForbidden {
			t.Errorf("reader POST %s: %d, want 403", path, got)
		}
	}
	for _, path := range gets {
		if got := status(c.Get(e.srv.URL + path)); got != http.StatusForbidden {
			t.Errorf("reader GET %s: %d, want 403", path, got)
		}
	}
	if sg := e.storedGroup(g); sg.DisplayName != "Sales Team" {
		t.Errorf("renamed by a reader: %q", sg.DisplayName)
	}
	if got := e.memberUPNs(g); !slices.Equal(got, []string{"adele.vance@contoso.com"}) {
		t.Errorf("members after the reader's POSTs: %v", got)
	}
	groups, _, _, err := e.st.ListGroups(context.Background(), e.tenant.ID, store.ListOptions{Top: 10})
	if err != nil || len(groups) != 1 {
		t.Errorf("groups after the reader's POSTs: %d (%v)", len(groups), err)
	}
}

// A dynamic group's page says in words that its members follow the rule
// and offers no member editing; a POST is refused in the same words. The
// group forms refuse an empty name in words.
func TestGroupRefusalsInWords(t *testing.T) {
	e := newEnv(t, 25)
	dyn := e.dynamicGroup("Dynamic A", `user.displayName -startsWith "A"`)
	c := e.client(adminUPN)
	page := func(resp *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	_, body := page(c.Get(e.srv.URL + "/groups/" + dyn.GUID))
	if !strings.Contains(body, "cannot be added or removed by hand") || strings.Contains(body, `id="member-add"`) || strings.Contains(body, "data-remove") {
		t.Errorf("dynamic group page offers member editing or does not say why")
	}
	code, body := page(c.PostForm(e.srv.URL+"/groups/"+dyn.GUID+"/members", url.Values{"member": {e.users["Lee Gu"].GUID}}))
	if code != http.StatusConflict || !strings.Contains(body, "Dynamic A is a dynamic group: its members follow its membership rule") {
		t.Errorf("adding to a dynamic group: %d", code)
	}
	code, body = page(c.PostForm(e.srv.URL+"/groups", url.Values{"name": {"  "}}))
	if code != http.StatusBadRequest || !strings.Contains(body, "Enter a name for the group.") {
		t.Errorf("empty name: %d", code)
	}
	code, body = page(c.PostForm(e.srv.URL+"/groups/"+dyn.GUID+"/rename", url.Values{"name": {strings.Repeat("x", 300)}}))
	if code != http.StatusBadRequest || !strings.Contains(body, "The name has 300 characters; a group name can have at most 256.") {
		t.Errorf("long name: %d", code)
	}
	g := e.group("Sales", "Adele Vance")
	code, body = page(c.PostForm(e.srv.URL+"/groups/"+g.GUID+"/members", url.Values{"member": {e.users["Adele Vance"].GUID}}))
	if code != http.StatusConflict || !strings.Contains(body, "Adele Vance is already a member of Sales.") {
		t.Errorf("adding a member twice: %d", code)
	}
}
