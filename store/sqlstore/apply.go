package sqlstore

import (
	"slices"
	"sort"
	"strings"

	"allot"
	"allot/licensing"
)

// batchResult counts what a batch did.
type batchResult struct {
	Changed   int
	Succeeded map[int64]int // per group source: users granted everything
	Failed    map[int64]int // per group source: users with an error
}

type stateKey struct{ u, p, s int64 }

// stateWrites are the rows a plan changes.
type stateWrites struct {
	upserts, inserts []allot.LicenseState
	deletes          []stateKey
}

// apply writes a plan: changed states in sorted multi-row statements, audit
// events, the seat, waiting and group error counters; then it marks
// the users waiting for the seats it freed. It decides nothing.
func (t *tx) apply(b *batch, plan *licensing.Plan, a allot.Actor, res *batchResult) error {
	if t.onApply != nil {
		t.onApply(b, plan)
	}
	var w stateWrites
	var changed []int64
	for _, up := range plan.Users {
		if res.Succeeded != nil {
			tally(up, res)
		}
		if up.Changed {
			res.Changed++
			w.add(up)
			changed = append(changed, up.UserID)
		}
	}
	if err := t.writeStates(&w); err != nil {
		return err
	}
	if err := t.applyPlanRules(b.tenant.ID, plan); err != nil {
		return err
	}
	// Their assignedLicenses and licenseAssignmentStates changed.
	t.recordUsers(b.tenant.ID, changed)
	t.s.failpoint("apply.states", res.Changed)
	if err := t.auditPlan(b, plan, a); err != nil {
		return err
	}
	t.s.failpoint("apply.audit", res.Changed)
	// The counters last: a product row that the guarded update locks is
	// held from here to the commit only (decide).
	touched, err := t.applyCounters(plan)
	if err != nil {
		return err
	}
	t.s.failpoint("apply.counters", res.Changed)
	if err := t.applyDimCounts(b, plan); err != nil {
		return err
	}
	// Seats freed here, or waiters that this batch skipped, go to the
	// longest-waiting users. So does a seat that a waiter who left the line
	// here was marked for: counters can come out even (one waiter leaves,
	// another joins) while the head of the line changed.
	if ps := lineChanges(plan, touched); len(ps) > 0 {
		return t.markWaiters(b.tenant.ID, ps)
	}
	return nil
}

