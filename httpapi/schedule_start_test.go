package httpapi

import (
	"slices"
	"strings"
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

// A start that finds no seat left is dropped with a failed, worded audit
// event, once, and the worker goes on; a start of a groupOnly product for a
// user is refused when it is asked for. Both engines.
func TestSchedule_AStartWithNoSeatLeftIsDroppedAndSaysWhy(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		pack := c.sku("ENTERPRISEPACK")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/ENTERPRISEPACK", map[string]any{"enabledUnits": 1})
		late := c.createUser("late@contoso.com", "US")
		first := c.createUser("first@contoso.com", "US")
		start := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		c.must(200, "POST", "/v1.0/users/"+late+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": pack, "startDateTime": start}}, "removeLicenses": []string{}})
		c.assign(first, []string{pack}, nil) // the last seat goes now
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E3", map[string]any{"assignmentPolicy": "groupOnly"})
		c.expectError(400, "assignmentPolicyViolation", "POST", "/v1.0/users/"+late+"/assignLicense",
			map[string]any{"addLicenses": []map[string]any{{"skuId": c.sku("SPE_E3"), "startDateTime": start}}, "removeLicenses": []string{}})
		h.runReconciler()
		var failed []map[string]any
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(failed) == 0; time.Sleep(100 * time.Millisecond) {
			for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=999") {
				if e["activityDisplayName"] == "License assignment started" && e["result"] == "failure" {
					failed = append(failed, e)
				}
			}
		}
		if len(failed) != 1 {
			t.Fatalf("%d failed starts, want 1", len(failed))
		}
		if r, _ := failed[0]["resultReason"].(string); !strings.Contains(r, "Office 365 E3") {
			t.Errorf("the failure says %q, not which product had no seat", r)
		}
		time.Sleep(1500 * time.Millisecond) // the worker's chance to try again
		n := 0
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=999") {
			if e["activityDisplayName"] == "License assignment started" {
				n++
			}
		}
		if n != 1 || len(c.userSkus(late)) != 0 || !slices.Contains(c.userSkus(first), pack) {
			t.Errorf("%d start events, late holds %v, first holds %v: want 1, none, E3", n, c.userSkus(late), c.userSkus(first))
		}
	})
}
