package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"allot"
	"allot/membershiprule"
	"allot/store"
)

// DynamicGroup creates a dynamic group with the rule, in state (On or Paused).
func (e *Env) DynamicGroup(name, rule, state string) *allot.Group {
	e.T.Helper()
	g := &allot.Group{DisplayName: name, MembershipRule: rule, RuleState: state}
	if err := e.St.CreateGroup(e.Ctx, admin, e.Tenant.ID, g); err != nil {
		e.T.Fatal(err)
	}
	return g
}

// MemberNames returns the display names of the group's direct user members, sorted.
func (e *Env) MemberNames(g *allot.Group) []string {
	e.T.Helper()
	ms, _, err := e.St.Members(e.Ctx, e.Tenant.ID, g.GUID, 0, 100000)
	if err != nil {
		e.T.Fatal(err)
	}
	out := []string{}
	for _, m := range ms {
		if m.User != nil {
			out = append(out, m.User.DisplayName)
		}
	}
	slices.Sort(out)
	return out
}

// Patch updates a user.
func (e *Env) Patch(u *allot.User, p store.UserPatch) {
	e.T.Helper()
	if _, err := e.St.UpdateUser(e.Ctx, admin, e.Tenant.ID, u.GUID, p); err != nil {
		e.T.Fatal(err)
	}
}

func sp(s string) *string { return &s }

