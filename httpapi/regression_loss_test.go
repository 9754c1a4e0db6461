package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"allot"
)

// TestRegressionNoCollateralLoss: a change to group licensing never takes a
// license away as a side effect unless the request confirms it, and the
// preview of a change says exactly what applying it (and letting group
// licensing converge) does, losses included.
func TestRegressionNoCollateralLoss(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {

		// Group G: 24 users directly and 8 through a nested group N, all
		// holding SPE_E3 through G; then G is given Insights, which needs
		// E3 or E5, with fewer seats than members.
		for _, tc := range []struct {
			name              string
			seats             int
			licensed, waiting int
		}{
			{"FewerInsightsSeatsThanMembers", 23, 23, 9},
			{"NoInsightsSeats", 0, 0, 32},
		} {
			t.Run("AddingAProductKeepsWhatMembersHold/"+tc.name, func(t *testing.T) {
				h := newHarness(t, open)
				c := h.newTenant("Loss add "+tc.name, "NAM", "US", map[string]int{"SPE_E3": 100, "WORKPLACE_ANALYTICS_INSIGHTS": tc.seats})
				e3, ins := c.sku("SPE_E3"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
				g, nested, members := lossGroup(c, "G", 24, 8)
				c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
				h.drain()
				before := c.licenses()
				for _, u := range members {
					if !before.holds(u, e3) {
						t.Fatalf("setup: %s does not hold SPE_E3 through G", u)
					}
				}

				pv := c.preview(map[string]any{"action": "groupAssignLicense", "groupId": g, "addLicenses": []map[string]any{{"skuId": ins}}})
				if pv.LossCount != 0 || len(pv.Losses) != 0 || pv.ConfirmationRequired {
					t.Errorf("preview of adding Insights to G: lossCount %d, %d losses listed, confirmationRequired %v; want no loss: members keep SPE_E3 and wait for Insights",
						pv.LossCount, len(pv.Losses), pv.ConfirmationRequired)
				}
				if p := pv.product(ins); p.Gain != tc.licensed || p.FailByCode[string(allot.ENoSeats)] != tc.waiting {
					t.Errorf("preview of adding Insights to G: Insights gain %d, waiting (noSeatsAvailable) %d; want %d and %d", p.Gain, p.FailByCode[string(allot.ENoSeats)], tc.licensed, tc.waiting)
				}
				if p := pv.product(e3); p.Lose != 0 {
					t.Errorf("preview of adding Insights to G: %d members would lose SPE_E3, want 0", p.Lose)
				}

				c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{ins}, nil))
				h.drain()
				after := c.licenses()
				var lostE3, waiting, licensed []string
				for _, u := range members {
					if !after.holds(u, e3) {
						lostE3 = append(lostE3, fmt.Sprintf("%s (%s)", after.name(u), after.describe(u)))
					}
					switch {
					case after.holds(u, ins):
						licensed = append(licensed, u)
					case after.code(u, ins) == string(allot.ENoSeats):
						waiting = append(waiting, u)
					default:
						t.Errorf("%s neither holds nor waits for Insights: %s", after.name(u), after.describe(u))
					}
				}
				if len(lostE3) > 0 {
					t.Errorf("adding Insights to G took SPE_E3 away from %d of %d members who held it through G; they must keep it and wait for Insights; e.g. %s",
						len(lostE3), len(members), strings.Join(lostE3[:min(3, len(lostE3))], "; "))
				}
				if len(licensed) != tc.licensed || len(waiting) != tc.waiting {
					t.Errorf("after adding Insights: %d members hold it and %d wait with noSeatsAvailable; want %d and %d", len(licensed), len(waiting), tc.licensed, tc.waiting)
				}
				checkPreviewApplied(t, "adding Insights to G", pv, before, after)

				// Adding a member that holds G's licenses already (through
				// N) directly to G changes nothing it holds.
				u := nested[0]
				before = after
				pv = c.preview(map[string]any{"action": "addMember", "groupId": g, "memberId": u})
				if pv.LossCount != 0 || pv.ConfirmationRequired {
					t.Errorf("preview of adding %s to G: lossCount %d, confirmationRequired %v; want no loss", before.name(u), pv.LossCount, pv.ConfirmationRequired)
				}
				c.addMember(g, u)
				h.drain()
				after = c.licenses()
				if b, a := before.active(u), after.active(u); b != a {
					t.Errorf("adding %s to G (which it was in through N) changed what it holds: %s → %s", before.name(u), b, a)
				}
				checkPreviewApplied(t, "adding a member to G", pv, before, after)
			})
		}

		t.Run("RemovingAPrerequisiteNeedsConfirmation", func(t *testing.T) {
			// G (32 members) assigns SPE_E3 and Insights (enough seats); 4
			// members also hold SPE_E5 directly, which satisfies Insights too.
			h := newHarness(t, open)
			c := h.newTenant("Loss prerequisite", "NAM", "US", map[string]int{"SPE_E3": 100, "SPE_E5": 10, "WORKPLACE_ANALYTICS_INSIGHTS": 40})
			e3, e5, ins := c.sku("SPE_E3"), c.sku("SPE_E5"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
			g, _, members := lossGroup(c, "G", 24, 8)
			for _, u := range members[:4] {
				c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e5}, nil))
			}
			c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3, ins}, nil))
			h.drain()
			before := c.licenses()
			for _, u := range members {
				if !before.holds(u, e3) || !before.holds(u, ins) {
					t.Fatalf("setup: %s does not hold SPE_E3 and Insights: %s", before.name(u), before.describe(u))
				}
			}
			wantLose := map[string]bool{} // who loses Insights: the members without E5
			for _, u := range members[4:] {
				wantLose[u] = true
			}

			pv := c.preview(map[string]any{"action": "groupAssignLicense", "groupId": g, "removeLicenses": []string{e3}})
			if !pv.ConfirmationRequired {
				t.Errorf("preview of removing SPE_E3 from G: confirmationRequired false; the removal takes Insights from %d members", len(wantLose))
			}
			if got := pv.lossUsers(ins, false); !sameUserSet(got, wantLose) {
				t.Errorf("preview of removing SPE_E3 from G lists %d side-effect losses of Insights, want the %d members without SPE_E5: %s",
					len(got), len(wantLose), setDiff(got, wantLose, before))
			}
			for _, l := range pv.Losses {
				if l.SkuID == ins && l.Reason != string(allot.EPrerequisiteMissing) {
					t.Errorf("preview: %s would lose Insights for %q, want %s", l.UserPrincipalName, l.Reason, allot.EPrerequisiteMissing)
					break
				}
			}

			snap := c.snapshot()
			r := c.do("POST", "/v1.0/groups/"+g+"/assignLicense", assignBody(nil, []string{e3}))
			confirmed := r.Status != 409
			if r.Status != 409 {
				t.Errorf("removing SPE_E3 from G while its Insights needs it, unconfirmed: want 409 %s, got %s", allot.ELicenseLoss, r)
			} else {
				e := r.lossError(t)
				if e.Code != string(allot.ELicenseLoss) {
					t.Errorf("409 with code %s, want %s", e.Code, allot.ELicenseLoss)
				}
				if got := e.targets(string(allot.EPrerequisiteMissing)); !sameUserSet(got, wantLose) {
					t.Errorf("the refusal's details name %d users losing Insights (prerequisiteMissing), want the %d members without SPE_E5: %s", len(got), len(wantLose), setDiff(got, wantLose, before))
				}
				if !strings.Contains(e.Message, fmt.Sprint(len(wantLose))) && !strings.Contains(e.Message, fmt.Sprint(len(wantLose)+len(members))) {
					t.Errorf("the refusal's message does not name the count (%d): %q", len(wantLose), e.Message)
				}
				c.unchanged(snap, "the refused removal")
				c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense?confirmLicenseLoss=true", assignBody(nil, []string{e3}))
			}
			h.drain()
			after := c.licenses()
			lost := map[string]bool{}
			for _, u := range members {
				if before.holds(u, ins) && !after.holds(u, ins) {
					lost[u] = true
				}
			}
			if !sameUserSet(lost, wantLose) {
				t.Errorf("removing SPE_E3 from G (confirmed=%v) took Insights from %d members, want the %d without SPE_E5: %s", confirmed, len(lost), len(wantLose), setDiff(lost, wantLose, before))
			}
			if got := pv.lossUsers(ins, false); !sameUserSet(got, lost) {
				t.Errorf("the preview listed %d users losing Insights, but %d lost it: %s", len(got), len(lost), setDiff(got, lost, before))
			}
			checkPreviewApplied(t, "removing SPE_E3 from G", pv, before, after)
		})

		for _, form := range []struct {
			name, query string
			body        map[string]any
		}{
			{"ConfirmedInTheBody", "", map[string]any{"confirmLicenseLoss": true}},
			{"ConfirmedInTheQuery", "?confirmLicenseLoss=true", nil},
		} {
			t.Run("SeatReductionNeedsConfirmation/"+form.name, func(t *testing.T) {
				// 32 users get SPE_E3 through a flat group, in membership
				// order; the seats go from 40 to 28: the 4 newest holders wait.
				h := newHarness(t, open)
				c := h.newTenant("Loss seats "+form.name, "NAM", "US", map[string]int{"SPE_E3": 40})
				e3 := c.sku("SPE_E3")
				g, _, members := lossGroup(c, "F", 32, 0)
				c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
				h.drain()
				before := c.licenses()
				newest := map[string]bool{}
				for _, u := range members[28:] {
					newest[u] = true
				}
				pv := c.preview(map[string]any{"action": "setSeats", "skuId": e3, "enabledUnits": 28})
				if !pv.ConfirmationRequired {
					t.Errorf("preview of 28 seats for 32 holders: confirmationRequired false")
				}
				if got := pv.lossUsers(e3, true); !sameUserSet(got, newest) || pv.LossCount != 4 {
					t.Errorf("preview of 28 seats: lossCount %d, losses of SPE_E3 %s; want the 4 newest holders", pv.LossCount, setDiff(got, newest, before))
				}
				for _, l := range pv.Losses {
					if l.Reason != string(allot.ESeatsReduced) {
						t.Errorf("preview: %s would lose %s for %q, want %s", l.UserPrincipalName, l.SkuPartNumber, l.Reason, allot.ESeatsReduced)
						break
					}
				}
				snap := c.snapshot()
				path := "/allot/v1/subscribedSkus/" + e3
				r := c.do("PATCH", path, map[string]any{"enabledUnits": 28})
				if r.Status != 409 {
					t.Errorf("PATCH enabledUnits 28 below 32 in use, unconfirmed: want 409 %s, got %s", allot.ELicenseLoss, r)
				} else {
					e := r.lossError(t)
					if e.Code != string(allot.ELicenseLoss) {
						t.Errorf("409 with code %s, want %s", e.Code, allot.ELicenseLoss)
					}
					if got := e.targets(string(allot.ESeatsReduced)); !sameUserSet(got, newest) {
						t.Errorf("the refusal's details name %s; want the 4 newest holders", setDiff(got, newest, before))
					}
					c.unchanged(snap, "the refused seat reduction")
					body := map[string]any{"enabledUnits": 28}
					for k, v := range form.body {
						body[k] = v
					}
					c.must(200, "PATCH", path+form.query, body)
				}
				h.drain()
				after := c.licenses()
				waiting := map[string]bool{}
				for _, u := range members {
					if !after.holds(u, e3) {
						if after.code(u, e3) != string(allot.ESeatsReduced) {
							t.Errorf("%s lost SPE_E3 with %s, want %s", after.name(u), after.describe(u), allot.ESeatsReduced)
						}
						waiting[u] = true
					}
				}
				if !sameUserSet(waiting, newest) {
					t.Errorf("after the seat reduction these wait: %s; want the 4 newest holders", setDiff(waiting, newest, before))
				}
				if n, en := c.consumed(e3); n != 28 || en != 28 {
					t.Errorf("SPE_E3 consumedUnits %d of %d, want 28 of 28", n, en)
				}
				checkPreviewApplied(t, "the seat reduction", pv, before, after)
			})
		}

		t.Run("DeletingALicensingGroupNeedsConfirmation", func(t *testing.T) {
			// D (10 members) assigns SPE_E3; 3 members also hold it directly
			// and keep it.
			h := newHarness(t, open)
			c := h.newTenant("Loss delete", "NAM", "US", map[string]int{"SPE_E3": 50})
			e3 := c.sku("SPE_E3")
			g, _, members := lossGroup(c, "D", 10, 0)
			for _, u := range members[:3] {
				c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
			}
			c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e3}, nil))
			h.drain()
			before := c.licenses()
			wantLose := map[string]bool{}
			for _, u := range members[3:] {
				wantLose[u] = true
			}
			pv := c.preview(map[string]any{"action": "deleteGroup", "groupId": g})
			if !pv.ConfirmationRequired {
				t.Errorf("preview of deleting D: confirmationRequired false; 7 members would lose SPE_E3")
			}
			if got := pv.lossUsers(e3, true); !sameUserSet(got, wantLose) {
				t.Errorf("preview of deleting D lists losses of SPE_E3 for %s; want the 7 members without a direct assignment", setDiff(got, wantLose, before))
			}
			snap := c.snapshot()
			r := c.do("DELETE", "/v1.0/groups/"+g, nil)
			if r.Status != 409 {
				t.Errorf("deleting D, whose members would lose SPE_E3, unconfirmed: want 409 %s, got %s", allot.ELicenseLoss, r)
			} else {
				if e := r.lossError(t); e.Code != string(allot.ELicenseLoss) || !sameUserSet(e.targets(""), wantLose) {
					t.Errorf("the refusal: code %s, details name %s; want %s naming the 7 members", e.Code, setDiff(e.targets(""), wantLose, before), allot.ELicenseLoss)
				}
				c.unchanged(snap, "the refused deletion")
			}
			if r := c.do("DELETE", "/v1.0/groups/"+g+"?confirmLicenseLoss=true", nil); r.Status != 204 {
				t.Fatalf("deleting D with ?confirmLicenseLoss=true: want 204, got %s", r)
			}
			h.drain()
			after := c.licenses()
			lost := map[string]bool{}
			for _, u := range members {
				if !after.holds(u, e3) {
					lost[u] = true
				}
			}
			if !sameUserSet(lost, wantLose) {
				t.Errorf("deleting D took SPE_E3 from %s; want the 7 members without a direct assignment", setDiff(lost, wantLose, before))
			}
			checkPreviewApplied(t, "deleting D", pv, before, after)
		})
	})
}

