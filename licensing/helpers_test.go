package licensing

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"allot"
)

// Builders: small, explicit snapshots. Products have three service plans,
// "<part>-a", "<part>-b" and "<part>-c".

type productOpt func(*allot.Product)

func product(id int64, part string, enabled, consumed int, opts ...productOpt) *allot.Product {
	p := &allot.Product{ID: id, EnabledUnits: enabled, ConsumedUnits: consumed}
	p.SkuPartNumber = part
	p.DisplayName = part
	for _, s := range []string{"a", "b", "c"} {
		p.ServicePlans = append(p.ServicePlans, allot.ServicePlan{ID: part + "-" + s, Name: strings.ToUpper(part + "_" + s)})
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func requires(parts ...string) productOpt {
	return func(p *allot.Product) { p.Rules.RequiresAnyOf = parts }
}

func excludes(parts ...string) productOpt {
	return func(p *allot.Product) { p.Rules.MutuallyExclusiveWith = parts }
}

func usableIn(locs ...string) productOpt {
	return func(p *allot.Product) { p.Rules.AllowedUsageLocations = locs }
}

func soldIn(geos ...string) productOpt {
	return func(p *allot.Product) { p.Rules.AvailableDataLocations = geos }
}

func planNeeds(plan string, needs ...string) productOpt {
	return func(p *allot.Product) {
		if p.Rules.PlanDependencies == nil {
			p.Rules.PlanDependencies = map[string][]string{}
		}
		p.Rules.PlanDependencies[plan] = needs
	}
}

func displayName(n string) productOpt { return func(p *allot.Product) { p.DisplayName = n } }

func direct(pid int64, disabled ...string) Grant {
	return Grant{Source: allot.DirectSource, ProductID: pid, DisabledPlans: disabled}
}

func via(group, pid int64, disabled ...string) Grant {
	return Grant{Source: group, ProductID: pid, DisabledPlans: disabled}
}

// active and failed are stored states; the user id is filled in by user().
func active(pid, source, seq int64, disabled ...string) allot.LicenseState {
	return allot.LicenseState{ProductID: pid, Source: source, State: allot.StateActive, Seq: seq, DisabledPlans: disabled, UpdatedAt: 1}
}

func failed(pid, source int64, code allot.Code, seq int64) allot.LicenseState {
	return allot.LicenseState{ProductID: pid, Source: source, State: allot.StateError, Code: code, Seq: seq, UpdatedAt: 1}
}

func user(id int64, loc string, grants []Grant, current ...allot.LicenseState) UserInput {
	for i := range current {
		current[i].UserID = id
	}
	return UserInput{UserID: id, UsageLocation: loc, Grants: grants, Current: current}
}

func grants(g ...Grant) []Grant { return g }

const (
	firstSeq = 1000
	now      = 77
)

// snap builds a snapshot in data location NAM with default usage location
// US; groups 7, 8 and 9 are named Sales, Ops and Dev.
func snap(products []*allot.Product, users ...UserInput) *Snapshot {
	return &Snapshot{DataLocation: "NAM", DefaultUsageLocation: "US", Products: products, Users: users,
		GroupNames: map[int64]string{7: "Sales", 8: "Ops", 9: "Dev"}, FirstSeq: firstSeq, Now: now}
}

func products(ps ...*allot.Product) []*allot.Product { return ps }

// cloneSnapshot deep-copies a snapshot, keeping nil slices and maps nil, so
// that reflect.DeepEqual tells whether a decision changed its input.
func cloneSnapshot(s *Snapshot) *Snapshot {
	c := *s
	c.Products = nil
	if s.Products != nil {
		c.Products = make([]*allot.Product, len(s.Products))
	}
	for i, p := range s.Products {
		if p == nil {
			continue
		}
		q := *p
		q.ServicePlans = slices.Clone(p.ServicePlans)
		q.Rules.RequiresAnyOf = slices.Clone(p.Rules.RequiresAnyOf)
		q.Rules.MutuallyExclusiveWith = slices.Clone(p.Rules.MutuallyExclusiveWith)
		q.Rules.AvailableDataLocations = slices.Clone(p.Rules.AvailableDataLocations)
		q.Rules.AllowedUsageLocations = slices.Clone(p.Rules.AllowedUsageLocations)
		if p.Rules.PlanDependencies != nil {
			q.Rules.PlanDependencies = make(map[string][]string, len(p.Rules.PlanDependencies))
			for k, v := range p.Rules.PlanDependencies {
				q.Rules.PlanDependencies[k] = slices.Clone(v)
			}
		}
		c.Products[i] = &q
	}
	c.Users = nil
	if s.Users != nil {
		c.Users = make([]UserInput, len(s.Users))
	}
	for i, u := range s.Users {
		c.Users[i] = cloneUser(u)
	}
	c.WaitingOutside = maps.Clone(s.WaitingOutside)
	if s.Ahead != nil {
		c.Ahead = make(map[int64][]int64, len(s.Ahead))
		for k, v := range s.Ahead {
			c.Ahead[k] = slices.Clone(v)
		}
	}
	c.GroupNames = maps.Clone(s.GroupNames)
	return &c
}

func cloneUser(u UserInput) UserInput {
	v := u
	v.Grants = nil
	if u.Grants != nil {
		v.Grants = make([]Grant, len(u.Grants))
	}
	for j, g := range u.Grants {
		g.DisabledPlans = slices.Clone(g.DisabledPlans)
		v.Grants[j] = g
	}
	v.Current = cloneStates(u.Current)
	return v
}

func cloneStates(ss []allot.LicenseState) []allot.LicenseState {
	if ss == nil {
		return nil
	}
	out := make([]allot.LicenseState, len(ss))
	for i, st := range ss {
		st.DisabledPlans = slices.Clone(st.DisabledPlans)
		out[i] = st
	}
	return out
}

// fataler is what decide needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// decision is one of the package's decision functions bound to its
// arguments. The error is nil for those that cannot fail; extra carries
// what else they return (AssignBulk's results).
type decision func(*Snapshot) (*Plan, any, error)

func recompute(s *Snapshot) (*Plan, any, error) { return Recompute(s), nil, nil }

func assignDirect(c DirectChange) decision {
	return func(s *Snapshot) (*Plan, any, error) {
		p, err := AssignDirect(s, c)
		return p, nil, err
	}
}

func assignBulk(pid int64, disabled []string, reserved int) decision {
	return func(s *Snapshot) (*Plan, any, error) {
		p, res := AssignBulk(s, pid, disabled, reserved)
		return p, res, nil
	}
}

func changeBulk(c BulkDirect) decision {
	return func(s *Snapshot) (*Plan, any, error) {
		p, res := ChangeBulk(s, c)
		return p, res, nil
	}
}

func reduceSeats(pid int64, enabled int) decision {
	return func(s *Snapshot) (*Plan, any, error) { return ReduceSeats(s, pid, enabled), nil, nil }
}

// decide runs a decision the way every test does (rules 10 and 12): on a
// deep copy first (the preview), then on the snapshot itself. Both runs
// must give the same result, neither may change its input, and the plan
// must be consistent with itself.
func decide(t fataler, s *Snapshot, f decision) (*Plan, any, error) {
	t.Helper()
	orig := cloneSnapshot(s)
	copy1 := cloneSnapshot(s)
	pv, pvExtra, pvErr := f(copy1)
	if !reflect.DeepEqual(copy1, orig) {
		t.Fatalf("rule 12: the preview changed its snapshot:\nbefore %+v\nafter  %+v", orig, copy1)
	}
	p, extra, err := f(s)
	if !reflect.DeepEqual(s, orig) {
		t.Fatalf("rule 12: the decision changed its snapshot:\nbefore %+v\nafter  %+v", orig, s)
	}
	if !reflect.DeepEqual(p, pv) || !reflect.DeepEqual(extra, pvExtra) || !reflect.DeepEqual(err, pvErr) {
		t.Fatalf("rule 10: the preview differs from the decision:\npreview %s %v %v\napplied %s %v %v", dump(pv), pvExtra, pvErr, dump(p), extra, err)
	}
	if err != nil && p != nil {
		t.Fatalf("rule 2: a failed decision returned a plan: %s", dump(p))
	}
	if p != nil {
		if msg := planProblem(s, p); msg != "" {
			t.Fatalf("rule 10: inconsistent plan: %s\n%s", msg, dump(p))
		}
	}
	return p, extra, err
}

// planProblem checks a plan against its snapshot: Gained and Lost are the
// difference between the products held Before and After, Changed tells
// whether the states differ, the counters are the sum of the users'
// changes, and new ordering numbers come from the reserved range.
func planProblem(s *Snapshot, p *Plan) string {
	consumed, waiting, groupErrs := map[int64]int{}, map[int64]int{}, map[int64]int{}
	seen := map[int64]bool{}
	for _, up := range p.Users {
		if seen[up.UserID] {
			return fmt.Sprintf("user %d planned twice", up.UserID)
		}
		seen[up.UserID] = true
		hb, ha := heldSet(up.Before), heldSet(up.After)
		var gained, lost []int64
		for pid := range ha {
			if !hb[pid] {
				gained = append(gained, pid)
			}
		}
		for pid := range hb {
			if !ha[pid] {
				lost = append(lost, pid)
			}
		}
		slices.Sort(gained)
		slices.Sort(lost)
		if !slices.Equal(gained, up.Gained) || !slices.Equal(lost, up.Lost) {
			return fmt.Sprintf("user %d: Gained %v Lost %v, but Before→After gains %v and loses %v", up.UserID, up.Gained, up.Lost, gained, lost)
		}
		if up.Changed != !statesEqual(up.Before, up.After) {
			return fmt.Sprintf("user %d: Changed is %v", up.UserID, up.Changed)
		}
		for _, pid := range gained {
			consumed[pid]++
		}
		for _, pid := range lost {
			consumed[pid]--
		}
		for pid := range waitSet(up.Before) {
			waiting[pid]--
		}
		for pid := range waitSet(up.After) {
			waiting[pid]++
		}
		for g := range errGroups(up.Before) {
			groupErrs[g]--
		}
		for g := range errGroups(up.After) {
			groupErrs[g]++
		}
		keys := map[[2]int64]bool{}
		for _, st := range up.After {
			k := [2]int64{st.Source, st.ProductID}
			if keys[k] {
				return fmt.Sprintf("user %d: two states for %v", up.UserID, k)
			}
			keys[k] = true
			if st.UserID != up.UserID {
				return fmt.Sprintf("user %d: a state of user %d", up.UserID, st.UserID)
			}
			if (st.State == allot.StateActive) != (st.Code == "") {
				return fmt.Sprintf("user %d: state %s with code %q", up.UserID, st.State, st.Code)
			}
			if b, ok := findState(up.Before, st.ProductID, st.Source); ok && b.Seq == st.Seq {
				continue
			}
			seq := st.Seq
			if s.VIP[st.Source] && IsVIPPlace(seq) {
				seq += VIPShift // a VIP place (waitroom.go)
			}
			if seq < s.FirstSeq || seq >= s.FirstSeq+int64(p.SeqsUsed) {
				return fmt.Sprintf("user %d: new seq %d outside [%d, %d)", up.UserID, st.Seq, s.FirstSeq, s.FirstSeq+int64(p.SeqsUsed))
			}
		}
	}
	for _, m := range []map[int64]int{consumed, waiting, groupErrs} {
		maps.DeleteFunc(m, func(_ int64, v int) bool { return v == 0 })
	}
	if !maps.Equal(consumed, p.Consumed) || !maps.Equal(waiting, p.Waiting) || !maps.Equal(groupErrs, p.GroupErrors) {
		return fmt.Sprintf("counters %v %v %v, want %v %v %v", p.Consumed, p.Waiting, p.GroupErrors, consumed, waiting, groupErrs)
	}
	if p.SeqsUsed < 0 || p.SeqsUsed > s.SeqsNeeded() {
		return fmt.Sprintf("SeqsUsed %d, SeqsNeeded %d", p.SeqsUsed, s.SeqsNeeded())
	}
	return ""
}

func statesEqual(a, b []allot.LicenseState) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		y, ok := findState(b, x.ProductID, x.Source)
		if !ok || x.State != y.State || x.Code != y.Code || x.Seq != y.Seq || !slices.Equal(x.DisabledPlans, y.DisabledPlans) {
			return false
		}
	}
	return true
}

