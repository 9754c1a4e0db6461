package httpapi

import (
	"fmt"
	"strings"
	"testing"
)

// TestBestEffortGroupGrantsWhatItCan: a group assigns Office 365 E3 (10
// seats) and Exchange Online (Plan 1) (20 seats) to 12 members. All or
// nothing (the default), the last 2 get neither; switched to bestEffort,
// they get Exchange and wait for E3, nobody loses anything, and the audit
// records the switch. Switching back takes nothing away either.
func TestBestEffortGroupGrantsWhatItCan(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		o365, exo := c.sku("ENTERPRISEPACK"), c.sku("EXCHANGESTANDARD")
		g := c.createGroup("Office workers")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{o365, exo}, nil))
		for i := 0; i < 12; i++ {
			c.addMember(g, c.createUser(fmt.Sprintf("w%02d@contoso.com", i), "US"))
		}
		h.drain()
		seats := func(when string, wantO365, wantEXO int) {
			t.Helper()
			if n, _ := c.consumed("ENTERPRISEPACK"); n != wantO365 {
				t.Errorf("%s: Office 365 E3 consumed %d, want %d", when, n, wantO365)
			}
			if n, _ := c.consumed("EXCHANGESTANDARD"); n != wantEXO {
				t.Errorf("%s: Exchange consumed %d, want %d", when, n, wantEXO)
			}
		}
		seats("all or nothing", 10, 10)
		if m := c.getJSON("/allot/v1/groups/" + g + "/licensingMode"); m["mode"] != "allOrNothing" {
			t.Fatalf("default mode %v", m)
		}
		if m := c.must(200, "PATCH", "/allot/v1/groups/"+g+"/licensingMode", map[string]any{"mode": "BestEffort"}).object(t); m["mode"] != "bestEffort" {
			t.Fatalf("after PATCH: %v", m)
		}
		h.drain()
		seats("best effort", 10, 12)
		c.must(200, "PATCH", "/allot/v1/groups/"+g+"/licensingMode", map[string]any{"mode": "allOrNothing"})
		h.drain()
		seats("all or nothing again (nothing taken away)", 10, 12)
		found := 0
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=100") {
			if e["activityDisplayName"] == "Set group licensing mode" {
				found++
			}
		}
		if found != 2 {
			t.Errorf("%d audit events of the mode, want 2", found)
		}
	})
}

// TestGroupModeRefusesBadInput: an unknown mode, a missing one, an unknown
// property and an unknown group are refused and change nothing.
func TestGroupModeRefusesBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		g := c.createGroup("G")
		before := c.snapshot()
		e := c.expectError(400, "Request_BadRequest", "PATCH", "/allot/v1/groups/"+g+"/licensingMode", map[string]any{"mode": "sometimes"})
		if !strings.Contains(e.Message, "allOrNothing") || !strings.Contains(e.Message, "bestEffort") {
			t.Errorf("message %q", e.Message)
		}
		c.expectError(400, "Request_BadRequest", "PATCH", "/allot/v1/groups/"+g+"/licensingMode", map[string]any{})
		c.expectError(400, "Request_BadRequest", "PATCH", "/allot/v1/groups/"+g+"/licensingMode", map[string]any{"mode": "bestEffort", "colour": "red"})
		c.expectError(404, "Request_ResourceNotFound", "PATCH", "/allot/v1/groups/8c5e3a64-0000-4000-8000-000000000000/licensingMode", map[string]any{"mode": "bestEffort"})
		c.expectError(404, "Request_ResourceNotFound", "GET", "/allot/v1/groups/8c5e3a64-0000-4000-8000-000000000000/licensingMode", nil)
		c.unchanged(before, "refused mode changes")
	})
}
