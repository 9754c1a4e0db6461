package httpapi

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestResolveAddresses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		x := c.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": "x@contoso.com", "displayName": "X", "usageLocation": "US",
			"proxyAddresses": []string{"SMTP:x@contoso.com", "smtp:xalias@contoso.onmicrosoft.com"}}).object(t)["id"].(string)
		// y's proxy address is x's userPrincipalName: the userPrincipalName wins.
		y := c.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": "y@contoso.com", "displayName": "Y", "usageLocation": "US",
			"proxyAddresses": []string{"smtp:x2@contoso.com", "smtp:X@Contoso.com.invalid"}}).object(t)["id"].(string)
		r := c.must(200, "POST", "/allot/v1/users/resolve", map[string]any{"addresses": []string{
			"X@CONTOSO.COM", "xalias@contoso.onmicrosoft.com", "SMTP:XAlias@contoso.onmicrosoft.com", "x2@contoso.com",
			"nobody@contoso.com", "", "smtp:x@contoso.com"}})
		vals := r.values(t)
		want := []struct{ id, by string }{{x, "userPrincipalName"}, {x, "proxyAddresses"}, {x, "proxyAddresses"}, {y, "proxyAddresses"},
			{"", ""}, {"", ""}, {x, "userPrincipalName"}}
		if len(vals) != len(want) {
			t.Fatalf("%d answers for %d addresses: %v", len(vals), len(want), vals)
		}
		for i, w := range want {
			id, _ := vals[i]["id"].(string)
			by, _ := vals[i]["matchedBy"].(string)
			if id != w.id || by != w.by {
				t.Errorf("address %q: id %q matchedBy %q, want %q %q", vals[i]["address"], id, by, w.id, w.by)
			}
		}
		if vals[0]["userPrincipalName"] != "x@contoso.com" || vals[0]["address"] != "X@CONTOSO.COM" {
			t.Errorf("first answer %v", vals[0])
		}
		c.expectError(400, "Request_BadRequest", "POST", "/allot/v1/users/resolve", map[string]any{})
		many := make([]string, 5001)
		for i := range many {
			many[i] = fmt.Sprintf("u%d@contoso.com", i)
		}
		c.expectError(400, "Request_BadRequest", "POST", "/allot/v1/users/resolve", map[string]any{"addresses": many})
		// The bulk assignment matches addresses the same way, in its transaction.
		vals = c.must(200, "POST", "/allot/v1/licenses/assign", map[string]any{"skuPartNumber": "SPE_E3",
			"addresses": []string{"X@CONTOSO.COM", "xalias@contoso.onmicrosoft.com", "nobody@contoso.com", "smtp:x2@contoso.com"}}).values(t)
		wantA := []struct{ address, id, by, result string }{
			{"X@CONTOSO.COM", x, "userPrincipalName", "licensed"}, {"xalias@contoso.onmicrosoft.com", x, "proxyAddresses", "licensed"},
			{"nobody@contoso.com", "", "", "notFound"}, {"smtp:x2@contoso.com", y, "proxyAddresses", "licensed"},
		}
		for i, w := range wantA {
			id, _ := vals[i]["userId"].(string)
			by, _ := vals[i]["matchedBy"].(string)
			if vals[i]["address"] != w.address || id != w.id || by != w.by || vals[i]["result"] != w.result {
				t.Errorf("by address %d: %v, want %v", i, vals[i], w)
			}
		}
		if used, _ := c.consumed("SPE_E3"); used != 2 {
			t.Errorf("consumed %d SPE_E3, want 2", used)
		}
		c.expectError(400, "Request_BadRequest", "POST", "/allot/v1/licenses/assign", map[string]any{"skuPartNumber": "SPE_E3",
			"addresses": []string{"x@contoso.com"}, "userIds": []string{x}})
		// Another tenant's users are not found.
		b := h.newTenant("Fabrikam", "NAM", "US", nil)
		v := b.must(200, "POST", "/allot/v1/users/resolve", map[string]any{"addresses": []string{"x@contoso.com"}}).values(t)
		if v[0]["id"] != nil {
			t.Fatalf("another tenant resolved %v", v[0])
		}
	})
}

