package licensing

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"allot"
)

// The property test runs random admin actions against an in-memory tenant
// that does what the stores do: it loads snapshots (grants: direct states
// first by product id, then every licensed group the user is in,
// transitively, in the order it joined; waiters outside the snapshot as
// store/sqlstore.loadQueue counts them), calls the decision functions,
// refuses unconfirmed losses, applies plans (states of changed users,
// counters from Plan.Consumed, Plan.Waiting and Plan.GroupErrors) and then
// converges like group licensing does, by Recompute over every user until
// a Recompute changes nothing. After each action it checks the rules
// against its own bookkeeping of intents (which direct assignments and
// group licenses exist, who is in which group).

type membership struct{ group, seq int64 }

type tenant struct {
	dataLoc, defLoc string
	prods           []*allot.Product // rules only; the counters are below
	enabled         map[int64]int
	consumed        map[int64]int
	waiting         map[int64]int
	groupErrs       map[int64]int
	users           []int64
	loc             map[int64]string
	states          map[int64][]allot.LicenseState
	direct          map[int64]map[int64][]string // user → product → disabled plans
	groups          []int64
	lic             map[int64][]Grant // group → its licenses (Source = group), by product id
	memberOf        map[int64][]membership
	parents         map[int64][]int64    // group → groups it is a direct member of
	bestEffort      map[int64]bool       // groups whose products are granted each on its own
	fallbacks       map[[2]int64][]int64 // (group, product) → its fallback chain
	vip             map[int64]bool       // groups whose members wait ahead
	mseq, seq, now  int64
	dept            map[int64]string   // user → department (pools_property_test.go)
	pools           []modelPool        // license pools, by id
	ends            map[[2]int64]int64 // (user, product) → end of a direct assignment (dates_property_test.go)
}

func (tn *tenant) clone() *tenant {
	c := *tn
	c.enabled, c.consumed, c.waiting, c.groupErrs = maps.Clone(tn.enabled), maps.Clone(tn.consumed), maps.Clone(tn.waiting), maps.Clone(tn.groupErrs)
	c.loc = maps.Clone(tn.loc)
	c.bestEffort = maps.Clone(tn.bestEffort)
	c.fallbacks, c.vip = cloneFallbacks(tn.fallbacks), maps.Clone(tn.vip)
	c.dept, c.pools = maps.Clone(tn.dept), slices.Clone(tn.pools)
	c.ends = maps.Clone(tn.ends)
	c.states = map[int64][]allot.LicenseState{}
	for u, ss := range tn.states {
		c.states[u] = cloneStates(ss)
	}
	c.direct = map[int64]map[int64][]string{}
	for u, d := range tn.direct {
		c.direct[u] = maps.Clone(d)
	}
	c.lic = map[int64][]Grant{}
	for g, gs := range tn.lic {
		c.lic[g] = slices.Clone(gs)
	}
	c.memberOf = map[int64][]membership{}
	for u, ms := range tn.memberOf {
		c.memberOf[u] = slices.Clone(ms)
	}
	c.parents = map[int64][]int64{}
	for g, ps := range tn.parents {
		c.parents[g] = slices.Clone(ps)
	}
	return &c
}