// lineChanges returns the products whose counters the plan changed
// (touched) and those of which a changed user joined or left the line of
// waiters, in ascending order.
func lineChanges(plan *licensing.Plan, touched []int64) []int64 {
	ps := slices.Clone(touched)
	for _, up := range plan.Users {
		if !up.Changed {
			continue
		}
		for _, sts := range [][]allot.LicenseState{up.Before, up.After} {
			for _, st := range sts {
				if licensing.IsWaiting(st.Code) {
					ps = append(ps, st.ProductID)
				}
			}
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// add collects one user's changed rows. A user has a handful of states:
// linear scans beat maps here.
func (w *stateWrites) add(up licensing.UserPlan) {
	for _, s := range up.After {
		c, ok := findState(up.Before, s.ProductID, s.Source)
		if !ok {
			w.inserts = append(w.inserts, s)
		} else if c.State != s.State || c.Code != s.Code || c.Seq != s.Seq || !slices.Equal(c.DisabledPlans, s.DisabledPlans) {
			w.upserts = append(w.upserts, s)
		}
	}
	for _, c := range up.Before {
		if _, ok := findState(up.After, c.ProductID, c.Source); !ok {
			w.deletes = append(w.deletes, stateKey{c.UserID, c.ProductID, c.Source})
		}
	}
}

func (t *tx) writeStates(w *stateWrites) error {
	if err := t.deleteStates(w.deletes); err != nil {
		return err
	}
	sortStates(w.upserts)
	if err := t.upsertStates(w.upserts); err != nil {
		return err
	}
	sortStates(w.inserts)
	return t.insertStates(w.inserts)
}

// applyCounters changes the products' seat and waiting counters (seats with
// a guarded update) and the groups' error counts, in id order; it returns
// the products it changed.
func (t *tx) applyCounters(plan *licensing.Plan) ([]int64, error) {
	var touched []int64
	ids := sortedIDs(plan.Consumed)
	for _, pid := range sortedIDs(plan.Waiting) {
		if !slices.Contains(ids, pid) {
			ids = append(ids, pid)
		}
	}
	slices.Sort(ids)
	for _, pid := range ids {
		if err := t.addSeats(pid, plan.Consumed[pid], plan.Waiting[pid]); err != nil {
			return nil, err
		}
		touched = append(touched, pid)
	}
	for _, g := range sortedIDs(plan.GroupErrors) {
		if t.preview {
			break // nothing a preview reports reads them
		}
		if _, err := t.exec(`UPDATE dir_groups SET error_count = error_count + ? WHERE id = ?`, plan.GroupErrors[g], g); err != nil {
			return nil, err
		}
	}
	return touched, nil
}

// auditPlan writes one "Change user license" event per distinct change of
// the users' active products (before → after), covering every user with it.
func (t *tx) auditPlan(b *batch, plan *licensing.Plan, a allot.Actor) error {
	audits := map[[2]string][]int64{}
	var transitions [][2]string
	for _, up := range plan.Users {
		if !up.Changed {
			continue
		}
		before, after := productNames(b.cat, heldOf(up.Before)), productNames(b.cat, heldOf(up.After))
		if before == after && len(up.Gained)+len(up.Lost) == 0 {
			continue
		}
		k := [2]string{before, after}
		if _, ok := audits[k]; !ok {
			transitions = append(transitions, k)
		}
		audits[k] = append(audits[k], up.UserID)
	}
	for _, k := range transitions {
		users := audits[k]
		ev := allot.AuditEvent{Activity: allot.ActChangeUserLicense, TargetKind: "User",
			Changes: []allot.Change{{Property: "AssignedLicense", Old: k[0], New: k[1]}}}
		if len(users) == 1 {
			if err := t.queryRow(`SELECT guid FROM users WHERE id = ?`, users[0]).Scan(&ev.TargetID); err != nil {
				return err
			}
		}
		if err := t.auditUsers(b.tenant.ID, a, ev, users); err != nil {
			return err
		}
	}
	return nil
}

func tally(up licensing.UserPlan, res *batchResult) {
	bad := map[int64]bool{}
	has := map[int64]bool{}
	for _, s := range up.After {
		if s.Source == allot.DirectSource {
			continue
		}
		has[s.Source] = true
		if s.State != allot.StateActive {
			bad[s.Source] = true
		}
	}
	for g := range has {
		if bad[g] {
			res.Failed[g]++
		} else {
			res.Succeeded[g]++
		}
	}
}

func findState(ss []allot.LicenseState, product, source int64) (allot.LicenseState, bool) {
	for _, s := range ss {
		if s.ProductID == product && s.Source == source {
			return s, true
		}
	}
	return allot.LicenseState{}, false
}

func (t *tx) deleteStates(keys []stateKey) error {
	for start := 0; start < len(keys); start += 300 {
		chunk := keys[start:min(start+300, len(keys))]
		var b strings.Builder
		b.WriteString(`DELETE FROM license_states WHERE `)
		args := make([]any, 0, len(chunk)*3)
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(user_id = ? AND product_id = ? AND source_id = ?)")
			args = append(args, k.u, k.p, k.s)
		}
		if _, err := t.exec(b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// stateArgs appends a state's columns; group states keep their disabled
// plans in group_licenses only.
func stateArgs(args []any, s allot.LicenseState) []any {
	dis := ""
	if s.Source == allot.DirectSource {
		dis = encodePlans(s.DisabledPlans)
	}
	return append(args, s.UserID, s.ProductID, s.Source, s.State, string(s.Code), dis, s.Seq, s.UpdatedAt)
}

// insertStates writes states that do not exist yet (COPY on PostgreSQL).
func (t *tx) insertStates(ss []allot.LicenseState) error {
	return t.copyRows("license_states", []string{"user_id", "product_id", "source_id", "state", "code", "disabled_plans", "seq", "updated_at"}, len(ss),
		func(i int, args []any) []any { return stateArgs(args, ss[i]) })
}

func sortStates(ss []allot.LicenseState) {
	sort.Slice(ss, func(i, j int) bool {
		x, y := ss[i], ss[j]
		if x.UserID != y.UserID {
			return x.UserID < y.UserID
		}
		if x.ProductID != y.ProductID {
			return x.ProductID < y.ProductID
		}
		return x.Source < y.Source
	})
}

func (t *tx) upsertStates(ss []allot.LicenseState) error {
	return t.insertRows(`INSERT INTO license_states (user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at) VALUES `, 8,
		` ON CONFLICT (user_id, product_id, source_id) DO UPDATE SET state = excluded.state, code = excluded.code,
			disabled_plans = excluded.disabled_plans, seq = excluded.seq, updated_at = excluded.updated_at`, len(ss), 1000,
		func(i int, args []any) []any { return stateArgs(args, ss[i]) })
}
