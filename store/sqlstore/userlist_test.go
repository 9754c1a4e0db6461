package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

// FindUsers on both engines: each filter alone and together, each sort
// walked a page of 2 at a time (every user once, in order), the counts, and
// the tenant's departments; another tenant's users never show. Each case
// runs with both ways of reading a filtered list: through the filter's
// index and sorting (the default cap, above these few matches), and
// walking a stretch of the sort's order first (caps 1, 3 and 4: stretches
// that settle a page or fall back); Zoe holds E3 from two sources and
// shows once.
func TestFindUsers(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		a := allot.Actor{Kind: "system", ID: "t", Name: "t"}
		ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
		if err != nil {
			t.Fatal(err)
		}
		d, _ := catalog.Lookup("SPE_E3")
		e3, err := st.AddProduct(ctx, a, ten.ID, d, 10)
		if err != nil {
			t.Fatal(err)
		}
		// name, department, location, enabled, licensed (created in this order)
		people := []struct {
			name, dept, loc string
			on, lic         bool
		}{
			{"Zoe", "Ops", "DE", true, true}, {"Adam", "Ops", "US", true, false}, {"Mia", "Sales", "US", false, false},
			{"Bob", "Ops", "DE", false, false}, {"Cy", "", "FR", true, true}, {"Eve", "Sales", "DE", true, false},
		}
		var zoe string
		for _, p := range people {
			u := &allot.User{UserPrincipalName: p.name + "@contoso.com", DisplayName: p.name, Department: p.dept, UsageLocation: p.loc, AccountEnabled: p.on}
			if err := st.CreateUser(ctx, a, ten.ID, u); err != nil {
				t.Fatal(err)
			}
			if p.name == "Zoe" {
				zoe = u.GUID
			}
			if p.lic {
				if _, err := st.AssignUserLicenses(ctx, a, ten.ID, u.GUID, []store.LicenseRequest{{SkuID: e3.SkuID}}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		g := &allot.Group{DisplayName: "Licensed", MailNickname: "licensed", SecurityEnabled: true}
		if err := st.CreateGroupWithMembers(ctx, a, ten.ID, g, []string{zoe}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AssignGroupLicenses(ctx, a, ten.ID, g.GUID, []store.LicenseRequest{{SkuID: e3.SkuID}}, nil, false); err != nil {
			t.Fatal(err)
		}
		if err := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Drain(ctx); err != nil {
			t.Fatal(err)
		}
		other, _ := st.CreateTenant(ctx, "Fabrikam", "NAM", "US")
		if err := st.CreateUser(ctx, a, other.ID, &allot.User{UserPrincipalName: "ann@fabrikam.com", DisplayName: "Ann", Department: "Ops", AccountEnabled: true}); err != nil {
			t.Fatal(err)
		}
		off, on := false, true
		cases := []struct {
			q    sqlstore.UserQuery
			want string
		}{
			{sqlstore.UserQuery{}, "Zoe Adam Mia Bob Cy Eve"},
			{sqlstore.UserQuery{Licensed: "licensed"}, "Zoe Cy"},
			{sqlstore.UserQuery{Licensed: "unlicensed", Department: "Ops"}, "Adam Bob"},
			{sqlstore.UserQuery{ProductID: e3.ID, Department: "Ops"}, "Zoe"},
			{sqlstore.UserQuery{UsageLocation: "DE", Enabled: &on}, "Zoe Eve"},
			{sqlstore.UserQuery{Enabled: &off, Sort: "name"}, "Bob Mia"},
			{sqlstore.UserQuery{Search: "e", Licensed: "unlicensed"}, "Eve"},
			{sqlstore.UserQuery{Sort: "name"}, "Adam Bob Cy Eve Mia Zoe"},
			{sqlstore.UserQuery{Sort: "name", Desc: true}, "Zoe Mia Eve Cy Bob Adam"},
			{sqlstore.UserQuery{Sort: "upn"}, "Adam Bob Cy Eve Mia Zoe"},
			{sqlstore.UserQuery{Sort: "department"}, "Cy Zoe Adam Bob Mia Eve"},
			{sqlstore.UserQuery{ProductID: e3.ID}, "Zoe Cy"},
			{sqlstore.UserQuery{ProductID: e3.ID, Sort: "name"}, "Cy Zoe"},
			{sqlstore.UserQuery{ProductID: e3.ID, UsageLocation: "DE"}, "Zoe"},
			{sqlstore.UserQuery{Licensed: "licensed", Sort: "name", Desc: true}, "Zoe Cy"},
			{sqlstore.UserQuery{UsageLocation: "DE", Sort: "upn"}, "Bob Eve Zoe"},
			{sqlstore.UserQuery{UsageLocation: "US"}, "Adam Mia"},
			{sqlstore.UserQuery{Department: "Ops", Sort: "name"}, "Adam Bob Zoe"},
			{sqlstore.UserQuery{Department: "Ops", UsageLocation: "DE", Sort: "upn", Desc: true}, "Zoe Bob"},
			{sqlstore.UserQuery{Department: "Sales", Sort: "department"}, "Mia Eve"},
		}
		for _, cap := range []int{0, 1, 3, 4} {
			st.SetListSortCap(cap)
			for _, c := range cases {
				got, total := walk(t, st, ten.ID, c.q)
				if got != c.want {
					t.Errorf("cap %d, %+v: %s, want %s", cap, c.q, got, c.want)
				}
				if n := len(slices.DeleteFunc([]rune(" "+c.want), func(r rune) bool { return r != ' ' })); total != n {
					t.Errorf("cap %d, %+v: counted %d, want %d", cap, c.q, total, n)
				}
			}
		}
		st.SetListSortCap(0)
		holders, _, err := st.ProductHolders(ctx, ten.ID, e3.ID, 0, 10)
		if err != nil || len(holders) != 2 || holders[0].DisplayName != "Zoe" || holders[1].DisplayName != "Cy" {
			t.Errorf("holders of E3: %v %v, want Zoe and Cy once each", holders, err)
		}
		deps, err := st.Departments(ctx, ten.ID, 10)
		if err != nil || fmt.Sprint(deps) != "[Ops Sales]" {
			t.Errorf("departments %v %v", deps, err)
		}
	})
}

// walk reads every page of two of a query and returns the display names
// and the first page's count.
func walk(t *testing.T, st *sqlstore.Store, tenantID int64, q sqlstore.UserQuery) (string, int) {
	t.Helper()
	q.Top, q.Count = 2, true
	var names []string
	total := -1
	for {
		p, err := st.FindUsers(context.Background(), tenantID, q)
		if err != nil {
			t.Fatal(err)
		}
		if total < 0 {
			total = p.Total
		}
		for _, u := range p.Users {
			names = append(names, u.DisplayName)
		}
		if p.Next == 0 {
			break
		}
		q.After, q.AfterKey, q.Count = p.Next, p.NextKey, false
	}
	return fmt.Sprint(names)[1 : len(fmt.Sprint(names))-1], total
}

// An unlicensed group's summary counts its users, nested groups' users
// included, each once, on both engines.
func TestUnlicensedGroupSummaryCountsEachMemberOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		a := allot.Actor{Kind: "system", ID: "t", Name: "t"}
		ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range 4 {
			u := &allot.User{UserPrincipalName: fmt.Sprintf("u%d@contoso.com", i), DisplayName: fmt.Sprint("u", i), AccountEnabled: true}
			if err := st.CreateUser(ctx, a, ten.ID, u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.GUID)
		}
		inner := &allot.Group{DisplayName: "Inner", MailNickname: "inner", SecurityEnabled: true}
		if err := st.CreateGroupWithMembers(ctx, a, ten.ID, inner, ids[1:]); err != nil {
			t.Fatal(err)
		}
		flat := &allot.Group{DisplayName: "Flat", MailNickname: "flat", SecurityEnabled: true}
		if err := st.CreateGroupWithMembers(ctx, a, ten.ID, flat, ids[:3]); err != nil {
			t.Fatal(err)
		}
		outer := &allot.Group{DisplayName: "Outer", MailNickname: "outer", SecurityEnabled: true}
		if err := st.CreateGroupWithMembers(ctx, a, ten.ID, outer, []string{ids[0], ids[2], inner.GUID}); err != nil {
			t.Fatal(err)
		}
		for g, want := range map[*allot.Group]int{flat: 3, outer: 4, inner: 3} {
			sum, err := st.GroupLicenseSummary(ctx, ten.ID, g.GUID)
			if err != nil || sum.Members != want {
				t.Errorf("%s: %d members (%v), want %d", g.DisplayName, sum.Members, err, want)
			}
		}
	})
}