func (tn *tenant) product(id int64) *allot.Product {
	for _, p := range tn.prods {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// closure is store/sqlstore.closure: every group reachable through edges.
func closure(edges map[int64][]int64, start int64) []int64 {
	seen := map[int64]bool{start: true}
	var out []int64
	stack := []int64{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, m := range edges[n] {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
				stack = append(stack, m)
			}
		}
	}
	return out
}

// chain returns the groups a user is in, transitively, in the order it joined.
func (tn *tenant) chain(u int64) []int64 {
	ms := slices.Clone(tn.memberOf[u])
	sort.Slice(ms, func(a, b int) bool { return ms[a].seq < ms[b].seq })
	var out []int64
	for _, m := range ms {
		for _, g := range append([]int64{m.group}, closure(tn.parents, m.group)...) {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

func (tn *tenant) inGroup(u, g int64) bool { return slices.Contains(tn.chain(u), g) }

// members returns the users in group g, transitively, in the tenant's order.
func (tn *tenant) members(g int64) []int64 {
	var out []int64
	for _, u := range tn.users {
		if tn.inGroup(u, g) {
			out = append(out, u)
		}
	}
	return out
}

func (tn *tenant) grantsOf(u int64) []Grant {
	var out []Grant
	ss := slices.Clone(tn.states[u])
	sort.Slice(ss, func(a, b int) bool { return ss[a].ProductID < ss[b].ProductID })
	for _, st := range ss {
		if st.Source == allot.DirectSource {
			out = append(out, Grant{Source: allot.DirectSource, ProductID: st.ProductID, DisabledPlans: slices.Clone(st.DisabledPlans),
				EndsAt: tn.ends[[2]int64{u, st.ProductID}]})
		}
	}
	for _, g := range tn.chain(u) {
		for _, gr := range tn.lic[g] {
			gr.DisabledPlans = slices.Clone(gr.DisabledPlans)
			out = append(out, gr)
		}
	}
	return out
}

// snapshot loads users as a store does; queue computes who waits outside.
func (tn *tenant) snapshot(users []int64, queue bool) *Snapshot {
	s := &Snapshot{DataLocation: tn.dataLoc, DefaultUsageLocation: tn.defLoc, GroupNames: map[int64]string{},
		FirstSeq: tn.seq, Now: tn.now, WaitingOutside: map[int64]int{}, Ahead: map[int64][]int64{}, BestEffort: maps.Clone(tn.bestEffort),
		Fallbacks: cloneFallbacks(tn.fallbacks), VIP: maps.Clone(tn.vip)}
	for _, p := range tn.prods {
		q := cloneSnapshot(&Snapshot{Products: []*allot.Product{p}}).Products[0]
		q.EnabledUnits, q.ConsumedUnits = tn.enabled[p.ID], tn.consumed[p.ID]
		s.Products = append(s.Products, q)
	}
	for g := range tn.lic {
		if len(tn.lic[g]) > 0 {
			s.GroupNames[g] = fmt.Sprintf("G%d", g)
		}
	}
	in := map[int64]bool{}
	for _, u := range users {
		in[u] = true
		s.Users = append(s.Users, UserInput{UserID: u, UsageLocation: tn.loc[u], Grants: tn.grantsOf(u), Current: cloneStates(tn.states[u]), Pools: tn.poolsOf(u)})
	}
	tn.snapshotPools(s, in, queue)
	if !queue {
		return s
	}
	for _, p := range tn.prods {
		inBatch := 0
		var outside []int64
		for _, u := range tn.users {
			w, ok := waitingSince(tn.states[u], p.ID)
			if !ok {
				continue
			}
			if in[u] {
				inBatch++
			} else {
				outside = append(outside, w)
			}
		}
		n := tn.waiting[p.ID] - inBatch
		if n <= 0 {
			continue
		}
		s.WaitingOutside[p.ID] = n
		free := tn.enabled[p.ID] - tn.consumed[p.ID]
		if free <= 0 || inBatch == 0 {
			continue
		}
		slices.Sort(outside)
		s.Ahead[p.ID] = outside[:min(len(outside), free+inBatch)]
	}
	return s
}

// apply writes a plan decided on s, as store/sqlstore.apply does.
func (tn *tenant) apply(t *rapid.T, s *Snapshot, p *Plan) {
	if msg := planProblem(s, p); msg != "" {
		t.Fatalf("rule 10: inconsistent plan: %s\n%s", msg, dump(p))
	}
	for _, up := range p.Users {
		if !statesEqual(up.Before, tn.states[up.UserID]) {
			t.Fatalf("plan of user %d starts from %s, the user has %s", up.UserID, states(up.Before), states(tn.states[up.UserID]))
		}
		if up.Changed {
			tn.states[up.UserID] = cloneStates(up.After)
		}
	}
	for pid, d := range p.Consumed {
		tn.consumed[pid] += d
	}
	for pid, d := range p.Waiting {
		tn.waiting[pid] += d
	}
	for g, d := range p.GroupErrors {
		tn.groupErrs[g] += d
	}
	tn.seq += int64(s.SeqsNeeded())
	tn.now++
}

// recompute decides and applies a Recompute of users.
func (tn *tenant) recompute(t *rapid.T, users []int64) *Plan {
	if len(users) == 0 {
		return &Plan{}
	}
	s := tn.snapshot(users, true)
	p, _, _ := decide(t, s, recompute)
	tn.apply(t, s, p)
	return p
}

func planChanges(p *Plan) bool {
	for _, up := range p.Users {
		if up.Changed {
			return true
		}
	}
	return len(p.Consumed)+len(p.Waiting)+len(p.GroupErrors) > 0
}

// converge is group licensing catching up: Recompute of everyone, in the
// tenant's order, until a Recompute changes nothing.
func (tn *tenant) converge(t *rapid.T) {
	for round := 0; round < 2*len(tn.users)+5; round++ {
		if !planChanges(tn.recompute(t, tn.users)) {
			return
		}
	}
	t.Fatalf("group licensing never settles")
}

func (tn *tenant) held(u int64) map[int64]bool { return heldSet(tn.states[u]) }

// step describes what an action did, for the checks.
type step struct {
	// plan is the plan the action applied (nil: none, or refused).
	plan *Plan
	// mayLose tells whether the action may take product p from user u:
	// it removed p's source on purpose, or it was confirmed and its check
	// reported the loss (see checkLosses).
	mayLose map[[2]int64]bool
	// cascade allows, besides, the loss of a product whose prerequisites
	// the same user lost in an allowed way (group license additions, usage
	// location changes).
	cascade bool
	// queueJump lists the (user, product) pairs assigned directly: direct
	// assignment does not queue (rule 2).
	queueJump map[[2]int64]bool
}

func TestPropertyRules1To12HoldUnderRandomAdminActions(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		tn := newTenant(rt)
		tn.converge(rt)
		checkAll(rt, tn, tn.clone(), step{})
		rt.Repeat(withDateActions(tn, withWaitingRoomActions(tn, map[string]func(*rapid.T){
			"directAdd": func(rt *rapid.T) {
				u := rapid.SampledFrom(tn.users).Draw(rt, "user")
				p := drawProduct(rt, tn, "product")
				runDirect(rt, tn, u, DirectChange{Add: []Grant{{ProductID: p.ID, DisabledPlans: drawPlans(rt, p, "disabled")}}})
			},
			"directRemove": func(rt *rapid.T) {
				u := rapid.SampledFrom(tn.users).Draw(rt, "user")
				var p int64
				if d := slices.Sorted(maps.Keys(tn.direct[u])); len(d) > 0 && rapid.IntRange(0, 4).Draw(rt, "held") > 0 {
					p = rapid.SampledFrom(d).Draw(rt, "remove")
				} else {
					p = drawProduct(rt, tn, "remove").ID
				}
				runDirect(rt, tn, u, DirectChange{Remove: []int64{p}})
			},
			"directSwap": func(rt *rapid.T) {
				u := rapid.SampledFrom(tn.users).Draw(rt, "user")
				d := slices.Sorted(maps.Keys(tn.direct[u]))
				if len(d) == 0 {
					rt.Skip("no direct assignment to swap")
				}
				out := rapid.SampledFrom(d).Draw(rt, "remove")
				in := drawProduct(rt, tn, "add")
				if in.ID == out {
					rt.Skip("same product")
				}
				runDirect(rt, tn, u, DirectChange{Add: []Grant{{ProductID: in.ID, DisabledPlans: drawPlans(rt, in, "disabled")}}, Remove: []int64{out}})
			},
			"bulk": func(rt *rapid.T) {
				p := drawProduct(rt, tn, "product")
				users := rapid.SliceOfNDistinct(rapid.SampledFrom(tn.users), 1, len(tn.users), rapid.ID[int64]).Draw(rt, "users")
				runBulk(rt, tn, p, users, drawPlans(rt, p, "disabled"))
			},
			"groupAddProduct": func(rt *rapid.T) {
				g := rapid.SampledFrom(tn.groups).Draw(rt, "group")
				p := drawProduct(rt, tn, "product")
				dis := drawPlans(rt, p, "disabled")
				runGroupLicense(rt, tn, g, p.ID, &dis, rapid.Bool().Draw(rt, "confirm"))
			},
			"groupRemoveProduct": func(rt *rapid.T) {
				g := rapid.SampledFrom(tn.groups).Draw(rt, "group")
				if len(tn.lic[g]) == 0 {
					rt.Skip("the group assigns nothing")
				}
				i := rapid.IntRange(0, len(tn.lic[g])-1).Draw(rt, "license")
				p := tn.lic[g][i].ProductID
				runGroupLicense(rt, tn, g, p, nil, rapid.Bool().Draw(rt, "confirm"))
			},
			"addUserToGroup": func(rt *rapid.T) {
				u := rapid.SampledFrom(tn.users).Draw(rt, "user")
				g := rapid.SampledFrom(tn.groups).Draw(rt, "group")
				if slices.ContainsFunc(tn.memberOf[u], func(m membership) bool { return m.group == g }) {
					rt.Skip("already a member")
				}
				before := tn.clone()
				tn.mseq++
				tn.memberOf[u] = append(tn.memberOf[u], membership{g, tn.mseq})
				p := tn.recompute(rt, []int64{u})
				finish(rt, tn, before, step{plan: p})
			},
			"addGroupToGroup": func(rt *rapid.T) {
				c := rapid.SampledFrom(tn.groups).Draw(rt, "child")
				g := rapid.SampledFrom(tn.groups).Draw(rt, "parent")
				if c == g || slices.Contains(tn.parents[c], g) || slices.Contains(closure(tn.parents, g), c) {
					rt.Skip("a member already, or a cycle")
				}
				before := tn.clone()
				tn.parents[c] = append(tn.parents[c], g)
				p := tn.recompute(rt, tn.members(c))
				finish(rt, tn, before, step{plan: p})
			},
			"removeUserFromGroup": func(rt *rapid.T) {
				u := rapid.SampledFrom(tn.users).Draw(rt, "user")
				if len(tn.memberOf[u]) == 0 {
					rt.Skip("in no group")
				}
				i := rapid.IntRange(0, len(tn.memberOf[u])-1).Draw(rt, "membership")
				g := tn.memberOf[u][i].group
				before := tn.clone()
				tn.memberOf[u] = slices.Delete(tn.memberOf[u], i, i+1)
				runMemberRemoval(rt, tn, before, g, []int64{u}, rapid.Bool().Draw(rt, "confirm"))
			},
			"removeGroupFromGroup": func(rt *rapid.T) {
				c := rapid.SampledFrom(tn.groups).Draw(rt, "child")
				if len(tn.parents[c]) == 0 {
					rt.Skip("in no group")
				}
				i := rapid.IntRange(0, len(tn.parents[c])-1).Draw(rt, "parent")
				g := tn.parents[c][i]
				before := tn.clone()
				affected := tn.members(c)
				tn.parents[c] = slices.Delete(tn.parents[c], i, i+1)
				runMemberRemoval(rt, tn, before, g, affected, rapid.Bool().Draw(rt, "confirm"))
			},
			"changeSeats": func(rt *rapid.T) {
				p := drawProduct(rt, tn, "product")
				n := rapid.IntRange(0, tn.consumed[p.ID]+3).Draw(rt, "enabled")
				runSeats(rt, tn, p.ID, n, rapid.Bool().Draw(rt, "confirm"))
			},
			"changePool":       func(rt *rapid.T) { runPoolChange(rt, tn) },
			"changeDepartment": func(rt *rapid.T) { runDepartmentChange(rt, tn) },
			"changeGroupMode": func(rt *rapid.T) {
				g := rapid.SampledFrom(tn.groups).Draw(rt, "group")
				before := tn.clone()
				if tn.bestEffort == nil {
					tn.bestEffort = map[int64]bool{}
				}
				tn.bestEffort[g] = !tn.bestEffort[g] // either way nothing is taken away
				p := tn.recompute(rt, tn.members(g))
				finish(rt, tn, before, step{plan: p})
			},
			"changeUsageLocation": func(rt *rapid.T) {
				u := rapid.SampledFrom(tn.users).Draw(rt, "user")
				loc := rapid.SampledFrom([]string{"", "US", "DE", "FR"}).Draw(rt, "usageLocation")
				before := tn.clone()
				tn.loc[u] = loc
				p := tn.recompute(rt, []int64{u})
				mayLose := map[[2]int64]bool{}
				for _, l := range p.Losses(nil) {
					if l.Reason == allot.EUsageLocationNeeded || l.Reason == allot.EUsageLocationDenied {
						mayLose[[2]int64{l.UserID, l.ProductID}] = true
					}
				}
				finish(rt, tn, before, step{plan: p, mayLose: mayLose, cascade: true})
			},
		})))
	})
}

var locations = []string{"", "US", "DE", "FR"}

func newTenant(t *rapid.T) *tenant {
	tn := &tenant{dataLoc: "NAM", defLoc: rapid.SampledFrom([]string{"", "US", "DE"}).Draw(t, "defaultUsageLocation"),
		enabled: map[int64]int{}, consumed: map[int64]int{}, waiting: map[int64]int{}, groupErrs: map[int64]int{},
		loc: map[int64]string{}, states: map[int64][]allot.LicenseState{}, direct: map[int64]map[int64][]string{},
		lic: map[int64][]Grant{}, memberOf: map[int64][]membership{}, parents: map[int64][]int64{}, seq: 1, now: 1}
	nu := rapid.IntRange(4, 12).Draw(t, "users")
	np := rapid.IntRange(3, 6).Draw(t, "products")
	ng := rapid.IntRange(2, 5).Draw(t, "groups")
	part := func(i int) string { return fmt.Sprintf("P%d", i) }
	unavailable := rapid.IntRange(0, 2*np).Draw(t, "unavailableProduct") // often none
	for i := 1; i <= np; i++ {
		var opts []productOpt
		others := []string{"GHOST"}
		for j := 1; j <= np; j++ {
			if j != i {
				others = append(others, part(j))
			}
		}
		if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("%s-hasPrereq", part(i))) == 0 {
			opts = append(opts, requires(rapid.SliceOfNDistinct(rapid.SampledFrom(others), 1, 2, rapid.ID[string]).Draw(t, fmt.Sprintf("%s-requires", part(i)))...))
		}
		if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("%s-hasExclusion", part(i))) == 0 {
			opts = append(opts, excludes(rapid.SampledFrom(others[1:]).Draw(t, fmt.Sprintf("%s-excludes", part(i)))))
		}
		if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("%s-hasPlanDependency", part(i))) == 0 {
			opts = append(opts, planNeeds(part(i)+"-a", part(i)+"-b"))
		}
		if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("%s-restricted", part(i))) == 0 {
			opts = append(opts, usableIn(rapid.SliceOfNDistinct(rapid.SampledFrom(locations[1:]), 1, 2, rapid.ID[string]).Draw(t, fmt.Sprintf("%s-usableIn", part(i)))...))
		}
		if i == unavailable {
			opts = append(opts, soldIn("EUR"))
		}
		p := product(int64(i), part(i), 0, 0, opts...)
		tn.prods = append(tn.prods, p)
		tn.enabled[p.ID] = rapid.IntRange(0, nu).Draw(t, fmt.Sprintf("%s-seats", part(i)))
	}
	for i := 1; i <= nu; i++ {
		u := int64(i)
		tn.users = append(tn.users, u)
		tn.loc[u] = rapid.SampledFrom(locations).Draw(t, fmt.Sprintf("user%d-usageLocation", i))
	}
	for i := 0; i < ng; i++ {
		g := int64(101 + i)
		tn.groups = append(tn.groups, g)
		var pids []int64
		for _, p := range tn.prods {
			pids = append(pids, p.ID)
		}
		for _, pid := range rapid.SliceOfNDistinct(rapid.SampledFrom(pids), 0, 3, rapid.ID[int64]).Draw(t, fmt.Sprintf("group%d-products", g)) {
			tn.setLicense(g, pid, drawPlans(t, tn.product(pid), fmt.Sprintf("group%d-P%d-disabled", g, pid)))
		}
		if i > 0 && rapid.Bool().Draw(t, fmt.Sprintf("group%d-nested", g)) {
			tn.parents[g] = []int64{tn.groups[rapid.IntRange(0, i-1).Draw(t, fmt.Sprintf("group%d-parent", g))]}
		}
	}
	for _, u := range tn.users {
		for _, g := range rapid.SliceOfNDistinct(rapid.SampledFrom(tn.groups), 0, 2, rapid.ID[int64]).Draw(t, fmt.Sprintf("user%d-groups", u)) {
			tn.mseq++
			tn.memberOf[u] = append(tn.memberOf[u], membership{g, tn.mseq})
		}
	}
	drawFallbacks(t, tn)
	drawPools(t, tn)
	return tn
}