func testDynamic(t *testing.T, open Opener) {
	t.Run("ANewRuleComputesItsMembersOverEveryUser", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Users("x", 3, "US")
		ann, bob := e.User("ann", "US"), e.User("bob", "US")
		e.Patch(ann, store.UserPatch{Department: sp("Sales")})
		e.Patch(bob, store.UserPatch{Department: sp("sales")})
		g := e.DynamicGroup("Dynamic Sales", `user.department -eq "Sales"`, allot.RuleOn)
		eq(t, "members", e.MemberNames(g), []string{"ann", "bob"})
		got, err := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "stored rule", got.MembershipRule+"|"+got.RuleState, `user.department -eq "Sales"|On`)
	})
	t.Run("AnAttributeChangeMovesTheUserAndLicensesFollow", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Product("SPE_E3", 5)
		e.Product("SPE_E5", 5)
		sales := e.DynamicGroup("Dynamic Sales", `user.department -eq "Sales"`, allot.RuleOn)
		mkt := e.DynamicGroup("Dynamic Marketing", `user.department -eq "Marketing"`, allot.RuleOn)
		e.AssignGroup(sales, e.Req("SPE_E3")...)
		e.AssignGroup(mkt, e.Req("SPE_E5")...)
		ann := e.User("ann", "US")
		e.Patch(ann, store.UserPatch{Department: sp("Sales")})
		e.Drain()
		eq(t, "in Sales", e.Has(ann), []string{"SPE_E3"})
		e.Patch(ann, store.UserPatch{Department: sp("Marketing")})
		eq(t, "Sales members", e.MemberNames(sales), []string{})
		eq(t, "Marketing members", e.MemberNames(mkt), []string{"ann"})
		e.Drain()
		eq(t, "in Marketing", e.Has(ann), []string{"SPE_E5"})
		c3, _ := e.Consumed("SPE_E3")
		c5, _ := e.Consumed("SPE_E5")
		eq(t, "consumed E3, E5", [2]int{c3, c5}, [2]int{0, 1})
		evs, _, err := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: allot.ActRemoveMember, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "left by rule", len(evs) == 1 && evs[0].TargetName == "Dynamic Sales" && strings.Contains(evs[0].ResultReason, "Membership rule") &&
			evs[0].ActorName == admin.Name, true)
	})
	t.Run("MembersOfADynamicGroupCannotBeChangedByHand", func(t *testing.T) {
		e := NewEnv(t, open(t))
		ann := e.User("ann", "US")
		g := e.DynamicGroup("d", `user.usageLocation -eq "US"`, allot.RuleOn)
		other := e.Group("other")
		eq(t, "add", allot.ErrorCode(e.St.AddMember(e.Ctx, admin, e.Tenant.ID, g.GUID, other.GUID)), allot.EForbidden)
		eq(t, "remove", allot.ErrorCode(e.St.RemoveMember(e.Ctx, admin, e.Tenant.ID, g.GUID, ann.GUID, true)), allot.EForbidden)
		eq(t, "members", e.MemberNames(g), []string{"ann"})
	})
	t.Run("AnInvalidRuleIsRefusedWithItsPosition", func(t *testing.T) {
		e := NewEnv(t, open(t))
		err := e.St.CreateGroup(e.Ctx, admin, e.Tenant.ID, &allot.Group{DisplayName: "d", MembershipRule: `user.department -eq`, RuleState: allot.RuleOn})
		eq(t, "code", allot.ErrorCode(err), allot.EInvalid)
		eq(t, "message", allot.ErrorMessage(err), "Invalid membershipRule: at column 20: expected a value after -eq.")
		err = e.St.CreateGroup(e.Ctx, admin, e.Tenant.ID, &allot.Group{DisplayName: "d", MembershipRule: `user.city -eq "a"`})
		eq(t, "rule without dynamic", allot.ErrorCode(err), allot.EInvalid)
		gs, _, _, _ := e.St.ListGroups(e.Ctx, e.Tenant.ID, store.ListOptions{Top: 10})
		eq(t, "no group", len(gs), 0)
	})
	t.Run("APausedRuleIsNotEvaluatedUntilTurnedOn", func(t *testing.T) {
		e := NewEnv(t, open(t))
		ann := e.User("ann", "US")
		g := e.DynamicGroup("d", `user.jobTitle -eq "Boss"`, allot.RulePaused)
		e.Patch(ann, store.UserPatch{JobTitle: sp("Boss")})
		eq(t, "paused", e.MemberNames(g), []string{})
		if _, err := e.St.UpdateGroup(e.Ctx, admin, e.Tenant.ID, g.GUID, store.GroupPatch{RuleState: sp("On")}); err != nil {
			t.Fatal(err)
		}
		eq(t, "on", e.MemberNames(g), []string{"ann"})
		if _, err := e.St.UpdateGroup(e.Ctx, admin, e.Tenant.ID, g.GUID, store.GroupPatch{MembershipRule: sp(`user.jobTitle -eq "Clerk"`)}); err != nil {
			t.Fatal(err)
		}
		eq(t, "rule changed", e.MemberNames(g), []string{})
	})
	t.Run("NewUsersAreEvaluatedOnCreate", func(t *testing.T) {
		e := NewEnv(t, open(t))
		g := e.DynamicGroup("d", `user.accountEnabled -eq true -and user.usageLocation -in ["US", "CA"]`, allot.RuleOn)
		e.User("us", "US")
		e.User("fr", "FR")
		bulk := []*allot.User{{UserPrincipalName: "ca@contoso.test", DisplayName: "ca", UsageLocation: "CA", AccountEnabled: true},
			{UserPrincipalName: "off@contoso.test", DisplayName: "off", UsageLocation: "CA"}}
		if err := e.St.CreateUsersBulk(e.Ctx, admin, e.Tenant.ID, bulk); err != nil {
			t.Fatal(err)
		}
		eq(t, "members", e.MemberNames(g), []string{"ca", "us"})
	})
	t.Run("ADynamicGroupNestedInALicensedGroupLicensesItsMembers", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Product("SPE_E3", 5)
		d := e.DynamicGroup("d", `user.city -eq "Lagos"`, allot.RuleOn)
		outer := e.Group("outer", d)
		e.AssignGroup(outer, e.Req("SPE_E3")...)
		ann := e.User("ann", "US")
		e.Patch(ann, store.UserPatch{ProfileText: map[string]string{"city": "Lagos"}})
		e.Drain()
		eq(t, "through nesting", e.Has(ann), []string{"SPE_E3"})
		e.Patch(ann, store.UserPatch{ProfileText: map[string]string{"city": "Abuja"}})
		e.Drain()
		eq(t, "left", e.Has(ann), []string(nil))
	})
	t.Run("ARuleOnAssignedPlansFollowsLicenseChanges", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Product("SPE_E3", 5)
		ann, bob := e.User("ann", "US"), e.User("bob", "US")
		if err := e.Assign(ann, "SPE_E3"); err != nil {
			t.Fatal(err)
		}
		g := e.DynamicGroup("Exchange users", `user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")`, allot.RuleOn)
		eq(t, "computed", e.MemberNames(g), []string{"ann"})
		if err := e.Assign(bob, "SPE_E3"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, ann.GUID, nil, []string{e.Products["SPE_E3"].SkuID}); err != nil {
			t.Fatal(err)
		}
		eq(t, "after license changes", e.MemberNames(g), []string{"bob"})
	})
	t.Run("AFullEvaluationAgreesWithEvalOnEveryValue", func(t *testing.T) {
		testFullEvaluationAgreesWithEval(t, NewEnv(t, open(t)))
	})
	t.Run("IncrementalEvaluationEqualsAFullRecomputation", func(t *testing.T) {
		st := open(t)
		rapid.Check(t, func(rt *rapid.T) { checkIncremental(t, rt, NewEnv(t, st)) })
	})
}

