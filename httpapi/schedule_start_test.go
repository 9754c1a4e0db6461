package httpapi

import (
	"slices"
	"testing"
	"time"
)

// A direct assignment with a startDateTime 3 s ahead is not there before
// its start and is there within a minute after it, made once although two
// workers run, and audited when scheduled and when made; a group's start
// licenses its members then. Bad starts are refused and change nothing.
// Both engines.
func TestSchedule_AnAssignmentStartsOnTimeOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5 := c.sku("SPE_E5")
		u := c.createUser("pilot@contoso.com", "US")
		m := c.createUser("member@contoso.com", "US")
		g := c.createGroup("Pilot")
		c.addMember(g, m)
		start := time.Now().Add(3 * time.Second)
		at := start.UTC().Format(time.RFC3339Nano)
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": e5, "disabledPlans": []string{}, "startDateTime": at}}, "removeLicenses": []string{}})
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": e5, "startDateTime": at}}, "removeLicenses": []string{}})
		// Refused, nothing changes: a start that is not a date, an end
		// before the start.
		c.expectError(400, "invalid", "POST", "/v1.0/users/"+m+"/assignLicense",
			map[string]any{"addLicenses": []map[string]any{{"skuId": e5, "startDateTime": "soon"}}, "removeLicenses": []string{}})
		c.expectError(400, "invalid", "POST", "/v1.0/users/"+m+"/assignLicense",
			map[string]any{"addLicenses": []map[string]any{{"skuId": e5, "startDateTime": at, "endDateTime": start.Add(-time.Second).UTC().Format(time.RFC3339Nano)}}, "removeLicenses": []string{}})
		h.drain()
		if got := c.userSkus(u); len(got) != 0 {
			t.Fatalf("the user holds %v before the start", got)
		}
		if got := c.userSkus(m); len(got) != 0 {
			t.Fatalf("the member holds %v before the start", got)
		}
		h.runReconciler()
		h.runReconciler()
		var made time.Time
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if slices.Contains(c.userSkus(u), e5) {
				made = time.Now()
				break
			}
		}
		if made.IsZero() {
			t.Fatalf("the assignment is not there 60 s after its start")
		}
		if made.Before(start) {
			t.Fatalf("the assignment came %v before its start", start.Sub(made))
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !slices.Contains(c.userSkus(m), e5); {
			time.Sleep(100 * time.Millisecond)
		}
		if !slices.Contains(c.userSkus(m), e5) {
			t.Fatalf("the group's member did not get E5 after the group's start")
		}
		time.Sleep(500 * time.Millisecond) // a second worker's chance to repeat it
		scheduled, started := 0, 0
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=999") {
			switch e["activityDisplayName"] {
			case "Schedule license assignment":
				scheduled++
			case "License assignment started":
				started++
			}
		}
		if scheduled != 2 || started != 2 {
			t.Errorf("%d scheduled and %d started audit events, want 2 and 2", scheduled, started)
		}
		if used, _ := c.consumed("SPE_E5"); used != 2 {
			t.Errorf("consumedUnits %d, want 2", used)
		}
		t.Logf("made %v after its startDateTime", made.Sub(start).Round(10*time.Millisecond))
	})
}