func (tn *tenant) setLicense(g, pid int64, dis []string) {
	gs := slices.DeleteFunc(tn.lic[g], func(x Grant) bool { return x.ProductID == pid })
	gs = append(gs, Grant{Source: g, ProductID: pid, DisabledPlans: dis})
	sort.Slice(gs, func(a, b int) bool { return gs[a].ProductID < gs[b].ProductID })
	tn.lic[g] = gs
}

func drawProduct(t *rapid.T, tn *tenant, label string) *allot.Product {
	var ids []int64
	for _, p := range tn.prods {
		ids = append(ids, p.ID)
	}
	return tn.product(rapid.SampledFrom(ids).Draw(t, label))
}

// String describes the tenant for failure messages.
func (tn *tenant) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenant: data location %s, default usage location %q\n", tn.dataLoc, tn.defLoc)
	for _, p := range tn.prods {
		fmt.Fprintf(&b, "  product %d %s: seats %d, consumed %d, waiting %d; rules %+v\n", p.ID, p.SkuPartNumber, tn.enabled[p.ID], tn.consumed[p.ID], tn.waiting[p.ID], p.Rules)
	}
	b.WriteString(tn.poolsString())
	for _, g := range tn.groups {
		var ls []string
		for _, gr := range tn.lic[g] {
			ls = append(ls, fmt.Sprintf("%d%v", gr.ProductID, gr.DisabledPlans))
		}
		fmt.Fprintf(&b, "  group %d: in %v, assigns [%s], errors %d, fallbacks %v, VIP %v\n", g, tn.parents[g], strings.Join(ls, " "), tn.groupErrs[g], tn.chainsOf(g), tn.vip[g])
	}
	for _, u := range tn.users {
		var sts []string
		for _, st := range tn.states[u] {
			v := st.State
			if st.Code != "" {
				v = string(st.Code)
			}
			sts = append(sts, fmt.Sprintf("%d@%d=%s#%d%v", st.ProductID, st.Source, v, st.Seq, st.DisabledPlans))
		}
		fmt.Fprintf(&b, "  user %d (%q): in %v (%v), states %s\n", u, tn.loc[u], tn.memberOf[u], tn.chain(u), strings.Join(sts, " "))
	}
	return b.String()
}