var (
	// Values with letters outside ASCII (Ä, the Kelvin sign that lower-cases
	// to k, the long s that folds to s) and with LIKE's wildcards: the
	// database decides rules on ASCII values and must agree with Eval.
	ruleValues = []string{"Sales", "sales", "Marketing", "Lagos", "Abuja", "US", "FR", "", "SÄLES", "säles", "\u212Aano", "kano", "\u017Fales", "50%_off"}
	ruleProps  = []string{"department", "city", "jobTitle", "usageLocation", "country", "displayName"}
	ruleOps    = []string{"-eq", "-ne", "-startsWith", "-notStartsWith", "-contains", "-notContains", "-match", "-notMatch", "-in", "-notIn"}
)

// testFullEvaluationAgreesWithEval creates a user per value of ruleValues
// (as department and job title; one disabled) and, for every operator and
// value, a dynamic group whose rule compares one of them: the members the
// store computes over every user must be the users Eval accepts. The
// values include letters outside ASCII whose case folding differs from
// SQL's LOWER, which the database must not decide.
func testFullEvaluationAgreesWithEval(t *testing.T, e *Env) {
	var users []*allot.User
	for i, v := range ruleValues {
		u := e.User(fmt.Sprintf("v%02d", i), "US")
		dep, job := v, ruleValues[(i+3)%len(ruleValues)]
		p := store.UserPatch{Department: &dep, JobTitle: &job}
		if i%5 == 0 {
			p.AccountEnabled = new(bool)
		}
		e.Patch(u, p)
		fresh, err := e.St.User(e.Ctx, e.Tenant.ID, u.GUID)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, fresh)
	}
	n := 0
	for _, op := range ruleOps {
		for i, v := range ruleValues {
			src := fmt.Sprintf(`user.department %s "%s"`, op, v)
			switch {
			case op == "-in" || op == "-notIn":
				src = fmt.Sprintf(`user.jobTitle %s ["%s", "%s"]`, op, v, ruleValues[(i+5)%len(ruleValues)])
			case i%3 == 0:
				src = fmt.Sprintf(`(%s) -and user.accountEnabled -eq true -or -not (user.jobTitle %s "%s")`, src, op, v)
			}
			r, err := membershiprule.Parse(src)
			if err != nil {
				continue // -match with a value that is no pattern
			}
			g := e.DynamicGroup(fmt.Sprint("all ", n), src, allot.RuleOn)
			n++
			want := []string{}
			for _, u := range users {
				if membershiprule.Eval(r, evalInput(u)) {
					want = append(want, u.DisplayName)
				}
			}
			if got := e.MemberNames(g); !slices.Equal(got, want) {
				t.Errorf("%s: members %v, Eval %v", src, got, want)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d rules evaluated", n)
	}
}

// genRule draws a random rule of depth at most d.
func genRule(rt *rapid.T, d int) string {
	switch k := rapid.IntRange(0, 5).Draw(rt, "kind"); {
	case d > 0 && k == 0:
		return "(" + genRule(rt, d-1) + ") -and (" + genRule(rt, d-1) + ")"
	case d > 0 && k == 1:
		return genRule(rt, d-1) + " -or " + genRule(rt, d-1)
	case d > 0 && k == 2:
		return "-not (" + genRule(rt, d-1) + ")"
	case k == 3:
		return "user.accountEnabled -eq " + rapid.SampledFrom([]string{"true", "false"}).Draw(rt, "bool")
	}
	prop := rapid.SampledFrom(ruleProps).Draw(rt, "prop")
	op := rapid.SampledFrom(ruleOps).Draw(rt, "op")
	v := rapid.SampledFrom(ruleValues).Draw(rt, "value")
	if op == "-in" || op == "-notIn" {
		return fmt.Sprintf(`user.%s %s ["%s", "%s"]`, prop, op, v, rapid.SampledFrom(ruleValues).Draw(rt, "value2"))
	}
	return fmt.Sprintf(`user.%s %s "%s"`, prop, op, v)
}

// genPatch draws a random change of the attributes rules read (and some
// they do not).
func genPatch(rt *rapid.T) store.UserPatch {
	v := rapid.SampledFrom(ruleValues).Draw(rt, "new")
	switch rapid.IntRange(0, 6).Draw(rt, "attr") {
	case 0:
		return store.UserPatch{Department: &v}
	case 1:
		return store.UserPatch{ProfileText: map[string]string{"city": v}}
	case 2:
		return store.UserPatch{JobTitle: &v}
	case 3:
		loc := rapid.SampledFrom([]string{"US", "FR", ""}).Draw(rt, "loc")
		return store.UserPatch{UsageLocation: &loc}
	case 4:
		return store.UserPatch{ProfileText: map[string]string{"country": v}}
	case 5:
		b := rapid.Bool().Draw(rt, "enabled")
		return store.UserPatch{AccountEnabled: &b}
	}
	return store.UserPatch{DisplayName: sp("renamed " + v)}
}

// evalInput is what a rule reads of u, built independently of the store.
func evalInput(u *allot.User) membershiprule.User {
	return membershiprule.User{AccountEnabled: u.AccountEnabled, Text: map[string]string{"department": u.Department,
		"jobTitle": u.JobTitle, "usageLocation": u.UsageLocation, "displayName": u.DisplayName, "city": u.Profile.Text["city"], "country": u.Profile.Text["country"]}}
}

// checkIncremental runs random rules and random attribute changes and
// compares every On group's members with the rule evaluated on every user.
func checkIncremental(t *testing.T, rt *rapid.T, e *Env) {
	users := e.Users("u", rapid.IntRange(1, 6).Draw(rt, "users"), "US")
	var groups []*allot.Group
	for i := range rapid.IntRange(1, 3).Draw(rt, "groups") {
		state := rapid.SampledFrom([]string{allot.RuleOn, allot.RuleOn, allot.RulePaused}).Draw(rt, "state")
		groups = append(groups, e.DynamicGroup(fmt.Sprintf("g%d", i), genRule(rt, 2), state))
	}
	steps := rapid.IntRange(1, 12).Draw(rt, "steps")
	for range steps {
		switch rapid.IntRange(0, 9).Draw(rt, "step") {
		case 0:
			users = append(users, e.User(fmt.Sprintf("n%d", len(users)), "FR"))
		case 1:
			g := rapid.SampledFrom(groups).Draw(rt, "group")
			p := store.GroupPatch{MembershipRule: sp(genRule(rt, 2))}
			if rapid.Bool().Draw(rt, "toggle") {
				p.RuleState = sp(rapid.SampledFrom([]string{allot.RuleOn, allot.RulePaused}).Draw(rt, "newState"))
			}
			if _, err := e.St.UpdateGroup(e.Ctx, admin, e.Tenant.ID, g.GUID, p); err != nil {
				rt.Fatal(err)
			}
		default:
			u := rapid.SampledFrom(users).Draw(rt, "user")
			if _, err := e.St.UpdateUser(e.Ctx, admin, e.Tenant.ID, u.GUID, genPatch(rt)); err != nil {
				rt.Fatal(err)
			}
		}
	}
	for _, g := range groups {
		cur, err := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		if err != nil {
			rt.Fatal(err)
		}
		if cur.RuleState != allot.RuleOn {
			continue
		}
		r, err := membershiprule.Parse(cur.MembershipRule)
		if err != nil {
			rt.Fatal(err)
		}
		want := []string{}
		for _, u := range users {
			fresh, err := e.St.User(e.Ctx, e.Tenant.ID, u.GUID)
			if err != nil {
				rt.Fatal(err)
			}
			if membershiprule.Eval(r, evalInput(fresh)) {
				want = append(want, fresh.DisplayName)
			}
		}
		slices.Sort(want)
		if got := e.MemberNames(cur); !slices.Equal(got, want) {
			rt.Fatalf("group %s (%s): members %v, full recomputation %v", cur.DisplayName, cur.MembershipRule, got, want)
		}
	}
}
