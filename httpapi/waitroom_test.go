package httpapi

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// waitingRoom returns the user ids of a product's waiting room in order,
// following @odata.nextLink with pages of top.
func (c *client) waitingRoom(sku string, top int) ([]string, []map[string]any) {
	c.t.Helper()
	entries := c.listAll(fmt.Sprintf("/allot/v1/subscribedSkus/%s/waitingRoom?$top=%d", sku, top))
	var ids []string
	for _, e := range entries {
		ids = append(ids, e["userId"].(string))
	}
	return ids, entries
}

func (c *client) auditCount(activity string) int {
	c.t.Helper()
	n := 0
	for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=100") {
		if e["activityDisplayName"] == activity {
			n++
		}
	}
	return n
}

// TestFallbackChainE5ElseE3OverHTTP: Microsoft 365 E5 has 1 seat, E3 has
// 5; a group assigns E5 with the chain E5 → E3 to 3 members. One gets E5,
// two get E3 and wait for E5. When the E5 holder leaves the group, the
// first waiter moves to E5 and gives E3 back in the same change (a poller
// reading the waiters all the while never sees either without a license),
// and the E3 seat it gave back goes to E3's waiting room.
func TestFallbackChainE5ElseE3OverHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		e5, e3 := c.sku("SPE_E5"), c.sku("SPE_E3")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+e5, map[string]any{"enabledUnits": 1})
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+e3, map[string]any{"enabledUnits": 5})
		g := c.createGroup("Engineering")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e5}, nil))
		got := c.must(200, "PUT", "/allot/v1/groups/"+g+"/licenseFallbacks/"+e5, map[string]any{"fallbackSkuIds": []string{e3}}).object(t)
		if ids, _ := got["fallbackSkuIds"].([]any); len(ids) != 1 || ids[0] != e3 || got["fallbackDisplayNames"].([]any)[0] != "Microsoft 365 E3" {
			t.Fatalf("PUT answered %v", got)
		}
		var m []string
		for i := 0; i < 3; i++ {
			m = append(m, c.createUser(fmt.Sprintf("eng%d@contoso.com", i), "US"))
			c.addMember(g, m[i])
		}
		h.drain()
		for i, want := range [][]string{{e5}, {e3}, {e3}} {
			if got := c.userSkus(m[i]); !slices.Equal(got, want) {
				t.Fatalf("member %d holds %v, want %v", i, got, want)
			}
		}
		if n, _ := c.consumed(e5); n != 1 {
			t.Errorf("E5 consumed %d, want 1", n)
		}
		if n, _ := c.consumed(e3); n != 2 {
			t.Errorf("E3 consumed %d, want 2", n)
		}
		// Contractors get E3 from their own group: 3 of the 5 seats are
		// free, so the fourth contractor waits for E3.
		contractors := c.createGroup("Contractors")
		c.must(202, "POST", "/v1.0/groups/"+contractors+"/assignLicense", assignBody([]string{e3}, nil))
		var k []string
		for i := 0; i < 4; i++ {
			k = append(k, c.createUser(fmt.Sprintf("contractor%d@contoso.com", i), "US"))
			c.addMember(contractors, k[i])
		}
		h.drain()
		if ids, _ := c.waitingRoom(e3, 10); !slices.Equal(ids, k[3:]) {
			t.Fatalf("E3 waiting room %v, want the fourth contractor", ids)
		}
		ids, entries := c.waitingRoom(e5, 1)
		if !slices.Equal(ids, []string{m[1], m[2]}) {
			t.Fatalf("E5 waiting room %v, want members 1 and 2", ids)
		}
		if entries[0]["fallbackSkuId"] != e3 || !strings.Contains(entries[0]["reason"].(string), "Has Microsoft 365 E3 meanwhile") {
			t.Errorf("first waiter %v", entries[0])
		}

		var stop atomic.Bool
		var wg sync.WaitGroup
		var polls atomic.Int64
		bad := make(chan string, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, u := range m[1:] {
					r := c.do("GET", "/v1.0/users/"+u+"?$select=assignedLicenses", nil)
					var body map[string]any
					if r.Status != 200 || jsonUnmarshal(r.Body, &body) != nil {
						continue
					}
					polls.Add(1)
					if ls, _ := body["assignedLicenses"].([]any); len(ls) == 0 {
						select {
						case bad <- u:
						default:
						}
					}
				}
			}
		}()
		c.must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+m[0]+"/$ref", nil)
		h.drain()
		stop.Store(true)
		wg.Wait()
		select {
		case u := <-bad:
			t.Fatalf("a poll saw member %s without any license", u)
		default:
		}
		if polls.Load() == 0 {
			t.Fatal("the poller never read a member")
		}
		if got := c.userSkus(m[1]); !slices.Equal(got, []string{e5}) {
			t.Errorf("first waiter holds %v, want E5 only (E3 given back)", got)
		}
		if got := c.userSkus(m[2]); !slices.Equal(got, []string{e3}) {
			t.Errorf("second waiter holds %v, want E3", got)
		}
		if n, _ := c.consumed(e3); n != 5 {
			t.Errorf("E3 consumed %d, want 5", n)
		}
		if got := c.userSkus(k[3]); !slices.Equal(got, []string{e3}) {
			t.Errorf("the waiting contractor holds %v, want the E3 seat the first waiter gave back", got)
		}
		if ids, _ := c.waitingRoom(e5, 10); !slices.Equal(ids, []string{m[2]}) {
			t.Errorf("E5 waiting room %v, want the second waiter", ids)
		}
		if n := c.auditCount("Set group license fallbacks"); n != 1 {
			t.Errorf("%d audit events of the chain, want 1", n)
		}
	})
}