func drawPlans(t *rapid.T, p *allot.Product, label string) []string {
	if rapid.IntRange(0, 2).Draw(t, label+"?") > 0 {
		return nil
	}
	var ids []string
	for _, sp := range p.ServicePlans {
		ids = append(ids, sp.ID)
	}
	dis := rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 1, 2, rapid.ID[string]).Draw(t, label)
	slices.Sort(dis)
	return dis
}

// runDirect is assignLicense on one user (rule 2).
func runDirect(t *rapid.T, tn *tenant, u int64, c DirectChange) {
	before := tn.clone()
	s := tn.snapshot([]int64{u}, false)
	p, _, err := decide(t, s, assignDirect(c))
	if err != nil {
		checkDirectError(t, tn, u, c, err)
		finish(t, tn, before, step{})
		return
	}
	tn.apply(t, s, p)
	mayLose, jump := map[[2]int64]bool{}, map[[2]int64]bool{}
	for _, pid := range c.Remove {
		delete(tn.direct[u], pid)
		delete(tn.ends, [2]int64{u, pid})
		mayLose[[2]int64{u, pid}] = true
	}
	for _, g := range c.Add {
		if tn.direct[u] == nil {
			tn.direct[u] = map[int64][]string{}
		}
		tn.direct[u][g.ProductID] = g.DisabledPlans
		tn.setEnd(u, g.ProductID, g.EndsAt)
		jump[[2]int64{u, g.ProductID}] = true
		// Synchronous: it succeeded, so the user has it now.
		if st, _ := findState(tn.states[u], g.ProductID, allot.DirectSource); st.State != allot.StateActive {
			t.Fatalf("rule 2: direct assignment of %d to user %d succeeded but left %+v", g.ProductID, u, st)
		}
	}
	finish(t, tn, before, step{plan: p, mayLose: mayLose, queueJump: jump})
}