func heldSet(ss []allot.LicenseState) map[int64]bool {
	m := map[int64]bool{}
	for _, s := range ss {
		if s.State == allot.StateActive {
			m[s.ProductID] = true
		}
	}
	return m
}

func waitSet(ss []allot.LicenseState) map[int64]bool {
	m := map[int64]bool{}
	for _, s := range ss {
		if IsWaiting(s.Code) {
			m[s.ProductID] = true
		}
	}
	return m
}

func errGroups(ss []allot.LicenseState) map[int64]bool {
	m := map[int64]bool{}
	for _, s := range ss {
		if s.Source != allot.DirectSource && s.State == allot.StateError {
			m[s.Source] = true
		}
	}
	return m
}

// states renders a user's states as "product@source=Active" or
// "product@source=code", sorted, for comparisons.
func states(ss []allot.LicenseState) string {
	var out []string
	for _, s := range ss {
		v := s.State
		if s.Code != "" {
			v = string(s.Code)
		}
		out = append(out, fmt.Sprintf("%d@%d=%s", s.ProductID, s.Source, v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func userPlan(p *Plan, uid int64) (UserPlan, bool) {
	for _, up := range p.Users {
		if up.UserID == uid {
			return up, true
		}
	}
	return UserPlan{}, false
}

func stateOf(p *Plan, uid, pid, source int64) allot.LicenseState {
	up, _ := userPlan(p, uid)
	st, _ := findState(up.After, pid, source)
	return st
}

func losses(ls []allot.Loss) string {
	var out []string
	for _, l := range ls {
		e := ""
		if l.Explicit {
			e = "!"
		}
		out = append(out, fmt.Sprintf("%d:%d:%s%s", l.UserID, l.ProductID, l.Reason, e))
	}
	return strings.Join(out, " ")
}

func dump(p *Plan) string {
	if p == nil {
		return "<nil plan>"
	}
	var b strings.Builder
	for _, up := range p.Users {
		fmt.Fprintf(&b, "  user %d changed=%v gained=%v lost=%v\n    before: %s\n    after:  %s\n", up.UserID, up.Changed, up.Gained, up.Lost, states(up.Before), states(up.After))
	}
	fmt.Fprintf(&b, "  consumed=%v waiting=%v groupErrors=%v seqsUsed=%d", p.Consumed, p.Waiting, p.GroupErrors, p.SeqsUsed)
	return b.String()
}

// apply returns the snapshot's users with their states replaced by the
// plan's After: what a store would load next.
func apply(s *Snapshot, p *Plan) *Snapshot {
	n := cloneSnapshot(s)
	for i := range n.Users {
		if up, ok := userPlan(p, n.Users[i].UserID); ok {
			n.Users[i].Current = cloneStates(up.After)
		}
	}
	for _, pr := range n.Products {
		pr.ConsumedUnits += p.Consumed[pr.ID]
	}
	n.FirstSeq += int64(s.SeqsNeeded())
	n.Now++
	return n
}

// ruleCase is one row of a rule's table: a snapshot, a decision (Recompute
// when nil) and what to expect. Unset expectations are not checked.
type ruleCase struct {
	name string
	snap *Snapshot
	do   decision
	// wantErr is the error code a failing decision must return, and
	// wantMsg words its message must contain.
	wantErr allot.Code
	wantMsg []string
	// want maps a user to its states after the decision (see states).
	want map[int64]string
	// gained and lost map a user to the products it takes or gives back.
	gained, lost map[int64][]int64
	// consumed and waiting are the plan's counter changes.
	consumed, waiting map[int64]int
	// unchanged lists users whose plan must not change anything.
	unchanged []int64
	// check runs further checks on the plan.
	check func(t *testing.T, s *Snapshot, p *Plan, extra any)
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			do := c.do
			if do == nil {
				do = recompute
			}
			p, extra, err := decide(t, c.snap, do)
			if c.wantErr != "" || err != nil {
				if allot.ErrorCode(err) != c.wantErr {
					t.Fatalf("error %v (code %q), want code %q", err, allot.ErrorCode(err), c.wantErr)
				}
				for _, w := range c.wantMsg {
					if !strings.Contains(allot.ErrorMessage(err), w) {
						t.Errorf("message %q does not say %q", allot.ErrorMessage(err), w)
					}
				}
				return
			}
			for uid, w := range c.want {
				up, ok := userPlan(p, uid)
				if !ok {
					t.Errorf("user %d not in the plan", uid)
					continue
				}
				if got := states(up.After); got != w {
					t.Errorf("user %d: states %q, want %q", uid, got, w)
				}
			}
			for uid, w := range c.gained {
				if up, _ := userPlan(p, uid); !slices.Equal(up.Gained, w) {
					t.Errorf("user %d: gained %v, want %v", uid, up.Gained, w)
				}
			}
			for uid, w := range c.lost {
				if up, _ := userPlan(p, uid); !slices.Equal(up.Lost, w) {
					t.Errorf("user %d: lost %v, want %v", uid, up.Lost, w)
				}
			}
			if c.consumed != nil && !maps.Equal(p.Consumed, c.consumed) {
				t.Errorf("consumed %v, want %v", p.Consumed, c.consumed)
			}
			if c.waiting != nil && !maps.Equal(p.Waiting, c.waiting) {
				t.Errorf("waiting %v, want %v", p.Waiting, c.waiting)
			}
			for _, uid := range c.unchanged {
				if up, _ := userPlan(p, uid); up.Changed {
					t.Errorf("user %d changed: %s → %s", uid, states(up.Before), states(up.After))
				}
			}
			if c.check != nil {
				c.check(t, c.snap, p, extra)
			}
			if t.Failed() {
				t.Logf("plan:\n%s", dump(p))
			}
		})
	}
}

// m is shorthand for the counter maps of ruleCase.
type m = map[int64]int

// ids is shorthand for product id lists.
func ids(v ...int64) []int64 { return v }