// TestFallbackChainRefusesBadInput: a product the tenant does not own, the
// product itself, a product the group assigns itself (a cycle could form
// through it), an unassigned product, a missing body and an unknown group
// are refused in the Graph envelope and change nothing.
func TestFallbackChainRefusesBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		e5, e3, exo := c.sku("SPE_E5"), c.sku("SPE_E3"), c.sku("EXCHANGESTANDARD")
		g := c.createGroup("Engineering")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e5, e3}, nil))
		before := c.snapshot()
		path := "/allot/v1/groups/" + g + "/licenseFallbacks/"
		for _, tc := range []struct {
			name, sku string
			body      any
			status    int
			code      string
			words     string
		}{
			{"a product the tenant does not own", e5, map[string]any{"fallbackSkuIds": []string{"c7df2760-2c81-4ef7-b578-5b5392b571df"}}, 400, "Request_BadRequest", "does not subscribe"},
			{"the same product", e5, map[string]any{"fallbackSkuIds": []string{e5}}, 400, "Request_BadRequest", "Microsoft 365 E5 cannot be its own fallback"},
			{"a product the group assigns itself", e5, map[string]any{"fallbackSkuIds": []string{e3}}, 400, "Request_BadRequest", "already assigns Microsoft 365 E3 itself"},
			{"a product the group does not assign", exo, map[string]any{"fallbackSkuIds": []string{e3}}, 400, "Request_BadRequest", "does not assign"},
			{"no fallbackSkuIds", e5, map[string]any{}, 400, "Request_BadRequest", "fallbackSkuIds"},
			{"an unknown property", e5, map[string]any{"fallbackSkuIds": []string{}, "colour": "red"}, 400, "Request_BadRequest", ""},
			{"an unknown product in the path", "NOPE", map[string]any{"fallbackSkuIds": []string{}}, 404, "Request_ResourceNotFound", ""},
		} {
			e := c.expectError(tc.status, tc.code, "PUT", path+tc.sku, tc.body)
			if !strings.Contains(e.Message, tc.words) {
				t.Errorf("%s: message %q does not say %q", tc.name, e.Message, tc.words)
			}
		}
		c.expectError(404, "Request_ResourceNotFound", "PUT", "/allot/v1/groups/8c5e3a64-0000-4000-8000-000000000000/licenseFallbacks/"+e5, map[string]any{"fallbackSkuIds": []string{}})
		c.unchanged(before, "refused fallback chains")
	})
}

