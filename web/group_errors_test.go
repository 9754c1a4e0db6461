package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"allot"
)

// A group of 10,000 members given Microsoft 365 E3 with 50 seats: its 9,950
// members with license errors are paged 50 at a time with a product
// column; Find a member narrows the members and the errors to the names
// that start with the text; Export all gives every one of them as CSV, in
// words.
func TestBrowserGroupErrorsPagedAndExported(t *testing.T) {
	const n = 10_000
	e := newEnv(t, 5)
	ctx := context.Background()
	users := make([]*allot.User, n)
	for i := range users {
		users[i] = &allot.User{UserPrincipalName: fmt.Sprintf("member%05d@contoso.com", i), DisplayName: fmt.Sprintf("Member %05d", i), AccountEnabled: true}
	}
	if err := e.st.CreateUsersBulk(ctx, actor, e.tenant.ID, users); err != nil {
		t.Fatal(err)
	}
	g := e.group("Everyone")
	for start := 0; start < n; start += 1000 {
		refs := make([]string, 0, 1000)
		for _, u := range users[start : start+1000] {
			refs = append(refs, u.GUID)
		}
		if err := e.st.AddMembers(ctx, actor, e.tenant.ID, g.GUID, refs); err != nil {
			t.Fatal(err)
		}
	}
	e.assignGroup(g.GUID, "SPE_E3")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		gg, err := e.st.Group(ctx, e.tenant.ID, g.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if gg.ProcessingState == allot.ProcessingComplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group is still %s", gg.ProcessingState)
		}
		time.Sleep(200 * time.Millisecond)
	}

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	b.waitText("#errors-table", "Member 00050")
	b.waitCount("#errors-table tbody tr", 50)
	if row := b.text(`#errors-table tr[data-user="member00050@contoso.com"]`); row != "Member 00050\nmember00050@contoso.com\n\tMicrosoft 365 E3\t"+noSeats {
		t.Errorf("first row: %q", row)
	}
	b.waitText(`section[aria-labelledby="errors-title"] .pager`, "1–50")
	b.click(`section[aria-labelledby="errors-title"] .pager a[rel=next]`)
	b.waitText(`section[aria-labelledby="errors-title"] .pager`, "51–100")
	b.waitText("#errors-table", "Member 00100")
	b.waitCount(`#errors-table tr[data-user="member00050@contoso.com"]`, 0)

	// Find a member: the members and the errors narrow to the names that
	// start with the text, among 10,000; the first 50 hold E3 and have none.
	b.fill("#member-find", "member 0777")
	b.click("#member-find-form button[type=submit]")
	b.waitText("#errors-find", "member 0777")
	b.waitCount("#errors-table tbody tr", 10)
	b.waitCount("#members-table tbody tr", 10)
	for _, u := range b.dataUsers("#errors-table tbody tr") {
		if !strings.HasPrefix(u, "member0777") {
			t.Errorf("found %s for member 0777", u)
		}
	}
	b.fill("#member-find", "Member 0004")
	b.click("#member-find-form button[type=submit]")
	b.waitText("#members-table", "Member 00049")
	b.waitCount("#members-table tbody tr", 10)
	b.waitCount("#errors-table", 0)
	b.fill("#member-find", "nobody")
	b.click("#member-find-form button[type=submit]")
	b.waitText(`section[aria-labelledby="members-title"] .empty`, "No member's name starts with “nobody”.")

	// Export all: every member, one line each, in words.
	c := e.client(adminUPN)
	resp, err := c.Get(e.srv.URL + "/groups/" + g.GUID + "/errors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	r := csv.NewReader(resp.Body)
	head, err := r.Read()
	if err != nil || fmt.Sprint(head) != "[Display name User name Product Reason]" {
		t.Fatalf("header %v, %v", head, err)
	}
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[2] != "Microsoft 365 E3" || rec[3] != noSeats {
			t.Fatalf("line %v", rec)
		}
		seen[rec[1]] = true
	}
	if len(seen) != n-50 || seen["member00049@contoso.com"] || !seen["member09999@contoso.com"] {
		t.Errorf("the export has %d members, want %d", len(seen), n-50)
	}
}

const noSeats = "No Microsoft 365 E3 seats left: all 50 are in use. Free a seat, or add seats to the subscription; people waiting get a seat automatically when one frees up."
