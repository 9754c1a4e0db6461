package licensing

import (
	"slices"
	"testing"

	"allot"
)

func TestRule2_ErrorMessagesSayWhatIsWrongAndWhatToDo(t *testing.T) {
	ent := product(1, "SPE_E3", 20, 20, displayName("Microsoft 365 E3"), excludes("SPE_E5", "BARE"))
	e5 := product(2, "SPE_E5", 5, 1, displayName("Microsoft 365 E5"))
	ins := product(3, "INSIGHTS", 2, 2, displayName("Insights"), requires("SPE_E3", "SPE_E5", "GONE"), usableIn("US", "CA"), soldIn("NAM", "EUR"),
		planNeeds("INSIGHTS-a", "INSIGHTS-b"))
	noName := product(4, "BARE", 1, 0, planNeeds("BARE-a", "unknown-plan"), excludes("SPE_E3"))
	noName.DisplayName = ""
	plain := product(6, "PLAIN", 1, 0, requires("PLAIN2"))
	cat := NewCatalog(products(ent, e5, ins, noName, plain, product(7, "PLAIN2", 1, 0)))
	for _, c := range []struct {
		name string
		code allot.Code
		p    *allot.Product
		want string
	}{
		{"no seats: counts and what to do", allot.ENoSeats, ins,
			"No Insights (INSIGHTS) seats left: 2 of 2 in use. Buy more seats or free some; waiting users get a seat automatically when one frees up."},
		{"seats reduced", allot.ESeatsReduced, ent,
			"The number of Microsoft 365 E3 (SPE_E3) seats was reduced below the number in use (20 of 20); this assignment waits for a seat."},
		{"usage location missing", allot.EUsageLocationNeeded, ins,
			`The user has no usageLocation; set it (for example "US") before assigning Insights (INSIGHTS).`},
		{"usage location denied lists the allowed ones", allot.EUsageLocationDenied, ins,
			"Insights (INSIGHTS) may only be used in US, CA; change the user's usageLocation."},
		{"prerequisite names the products, unknown parts as they are", allot.EPrerequisiteMissing, ins,
			"Insights (INSIGHTS) needs one of Microsoft 365 E3 (SPE_E3), Microsoft 365 E5 (SPE_E5), GONE first; assign one of them to the user (directly or through a group)."},
		{"exclusion names both sides' declarations", allot.EMutuallyExclusive, ent,
			"Microsoft 365 E3 (SPE_E3) cannot be held together with BARE, Microsoft 365 E5 (SPE_E5); remove that product first."},
		{"exclusion declared only by the other product", allot.EMutuallyExclusive, e5,
			"Microsoft 365 E5 (SPE_E5) cannot be held together with Microsoft 365 E3 (SPE_E3); remove that product first."},
		{"data location lists where it is sold", allot.EDataLocation, ins,
			"Insights (INSIGHTS) is not available in this tenant's data location; it is available in NAM, EUR."},
		{"other product in the group failed", allot.EOtherProductFailed, e5,
			"Microsoft 365 E5 (SPE_E5) was not assigned because another product of the same group failed for this user (a group grants all of its products or none)."},
		{"plan dependency names the needed plan", allot.EPlanDependency, ins,
			"A service plan of Insights (INSIGHTS) that stays enabled needs INSIGHTS_B; enable it too or disable the plan that needs it."},
		{"plan dependency on a plan the product does not list names its id", allot.EPlanDependency, noName,
			"A service plan of BARE that stays enabled needs unknown-plan; enable it too or disable the plan that needs it."},
		{"plan dependency of a product without dependencies", allot.EPlanDependency, e5,
			"A service plan of Microsoft 365 E5 (SPE_E5) that stays enabled needs ; enable it too or disable the plan that needs it."},
		{"any other code is itself", allot.EInvalid, e5, "invalid"},
		{"a product whose display name is its part is named once", allot.EPrerequisiteMissing, plain,
			"PLAIN needs one of PLAIN2 first; assign one of them to the user (directly or through a group)."},
		{"an exclusion declared on both sides is named once", allot.EMutuallyExclusive, noName,
			"BARE cannot be held together with Microsoft 365 E3 (SPE_E3); remove that product first."},
		{"a plan dependency that needs nothing names nothing", allot.EPlanDependency, product(5, "ODD", 1, 0, planNeeds("ODD-a")),
			"A service plan of ODD that stays enabled needs ; enable it too or disable the plan that needs it."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Message(cat, c.code, c.p); got != c.want {
				t.Errorf("Message = %q\nwant      %q", got, c.want)
			}
		})
	}
	t.Run("a product outside the catalog is named by its part", func(t *testing.T) {
		if got := Message(nil, allot.EOtherProductFailed, e5); got[:7] != "SPE_E5 " {
			t.Errorf("Message = %q", got)
		}
	})
}

func TestRule7_TheCatalogFindsProductsByIDAndPartCaseInsensitively(t *testing.T) {
	a, b := product(9, "Beta", 1, 0), product(3, "alpha", 1, 0)
	cat := NewCatalog(products(a, b))
	if cat.Product(9) != a || cat.Product(4) != nil || cat.ByPart("BETA") != a || cat.ByPart("Alpha") != b || cat.ByPart("x") != nil {
		t.Errorf("lookups")
	}
	if !slices.Equal(cat.IDs(), []int64{3, 9}) {
		t.Errorf("IDs = %v", cat.IDs())
	}
	var empty *Catalog
	if empty.Product(9) != nil || empty.ByPart("Beta") != nil || empty.IDs() != nil {
		t.Errorf("a nil catalog is empty")
	}
}

func TestRule10_PlansStayWithinTheOrderingNumbersTheStoreReserves(t *testing.T) {
	// The store reserves SeqsNeeded ordering numbers before deciding; a plan
	// that used more would hand out numbers of the next transaction, and
	// later grants would look older than these (rule 9 takes seats from the
	// newest, rule 4 serves the oldest waiters).
	fresh := func(n int) *Snapshot {
		s := snap(products(e3(10, 0), e5(10, 0), addon(10, 0), visio(10, 0)))
		for i := 1; i <= n; i++ {
			s.Users = append(s.Users, user(int64(i), "US", nil))
		}
		return s
	}
	for _, c := range []struct {
		name string
		snap *Snapshot
		do   decision
		used int
	}{
		{"bulk assignment to users who hold nothing", fresh(4), assignBulk(VISIO, nil, 0), 4},
		{"direct assignment of three products to a user who holds nothing", fresh(1), assignDirect(DirectChange{Add: []Grant{direct(E3), direct(VISIO), direct(ADDON)}}), 3},
		{"a recompute of users who gain everything", func() *Snapshot {
			s := fresh(2)
			s.Users[0].Grants = grants(via(sales, E3), via(sales, ADDON), via(ops, VISIO))
			s.Users[1].Grants = grants(via(sales, E5), via(sales, ADDON))
			return s
		}(), recompute, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _, err := decide(t, c.snap, c.do) // decide fails when SeqsUsed > SeqsNeeded
			if err != nil {
				t.Fatal(err)
			}
			if p.SeqsUsed != c.used {
				t.Errorf("SeqsUsed %d, want %d (of %d)", p.SeqsUsed, c.used, c.snap.SeqsNeeded())
			}
		})
	}
}
