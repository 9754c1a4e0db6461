package httpapi

import (
	"slices"
	"testing"
)

// A pool manager (a user without directory roles) may give the pool's
// product to users in the pool's scope and take it back, and nothing else:
// not to users outside the scope, not through another pool, not through
// Graph's assignLicense, not the pool's settings.
func TestPools_APoolManagerAssignsWithinItsPoolAndNothingElse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		e := newAuthEnvOn(t, open)
		mgr, mc := e.person("pool.manager@contoso.com")
		seller, clerk := e.user("seller@contoso.com"), e.user("clerk@contoso.com")
		e.must(204, "PATCH", "/v1.0/users/"+seller.GUID, map[string]any{"department": "Sales"}, e.op)
		e.must(204, "PATCH", "/v1.0/users/"+clerk.GUID, map[string]any{"department": "Ops"}, e.op)
		pool := e.must(201, "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E3", "allottedUnits": 2, "department": "Sales", "managerId": mgr.UserPrincipalName}, e.op)
		id := pool["id"].(string)
		if pool["managerId"] != mgr.GUID {
			t.Fatalf("managerId %v, want %s", pool["managerId"], mgr.GUID)
		}
		other := e.must(201, "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E5", "allottedUnits": 2, "department": "Sales"}, e.op)["id"].(string)

		e.must(201, "POST", "/allot/v1/licensePools/"+id+"/assignments", map[string]any{"userId": seller.GUID}, mc)
		if !slices.Contains(skusOf(t, e, seller.GUID), e.skuE3) {
			t.Fatalf("the seller does not hold E3 after the pool manager assigned it")
		}
		refused := []struct {
			name, method, path string
			body               any
		}{
			{"a user outside the pool's scope", "POST", "/allot/v1/licensePools/" + id + "/assignments", map[string]any{"userId": clerk.GUID}},
			{"another pool", "POST", "/allot/v1/licensePools/" + other + "/assignments", map[string]any{"userId": seller.GUID}},
			{"Graph's assignLicense", "POST", "/v1.0/users/" + seller.GUID + "/assignLicense", assignBody([]string{e.skuE5}, nil)},
			{"the pool's settings", "PATCH", "/allot/v1/licensePools/" + id, map[string]any{"allottedUnits": 5}},
			{"removing from a user outside the scope", "DELETE", "/allot/v1/licensePools/" + id + "/assignments/" + clerk.GUID, nil},
			{"reading users", "GET", "/v1.0/users", nil},
		}
		for _, c := range refused {
			if rec := e.do(c.method, c.path, c.body, mc); rec.Code != 403 {
				t.Errorf("%s: %s %s answered %d, want 403: %s", c.name, c.method, c.path, rec.Code, rec.Body)
			}
		}
		if got := skusOf(t, e, seller.GUID); len(got) != 1 {
			t.Fatalf("the seller holds %v after refused requests, want E3 only", got)
		}
		e.must(204, "DELETE", "/allot/v1/licensePools/"+id+"/assignments/"+seller.GUID, nil, mc)
		if got := skusOf(t, e, seller.GUID); len(got) != 0 {
			t.Fatalf("the seller holds %v after the pool manager removed E3", got)
		}
		if len(e.audits("Change user license")) < 2 {
			t.Errorf("the pool manager's changes are not audited")
		}
	})
}

// skusOf returns the skuIds a user holds, as the operator reads them.
func skusOf(t *testing.T, e *authEnv, user string) []string {
	t.Helper()
	u := e.must(200, "GET", "/v1.0/users/"+user, nil, e.op)
	var out []string
	for _, l := range u["assignedLicenses"].([]any) {
		out = append(out, l.(map[string]any)["skuId"].(string))
	}
	return out
}