// checkDirectError checks that a refused direct change names a reason the
// tenant really has.
func checkDirectError(t *rapid.T, tn *tenant, u int64, c DirectChange, err error) {
	code := allot.ErrorCode(err)
	if !code.IsLicensing() && code != allot.EInvalid {
		t.Fatalf("rule 2: direct change %+v failed with %v (%s)", c, err, code)
	}
	if allot.ErrorMessage(err) == "" {
		t.Fatalf("rule 2: error without a message")
	}
	grantsFrom := func(pid int64) (group, direct bool) {
		for _, g := range tn.grantsOf(u) {
			if g.ProductID == pid {
				group = group || g.Source != allot.DirectSource
				direct = direct || g.Source == allot.DirectSource
			}
		}
		return
	}
	switch code {
	case allot.EInheritedLicense:
		if len(c.Remove) == 0 {
			t.Fatalf("rule 8: %v, but nothing was removed", err)
		}
		if g, d := grantsFrom(c.Remove[0]); !g || d {
			t.Fatalf("rule 8: %v, but user %d has product %d from a group: %v, directly: %v", err, u, c.Remove[0], g, d)
		}
	case allot.EInvalid:
		if len(c.Remove) == 0 {
			t.Fatalf("%v, but nothing was removed", err)
		}
		if g, d := grantsFrom(c.Remove[0]); g || d {
			t.Fatalf("%v, but user %d has product %d", err, u, c.Remove[0])
		}
	case allot.EUsageLocationNeeded:
		if tn.loc[u] != "" {
			t.Fatalf("rule 6: %v, but user %d is in %s", err, u, tn.loc[u])
		}
	case allot.ENoSeats, allot.EDataLocation:
		if len(c.Add) == 0 {
			t.Fatalf("rule 2: %v, but nothing was added", err)
		}
	}
	switch code {
	case allot.ENoSeats:
		pid := c.Add[0].ProductID
		if tn.enabled[pid]-tn.consumed[pid] > 0 && !tn.held(u)[pid] && (!tn.hasPools(pid) || tn.lineHasSeat(pid, tn.lineOf(u, pid))) {
			// A refusal of a kept product for seats would need a seat
			// reduction inside a direct assignment: never.
			t.Fatalf("rule 2: %v, but product %d has %d free seats", err, pid, tn.enabled[pid]-tn.consumed[pid])
		}
	case allot.EDataLocation:
		if Available(tn.product(c.Add[0].ProductID).Rules.AvailableDataLocations, tn.dataLoc) {
			t.Fatalf("rule 2: %v, but product %d is sold here", err, c.Add[0].ProductID)
		}
	}
}

// runBulk is a bulk assignment of p to users, applied (rule 2 per user).
func runBulk(t *rapid.T, tn *tenant, p *allot.Product, users []int64, dis []string) {
	before := tn.clone()
	s := tn.snapshot(users, false)
	plan, extra, _ := decide(t, s, assignBulk(p.ID, dis, 0))
	res := extra.([]BulkResult)
	tn.apply(t, s, plan)
	jump := map[[2]int64]bool{}
	for i, u := range users {
		_, planned := userPlan(plan, u)
		switch {
		case res[i].Via != "":
			if !before.held(u)[p.ID] || planned {
				t.Fatalf("rule 2: bulk left user %d alone (via %q), but it did not hold %d or was planned", u, res[i].Via, p.ID)
			}
		case res[i].Code != "":
			if planned || res[i].Message == "" {
				t.Fatalf("rule 2: bulk failed user %d with %s but planned it", u, res[i].Code)
			}
		default:
			if st, _ := findState(tn.states[u], p.ID, allot.DirectSource); !planned || st.State != allot.StateActive {
				t.Fatalf("rule 2: bulk licensed user %d but left %+v", u, st)
			}
			if tn.direct[u] == nil {
				tn.direct[u] = map[int64][]string{}
			}
			tn.direct[u][p.ID] = dis
			jump[[2]int64{u, p.ID}] = true
		}
	}
	finish(t, tn, before, step{plan: plan, queueJump: jump})
}

