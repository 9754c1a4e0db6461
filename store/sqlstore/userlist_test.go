package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"allot"
	"allot/catalog"
	"allot/store"
	"allot/store/sqlstore"
)

// FindUsers on both engines: each filter alone and together, each sort
// walked a page of 2 at a time (every user once, in order), the counts, and
// the tenant's departments; another tenant's users never show.
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
		for _, p := range people {
			u := &allot.User{UserPrincipalName: p.name + "@contoso.com", DisplayName: p.name, Department: p.dept, UsageLocation: p.loc, AccountEnabled: p.on}
			if err := st.CreateUser(ctx, a, ten.ID, u); err != nil {
				t.Fatal(err)
			}
			if p.lic {
				if _, err := st.AssignUserLicenses(ctx, a, ten.ID, u.GUID, []store.LicenseRequest{{SkuID: e3.SkuID}}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		other, _ := st.CreateTenant(ctx, "Fabrikam", "NAM", "US")
		if err := st.CreateUser(ctx, a, other.ID, &allot.User{UserPrincipalName: "ann@fabrikam.com", DisplayName: "Ann", Department: "Ops", AccountEnabled: true}); err != nil {
			t.Fatal(err)
		}
		off, on := false, true
		for _, c := range []struct {
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
		} {
			got, total := walk(t, st, ten.ID, c.q)
			if got != c.want {
				t.Errorf("%+v: %s, want %s", c.q, got, c.want)
			}
			if n := len(slices.DeleteFunc([]rune(" "+c.want), func(r rune) bool { return r != ' ' })); total != n {
				t.Errorf("%+v: counted %d, want %d", c.q, total, n)
			}
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