func TestBulkAssign(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5, ins := c.sku("SPE_E5"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
		ids := map[string]string{}
		for _, n := range []string{"a", "b", "c", "d", "g"} {
			ids[n] = c.createUser(n+"@contoso.com", "US")
			c.must(200, "POST", "/v1.0/users/"+ids[n]+"/assignLicense", assignBody([]string{e5}, nil))
		}
		ids["e"] = c.createUser("e@contoso.com", "US") // no E3/E5
		ids["f"] = c.createUser("f@contoso.com", "")   // no usage location
		c.must(200, "POST", "/v1.0/users/"+ids["c"]+"/assignLicense", assignBody([]string{ins}, nil))
		grp := c.createGroup("Insights Group")
		c.addMember(grp, ids["d"])
		c.must(202, "POST", "/v1.0/groups/"+grp+"/assignLicense", assignBody([]string{ins}, nil))
		h.drain()
		used, _ := c.consumed(ins)
		if used != 2 {
			t.Fatalf("consumed %d before, want 2", used)
		}
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+ins, map[string]any{"enabledUnits": used + 2})
		nobody := "00000000-0000-4000-8000-000000000001"
		body := map[string]any{"skuPartNumber": "WORKPLACE_ANALYTICS_INSIGHTS", "userIds": []string{
			ids["a"], "B@contoso.com", ids["c"], ids["d"], ids["e"], nobody, "a@contoso.com", ids["f"], ids["g"]}}
		want := []struct{ result, code, via string }{
			{"licensed", "", ""}, {"licensed", "", ""}, {"alreadyLicensed", "", "direct"}, {"alreadyLicensed", "", "Insights Group"},
			{"failed", "prerequisiteMissing", ""}, {"notFound", "notFound", ""}, {"licensed", "", ""},
			{"failed", "usageLocationMissing", ""}, {"failed", "noSeatsAvailable", ""},
		}
		check := func(r *response, dry bool) {
			t.Helper()
			obj := r.object(t)
			vals := r.values(t)
			if len(vals) != len(want) {
				t.Fatalf("%d results: %v", len(vals), vals)
			}
			for i, w := range want {
				v := vals[i]
				code, _ := v["code"].(string)
				via, _ := v["via"].(string)
				if v["result"] != w.result || code != w.code || via != w.via {
					t.Errorf("user %d (%v): %v, want %v", i, v["userId"], v, w)
				}
				if w.result == "failed" && !strings.Contains(v["message"].(string), "WORKPLACE_ANALYTICS_INSIGHTS") {
					t.Errorf("user %d: message %q does not name the product", i, v["message"])
				}
			}
			if vals[1]["userId"] != ids["b"] || vals[1]["userPrincipalName"] != "b@contoso.com" || vals[5]["userId"] != nobody {
				t.Errorf("ids not resolved: %v %v", vals[1], vals[5])
			}
			sum := obj["summary"].(map[string]any)
			if sum["licensed"] != 3.0 || sum["alreadyLicensed"] != 2.0 || sum["notFound"] != 1.0 || sum["failed"] != 3.0 {
				t.Errorf("summary %v", sum)
			}
			if obj["dryRun"] != dry || obj["seatsAvailable"] != 0.0 || obj["skuId"] != ins {
				t.Errorf("answer %v", obj)
			}
		}
		// A dry run answers the same and changes nothing.
		before := c.snapshot()
		dry := map[string]any{"dryRun": true}
		for k, v := range body {
			dry[k] = v
		}
		check(c.must(200, "POST", "/allot/v1/licenses/assign", dry), true)
		c.unchanged(before, "a dry run")
		// reservedUnits makes a dry run see seats taken by earlier batches.
		dry["reservedUnits"] = 1
		r := c.must(200, "POST", "/allot/v1/licenses/assign", dry).values(t)
		if r[0]["result"] != "licensed" || r[1]["result"] != "failed" {
			t.Fatalf("dry run with one seat reserved: %v", r[:2])
		}

		check(c.must(200, "POST", "/allot/v1/licenses/assign", body), false)
		if got, _ := c.consumed(ins); got != used+2 {
			t.Fatalf("consumed %d, want %d", got, used+2)
		}
		for _, n := range []string{"a", "b"} {
			if s := c.userSkus(ids[n]); len(s) != 2 {
				t.Errorf("%s has %v", n, s)
			}
		}
		// Each failing user is left exactly as before.
		for _, n := range []string{"e", "f", "g"} {
			u := c.getJSON("/v1.0/users/" + ids[n])
			if len(u["licenseAssignmentStates"].([]any)) != map[string]int{"e": 0, "f": 0, "g": 1}[n] {
				t.Errorf("%s: %v", n, u["licenseAssignmentStates"])
			}
		}
		audit := c.listAll("/v1.0/auditLogs/directoryAudits?$top=999&$filter=" + url.QueryEscape("activityDisplayName eq 'Change user license'"))
		seen := map[string]bool{} // users whose audited change gave them Insights
		for _, ev := range audit {
			for _, tr := range ev["targetResources"].([]any) {
				tr := tr.(map[string]any)
				for _, mp := range tr["modifiedProperties"].([]any) {
					if strings.Contains(fmt.Sprint(mp.(map[string]any)["newValue"]), "WORKPLACE_ANALYTICS_INSIGHTS") {
						seen[tr["id"].(string)] = true
					}
				}
			}
		}
		if !seen[ids["a"]] || !seen[ids["b"]] || seen[ids["e"]] || seen[ids["f"]] || seen[ids["g"]] {
			t.Errorf("audit targets %v", seen)
		}
		// Again: everyone licensed before is already licensed now.
		again := c.must(200, "POST", "/allot/v1/licenses/assign", body).object(t)["summary"].(map[string]any)
		if again["licensed"] != 0.0 || again["alreadyLicensed"] != 5.0 {
			t.Errorf("second run %v", again)
		}

		for _, bad := range []map[string]any{
			{"skuId": ins, "userIds": []string{}},
			{"skuId": "NOPE", "userIds": []string{ids["a"]}},
			{"userIds": []string{ids["a"]}},
			{"skuId": ins, "userIds": []string{ids["a"]}, "disabledPlans": []string{"not-a-guid"}},
			{"skuId": ins, "userIds": []string{ids["a"]}, "reservedUnits": 3},
			{"skuId": ins, "userIds": make([]string, 5001)},
			{"skuId": ins, "userIds": []string{ids["a"]}, "extra": 1},
		} {
			c.expectError(400, "Request_BadRequest", "POST", "/allot/v1/licenses/assign", bad)
		}
	})
}