// lossGroup creates a group with direct users and, when nested > 0, a
// nested group with that many users as its last member. It returns the
// group, the nested group's users and every user in membership order.
func lossGroup(c *client, name string, direct, nested int) (group string, inner, members []string) {
	c.t.Helper()
	group = c.createGroup(name)
	for i := 0; i < direct; i++ {
		u := c.createUser(fmt.Sprintf("%s-%02d@loss.test", strings.ToLower(name), i), "US")
		c.addMember(group, u)
		members = append(members, u)
	}
	if nested > 0 {
		n := c.createGroup(name + " nested")
		for i := 0; i < nested; i++ {
			u := c.createUser(fmt.Sprintf("%s-n%02d@loss.test", strings.ToLower(name), i), "US")
			c.addMember(n, u)
			inner = append(inner, u)
		}
		c.addMember(group, n)
		members = append(members, inner...)
	}
	return group, inner, members
}

// licenseState is one licenseAssignmentState of a user as the API shows it.
type licenseState struct {
	SkuID   string `json:"skuId"`
	State   string `json:"state"`
	Code    string `json:"allotErrorCode"`
	ByGroup string `json:"assignedByGroup"`
}

// tenantLicenses is every user's license states (user id → states), and
// userPrincipalNames, from GET /v1.0/users.
type tenantLicenses struct {
	states map[string][]licenseState
	upns   map[string]string
}

