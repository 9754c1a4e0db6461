package httpapi

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// groupAssign calls POST /groups/{id}/assignLicense adding skus.
func (c *client) groupAssign(groupID string, skus ...string) *response {
	c.t.Helper()
	return c.do("POST", "/v1.0/groups/"+groupID+"/assignLicense", assignBody(skus, nil))
}

func TestAssignmentPolicy_GroupOnlyRefusesDirectAssignmentNamingTheGroups(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3 := c.sku("SPE_E3")
		sales := c.createGroup("Sales")
		c.must(202, "POST", "/v1.0/groups/"+sales+"/assignLicense", assignBody([]string{e3}, nil))
		u := c.createUser("adele@contoso.com", "US")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E3", map[string]any{"assignmentPolicy": "groupOnly"})
		before := c.snapshot()
		e := c.expectError(400, "assignmentPolicyViolation", "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
		if !strings.Contains(e.PreciseMessage, "'Sales'") || !strings.Contains(e.PreciseMessage, "groupOnly") {
			t.Errorf("refusal %q does not name the group Sales and the policy", e.PreciseMessage)
		}
		c.unchanged(before, "a refused direct assignment of a groupOnly product")
		if got := c.getJSON("/v1.0/subscribedSkus/SPE_E3")["allotAssignmentPolicy"]; got != "groupOnly" {
			t.Errorf("allotAssignmentPolicy %v, want groupOnly", got)
		}
		rep := c.getJSON("/allot/v1/subscribedSkus/SPE_E3/assignmentPolicy")
		if rep["assignmentPolicy"] != "groupOnly" || len(rep["assigningGroups"].([]any)) != 1 {
			t.Errorf("policy report %v", rep)
		}
		// The group still licenses its members.
		c.addMember(sales, u)
		h.drain()
		if got := c.userSkus(u); len(got) != 1 || got[0] != e3 {
			t.Errorf("member of Sales holds %v, want E3", got)
		}
		// directOnly refuses a new group assignment; the change is audited.
		e5 := c.sku("SPE_E5")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E5", map[string]any{"assignmentPolicy": "DirectOnly"})
		before = c.snapshot()
		c.expectError(400, "assignmentPolicyViolation", "POST", "/v1.0/groups/"+sales+"/assignLicense", assignBody([]string{e5}, nil))
		c.unchanged(before, "a refused group assignment of a directOnly product")
		c.expectError(400, "invalid", "PATCH", "/allot/v1/subscribedSkus/SPE_E5", map[string]any{"assignmentPolicy": "sometimes"})
		audits := c.listAll("/v1.0/auditLogs/directoryAudits?$top=999")
		n := 0
		for _, a := range audits {
			if a["activityDisplayName"] == "Set assignment policy" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d 'Set assignment policy' audit events, want 2", n)
		}
	})
}

func TestAssignmentPolicy_MoveDirectToGroupLeavesNobodyUnlicensedAtAnyInstant(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3 := c.sku("SPE_E3")
		const n = 60
		ids := make([]string, n)
		for i := range ids {
			ids[i] = c.createUser(fmt.Sprintf("u%02d@contoso.com", i), "US")
		}
		c.must(200, "POST", "/allot/v1/licenses/assign", map[string]any{"skuPartNumber": "SPE_E3", "userIds": ids})
		x := c.createGroup("E3 users")
		c.must(202, "POST", "/v1.0/groups/"+x+"/assignLicense", assignBody([]string{e3}, nil))
		c.addMember(x, ids[0]) // already a member: not added twice
		h.drain()
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E3", map[string]any{"assignmentPolicy": "groupOnly"})
		if rep := c.getJSON("/allot/v1/subscribedSkus/SPE_E3/assignmentPolicy"); rep["directAssignments"] != float64(n) {
			t.Fatalf("policy report lists %v direct assignments, want %d", rep["directAssignments"], n)
		}
		// The preview says what would happen and changes nothing.
		before := c.snapshot()
		pv := c.must(200, "POST", "/allot/v1/subscribedSkus/SPE_E3/moveDirectAssignments", map[string]any{"groupId": x, "preview": true}).object(t)
		if pv["moved"] != float64(n) || pv["membersAdded"] != float64(n-1) || len(pv["kept"].([]any)) != 0 {
			t.Errorf("preview %v, want %d moved, %d added, none kept", pv, n, n-1)
		}
		if lc := pv["licenseChanges"].(map[string]any); lc["lossCount"] != float64(0) {
			t.Errorf("preview loses licenses: %v", lc)
		}
		c.unchanged(before, "a preview of the move")
		// While the move runs, someone keeps reading every user's licenses.
		var stop atomic.Bool
		var wg sync.WaitGroup
		var reads, unlicensed atomic.Int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r, err := c.send("GET", "/v1.0/users?$top=999&$select=id,assignedLicenses", nil)
				if err != nil || r.Status != 200 {
					continue
				}
				for _, u := range r.values(t) {
					if len(u["assignedLicenses"].([]any)) == 0 {
						unlicensed.Add(1)
					}
				}
				reads.Add(1)
			}
		}()
		res := c.must(200, "POST", "/allot/v1/subscribedSkus/SPE_E3/moveDirectAssignments", map[string]any{"groupId": x}).object(t)
		for reads.Load() < 3 {
			time.Sleep(5 * time.Millisecond)
		}
		stop.Store(true)
		wg.Wait()
		if unlicensed.Load() != 0 {
			t.Errorf("%d times a user was seen without a license during the move", unlicensed.Load())
		}
		if res["moved"] != float64(n) || res["unlicensed"] != float64(0) {
			t.Errorf("move %v, want %d moved", res, n)
		}
		if used, _ := c.consumed("SPE_E3"); used != n {
			t.Errorf("E3 consumedUnits %d after the move, want %d (no seat changes hands)", used, n)
		}
		for _, id := range ids {
			u := c.getJSON("/v1.0/users/" + id + "?$select=licenseAssignmentStates")
			states := u["licenseAssignmentStates"].([]any)
			if len(states) != 1 || states[0].(map[string]any)["assignedByGroup"] != x || states[0].(map[string]any)["state"] != "Active" {
				t.Fatalf("user %s after the move: %v, want E3 active from the group only", id, states)
			}
		}
		if rep := c.getJSON("/allot/v1/subscribedSkus/SPE_E3/assignmentPolicy"); rep["directAssignments"] != float64(0) {
			t.Errorf("policy report lists %v direct assignments after the move, want 0", rep["directAssignments"])
		}
		// The reconciler has nothing left to change, and leaving the group is
		// an explicit loss that asks nothing more.
		h.drain()
		if used, _ := c.consumed("SPE_E3"); used != n {
			t.Errorf("E3 consumedUnits %d after the reconciler ran, want %d", used, n)
		}
		members := c.listAll("/v1.0/groups/" + x + "/members?$top=999")
		if len(members) != n {
			t.Errorf("group has %d members, want %d", len(members), n)
		}
		c.expectError(400, "invalid", "POST", "/allot/v1/subscribedSkus/SPE_E5/moveDirectAssignments", map[string]any{"groupId": x})
	})
}
