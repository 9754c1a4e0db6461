package licensing

import (
	"slices"

	"allot"
)

// UserPlan is what a plan does to one user.
type UserPlan struct {
	UserID int64
	// Before are the user's states as loaded; After are the states the user
	// should have, one per grant.
	Before, After []allot.LicenseState
	// Gained and Lost list the products whose seat the user takes or gives
	// back, in ascending id order.
	Gained, Lost []int64
	// Changed tells whether After differs from Before.
	Changed bool
	// Released lists the products of Lost that the user gives back because
	// it got a product ahead of them in a fallback chain: no loss.
	Released []int64
}

// decider evaluates users one after another against seats that it hands
// out as it goes. It works on its own copies of the counters.
type decider struct {
	cat      *Catalog
	snap     *Snapshot
	consumed map[int64]int
	enabled  map[int64]int
	// queue tells whether users waiting outside the snapshot keep their
	// place (group licensing); direct assignment does not queue.
	queue bool
	seq   int64
	// pending lists, per product, the places in line (ascending) of the
	// snapshot's users who wait for it and are not served yet (Recompute):
	// a user served earlier, because it waits longer for another product,
	// may not take the seats they are owed.
	pending map[int64][]int64
	// yielded tells whether a user was refused a seat that was free but
	// owed to a user of the snapshot waiting longer (pending).
	yielded bool
	// standIn lists the grants a fallback stands in for while they wait,
	// with their waiting code (fallback.go).
	standIn map[key]allot.Code
	// pools and pooled index the snapshot's license pools by id and by
	// product; linePending is pending per line of a product with pools
	// (pools.go).
	pools       map[int64]Pool
	pooled      map[int64][]int64
	linePending map[Line][]int64
}

func newDecider(s *Snapshot, queue bool) *decider {
	d := &decider{cat: NewCatalog(s.Products), snap: s, queue: queue, seq: s.FirstSeq,
		consumed: make(map[int64]int, len(s.Products)), enabled: make(map[int64]int, len(s.Products))}
	for _, p := range s.Products {
		d.consumed[p.ID] = p.ConsumedUnits
		d.enabled[p.ID] = p.EnabledUnits
	}
	d.initPools()
	return d
}

func (d *decider) nextSeq() int64 {
	d.seq++
	return d.seq - 1
}

// save and restore let a caller undo one user's evaluation (bulk
// assignment: a user who fails leaves no trace).
func (d *decider) save() (map[int64]int, int64) {
	c := make(map[int64]int, len(d.consumed))
	for k, v := range d.consumed {
		c[k] = v
	}
	return c, d.seq
}

func (d *decider) restore(c map[int64]int, seq int64) { d.consumed, d.seq = c, seq }

type key struct{ source, product int64 }

// evaluation is the state of one user's fixed point.
type evaluation struct {
	d        *decider
	u        UserInput
	grants   []Grant
	failed   map[key]allot.Code
	held     map[int64]bool // products the user holds now, from any source
	heldFrom map[key]bool   // (source, product) grants active now
	reserved map[int64]bool // products whose seat the user takes now
}

// evaluate applies the rules to one user whose stored states are u.Current;
// before are the states to report as Before (the same, except in a seat
// reduction). It is deterministic, and evaluating its own output again
// changes nothing.
func (d *decider) evaluate(u UserInput, before []allot.LicenseState) UserPlan {
	if out, ok := d.evaluateFallbacks(u, before); ok {
		return out
	}
	return d.evaluatePlain(u, before)
}

// evaluatePlain is evaluate without fallback chains.
func (d *decider) evaluatePlain(u UserInput, before []allot.LicenseState) UserPlan {
	if out, ok := d.evaluateSimple(u, before); ok {
		return out
	}
	e := &evaluation{d: d, u: u, failed: map[key]allot.Code{}, held: map[int64]bool{}, heldFrom: map[key]bool{}, reserved: map[int64]bool{}}
	for _, s := range u.Current {
		if s.State == allot.StateActive {
			e.held[s.ProductID] = true
			e.heldFrom[key{s.Source, s.ProductID}] = true
		}
	}
	for _, g := range u.Grants {
		p := d.cat.Product(g.ProductID)
		if p == nil || g.Ended(d.snap.Now) {
			continue
		}
		e.grants = append(e.grants, g)
		if c := d.standIn[key{g.Source, g.ProductID}]; c != "" {
			e.failed[key{g.Source, g.ProductID}] = c
		} else if c := d.staticCheck(p, g, u.UsageLocation); c != "" {
			e.failed[key{g.Source, g.ProductID}] = c
		}
	}
	for e.relations() || e.capacity() {
	}
	return e.result(before)
}