// TestWaitingRoomVIPAndMoveUpOverHTTP: Office 365 E3 has 1 seat. A member
// of a VIP group who starts waiting after an ordinary member gets the next
// freed seat; an ordinary waiter an admin moves up (with a reason, audited)
// gets the one after. The waiting room pages with $top and $skiptoken.
func TestWaitingRoomVIPAndMoveUpOverHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		sku := c.sku("ENTERPRISEPACK")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+sku, map[string]any{"enabledUnits": 1})
		staff, vips := c.createGroup("Staff"), c.createGroup("Executives")
		for _, g := range []string{staff, vips} {
			c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{sku}, nil))
		}
		if v := c.must(200, "PATCH", "/allot/v1/groups/"+vips+"/waitingRoomPriority", map[string]any{"vip": true}).object(t); v["vip"] != true {
			t.Fatalf("PATCH answered %v", v)
		}
		holder, early, late := c.createUser("holder@contoso.com", "US"), c.createUser("early@contoso.com", "US"), c.createUser("late@contoso.com", "US")
		c.addMember(staff, holder)
		h.drain()
		c.addMember(staff, early)
		h.drain()
		c.addMember(staff, late)
		h.drain()
		boss := c.createUser("boss@contoso.com", "US")
		c.addMember(vips, boss)
		h.drain()
		ids, entries := c.waitingRoom(sku, 2)
		if !slices.Equal(ids, []string{boss, early, late}) {
			t.Fatalf("waiting room %v, want boss (VIP), early, late", ids)
		}
		if entries[0]["vip"] != true || entries[1]["vip"] != false || entries[0]["position"] != float64(1) || entries[2]["position"] != float64(3) {
			t.Errorf("entries %v", entries)
		}
		c.must(204, "DELETE", "/v1.0/groups/"+staff+"/members/"+holder+"/$ref", nil)
		h.drain()
		if got := c.userSkus(boss); !slices.Equal(got, []string{sku}) {
			t.Fatalf("the VIP who waited later holds %v, want the freed seat", got)
		}
		if got := c.userSkus(early); len(got) != 0 {
			t.Fatalf("the early ordinary waiter holds %v", got)
		}

		c.must(204, "POST", "/allot/v1/subscribedSkus/"+sku+"/waitingRoom/"+late+"/moveUp", map[string]any{"position": 1, "reason": "Starts on the board project on Monday"})
		ids, entries = c.waitingRoom(sku, 1)
		if !slices.Equal(ids, []string{late, early}) {
			t.Fatalf("after the move: %v, want late, early", ids)
		}
		if entries[0]["moveUpReason"] != "Starts on the board project on Monday" || !strings.Contains(entries[0]["reason"].(string), "Moved up by an admin") {
			t.Errorf("moved entry %v", entries[0])
		}
		found := false
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=100") {
			if e["activityDisplayName"] == "Move up in waiting room" && strings.Contains(fmt.Sprint(e), "Starts on the board project on Monday") {
				found = true
			}
		}
		if !found {
			t.Error("no audit event of the move with its reason")
		}
		c.must(204, "DELETE", "/v1.0/groups/"+vips+"/members/"+boss+"/$ref", nil)
		h.drain()
		if got := c.userSkus(late); !slices.Equal(got, []string{sku}) {
			t.Fatalf("the moved-up user holds %v, want the next seat", got)
		}
		if got := c.userSkus(early); len(got) != 0 {
			t.Fatalf("early holds %v", got)
		}

		// A group marked VIP while its member waits moves the member ahead.
		interns := c.createGroup("Interns")
		c.must(202, "POST", "/v1.0/groups/"+interns+"/assignLicense", assignBody([]string{sku}, nil))
		intern := c.createUser("intern@contoso.com", "US")
		c.addMember(interns, intern)
		h.drain()
		if ids, _ := c.waitingRoom(sku, 5); !slices.Equal(ids, []string{early, intern}) {
			t.Fatalf("waiting room %v, want early, intern", ids)
		}
		c.must(200, "PATCH", "/allot/v1/groups/"+interns+"/waitingRoomPriority", map[string]any{"vip": true})
		if ids, _ := c.waitingRoom(sku, 5); !slices.Equal(ids, []string{intern, early}) {
			t.Fatalf("after marking Interns VIP: %v, want intern, early", ids)
		}
		c.must(200, "PATCH", "/allot/v1/groups/"+interns+"/waitingRoomPriority", map[string]any{"vip": false})
		if ids, _ := c.waitingRoom(sku, 5); !slices.Equal(ids, []string{early, intern}) {
			t.Fatalf("after unmarking Interns: %v, want early, intern", ids)
		}
		if n := c.auditCount("Set group waiting room priority"); n != 3 {
			t.Errorf("%d audit events of VIP marks, want 3", n)
		}

		before := c.snapshot()
		move := "/allot/v1/subscribedSkus/" + sku + "/waitingRoom/"
		c.expectError(400, "Request_BadRequest", "POST", move+early+"/moveUp", map[string]any{"position": 1})
		c.expectError(400, "Request_BadRequest", "POST", move+early+"/moveUp", map[string]any{"position": 1, "reason": "   "})
		c.expectError(400, "Request_BadRequest", "POST", move+early+"/moveUp", map[string]any{"reason": "x"})
		c.expectError(400, "Request_BadRequest", "POST", move+early+"/moveUp", map[string]any{"position": 1, "reason": "already first"})
		c.expectError(404, "Request_ResourceNotFound", "POST", move+late+"/moveUp", map[string]any{"position": 1, "reason": "holds it"})
		c.expectError(404, "Request_ResourceNotFound", "POST", "/allot/v1/subscribedSkus/NOPE/waitingRoom/"+early+"/moveUp", map[string]any{"position": 1, "reason": "x"})
		c.expectError(400, "Request_BadRequest", "PATCH", "/allot/v1/groups/"+vips+"/waitingRoomPriority", map[string]any{})
		c.expectError(400, "Request_BadRequest", "GET", "/allot/v1/subscribedSkus/"+sku+"/waitingRoom?$skiptoken=garbage", nil)
		c.unchanged(before, "refused waiting room changes")
	})
}
