package httpapi

import (
	"testing"
)

// TestUserAssignedPlansFollowSelect: a user's assignedPlans (one entry per
// service plan of each product held) are served without $select, with a
// $select that names them, and left out of a $select that does not.
func TestUserAssignedPlansFollowSelect(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("plans@contoso.com", "US")
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		for _, tc := range []struct {
			name, query string
			want        bool
		}{
			{"no $select", "", true},
			{"$select names them", "?$select=id,assignedPlans", true},
			{"$select without them", "?$select=id,assignedLicenses", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := c.getJSON("/v1.0/users/" + u + tc.query)
				plans, ok := m["assignedPlans"].([]any)
				if !tc.want {
					if ok {
						t.Fatalf("assignedPlans served: %d entries", len(plans))
					}
					return
				}
				if len(plans) == 0 {
					t.Fatalf("no assignedPlans: %v", m)
				}
				for _, p := range plans {
					p := p.(map[string]any)
					if p["capabilityStatus"] != "Enabled" || p["servicePlanId"] == "" || p["service"] == "" || p["assignedDateTime"] == nil {
						t.Fatalf("plan %v", p)
					}
				}
			})
		}
	})
}
