package httpapi

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"allot/catalog"
)

// TestSeedWorkflow walks the seed's PowerShell path (assign-licenses.md) over
// HTTP: list the subscriptions, assign WORKPLACE_ANALYTICS_INSIGHTS to a user
// who holds SPE_E5, see it in licenseDetails, and every way the assignment can
// fail, each with its precise code, a message that says what to do, and no
// change.
func TestSeedWorkflow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3, e5, insights := c.sku("SPE_E3"), c.sku("SPE_E5"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
		exStd, exEnt := c.sku("EXCHANGESTANDARD"), c.sku("EXCHANGEENTERPRISE")
		if insights != catalog.InsightsSkuID {
			t.Fatalf("Insights skuId %s, want the catalog's %s", insights, catalog.InsightsSkuID)
		}

		t.Run("subscribedSkus lists enabled and consumed units", func(t *testing.T) {
			c := c.with(t)
			skus := c.listAll("/v1.0/subscribedSkus")
			if len(skus) != len(defaultProducts) {
				t.Fatalf("%d subscribedSkus, want %d", len(skus), len(defaultProducts))
			}
			for _, s := range skus {
				part := s["skuPartNumber"].(string)
				pre := s["prepaidUnits"].(map[string]any)
				if int(pre["enabled"].(float64)) != defaultProducts[part] || s["consumedUnits"].(float64) != 0 {
					t.Errorf("%s: prepaidUnits %v consumedUnits %v, want enabled %d consumed 0", part, pre, s["consumedUnits"], defaultProducts[part])
				}
				if s["capabilityStatus"] != "Enabled" || s["appliesTo"] != "User" || len(s["servicePlans"].([]any)) == 0 {
					t.Errorf("%s: capabilityStatus %v appliesTo %v servicePlans %v", part, s["capabilityStatus"], s["appliesTo"], s["servicePlans"])
				}
				if id, _ := s["id"].(string); id != c.Tenant.GUID+"_"+s["skuId"].(string) {
					t.Errorf("%s: id %q, want {tenantId}_{skuId}", part, id)
				}
			}
			// $select works on the list, as the seed's Get-MgSubscribedSku | select does.
			for _, s := range c.getJSON("/v1.0/subscribedSkus?$select=skuPartNumber,consumedUnits")["value"].([]any) {
				if m := s.(map[string]any); len(m) != 2 {
					t.Errorf("$select=skuPartNumber,consumedUnits gave %v", m)
				}
			}
		})

		megan := c.createUser("MeganB@contoso.com", "US")
		t.Run("assign Insights to a user who holds SPE_E5", func(t *testing.T) {
			c := c.with(t)
			c.must(200, "POST", "/v1.0/users/"+megan+"/assignLicense", assignBody([]string{e5}, nil))
			u := c.must(200, "POST", "/v1.0/users/"+megan+"/assignLicense", assignBody([]string{insights}, nil)).object(t)
			var got []string
			for _, l := range u["assignedLicenses"].([]any) {
				got = append(got, l.(map[string]any)["skuId"].(string))
			}
			if !slices.Contains(got, e5) || !slices.Contains(got, insights) || len(got) != 2 {
				t.Errorf("assignLicense answered assignedLicenses %v, want SPE_E5 and Insights", got)
			}
			details := c.must(200, "GET", "/v1.0/users/MeganB@contoso.com/licenseDetails", nil).values(t)
			var ins map[string]any
			for _, d := range details {
				if d["skuId"] == insights {
					ins = d
				}
			}
			if ins == nil || ins["skuPartNumber"] != "WORKPLACE_ANALYTICS_INSIGHTS" {
				t.Fatalf("licenseDetails has no WORKPLACE_ANALYTICS_INSIGHTS: %v", details)
			}
			plans := map[string]string{}
			for _, p := range ins["servicePlans"].([]any) {
				p := p.(map[string]any)
				plans[p["servicePlanName"].(string)] = p["provisioningStatus"].(string)
			}
			want := map[string]string{"WORKPLACE_ANALYTICS_INSIGHTS_USER": "Success", "WORKPLACE_ANALYTICS_INSIGHTS_BACKEND": "Success"}
			if fmt.Sprint(plans) != fmt.Sprint(want) {
				t.Errorf("Insights service plans %v, want %v", plans, want)
			}
			if n, _ := c.consumed(insights); n != 1 {
				t.Errorf("Insights consumedUnits %d, want 1", n)
			}
			// Assigning a product the user holds again changes nothing and takes no second seat.
			c.must(200, "POST", "/v1.0/users/"+megan+"/assignLicense", assignBody([]string{insights}, nil))
			if n, _ := c.consumed(insights); n != 1 {
				t.Errorf("Insights consumedUnits %d after assigning it again, want 1", n)
			}
		})

		// Users for the failure cases.
		alex := c.createUser("AlexW@contoso.com", "US")     // no E3/E5
		noLoc := c.createUser("NoLocation@contoso.com", "") // no usageLocation
		lynne := c.createUser("LynneR@contoso.com", "US")   // holds EXCHANGESTANDARD
		c.must(200, "POST", "/v1.0/users/"+lynne+"/assignLicense", assignBody([]string{exStd}, nil))
		e5Plan := c.getJSON("/v1.0/subscribedSkus/SPE_E5")["servicePlans"].([]any)[0].(map[string]any)["servicePlanId"].(string)
		insightsPlan := "b622badb-1b45-48d5-920f-4b27a2c0996c"

		type fail struct {
			name     string
			user     string
			body     any
			status   int
			code     string
			contains []string // the message names these
		}
		disabled := func(sku string, plans ...string) map[string]any {
			return map[string]any{"addLicenses": []map[string]any{{"skuId": sku, "disabledPlans": plans}}, "removeLicenses": []string{}}
		}
		for _, f := range []fail{
			{"prerequisite missing", alex, assignBody([]string{insights}, nil), 400, "prerequisiteMissing",
				[]string{"WORKPLACE_ANALYTICS_INSIGHTS", "SPE_E3", "SPE_E5", "ENTERPRISEPACK", "ENTERPRISEPREMIUM"}},
			{"usage location missing", noLoc, assignBody([]string{e5}, nil), 400, "usageLocationMissing",
				[]string{"usageLocation", "set"}},
			{"mutually exclusive", lynne, assignBody([]string{exEnt}, nil), 400, "mutuallyExclusive",
				[]string{"EXCHANGEENTERPRISE", "EXCHANGESTANDARD"}},
			{"mutually exclusive in one call", alex, assignBody([]string{exStd, exEnt}, nil), 400, "mutuallyExclusive",
				[]string{"EXCHANGESTANDARD", "EXCHANGEENTERPRISE"}},
			{"malformed skuId", alex, assignBody([]string{"not-a-guid"}, nil), 400, "Request_BadRequest", []string{"not-a-guid", "GUID"}},
			{"malformed skuId, braces", alex, assignBody([]string{"{" + e5 + "}"}, nil), 400, "Request_BadRequest", []string{"GUID"}},
			{"malformed removeLicenses", megan, assignBody(nil, []string{"1234"}), 400, "Request_BadRequest", []string{"1234", "GUID"}},
			{"unknown skuId", alex, assignBody([]string{"00000000-0000-4000-8000-000000000000"}, nil), 400, "Request_BadRequest",
				[]string{"00000000-0000-4000-8000-000000000000", "subscribedSkus"}},
			{"catalog product not subscribed", alex, assignBody([]string{"c7df2760-2c81-4ef7-b578-5b5392b571df"}, nil), 400, "Request_BadRequest",
				[]string{"c7df2760-2c81-4ef7-b578-5b5392b571df"}},
			{"unknown servicePlanId in disabledPlans", alex, disabled(e5, "00000000-0000-4000-8000-000000000001"), 400, "Request_BadRequest",
				[]string{"00000000-0000-4000-8000-000000000001", "SPE_E5"}},
			{"another product's plan in disabledPlans", alex, disabled(e5, insightsPlan), 400, "Request_BadRequest", []string{insightsPlan}},
			{"malformed servicePlanId in disabledPlans", alex, disabled(e5, "plan-1"), 400, "Request_BadRequest", []string{"plan-1"}},
			{"remove a product the user does not hold", alex, assignBody(nil, []string{e5}), 400, "Request_BadRequest", []string{"SPE_E5"}},
			{"add and remove the same product", megan, assignBody([]string{e3}, []string{e3}), 400, "Request_BadRequest", []string{e3}},
			{"the same product twice", alex, assignBody([]string{e3, e3}, nil), 400, "Request_BadRequest", []string{e3}},
			{"nothing to do", alex, assignBody(nil, nil), 400, "Request_BadRequest", nil},
			{"unknown user", "00000000-0000-4000-8000-0000000000aa", assignBody([]string{e5}, nil), 404, "Request_ResourceNotFound", nil},
		} {
			t.Run(f.name, func(t *testing.T) {
				c := c.with(t)
				before := c.snapshot()
				e := c.expectError(f.status, f.code, "POST", "/v1.0/users/"+f.user+"/assignLicense", f.body)
				// Graph's message on top, allot's (which says what to do) in details[0].
				for _, s := range f.contains {
					if !strings.Contains(strings.ToLower(e.Message+" "+e.PreciseMessage), strings.ToLower(s)) {
						t.Errorf("messages %q / %q do not name %q", e.Message, e.PreciseMessage, s)
					}
				}
				c.unchanged(before, f.name)
			})
		}

		t.Run("the usage-location message is right: setting it makes the assignment work", func(t *testing.T) {
			c := c.with(t)
			c.must(204, "PATCH", "/v1.0/users/"+noLoc, map[string]any{"usageLocation": "US"})
			c.must(200, "POST", "/v1.0/users/"+noLoc+"/assignLicense", assignBody([]string{e5}, nil))
		})

		t.Run("disabledPlans switch a plan off", func(t *testing.T) {
			c := c.with(t)
			u := c.createUser("Plans@contoso.com", "US")
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", disabled(e5, strings.ToUpper(e5Plan)))
			for _, d := range c.must(200, "GET", "/v1.0/users/"+u+"/licenseDetails", nil).values(t) {
				for _, p := range d["servicePlans"].([]any) {
					p := p.(map[string]any)
					want := "Success"
					if p["servicePlanId"] == e5Plan {
						want = "Disabled"
					}
					if p["provisioningStatus"] != want {
						t.Errorf("plan %v provisioningStatus %v, want %s", p["servicePlanName"], p["provisioningStatus"], want)
					}
				}
			}
			al := c.getJSON("/v1.0/users/" + u)["assignedLicenses"].([]any)
			if len(al) != 1 || fmt.Sprint(al[0].(map[string]any)["disabledPlans"]) != fmt.Sprint([]any{e5Plan}) {
				t.Errorf("assignedLicenses %v, want SPE_E5 with disabledPlans [%s]", al, e5Plan)
			}
		})

		t.Run("data location: a product not available in the tenant's geo is refused", func(t *testing.T) {
			c := c.with(t)
			before := c.snapshot()
			e := c.expectError(400, "dataLocationNotAvailable", "POST", "/allot/v1/subscribedSkus", map[string]any{
				"skuPartNumber": "CONTOSO_EU_ONLY", "displayName": "EU only", "enabledUnits": 5,
				"servicePlans": []map[string]any{{"servicePlanName": "EU_PLAN"}}, "availableDataLocations": []string{"EUR"}})
			if !strings.Contains(e.Message, "EUR") || !strings.Contains(e.Message, "NAM") {
				t.Errorf("message %q should name the tenant's geo NAM and the product's EUR", e.Message)
			}
			c.unchanged(before, "adding a product of another geo")
			// The same for the catalog's Insights (NAM only) in an EUR tenant.
			eu := h.newTenant("Fabrikam EU", "EUR", "DE", nil).with(t)
			eu.expectError(400, "dataLocationNotAvailable", "POST", "/allot/v1/subscribedSkus",
				map[string]any{"skuPartNumber": "WORKPLACE_ANALYTICS_INSIGHTS", "enabledUnits": 5})
			if n := len(eu.listAll("/v1.0/subscribedSkus")); n != 0 {
				t.Errorf("EUR tenant has %d products after a refused add", n)
			}
		})

		t.Run("atomic swap E3 to E5 never leaves the user unlicensed", func(t *testing.T) {
			c := c.with(t)
			u := c.createUser("Swapper@contoso.com", "US")
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{insights}, nil))
			e3Before, _ := c.consumed(e3)
			e5Before, _ := c.consumed(e5)

			// A reader watches the user while the swap goes back and forth.
			var stop atomic.Bool
			var bad atomic.Value
			var reads atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					r, err := c.send("GET", "/v1.0/users/"+u+"?$select=assignedLicenses", nil)
					if err != nil || r.Status != 200 {
						bad.Store(fmt.Sprint("read failed: ", err, r))
						return
					}
					reads.Add(1)
					s := string(r.Body)
					hasE3, hasE5, hasIns := strings.Contains(s, e3), strings.Contains(s, e5), strings.Contains(s, insights)
					if hasE3 == hasE5 || !hasIns {
						bad.Store("user seen with E3=" + fmt.Sprint(hasE3) + " E5=" + fmt.Sprint(hasE5) + " Insights=" + fmt.Sprint(hasIns) + ": " + s)
						return
					}
				}
			}()
			from, to := e3, e5
			for i := 0; i < 20; i++ {
				got := c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{to}, []string{from})).object(t)
				if al := got["assignedLicenses"].([]any); len(al) != 2 {
					t.Errorf("swap %d answered assignedLicenses %v", i, al)
				}
				from, to = to, from
			}
			stop.Store(true)
			wg.Wait()
			if v := bad.Load(); v != nil {
				t.Error(v)
			}
			if reads.Load() == 0 {
				t.Error("the reader never read the user")
			}
			// 20 swaps: back on E3.
			if got := c.userSkus(u); !slices.Equal(got, sorted(e3, insights)) {
				t.Errorf("after 20 swaps the user holds %v, want E3 and Insights", got)
			}
			if n, _ := c.consumed(e3); n != e3Before {
				t.Errorf("E3 consumedUnits %d, want %d", n, e3Before)
			}
			if n, _ := c.consumed(e5); n != e5Before {
				t.Errorf("E5 consumedUnits %d, want %d", n, e5Before)
			}

			// A failing add rolls the remove back: E5 has no seat left.
			used, _ := c.consumed(e5)
			c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+e5, map[string]any{"enabledUnits": used})
			before := c.snapshot()
			e := c.expectError(400, "noSeatsAvailable", "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e5}, []string{e3}))
			if !strings.Contains(e.PreciseMessage, fmt.Sprintf("%d of %d", used, used)) {
				t.Errorf("no-seats message %q should say how many are in use of how many (%d of %d)", e.PreciseMessage, used, used)
			}
			c.unchanged(before, "a swap whose add fails")
			c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+e5, map[string]any{"enabledUnits": defaultProducts["SPE_E5"]})
		})

		t.Run("removing a prerequisite that another product needs is refused", func(t *testing.T) {
			c := c.with(t)
			u := c.createUser("Prereq@contoso.com", "US")
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{insights}, nil))
			before := c.snapshot()
			e := c.expectError(400, "prerequisiteMissing", "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, []string{e3}))
			if !strings.Contains(e.Message, "WORKPLACE_ANALYTICS_INSIGHTS") {
				t.Errorf("message %q should name the product that needs it", e.Message)
			}
			c.unchanged(before, "removing a prerequisite")
			// Removing both in one call is fine.
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, []string{e3, insights}))
			if got := c.userSkus(u); len(got) != 0 {
				t.Errorf("user still holds %v", got)
			}
		})

		t.Run("one seat per product however many sources", func(t *testing.T) {
			c := c.with(t)
			u := c.createUser("TwoSources@contoso.com", "US")
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
			n0, _ := c.consumed(e3)
			g := c.createGroup("E3 users")
			c.addMember(g, u)
			c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
			h.drain()
			if n, _ := c.consumed(e3); n != n0 {
				t.Errorf("E3 consumedUnits %d after a group also grants it, want %d", n, n0)
			}
			states := c.getJSON("/v1.0/users/" + u)["licenseAssignmentStates"].([]any)
			if len(states) != 2 {
				t.Errorf("licenseAssignmentStates %v, want a direct and a group state", states)
			}
			// The direct one can go; the group's stays and keeps the seat.
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, []string{e3}))
			if n, _ := c.consumed(e3); n != n0 {
				t.Errorf("E3 consumedUnits %d, want %d", n, n0)
			}
			// The inherited one cannot be removed directly; the error names the group.
			e := c.expectError(400, "licenseInheritedFromGroup", "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, []string{e3}))
			if !strings.Contains(e.Message, "E3 users") {
				t.Errorf("message %q should name the group", e.Message)
			}
		})
	})
}

func sorted(s ...string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