// runGroupLicense changes group g's license of product pid: sets it with
// the disabled plans *dis, or removes it when dis is nil. Like the store,
// a removal checks the members (rule 11) and is refused when it would take
// licenses as a side effect, unless confirmed. An addition is not checked
// (rule 5: it takes nothing away): only what it changes on purpose, the
// (g, pid) grant (new disabled plans may break a plan dependency), and
// what needed that may go.
func runGroupLicense(t *rapid.T, tn *tenant, g, pid int64, dis *[]string, confirm bool) {
	before := tn.clone()
	if dis != nil {
		tn.setLicense(g, pid, *dis)
	} else {
		tn.lic[g] = slices.DeleteFunc(tn.lic[g], func(x Grant) bool { return x.ProductID == pid })
	}
	members := tn.members(g)
	if len(members) == 0 {
		finish(t, tn, before, step{})
		return
	}
	removed := Removed{{g, pid}: true}
	s := tn.snapshot(members, true)
	p, _, _ := decide(t, s, recompute) // the check: a preview of the members' recompute
	if dis != nil {
		tn.apply(t, s, p)
		finish(t, tn, before, step{plan: p, mayLose: lossSet(p.ExplicitLosses(removed), true), cascade: true})
		return
	}
	if len(p.Unconfirmed(removed)) > 0 && !confirm {
		tn.lic = before.clone().lic
		finish(t, tn, before, step{})
		return
	}
	tn.apply(t, s, p)
	finish(t, tn, before, step{plan: p, mayLose: lossSet(p.ExplicitLosses(removed), !confirm)})
}

// runMemberRemoval recomputes the users affected by leaving group g, the
// membership already gone: what came through g and its ancestors goes on
// purpose; other losses (an add-on whose prerequisite came through g) are
// refused unless confirmed, as store/sqlstore.RemoveMember does.
func runMemberRemoval(t *rapid.T, tn *tenant, before *tenant, g int64, affected []int64, confirm bool) {
	removed := Removed{{g, 0}: true}
	for _, a := range closure(tn.parents, g) {
		removed[[2]int64{a, 0}] = true
	}
	if len(affected) == 0 {
		finish(t, tn, before, step{})
		return
	}
	s := tn.snapshot(affected, true)
	p, _, _ := decide(t, s, recompute)
	if len(p.Unconfirmed(removed)) > 0 && !confirm {
		tn.memberOf, tn.parents = before.clone().memberOf, before.clone().parents
		finish(t, tn, before, step{})
		return
	}
	tn.apply(t, s, p)
	finish(t, tn, before, step{plan: p, mayLose: lossSet(p.ExplicitLosses(removed), !confirm)})
}

// runSeats changes product pid's enabled seats (rule 9, rule 11).
func runSeats(t *rapid.T, tn *tenant, pid int64, n int, confirm bool) {
	before := tn.clone()
	tn.enabled[pid] = n // the store updates enabledUnits first, then decides
	var holders []int64
	for _, u := range tn.users {
		if tn.held(u)[pid] {
			holders = append(holders, u)
		}
	}
	s := tn.snapshot(holders, true)
	p, _, _ := decide(t, s, reduceSeats(pid, n))
	if n >= tn.consumed[pid] {
		if len(p.Users) != 0 || planChanges(p) {
			t.Fatalf("rule 9: raising seats to %d decided something: %s", n, dump(p))
		}
		tn.converge(t)
		finish(t, tn, before, step{plan: p})
		return
	}
	un := p.Unconfirmed(nil)
	if len(un) < tn.consumed[pid]-n {
		t.Fatalf("rule 11: reducing %d to %d seats (%d used) asks to confirm only %s", pid, n, tn.consumed[pid], losses(un))
	}
	if !confirm {
		tn.enabled = maps.Clone(before.enabled)
		finish(t, tn, before, step{})
		return
	}
	tn.apply(t, s, p)
	finish(t, tn, before, step{plan: p, mayLose: lossSet(p.ExplicitLosses(nil), false)})
}

// lossSet returns the (user, product) pairs of losses; explicitOnly keeps
// only the explicit ones (an unconfirmed change may cause only those).
func lossSet(ls []allot.Loss, explicitOnly bool) map[[2]int64]bool {
	out := map[[2]int64]bool{}
	for _, l := range ls {
		if l.Explicit || !explicitOnly {
			out[[2]int64{l.UserID, l.ProductID}] = true
		}
	}
	return out
}

func finish(t *rapid.T, tn, before *tenant, st step) {
	tn.converge(t)
	checkAll(t, tn, before, st)
}

// checkAll checks the tenant after a step against the tenant before it.
func checkAll(rt *rapid.T, tn, before *tenant, st step) {
	t := &describing{rt, before, tn}
	checkIntents(t, tn)
	checkCounters(t, tn)
	checkRules(t, tn)
	checkGroupModes(t, tn)
	checkQueue(t, tn, before, st)
	checkPools(t, tn, before)
	checkFixedPoint(t, tn)
	checkLosses(t, tn, before, st)
}

// describing adds the tenant before and after the step to a failure.
type describing struct {
	*rapid.T
	before, after *tenant
}

func (d *describing) Fatalf(format string, args ...any) {
	d.T.Helper()
	d.T.Fatalf(format+"\nbefore the step:\n%s\nafter it:\n%s", append(args, d.before, d.after)...)
}

// (a) Effective licenses: each user has exactly one state per intent — a
// direct assignment, or a license of a group the user is in transitively
// — with the intent's disabled plans, and no other state.
func checkIntents(t fataler, tn *tenant) {
	for _, u := range tn.users {
		want := map[[2]int64][]string{}
		for pid, dis := range tn.direct[u] {
			want[[2]int64{allot.DirectSource, pid}] = dis
		}
		for _, g := range tn.chain(u) {
			for _, gr := range tn.lic[g] {
				want[[2]int64{g, gr.ProductID}] = gr.DisabledPlans
			}
		}
		got := map[[2]int64][]string{}
		for _, s := range tn.states[u] {
			k := [2]int64{s.Source, s.ProductID}
			if _, dup := got[k]; dup {
				t.Fatalf("(a) user %d has two states for %v", u, k)
			}
			got[k] = s.DisabledPlans
		}
		got = withoutFallbackStates(t, tn, u, got)
		if !maps.EqualFunc(got, want, func(a, b []string) bool { return slices.Equal(a, b) }) {
			t.Fatalf("(a) user %d: states %v (%s), intents %v", u, got, states(tn.states[u]), want)
		}
	}
}

