package httpapi

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrencyMembershipCycle: two clients add group A to B and B to A at
// the same moment; at most one succeeds, the other gets membershipCycle, and
// the directory never holds a cycle. Also: two clients create users with the
// same userPrincipalName (other case) or the same proxy address at the same
// moment; exactly one succeeds.
func TestConcurrencyMembershipCycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		for round := 0; round < 20; round++ {
			a, b := c.createGroup(fmt.Sprintf("Cycle A %d", round)), c.createGroup(fmt.Sprintf("Cycle B %d", round))
			var wg sync.WaitGroup
			res := make([]*response, 2)
			errs := make([]error, 2)
			for i, pair := range [][2]string{{a, b}, {b, a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i], errs[i] = c.send("POST", "/v1.0/groups/"+pair[0]+"/members/$ref", refBody(pair[1]))
				}()
			}
			wg.Wait()
			ok := 0
			for i, r := range res {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				switch {
				case r.Status == 204:
					ok++
				case r.Status == 400 && preciseCode(r.Body) == "membershipCycle":
				default:
					t.Errorf("round %d: %s", round, r)
				}
			}
			inA := len(c.listAll("/v1.0/groups/" + a + "/members"))
			inB := len(c.listAll("/v1.0/groups/" + b + "/members"))
			if ok != 1 || inA+inB != 1 {
				t.Fatalf("round %d: %d of the two opposite memberships succeeded; A has %d members, B %d: a cycle", round, ok, inA, inB)
			}

			// The same name, created twice at once.
			upns := []string{fmt.Sprintf("Twin%d@contoso.com", round), fmt.Sprintf("twin%d@CONTOSO.com", round)}
			proxies := []string{fmt.Sprintf("smtp:shared%d@contoso.com", round), fmt.Sprintf("SMTP:Shared%d@contoso.com", round)}
			for _, tc := range []struct {
				what   string
				bodies [2]map[string]any
			}{
				{"userPrincipalName", [2]map[string]any{
					{"userPrincipalName": upns[0], "displayName": "Twin"}, {"userPrincipalName": upns[1], "displayName": "Twin"}}},
				{"proxy address", [2]map[string]any{
					{"userPrincipalName": fmt.Sprintf("p1-%d@contoso.com", round), "displayName": "P1", "proxyAddresses": []string{proxies[0]}},
					{"userPrincipalName": fmt.Sprintf("p2-%d@contoso.com", round), "displayName": "P2", "proxyAddresses": []string{proxies[1]}}}},
			} {
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res[i], errs[i] = c.send("POST", "/v1.0/users", tc.bodies[i])
					}()
				}
				wg.Wait()
				ok := 0
				for i, r := range res {
					if errs[i] != nil {
						t.Fatal(errs[i])
					}
					switch {
					case r.Status == 201:
						ok++
					case r.Status == 400 && errorCode(r.Body) == "Request_BadRequest":
					default:
						t.Errorf("round %d %s: %s", round, tc.what, r)
					}
				}
				if ok != 1 {
					t.Errorf("round %d: %d users created with the same %s at once, want 1", round, ok, tc.what)
				}
			}
		}
	})
}

// TestConcurrencyOneUserRules: rules that look at a user's other products
// hold when two calls change that user at once: two mutually exclusive
// products never both stick, and a product never keeps running without its
// prerequisite when one call removes the prerequisite while another adds the
// product that needs it.
func TestConcurrencyOneUserRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		std, ent := c.sku("EXCHANGESTANDARD"), c.sku("EXCHANGEENTERPRISE")
		e3, insights := c.sku("SPE_E3"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
		at := func(calls ...map[string]any) []*response {
			u := calls[0]["user"].(string)
			out := make([]*response, len(calls))
			var wg sync.WaitGroup
			for i, call := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := c.send("POST", "/v1.0/users/"+u+"/assignLicense", call["body"])
					if err != nil {
						t.Error(err)
						return
					}
					if r.Status != 200 && r.Status != 400 {
						t.Errorf("%s", r)
					}
					out[i] = r
				}()
			}
			wg.Wait()
			return out
		}
		for round := 0; round < 15; round++ {
			u := c.createUser(fmt.Sprintf("rules%d@contoso.com", round), "US")
			at(map[string]any{"user": u, "body": assignBody([]string{std}, nil)}, map[string]any{"user": u, "body": assignBody([]string{ent}, nil)})
			if got := c.userSkus(u); len(got) != 1 {
				t.Errorf("round %d: after assigning two mutually exclusive products at once the user holds %v", round, got)
			}
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, c.userSkus(u)))

			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
			at(map[string]any{"user": u, "body": assignBody(nil, []string{e3})}, map[string]any{"user": u, "body": assignBody([]string{insights}, nil)})
			got := c.userSkus(u)
			if len(got) == 1 {
				t.Errorf("round %d: removing E3 while adding Insights at once left %v (want E3 and Insights, or nothing)", round, got)
			}
			if len(got) > 0 {
				c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, got))
			}
		}
	})
}
