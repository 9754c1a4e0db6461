package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"allot"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestDynamicRuleFigures measures a new rule over ALLOT_DYN_USERS users
// (half of them match) against the floor of writing the same membership
// rows in one INSERT … SELECT. It runs only when ALLOT_DYN_FIGURES is set.
func TestDynamicRuleFigures(t *testing.T) {
	if os.Getenv("ALLOT_DYN_FIGURES") == "" {
		t.Skip("set ALLOT_DYN_FIGURES=1 to measure")
	}
	n := 100000
	if v := os.Getenv("ALLOT_DYN_USERS"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, eng := range []struct {
		name string
		open func(*testing.T) *sqlstore.Store
	}{{"sqlite", openSQLite}, {"postgres", pgtest.Open}} {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			st := eng.open(t)
			a := allot.Actor{Kind: "app", ID: "bench", Name: "bench"}
			ten, err := st.CreateTenant(ctx, "Figures", "NAM", "US")
			if err != nil {
				t.Fatal(err)
			}
			for start := 0; start < n; start += 5000 {
				var us []*allot.User
				for i := start; i < min(start+5000, n); i++ {
					dep := "Marketing"
					if i%2 == 0 {
						dep = "Sales"
					}
					us = append(us, &allot.User{UserPrincipalName: fmt.Sprintf("u%d@contoso.test", i), DisplayName: fmt.Sprint("u", i),
						Department: dep, UsageLocation: "US", AccountEnabled: true})
				}
				if err := st.CreateUsersBulk(ctx, a, ten.ID, us); err != nil {
					t.Fatal(err)
				}
			}
			floor := &allot.Group{DisplayName: "floor"}
			if err := st.CreateGroup(ctx, a, ten.ID, floor); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			if err := st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
				return exec(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id)
					SELECT ?, id, 0, id, tenant_id FROM users WHERE tenant_id = ? AND department = 'Sales'`, floor.ID, ten.ID)
			}); err != nil {
				t.Fatal(err)
			}
			floorD := time.Since(t0)
			g := &allot.Group{DisplayName: "Dynamic Sales", MembershipRule: `user.department -eq "Sales"`, RuleState: allot.RuleOn}
			t0 = time.Now()
			if err := st.CreateGroup(ctx, a, ten.ID, g); err != nil {
				t.Fatal(err)
			}
			ruleD := time.Since(t0)
			t.Logf("%s: %d users, %d members: rule %v, floor (one INSERT … SELECT) %v, ratio %.1f×", eng.name, n, n/2, ruleD, floorD,
				float64(ruleD)/float64(floorD))
		})
	}
}