// (b) consumedUnits is the number of distinct holders, within the seats;
// the waiting and group error counters count users.
func checkCounters(t fataler, tn *tenant) {
	for _, p := range tn.prods {
		holders, waiters := 0, 0
		for _, u := range tn.users {
			if tn.held(u)[p.ID] {
				holders++
			}
			if waitSet(tn.states[u])[p.ID] {
				waiters++
			}
		}
		if tn.consumed[p.ID] != holders || holders > tn.enabled[p.ID] {
			t.Fatalf("(b) product %d: consumed %d, %d holders, %d seats", p.ID, tn.consumed[p.ID], holders, tn.enabled[p.ID])
		}
		if tn.waiting[p.ID] != waiters {
			t.Fatalf("(b) product %d: waiting %d, %d users wait", p.ID, tn.waiting[p.ID], waiters)
		}
	}
	for _, g := range tn.groups {
		n := 0
		for _, u := range tn.users {
			if errGroups(tn.states[u])[g] {
				n++
			}
		}
		if tn.groupErrs[g] != n {
			t.Fatalf("(b) group %d: error count %d, %d members with an error", g, tn.groupErrs[g], n)
		}
	}
}

// (c) No user holds both products of an exclusive pair; every held
// product's prerequisite is held; every active grant satisfies the data
// location, the usage location (rule 6) and the plan dependencies.
func checkRules(t fataler, tn *tenant) {
	cat := NewCatalog(tn.prods)
	d := &decider{cat: cat}
	for _, u := range tn.users {
		held := tn.held(u)
		for pid := range held {
			p := tn.product(pid)
			for qid := range held {
				if q := tn.product(qid); qid != pid && d.exclusive(p, q) {
					t.Fatalf("(c) user %d holds exclusive %s and %s", u, p.SkuPartNumber, q.SkuPartNumber)
				}
			}
			if len(p.Rules.RequiresAnyOf) > 0 && !slices.ContainsFunc(p.Rules.RequiresAnyOf, func(part string) bool {
				q := cat.ByPart(part)
				return q != nil && held[q.ID]
			}) {
				t.Fatalf("(c) user %d holds %s without any of %v: %s", u, p.SkuPartNumber, p.Rules.RequiresAnyOf, states(tn.states[u]))
			}
		}
		for _, s := range tn.states[u] {
			if s.State != allot.StateActive {
				continue
			}
			p := tn.product(s.ProductID)
			loc := tn.loc[u]
			if loc == "" && s.Source != allot.DirectSource {
				loc = tn.defLoc
			}
			switch {
			case !Available(p.Rules.AvailableDataLocations, tn.dataLoc):
				t.Fatalf("(c) user %d holds %s, not sold in %s", u, p.SkuPartNumber, tn.dataLoc)
			case loc == "" || !Available(p.Rules.AllowedUsageLocations, loc):
				t.Fatalf("(c) user %d holds %s from source %d in usage location %q", u, p.SkuPartNumber, s.Source, loc)
			case MissingPlanDependency(p, s.DisabledPlans) != "":
				t.Fatalf("(c) user %d holds %s from source %d with disabled plans %v", u, p.SkuPartNumber, s.Source, s.DisabledPlans)
			}
		}
	}
}

// (c') Rule 5 and its bestEffort exception: a product fails for another
// product of its group only in an allOrNothing group, and only while a
// product of the same group fails for the user for a reason of its own.
func checkGroupModes(t fataler, tn *tenant) {
	for _, u := range tn.users {
		ownFailure := map[int64]bool{}
		for _, s := range tn.states[u] {
			if s.State == allot.StateError && s.Code != allot.EOtherProductFailed {
				ownFailure[s.Source] = true
			}
		}
		for _, s := range tn.states[u] {
			if s.Code != allot.EOtherProductFailed {
				continue
			}
			if tn.bestEffort[s.Source] {
				t.Fatalf("(c') user %d: product %d of bestEffort group %d failed for another product: %s", u, s.ProductID, s.Source, states(tn.states[u]))
			}
			if !ownFailure[s.Source] && !tn.standsIn(u, s) {
				t.Fatalf("(c') user %d: product %d of group %d failed for another product, but none fails: %s", u, s.ProductID, s.Source, states(tn.states[u]))
			}
		}
	}
}

// (d) First waiting, first served: of the users waiting for a product
// before the step, those who got it waited longer than those who still
// wait; nobody else got it while they wait (except by direct assignment,
// which does not queue); and nobody waits while seats are free.
//
// A waiter that could not have used a seat is skipped over, rightly
// (rule 4: "unless another rule blocks them"): its prerequisite or another
// product of the same group has no seat either. blocked tells: given one
// more seat and nobody else in line, the user would still not get it.
func checkQueue(t fataler, tn, before *tenant, st step) {
	for _, p := range tn.prods {
		if tn.hasPools(p.ID) {
			checkPoolQueue(t, tn, before, st, p.ID)
			continue
		}
		var got, still []int64 // places in line before the step
		var newcomers []int64
		for _, u := range tn.users {
			w, waited := waitingSince(before.states[u], p.ID)
			now, had := tn.held(u)[p.ID], before.held(u)[p.ID]
			jump := st.queueJump[[2]int64{u, p.ID}]
			switch {
			case waited && now && !jump:
				got = append(got, w)
			case waited && waitSet(tn.states[u])[p.ID] && !tn.blocked(u, p.ID):
				// Its place now: a step that removed the source it
				// waited through longest moved it back on purpose.
				still = append(still, placeNow(tn, u, p.ID, w))
			case !waited && now && !had && !jump:
				newcomers = append(newcomers, u)
			}
		}
		if len(got) > 0 && len(still) > 0 && slices.Max(got) > slices.Min(still) {
			t.Fatalf("(d) product %d: users waiting since %v got a seat, users waiting since %v still wait", p.ID, got, still)
		}
		if len(still) > 0 && len(newcomers) > 0 {
			t.Fatalf("(d) product %d: users %v got a seat while users waiting since %v still wait", p.ID, newcomers, still)
		}
		if tn.waiting[p.ID] > 0 && tn.consumed[p.ID] < tn.enabled[p.ID] {
			t.Fatalf("(d) product %d: %d users wait while %d of %d seats are used", p.ID, tn.waiting[p.ID], tn.consumed[p.ID], tn.enabled[p.ID])
		}
	}
}

