package sqlstore_test

import (
	"testing"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/storetest"
)

// TestCostStatementMatchesHandComputedCases replays a month with a seat
// increase and assignments mid-month, a monthly USD price and an annual EUR
// one, and compares the statement with figures computed by hand.
func TestCostStatementMatchesHandComputedCases(t *testing.T) {
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			clock := newFakeClock(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
			st := eng.open(t, sqlstore.WithClock(clock.now))
			e := storetest.NewEnv(t, st)
			ctx := e.Ctx
			e.Product("SPE_E3", 10)
			e.Product("WORKPLACE_ANALYTICS", 1)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(st.SetPrice(ctx, histActor, e.Tenant.ID, "SPE_E3", &store.Price{Currency: "USD", UnitPrice: 3600, Term: store.TermMonthly}))
			end := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
			must(st.SetPrice(ctx, histActor, e.Tenant.ID, "WORKPLACE_ANALYTICS", &store.Price{Currency: "EUR", UnitPrice: 12100, Term: store.TermAnnual, CommitmentEnd: &end}))
			user := func(name, dep string) *allot.User {
				u := &allot.User{UserPrincipalName: name + "@contoso.test", DisplayName: name, UsageLocation: "US", AccountEnabled: true, Department: dep}
				must(st.CreateUser(ctx, histActor, e.Tenant.ID, u))
				return u
			}
			ann, bob, cid := user("ann", "Sales"), user("bob", "Sales"), user("cid", "Finance")
			// Day 11, 09:00: ann gets E3 (consumed 1 from the end of day 11: 20 days).
			clock.set(time.Date(2026, 4, 11, 9, 0, 0, 0, time.UTC))
			must(e.Assign(ann, "SPE_E3"))
			// Day 16, 10:00: 20 seats (10 for days 1–15, 20 for days 16–30).
			clock.set(time.Date(2026, 4, 16, 10, 0, 0, 0, time.UTC))
			_, err := st.SetSeats(ctx, histActor, e.Tenant.ID, "SPE_E3", 20, false)
			must(err)
			// Day 30, 23:00: bob gets E3 (1 day) and cid the annual product (1 day).
			clock.set(time.Date(2026, 4, 30, 23, 0, 0, 0, time.UTC))
			must(e.Assign(bob, "SPE_E3"))
			must(e.Assign(cid, "WORKPLACE_ANALYTICS"))
			clock.set(time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC))
			// May 2: a change after April must not count in April.
			_, err = st.SetSeats(ctx, histActor, e.Tenant.ID, "SPE_E3", 25, false)
			must(err)

			s, err := st.CostStatement(ctx, e.Tenant.ID, time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC))
			must(err)
			if s.Days != 30 || !s.Month.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) || len(s.Products) != 2 {
				t.Fatalf("statement: %+v", s)
			}
			byPart := map[string]store.ProductCost{}
			for _, p := range s.Products {
				byPart[p.SkuPartNumber] = p
			}
			tests := []struct {
				name string
				got  int64
				want int64
			}{
				// 15 days × 10 + 15 days × 20 = 450 seat-days; 36.00 × 450 / 30 = 540.00
				{"E3 seat-days", byPart["SPE_E3"].SeatDays, 450},
				{"E3 billed", byPart["SPE_E3"].Billed, 54000},
				// ann 20 days + bob 1 day = 21; 36.00 × 21 / 30 = 25.20
				{"E3 assigned seat-days", byPart["SPE_E3"].AssignedSeatDays, 21},
				{"E3 assigned", byPart["SPE_E3"].Assigned, 2520},
				// now 25 seats, 2 in use: 23 unused × 36.00 = 828.00
				{"E3 unused", byPart["SPE_E3"].Unused, 82800},
				// 1 seat × 30 days; 121.00 a year = 10.0833 a month → 10.08
				{"annual billed", byPart["WORKPLACE_ANALYTICS"].Billed, 1008},
				// 1 seat-day of 30 at 10.0833 a month: 0.3361 → 0.34 (half up)
				{"annual assigned, rounded", byPart["WORKPLACE_ANALYTICS"].Assigned, 34},
				{"annual unused", byPart["WORKPLACE_ANALYTICS"].Unused, 0},
			}
			for _, tt := range tests {
				if tt.got != tt.want {
					t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
				}
			}
			if c := byPart["WORKPLACE_ANALYTICS"].Price; c.Currency != "EUR" || c.CommitmentEnd == nil || !c.CommitmentEnd.Equal(end) {
				t.Errorf("annual price: %+v", c)
			}
			wantDeps := []store.DepartmentCost{
				{Department: "Finance", Currency: "EUR", Seats: 1, Cost: 1008},
				{Department: "Sales", Currency: "USD", Seats: 2, Cost: 7200},
			}
			if len(s.Departments) != len(wantDeps) {
				t.Fatalf("departments: %+v", s.Departments)
			}
			for i, d := range wantDeps {
				if s.Departments[i] != d {
					t.Errorf("department %d: %+v, want %+v", i, s.Departments[i], d)
				}
			}
			// A month before the products existed costs nothing.
			march, err := st.CostStatement(ctx, e.Tenant.ID, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
			must(err)
			for _, p := range march.Products {
				if p.SeatDays != 0 || p.Billed != 0 {
					t.Errorf("March %s: %+v", p.SkuPartNumber, p)
				}
			}
			if err := st.SetPrice(ctx, histActor, e.Tenant.ID, "SPE_E3", &store.Price{Currency: "usd", UnitPrice: 1, Term: store.TermMonthly}); err == nil {
				t.Error("a lower-case currency was accepted")
			}
			if err := st.SetPrice(ctx, histActor, e.Tenant.ID, "SPE_E3", &store.Price{Currency: "USD", UnitPrice: 1, Term: "weekly"}); err == nil {
				t.Error("a weekly term was accepted")
			}
		})
	}
}
