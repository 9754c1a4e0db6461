package httpapi

import (
	"slices"
	"testing"
	"time"
)

func TestReclaim_ADisabledUsersLicenseIsReclaimedAfterThePeriodAndNotice(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		pack := c.sku("ENTERPRISEPACK")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/ENTERPRISEPACK", map[string]any{"enabledUnits": 1})
		d := c.createUser("leaver@contoso.com", "US")
		c.must(200, "POST", "/v1.0/users/"+d+"/assignLicense", assignBody([]string{pack}, nil))
		first := c.createUser("first@contoso.com", "US")
		second := c.createUser("second@contoso.com", "US")
		g := c.createGroup("Waiting")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{pack}, nil))
		c.addMember(g, first)
		c.addMember(g, second)
		h.drain()
		c.expectError(400, "invalid", "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "disabledFor": "14 days", "notice": "P7D"})
		rule := c.must(201, "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "disabledFor": "PT2S", "notice": "PT2S"}).object(t)
		if rule["disabledFor"] != "PT2S" || rule["notice"] != "PT2S" || rule["skuPartNumber"] != "ENTERPRISEPACK" {
			t.Errorf("rule %v", rule)
		}
		id := rule["id"].(string)
		c.must(204, "PATCH", "/v1.0/users/"+d, map[string]any{"accountEnabled": false})
		disabled := time.Now()
		// Right away the rule has nothing to do; a preview says so and changes nothing.
		before := c.snapshot()
		pv := c.must(200, "POST", "/allot/v1/reclamationRules/"+id+"/run", map[string]any{"preview": true}).object(t)
		if pv["noticed"] != float64(0) || pv["reclaimed"] != float64(0) {
			t.Errorf("preview right after disabling: %v", pv)
		}
		c.unchanged(before, "a reclamation preview")
		h.runReconciler()
		var gone time.Time
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if !slices.Contains(c.userSkus(d), pack) {
				gone = time.Now()
				break
			}
		}
		if gone.IsZero() {
			t.Fatalf("the disabled user's license was not reclaimed within 60 s")
		}
		if took := gone.Sub(disabled); took < 4*time.Second {
			t.Errorf("reclaimed %v after disabling, before the period and the notice (4 s)", took)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !slices.Contains(c.userSkus(first), pack); {
			time.Sleep(100 * time.Millisecond)
		}
		if !slices.Contains(c.userSkus(first), pack) || slices.Contains(c.userSkus(second), pack) {
			t.Errorf("the freed seat did not go to the first waiting member (first %v, second %v)", c.userSkus(first), c.userSkus(second))
		}
		runs := c.getJSON("/allot/v1/reclamationRuns")["value"].([]any)
		var noticed, reclaimed float64
		for _, r := range runs {
			noticed += r.(map[string]any)["noticed"].(float64)
			reclaimed += r.(map[string]any)["reclaimed"].(float64)
		}
		if noticed != 1 || reclaimed != 1 {
			t.Errorf("runs %v: %v noticed, %v reclaimed, want 1 and 1", runs, noticed, reclaimed)
		}
		acts := map[string]int{}
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=999") {
			acts[e["activityDisplayName"].(string)]++
		}
		if acts["Reclamation notice"] != 1 || acts["Reclamation run"] < 2 || acts["Add reclamation rule"] != 1 {
			t.Errorf("audit %v", acts)
		}
		t.Logf("reclaimed %v after disabling (period 2 s + notice 2 s)", gone.Sub(disabled).Round(10*time.Millisecond))
	})
}
