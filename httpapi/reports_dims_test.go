package httpapi

import (
	"net/url"
	"testing"
)

// TestSeatHistoryPerGroupDepartmentAndUsageLocation licenses users of two
// departments and countries directly and through a group, and reads
// seatHistory narrowed with groupId=, department= and usageLocation=:
// each answers that series' seats in use (enabled seats stay the
// product's); two filters at once, an empty groupId and an unknown group
// are refused.
func TestSeatHistoryPerGroupDepartmentAndUsageLocation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3 := c.sku("SPE_E3")
		g := c.createGroup("Sales team")
		for i, u := range []struct{ upn, dep, loc string }{
			{"ann@contoso.com", "Sales", "US"}, {"bob@contoso.com", "Sales", "FR"}, {"cid@contoso.com", "Finance", "FR"},
		} {
			id := c.createUser(u.upn, u.loc)
			c.must(204, "PATCH", "/v1.0/users/"+id, map[string]any{"department": u.dep})
			if i < 2 {
				c.addMember(g, id)
			} else {
				c.must(200, "POST", "/v1.0/users/"+id+"/assignLicense", assignBody([]string{e3}, nil))
			}
		}
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
		h.drain()
		last := func(filter string) map[string]any {
			t.Helper()
			pts := c.listAll("/allot/v1/reports/seatHistory?interval=hour&skuId=" + e3 + "&" + filter)
			if len(pts) == 0 {
				t.Fatalf("%s: no points", filter)
			}
			return pts[len(pts)-1]
		}
		for filter, want := range map[string]float64{
			"groupId=" + g: 2, "department=Sales": 2, "department=Finance": 1,
			"usageLocation=FR": 2, "usageLocation=us": 1,
		} {
			p := last(filter)
			if p["consumedUnits"] != want || p["enabledUnits"] != 100.0 {
				t.Errorf("%s: %v, want %v in use of 100", filter, p, want)
			}
		}
		if pts := c.listAll("/allot/v1/reports/seatHistory?interval=hour&skuId=" + e3 + "&department="); len(pts) != 0 {
			t.Errorf("users without a department never held a seat: %v", pts)
		}
		for _, bad := range []string{"department=Sales&usageLocation=FR", "groupId=", "groupId=" + url.QueryEscape("00000000-0000-0000-0000-000000000000")} {
			status := 400
			if bad[len(bad)-1] == '0' {
				status = 404
			}
			c.expectError(status, "", "GET", "/allot/v1/reports/seatHistory?skuId="+e3+"&"+bad, nil)
		}
	})
}