func (tn *tenant) blocked(u, pid int64) bool {
	c := tn.clone()
	c.enabled[pid]++
	c.growLine(u, pid)
	s := c.snapshot([]int64{u}, false)
	return !heldSet(Recompute(s).Users[0].After)[pid]
}

// (e) Reconciling again changes nothing, in any order of the users.
func checkFixedPoint(t fataler, tn *tenant) {
	for _, order := range [][]int64{tn.users, reversed(tn.users)} {
		s := tn.snapshot(order, true)
		if p := Recompute(s); planChanges(p) {
			t.Fatalf("(e) a second reconcile (order %v) changes:\n%s", order, dump(p))
		}
	}
}

func reversed(v []int64) []int64 {
	r := slices.Clone(v)
	slices.Reverse(r)
	return r
}

// (f) No user loses a license that the step did not remove or confirm,
// and (g) the step's plan foretold exactly the losses seen once group
// licensing has caught up.
//
// A loss — a product a user held before the step and does not hold after
// it and the convergence — is allowed when the step lists it in mayLose:
//   - direct removal: the products the admin removed from that user;
//   - group license removal: the check's explicit losses (every active
//     source of the product was the removed (group, product) grant), and
//     when the admin confirmed, every loss the check reported;
//   - group license addition: the explicit losses through the changed
//     (group, product) grant, and (cascade) what needed them;
//   - member removal: the explicit losses through the group left and its
//     ancestors (Removed{(g,0), (ancestor,0)}), and when confirmed, every
//     loss the check reported;
//   - seat reduction, confirmed: every loss ReduceSeats reported;
//   - usage location change (no confirmation in the store): the user's
//     products whose usage location it no longer meets, and (cascade)
//     what needed them.
//
// cascade: the loss of a product whose prerequisite the same user lost in
// an allowed way in the same step. Nothing else: adding members, bulk and
// direct assignment, raising seats and group licensing catching up take
// nothing away.
func checkLosses(t fataler, tn, before *tenant, st step) {
	lost := map[[2]int64]bool{}
	for _, u := range tn.users {
		for pid := range before.held(u) {
			if !tn.held(u)[pid] && !tn.releasedFallback(before, u, pid) {
				lost[[2]int64{u, pid}] = true
			}
		}
	}
	allowed := maps.Clone(st.mayLose)
	if allowed == nil {
		allowed = map[[2]int64]bool{}
	}
	for changed := st.cascade; changed; {
		changed = false
		for k := range lost {
			if allowed[k] {
				continue
			}
			for _, part := range tn.product(k[1]).Rules.RequiresAnyOf {
				if q := NewCatalog(tn.prods).ByPart(part); q != nil && allowed[[2]int64{k[0], q.ID}] && lost[[2]int64{k[0], q.ID}] {
					allowed[k], changed = true, true
					break
				}
			}
		}
	}
	for k := range lost {
		if !allowed[k] {
			t.Fatalf("(f) user %d lost product %d as a side effect: %s → %s", k[0], k[1], states(before.states[k[0]]), states(tn.states[k[0]]))
		}
	}
	foretold := map[[2]int64]bool{}
	if st.plan != nil {
		foretold = lossSet(st.plan.Losses(nil), false)
	}
	if !maps.Equal(lost, foretold) {
		t.Fatalf("(g) the step's plan foretold losses %v, the tenant lost %v", keys(foretold), keys(lost))
	}
}

func keys(m map[[2]int64]bool) string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%d:%d", k[0], k[1]))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// The shortcut for a user with no license and one grant (evaluateSimple)
// decides exactly like the general fixed point: the same user with an
// extra grant of a product the tenant does not have takes the general
// path, and that grant is ignored there.
func TestRule12_TheOneGrantShortcutDecidesLikeTheGeneralRules(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var opts []productOpt
		if rapid.Bool().Draw(t, "restricted") {
			opts = append(opts, usableIn("DE"))
		}
		if rapid.Bool().Draw(t, "soldElsewhere") {
			opts = append(opts, soldIn("EUR"))
		}
		if rapid.Bool().Draw(t, "planDependency") {
			opts = append(opts, planNeeds("VISIO-a", "VISIO-b"))
		}
		enabled := rapid.IntRange(0, 3).Draw(t, "enabled")
		p := visio(enabled, rapid.IntRange(0, enabled).Draw(t, "consumed"), opts...)
		g := Grant{Source: rapid.SampledFrom([]int64{allot.DirectSource, sales}).Draw(t, "source"), ProductID: VISIO,
			DisabledPlans: rapid.SampledFrom([][]string{nil, {"VISIO-b"}, {"VISIO-a", "VISIO-b"}}).Draw(t, "disabled")}
		s := snap(products(p), user(1, rapid.SampledFrom(locations).Draw(t, "usageLocation"), grants(g)))
		s.DefaultUsageLocation = rapid.SampledFrom(locations).Draw(t, "defaultUsageLocation")
		s.WaitingOutside = map[int64]int{VISIO: rapid.IntRange(0, 2).Draw(t, "waitingOutside")}
		general := cloneSnapshot(s)
		general.Users[0].Grants = append(general.Users[0].Grants, via(dev, 99))
		for _, queue := range []bool{true, false} {
			want := newDecider(general, queue).evaluate(general.Users[0], nil)
			got := newDecider(s, queue).evaluate(s.Users[0], nil)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("queue %v: shortcut %+v, general %+v", queue, got, want)
			}
		}
	})
}