func (c *client) licenses() tenantLicenses {
	c.t.Helper()
	out := tenantLicenses{states: map[string][]licenseState{}, upns: map[string]string{}}
	for _, u := range c.listAll("/v1.0/users?$top=999") {
		id := u["id"].(string)
		out.upns[id] = u["userPrincipalName"].(string)
		data, _ := json.Marshal(u["licenseAssignmentStates"])
		var ss []licenseState
		if err := json.Unmarshal(data, &ss); err != nil {
			c.t.Fatal(err)
		}
		out.states[id] = ss
	}
	return out
}

func (l tenantLicenses) holds(u, sku string) bool {
	for _, s := range l.states[u] {
		if s.SkuID == sku && s.State == allot.StateActive {
			return true
		}
	}
	return false
}

// code returns the error code the user's states of the product have ("" if
// none), preferring a specific one over otherProductInGroupFailed.
func (l tenantLicenses) code(u, sku string) string {
	code := ""
	for _, s := range l.states[u] {
		if s.SkuID == sku && s.State != allot.StateActive && s.Code != "" && (code == "" || code == string(allot.EOtherProductFailed)) {
			code = s.Code
		}
	}
	return code
}

func (l tenantLicenses) name(u string) string { return l.upns[u] }

// active lists the products the user holds, sorted.
func (l tenantLicenses) active(u string) string {
	var out []string
	for _, s := range l.states[u] {
		if s.State == allot.StateActive && !slices.Contains(out, s.SkuID) {
			out = append(out, s.SkuID)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (l tenantLicenses) describe(u string) string {
	var out []string
	for _, s := range l.states[u] {
		src := "direct"
		if s.ByGroup != "" {
			src = "group"
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s…(%s) %s %s", s.SkuID[:8], src, s.State, s.Code)))
	}
	return strings.Join(out, ", ")
}

// previewResult is the answer of POST /allot/v1/preview.
type previewResult struct {
	Products []struct {
		SkuID      string         `json:"skuId"`
		Part       string         `json:"skuPartNumber"`
		Gain       int            `json:"gain"`
		Lose       int            `json:"lose"`
		Fail       int            `json:"fail"`
		FailByCode map[string]int `json:"failByCode"`
	} `json:"products"`
	Losses []struct {
		UserID            string `json:"userId"`
		UserPrincipalName string `json:"userPrincipalName"`
		SkuID             string `json:"skuId"`
		SkuPartNumber     string `json:"skuPartNumber"`
		Reason            string `json:"reason"`
		Explicit          bool   `json:"explicit"`
	} `json:"losses"`
	LossCount            int  `json:"lossCount"`
	ConfirmationRequired bool `json:"confirmationRequired"`
}

// preview asks for a preview; an answer other than 200 fails the test and
// gives an empty preview, so that the checks after it report what differs.
func (c *client) preview(body map[string]any) previewResult {
	c.t.Helper()
	var pv previewResult
	r := c.do("POST", "/allot/v1/preview", body)
	if r.Status != 200 {
		c.t.Errorf("preview %v: want 200: %s", body["action"], r)
		return pv
	}
	if err := json.Unmarshal(r.Body, &pv); err != nil {
		c.t.Fatalf("decode %s: %v", r, err)
	}
	return pv
}

type previewProduct struct {
	Gain, Lose, Fail int
	FailByCode       map[string]int
}

func (pv previewResult) product(sku string) previewProduct {
	for _, p := range pv.Products {
		if p.SkuID == sku {
			return previewProduct{p.Gain, p.Lose, p.Fail, p.FailByCode}
		}
	}
	return previewProduct{FailByCode: map[string]int{}}
}

// lossUsers returns the users the preview lists as losing the product;
// with explicitToo false only the losses that are side effects.
func (pv previewResult) lossUsers(sku string, explicitToo bool) map[string]bool {
	out := map[string]bool{}
	for _, l := range pv.Losses {
		if l.SkuID == sku && (explicitToo || !l.Explicit) {
			out[l.UserID] = true
		}
	}
	return out
}

// lossErr is a licenseLossNotConfirmed refusal.
type lossErr struct {
	Code, Message string
	Details       []struct{ Code, Message, Target string }
}

func (r *response) lossError(t *testing.T) lossErr {
	t.Helper()
	r.graphError(t)
	var e struct {
		Error lossErr `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	// details[0] is allot's own code; the losses follow.
	if len(e.Error.Details) == 0 || e.Error.Details[0].Code != string(allot.ELicenseLoss) {
		t.Fatalf("details[0] is not allot's %s: %s", allot.ELicenseLoss, r)
	}
	e.Error.Details = e.Error.Details[1:]
	return e.Error
}

// targets returns the users the refusal's details name with the code (any
// code when "").
func (e lossErr) targets(code string) map[string]bool {
	out := map[string]bool{}
	for _, d := range e.Details {
		if code == "" || d.Code == code {
			out[d.Target] = true
		}
	}
	return out
}

func sameUserSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// setDiff describes got against want: its size and who is missing or extra.
func setDiff(got, want map[string]bool, names tenantLicenses) string {
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, names.name(k))
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, names.name(k))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Sprintf("%d users (missing %d: %v; extra %d: %v)", len(got), len(missing), missing[:min(len(missing), 5)], len(extra), extra[:min(len(extra), 5)])
}

// checkPreviewApplied compares a preview with what applying the change did:
// the losses it lists (user, product, reason) are exactly the licenses lost,
// lossCount counts them, per product gain and lose match, and the failures
// by code are at least the users newly failing and at most all failing.
func checkPreviewApplied(t *testing.T, what string, pv previewResult, before, after tenantLicenses) {
	t.Helper()
	type key struct{ user, sku string }
	users := map[string]bool{}
	skus := map[string]bool{}
	for _, l := range []tenantLicenses{before, after} {
		for u, ss := range l.states {
			users[u] = true
			for _, s := range ss {
				skus[s.SkuID] = true
			}
		}
	}
	for _, p := range pv.Products {
		skus[p.SkuID] = true
	}
	lost := map[key]string{}
	gain, lose := map[string]int{}, map[string]int{}
	// Users failing to get a product after the change, by code: among
	// those whose states of it changed (the preview counts them all) and
	// among all (the preview counts those it evaluated, a subset).
	failChanged, failAll := map[string]map[string]int{}, map[string]map[string]int{}
	inc := func(m map[string]map[string]int, sku, code string) {
		if m[sku] == nil {
			m[sku] = map[string]int{}
		}
		m[sku][code]++
	}
	for u := range users {
		for sku := range skus {
			hb, ha := before.holds(u, sku), after.holds(u, sku)
			switch {
			case hb && !ha:
				lose[sku]++
				reason := after.code(u, sku)
				if reason == "" {
					reason = string(allot.LossReasonRemoved)
				}
				lost[key{u, sku}] = reason
			case !hb && ha:
				gain[sku]++
			}
			if c := after.code(u, sku); c != "" && !ha {
				inc(failAll, sku, c)
				if statesOf(before, u, sku) != statesOf(after, u, sku) {
					inc(failChanged, sku, c)
				}
			}
		}
	}
	listed := map[key]string{}
	for _, l := range pv.Losses {
		listed[key{l.UserID, l.SkuID}] = l.Reason
	}
	var bad []string
	for k, reason := range lost {
		r, ok := listed[k]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s lost %s… (%s), which the preview did not list", before.name(k.user), k.sku[:8], reason))
		case r != reason:
			bad = append(bad, fmt.Sprintf("%s lost %s… (%s); the preview said %s", before.name(k.user), k.sku[:8], reason, r))
		}
	}
	for k, r := range listed {
		if _, ok := lost[k]; !ok {
			bad = append(bad, fmt.Sprintf("the preview listed %s losing %s… (%s), which it did not", before.name(k.user), k.sku[:8], r))
		}
	}
	if pv.LossCount != len(lost) {
		bad = append(bad, fmt.Sprintf("the preview's lossCount is %d, %d licenses were lost", pv.LossCount, len(lost)))
	}
	for sku := range skus {
		p := pv.product(sku)
		if p.Gain != gain[sku] || p.Lose != lose[sku] {
			bad = append(bad, fmt.Sprintf("%s…: the preview said gain %d lose %d, applying it gained %d lost %d", sku[:8], p.Gain, p.Lose, gain[sku], lose[sku]))
		}
		codes := map[string]bool{}
		for code := range failAll[sku] {
			codes[code] = true
		}
		for code := range p.FailByCode {
			codes[code] = true
		}
		for code := range codes {
			if n := p.FailByCode[code]; n < failChanged[sku][code] || n > failAll[sku][code] {
				bad = append(bad, fmt.Sprintf("%s…: the preview said %d would fail with %s; applying it left %d newly so (%d in all)", sku[:8], n, code, failChanged[sku][code], failAll[sku][code]))
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("the preview of %s differs from what applying it did (%d differences):\n  %s", what, len(bad), strings.Join(bad[:min(len(bad), 15)], "\n  "))
	}
}

// statesOf renders a user's states of one product, to see whether they changed.
func statesOf(l tenantLicenses, u, sku string) string {
	var out []string
	for _, s := range l.states[u] {
		if s.SkuID == sku {
			out = append(out, s.ByGroup+" "+s.State+" "+s.Code)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}