// relations applies rule 5 (all or nothing per group, for what the user
// does not hold yet) and rule 7 (prerequisites and exclusions after all
// sources are merged) until nothing changes. It reports whether it failed
// anything.
func (e *evaluation) relations() bool {
	any := false
	for {
		changed := e.allOrNothing()
		active := e.active()
		for _, g := range e.grants {
			k := key{g.Source, g.ProductID}
			if _, bad := e.failed[k]; bad {
				continue
			}
			if c := e.d.relationCheck(e.d.cat.Product(g.ProductID), active, e.held); c != "" {
				e.failed[k] = c
				changed = true
			}
		}
		if !changed {
			return any
		}
		any = true
	}
}

// capacity gives each product the user does not hold yet a free seat, or
// fails its grants with CountViolation. It reports whether it failed any.
// Once a product has failed in a pass, products with prerequisites wait for
// the next pass, after the rules ran again: an add-on whose prerequisite
// just failed then fails for the prerequisite, whatever its own seats, so
// the state does not depend on the seats of a product the user could not
// have anyway.
func (e *evaluation) capacity() bool {
	failed := false
	active := e.active()
	for _, pid := range sortedKeys(active) {
		if e.held[pid] || e.reserved[pid] {
			continue
		}
		if failed && len(e.d.cat.Product(pid).Rules.RequiresAnyOf) > 0 {
			continue
		}
		if e.d.free(pid, &e.u) > 0 {
			e.reserved[pid] = true
			e.d.consumed[pid]++
			e.d.takePool(pid, &e.u, 1)
			continue
		}
		code := allot.ENoSeats
		if reducedBefore(e.u.Current, pid) {
			code = allot.ESeatsReduced
		}
		for _, g := range e.grants {
			if k := (key{g.Source, pid}); g.ProductID == pid {
				if _, bad := e.failed[k]; !bad {
					e.failed[k] = code
				}
			}
		}
		failed = true
	}
	return failed
}

// free returns the seats of product pid the user may take: those not in
// use, less those owed to users who wait longer (group licensing only).
// Ahead may list only the first users waiting outside (or none, when the
// product had no free seat as loaded, though the plan may free some): when
// all of those wait longer, so may every one not listed.
func (d *decider) free(pid int64, u *UserInput) int {
	if len(d.pooled[pid]) > 0 {
		return d.poolFree(pid, u)
	}
	cur := u.Current
	free := d.enabled[pid] - d.consumed[pid]
	if !d.queue {
		return free
	}
	if w, waiting := waitingSince(cur, pid); waiting {
		ahead := countBelow(d.snap.Ahead[pid], w)
		if ahead == len(d.snap.Ahead[pid]) {
			ahead = max(ahead, d.snap.WaitingOutside[pid])
		}
		return d.owe(free-ahead, countBelow(d.pending[pid], w))
	}
	return d.owe(free-d.snap.WaitingOutside[pid], len(d.pending[pid]))
}

// owe returns the free seats less those owed to pending users, and notes
// when what is owed is all that kept a seat from the user.
func (d *decider) owe(free, owed int) int {
	if free > 0 && free <= owed {
		d.yielded = true
	}
	return free - owed
}

// waitFor records the places in line of users who wait (pending); serve
// takes a user's places out of it when its turn comes.
// Places in gaveUp are left out: those users will not take the seat.
func (d *decider) waitFor(users []UserInput, gaveUp map[int64]map[int64]bool) {
	d.pending = map[int64][]int64{}
	for _, u := range users {
		for pid := range awaited(u.Current) {
			w, _ := waitingSince(u.Current, pid)
			if gaveUp[pid][w] {
				continue
			}
			d.pending[pid] = append(d.pending[pid], w)
		}
	}
	for _, seqs := range d.pending {
		slices.Sort(seqs)
	}
	d.waitForLines(users, gaveUp)
}

func (d *decider) serve(u *UserInput) {
	d.serveLines(u)
	cur := u.Current
	for pid := range awaited(cur) {
		w, _ := waitingSince(cur, pid)
		if i, ok := slices.BinarySearch(d.pending[pid], w); ok {
			d.pending[pid] = slices.Delete(d.pending[pid], i, i+1)
		}
	}
}

// awaited returns the products a user with these states waits for.
func awaited(cur []allot.LicenseState) map[int64]bool {
	m := map[int64]bool{}
	for _, s := range cur {
		if isWaiting(s.Code) {
			m[s.ProductID] = true
		}
	}
	return m
}

// allOrNothing fails the products of a group that the user does not hold
// through it yet when another product of the group fails (rule 5). Grants
// the user already holds through the group are never taken away by it. A
// bestEffort group's products stand each on its own.
func (e *evaluation) allOrNothing() bool {
	changed := false
	bad := map[int64]bool{}
	for _, g := range e.grants {
		if _, f := e.failed[key{g.Source, g.ProductID}]; f && g.Source != allot.DirectSource && !e.d.snap.BestEffort[g.Source] && e.d.standIn[key{g.Source, g.ProductID}] == "" {
			bad[g.Source] = true
		}
	}
	for _, g := range e.grants {
		k := key{g.Source, g.ProductID}
		if _, f := e.failed[k]; !f && bad[g.Source] && !e.heldFrom[k] {
			e.failed[k] = allot.EOtherProductFailed
			changed = true
		}
	}
	return changed
}

