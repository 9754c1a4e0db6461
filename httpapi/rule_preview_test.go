package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"allot"
)

// rulePreview is the membership part of a preview's answer.
type rulePreview struct {
	Memberships []struct {
		GroupID          string `json:"groupId"`
		MemberCountAfter int    `json:"memberCountAfter"`
		JoinCount        int    `json:"joinCount"`
		LeaveCount       int    `json:"leaveCount"`
		Joins            []struct {
			ID string `json:"id"`
		} `json:"joins"`
		Leaves []struct {
			ID string `json:"id"`
		} `json:"leaves"`
	} `json:"memberships"`
}

func (c *client) rulePreview(body map[string]any) rulePreview {
	c.t.Helper()
	r := c.do("POST", "/allot/v1/preview", body)
	var rp rulePreview
	if r.Status != 200 {
		c.t.Fatalf("preview %v: %s", body, r)
	}
	if err := json.Unmarshal(r.Body, &rp); err != nil || len(rp.Memberships) != 1 {
		c.t.Fatalf("preview %v: memberships %s (%v)", body, r, err)
	}
	return rp
}

// TestRuleChangePreviewAndConfirmation: previewing a changed rule of a
// licensed dynamic group says who joins and leaves and what licenses
// follow, exactly as applying it does; applying it unconfirmed is refused
// with the losses and changes nothing; confirmed, it applies.
func TestRuleChangePreviewAndConfirmation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.newTenant("Rule preview", "NAM", "US", map[string]int{"SPE_E3": 100})
		e3 := c.sku("SPE_E3")
		sales, mkt := map[string]bool{}, map[string]bool{}
		for i := 0; i < 12; i++ {
			u := c.createUser(fmt.Sprintf("u%02d@rule.test", i), "US")
			dept := "Sales"
			if i%3 == 0 {
				dept, mkt[u] = "Marketing", true
			} else {
				sales[u] = true
			}
			c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": dept})
		}
		// Creating the group: the preview says who would join.
		rp := c.rulePreview(map[string]any{"action": "createGroup", "membershipRule": `user.department -eq "Sales"`, "membersTop": 3})
		if m := rp.Memberships[0]; m.JoinCount != len(sales) || m.LeaveCount != 0 || len(m.Joins) != 3 || m.MemberCountAfter != len(sales) {
			t.Errorf("createGroup preview: %+v, want %d joins (3 listed)", m, len(sales))
		}
		g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Dyn", "mailEnabled": false, "securityEnabled": true,
			"mailNickname": "dyn", "groupTypes": []string{"DynamicMembership"}, "membershipRule": `user.department -eq "Sales"`}).object(t)["id"].(string)
		if n := len(c.listAll("/v1.0/groups/" + g + "/members")); n != len(sales) {
			t.Fatalf("created group has %d members, the preview said %d", n, len(sales))
		}
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
		h.drain()
		before := c.licenses()

		change := map[string]any{"membershipRule": `user.department -eq "Marketing"`}
		body := map[string]any{"action": "updateGroup", "groupId": g, "membershipRule": change["membershipRule"], "membersTop": 1000}
		pv := c.preview(body)
		rp = c.rulePreview(body)
		m := rp.Memberships[0]
		if m.JoinCount != len(mkt) || m.LeaveCount != len(sales) || m.MemberCountAfter != len(mkt) {
			t.Errorf("updateGroup preview: %d joins, %d leaves, %d after; want %d, %d, %d", m.JoinCount, m.LeaveCount, m.MemberCountAfter, len(mkt), len(sales), len(mkt))
		}
		joins, leaves := map[string]bool{}, map[string]bool{}
		for _, j := range m.Joins {
			joins[j.ID] = true
		}
		for _, l := range m.Leaves {
			leaves[l.ID] = true
		}
		if !sameUserSet(joins, mkt) || !sameUserSet(leaves, sales) {
			t.Errorf("updateGroup preview lists joins %v and leaves %v", joins, leaves)
		}
		if p := pv.product(e3); p.Gain != len(mkt) || p.Lose != len(sales) || !pv.ConfirmationRequired || pv.LossCount != len(sales) {
			t.Errorf("updateGroup preview: E3 gain %d lose %d, lossCount %d, confirmationRequired %v", p.Gain, p.Lose, pv.LossCount, pv.ConfirmationRequired)
		}

		snap := c.snapshot()
		r := c.do("PATCH", "/v1.0/groups/"+g, change)
		if r.Status != 409 {
			t.Fatalf("unconfirmed lossy rule change: want 409 %s, got %s", allot.ELicenseLoss, r)
		}
		e := r.lossError(t)
		if got := e.targets(string(allot.LossReasonRemoved)); !sameUserSet(got, sales) {
			t.Errorf("the refusal names %d users losing E3, want the %d who leave: %v", len(got), len(sales), got)
		}
		if !strings.Contains(e.Message, "membership rule") {
			t.Errorf("refusal message %q", e.Message)
		}
		c.unchanged(snap, "the refused rule change")

		c.must(204, "PATCH", "/v1.0/groups/"+g+"?confirmLicenseLoss=true", change)
		h.drain()
		after := c.licenses()
		checkPreviewApplied(t, "changing the rule", pv, before, after)
		var ids []string
		for _, mb := range c.listAll("/v1.0/groups/" + g + "/members") {
			ids = append(ids, mb["id"].(string))
		}
		want := make([]string, 0, len(mkt))
		for u := range mkt {
			want = append(want, u)
		}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("members after the confirmed change: %v, want %v", ids, want)
		}
	})
}