// SuggestUsers finds display names and user names that start with the
// text whatever their case, on both engines, ordered by display name, and
// nothing else (not the middle of a name, not another tenant).
func TestSuggestUsersByPrefixWhateverTheCase(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		a := allot.Actor{Kind: "system", ID: "t", Name: "t"}
		ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range [][2]string{{"SALES 90", "s90"}, {"Sales 9", "s9"}, {"sales 91x", "s91"}, {"Salt", "salt"}, {"Sales 8", "s8"},
			{"Adele Sales", "adele"}, {"Bob", "sales9.bob"}, {"Zoë", "zoe"}} {
			if err := st.CreateUser(ctx, a, ten.ID, &allot.User{UserPrincipalName: p[1] + "@contoso.com", DisplayName: p[0], AccountEnabled: true}); err != nil {
				t.Fatal(err)
			}
		}
		other, _ := st.CreateTenant(ctx, "Fabrikam", "NAM", "US")
		if err := st.CreateUser(ctx, a, other.ID, &allot.User{UserPrincipalName: "x@fabrikam.com", DisplayName: "Sales 99", AccountEnabled: true}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			text string
			top  int
			want string
		}{
			{"sales 9", 10, "[SALES 90 Sales 9 sales 91x]"},
			{"SaLeS 9", 2, "[SALES 90 Sales 9]"},
			{"SALES9", 10, "[Bob]"},
			{"sal", 10, "[Bob SALES 90 Sales 8 Sales 9 Salt sales 91x]"},
			{"zo", 10, "[Zoë]"},
			{"adele", 10, "[Adele Sales]"},
			{"les", 10, "[]"},
		} {
			users, err := st.SuggestUsers(ctx, ten.ID, c.text, c.top)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range users {
				names = append(names, u.DisplayName)
			}
			if got := fmt.Sprint(names); got != c.want {
				t.Errorf("%q: %s, want %s", c.text, got, c.want)
			}
		}
	})
}