func (e *evaluation) active() map[int64]bool {
	a := map[int64]bool{}
	for _, g := range e.grants {
		if _, f := e.failed[key{g.Source, g.ProductID}]; !f {
			a[g.ProductID] = true
		}
	}
	return a
}

// result gives back reservations that later failures made unnecessary and
// builds the user's plan.
func (e *evaluation) result(before []allot.LicenseState) UserPlan {
	d := e.d
	active := e.active()
	out := UserPlan{UserID: e.u.UserID, Before: before}
	for _, pid := range sortedKeys(e.reserved) {
		if active[pid] {
			out.Gained = append(out.Gained, pid)
		} else {
			d.consumed[pid]--
			d.takePool(pid, &e.u, -1)
		}
	}
	for _, pid := range sortedKeys(e.held) {
		if !active[pid] {
			out.Lost = append(out.Lost, pid)
			if d.cat.Product(pid) != nil {
				d.consumed[pid]--
				d.takePool(pid, &e.u, -1)
			}
		}
	}
	current := make(map[key]allot.LicenseState, len(e.u.Current))
	for _, s := range e.u.Current {
		current[key{s.Source, s.ProductID}] = s
	}
	for _, g := range e.grants {
		st := allot.LicenseState{UserID: e.u.UserID, ProductID: g.ProductID, Source: g.Source, DisabledPlans: g.DisabledPlans, State: allot.StateActive}
		if c, bad := e.failed[key{g.Source, g.ProductID}]; bad {
			st.State, st.Code = allot.StateError, c
		}
		out.After = append(out.After, d.stamp(st, current))
	}
	out.Changed = !sameStates(before, out.After)
	return out
}

// stamp gives a new state its ordering number and time: an unchanged state
// keeps both; one that still waits keeps its place in the queue.
func (d *decider) stamp(st allot.LicenseState, current map[key]allot.LicenseState) allot.LicenseState {
	cur, had := current[key{st.Source, st.ProductID}]
	switch {
	case had && cur.State == st.State && cur.Code == st.Code && slices.Equal(cur.DisabledPlans, st.DisabledPlans):
		st.Seq, st.UpdatedAt = cur.Seq, cur.UpdatedAt
	case had && cur.State == st.State && cur.Code == st.Code, had && isWaiting(cur.Code) && isWaiting(st.Code):
		st.Seq, st.UpdatedAt = cur.Seq, d.snap.Now
	default:
		st.Seq, st.UpdatedAt = d.place(d.nextSeq(), st), d.snap.Now
	}
	return st
}

// sameStates tells whether two state lists are equal, in any order.
func sameStates(a, b []allot.LicenseState) bool {
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

func findState(ss []allot.LicenseState, product, source int64) (allot.LicenseState, bool) {
	for _, s := range ss {
		if s.ProductID == product && s.Source == source {
			return s, true
		}
	}
	return allot.LicenseState{}, false
}

// evaluateSimple is evaluate for the most common case, a user who has no
// license yet and one grant of a product that depends on no other product:
// the same result without the general fixed point's allocations.
func (d *decider) evaluateSimple(u UserInput, before []allot.LicenseState) (UserPlan, bool) {
	if len(u.Current) != 0 || len(u.Grants) != 1 || len(before) != 0 {
		return UserPlan{}, false
	}
	g := u.Grants[0]
	p := d.cat.Product(g.ProductID)
	if p == nil || g.Ended(d.snap.Now) || len(p.Rules.RequiresAnyOf) > 0 || len(p.Rules.MutuallyExclusiveWith) > 0 {
		return UserPlan{}, false
	}
	st := allot.LicenseState{UserID: u.UserID, ProductID: g.ProductID, Source: g.Source, DisabledPlans: g.DisabledPlans,
		State: allot.StateActive, UpdatedAt: d.snap.Now}
	out := UserPlan{UserID: u.UserID, Changed: true}
	if c := d.staticCheck(p, g, u.UsageLocation); c != "" {
		st.State, st.Code = allot.StateError, c
	} else if d.free(p.ID, &u) > 0 {
		d.consumed[p.ID]++
		d.takePool(p.ID, &u, 1)
		out.Gained = []int64{p.ID}
	} else {
		st.State, st.Code = allot.StateError, allot.ENoSeats
	}
	st.Seq = d.place(d.nextSeq(), st)
	out.After = []allot.LicenseState{st}
	return out, true
}
