package licensing

import (
	"fmt"
	"slices"
	"strings"

	"allot"
	"pgregory.net/rapid"
)

// The property test's model of license pools (pools.go): random pools of
// random products, scoped to a department or a group (transitively), with
// borrowing on or off. A user's pool for a product is the lowest-id pool of
// the product whose scope holds the user, as the store decides it.

// poolScope is a pool's assignee scope: a department value or a group.
type poolScope struct {
	dept  string
	group int64
}

// modelPool is a pool of the model; Pool.Held is computed when needed.
type modelPool struct {
	Pool
	scope poolScope
}

var departments = []string{"", "Sales", "Ops"}

// drawPools draws departments for the users and up to three pools.
func drawPools(t *rapid.T, tn *tenant) {
	tn.dept = map[int64]string{}
	for _, u := range tn.users {
		tn.dept[u] = rapid.SampledFrom(departments).Draw(t, fmt.Sprintf("user%d-department", u))
	}
	n := rapid.IntRange(0, 3).Draw(t, "pools")
	for i := 0; i < n; i++ {
		p := drawProduct(t, tn, fmt.Sprintf("pool%d-product", i))
		mp := modelPool{Pool: Pool{ID: int64(501 + i), ProductID: p.ID, AllowsBorrowing: rapid.Bool().Draw(t, fmt.Sprintf("pool%d-borrowing", i))}}
		room := tn.enabled[p.ID]
		for _, q := range tn.pools {
			if q.ProductID == p.ID {
				room -= q.AllottedUnits
			}
		}
		mp.AllottedUnits = rapid.IntRange(0, max(0, room)).Draw(t, fmt.Sprintf("pool%d-allotted", i))
		if rapid.Bool().Draw(t, fmt.Sprintf("pool%d-byGroup", i)) {
			mp.scope.group = rapid.SampledFrom(tn.groups).Draw(t, fmt.Sprintf("pool%d-group", i))
		} else {
			mp.scope.dept = rapid.SampledFrom(departments[1:]).Draw(t, fmt.Sprintf("pool%d-department", i))
		}
		tn.pools = append(tn.pools, mp)
	}
}

func (tn *tenant) inScope(u int64, sc poolScope) bool {
	if sc.group != 0 {
		return tn.inGroup(u, sc.group)
	}
	return sc.dept != "" && strings.EqualFold(tn.dept[u], sc.dept)
}

// lineOf returns the id of user u's pool for product pid (0: none).
func (tn *tenant) lineOf(u, pid int64) int64 {
	for _, p := range tn.pools { // in id order
		if p.ProductID == pid && tn.inScope(u, p.scope) {
			return p.ID
		}
	}
	return 0
}

func (tn *tenant) poolsOf(u int64) map[int64]int64 {
	var out map[int64]int64
	for _, p := range tn.prods {
		if id := tn.lineOf(u, p.ID); id != 0 {
			if out == nil {
				out = map[int64]int64{}
			}
			out[p.ID] = id
		}
	}
	return out
}

func (tn *tenant) hasPools(pid int64) bool {
	return slices.ContainsFunc(tn.pools, func(p modelPool) bool { return p.ProductID == pid })
}

// loadedPools returns the pools with their holder counts, as a store loads them.
func (tn *tenant) loadedPools() []Pool {
	var out []Pool
	for _, mp := range tn.pools {
		p := mp.Pool
		for _, u := range tn.users {
			if tn.held(u)[p.ProductID] && tn.lineOf(u, p.ProductID) == p.ID {
				p.Held++
			}
		}
		out = append(out, p)
	}
	return out
}

func (tn *tenant) pool(id int64) Pool {
	for _, p := range tn.loadedPools() {
		if p.ID == id {
			return p
		}
	}
	return Pool{}
}

func (tn *tenant) productPools(pid int64) []Pool {
	var out []Pool
	for _, p := range tn.loadedPools() {
		if p.ProductID == pid {
			out = append(out, p)
		}
	}
	return out
}

// snapshotPools adds the pools and, for group licensing, the waiters outside
// the snapshot per line, as store/sqlstore.loadPools does.
func (tn *tenant) snapshotPools(s *Snapshot, in map[int64]bool, queue bool) {
	s.Pools = tn.loadedPools()
	if !queue || len(s.Pools) == 0 {
		return
	}
	s.LineOutside, s.LineAhead = map[Line]int{}, map[Line][]int64{}
	for _, u := range tn.users {
		for _, p := range tn.prods {
			w, ok := waitingSince(tn.states[u], p.ID)
			if !ok || in[u] || !tn.hasPools(p.ID) {
				continue
			}
			l := Line{p.ID, tn.lineOf(u, p.ID)}
			s.LineOutside[l]++
			s.LineAhead[l] = append(s.LineAhead[l], w)
		}
	}
	for _, seqs := range s.LineAhead {
		slices.Sort(seqs)
	}
}

// lineHasSeat tells whether a user of line (product pid, pool id) could take
// a free seat: one of its pool's, or of the remainder when it may borrow.
func (tn *tenant) lineHasSeat(pid, id int64) bool {
	if tn.consumed[pid] >= tn.enabled[pid] {
		return false
	}
	if id != 0 {
		if p := tn.pool(id); p.Held < p.AllottedUnits {
			return true
		}
		if !tn.pool(id).AllowsBorrowing {
			return false
		}
	}
	return RemainderFree(tn.enabled[pid], tn.consumed[pid], tn.productPools(pid)) > 0
}

// growLine gives user u's line of pid one more seat (blocked).
func (tn *tenant) growLine(u, pid int64) {
	id := tn.lineOf(u, pid)
	for i := range tn.pools {
		if tn.pools[i].ID == id {
			tn.pools[i].AllottedUnits++
		}
	}
}

// (h) Pools: a seat taken in a step comes from the taker's pool within its
// allotment, or from the remainder within its seats when the taker has no
// pool or its pool lends: nobody takes a seat beyond what its line may use.
func checkPools(t fataler, tn, before *tenant) {
	for _, p := range tn.prods {
		if !tn.hasPools(p.ID) {
			continue
		}
		rem := RemainderFree(tn.enabled[p.ID], tn.consumed[p.ID], tn.productPools(p.ID))
		for _, u := range tn.users {
			if !tn.held(u)[p.ID] || before.held(u)[p.ID] {
				continue
			}
			id := tn.lineOf(u, p.ID)
			pl := tn.pool(id)
			switch {
			case id != 0 && !pl.AllowsBorrowing && pl.Held > pl.AllottedUnits:
				t.Fatalf("(h) user %d took product %d from pool %d beyond its %d seats (%d held, no borrowing)", u, p.ID, id, pl.AllottedUnits, pl.Held)
			case (id == 0 || pl.Held > pl.AllottedUnits) && rem < 0:
				t.Fatalf("(h) user %d (pool %d) took product %d from a remainder %d seats over", u, id, p.ID, -rem)
			}
		}
	}
}

// checkPoolQueue is (d) for a product with pools: first waiting, first
// served within each line, and nobody waits while a seat of its line is
// free.
func checkPoolQueue(t fataler, tn, before *tenant, st step, pid int64) {
	got, still, newcomers := map[int64][]int64{}, map[int64][]int64{}, map[int64][]int64{}
	for _, u := range tn.users {
		l := tn.lineOf(u, pid)
		w, waited := waitingSince(before.states[u], pid)
		now, had := tn.held(u)[pid], before.held(u)[pid]
		jump := st.queueJump[[2]int64{u, pid}]
		switch {
		case waited && now && !jump:
			got[l] = append(got[l], w)
		case waited && waitSet(tn.states[u])[pid] && !tn.blocked(u, pid):
			still[l] = append(still[l], placeNow(tn, u, pid, w))
		case !waited && now && !had && !jump:
			newcomers[l] = append(newcomers[l], u)
		}
		if waitSet(tn.states[u])[pid] && tn.lineHasSeat(pid, l) {
			t.Fatalf("(d) product %d: user %d of pool %d waits while a seat of its line is free", pid, u, l)
		}
	}
	for l, s := range still {
		if g := got[l]; len(g) > 0 && slices.Max(g) > slices.Min(s) {
			t.Fatalf("(d) product %d, pool %d: users waiting since %v got a seat, users waiting since %v still wait", pid, l, g, s)
		}
		if len(newcomers[l]) > 0 {
			t.Fatalf("(d) product %d, pool %d: users %v got a seat while users waiting since %v still wait", pid, l, newcomers[l], s)
		}
	}
}

// runPoolChange changes a pool's allotment or borrowing, as the pools admin
// API does: no license is taken away, the waiters of the product are
// recomputed.
func runPoolChange(t *rapid.T, tn *tenant) {
	if len(tn.pools) == 0 {
		return
	}
	before := tn.clone()
	i := rapid.IntRange(0, len(tn.pools)-1).Draw(t, "pool")
	tn.pools[i].AllottedUnits = rapid.IntRange(0, tn.enabled[tn.pools[i].ProductID]).Draw(t, "allotted")
	tn.pools[i].AllowsBorrowing = rapid.Bool().Draw(t, "borrowing")
	finish(t, tn, before, step{})
}

// runDepartmentChange moves a user to another department: the user's pool
// may change, its licenses stay.
func runDepartmentChange(t *rapid.T, tn *tenant) {
	before := tn.clone()
	u := rapid.SampledFrom(tn.users).Draw(t, "user")
	tn.dept[u] = rapid.SampledFrom(departments).Draw(t, "department")
	p := tn.recompute(t, []int64{u})
	finish(t, tn, before, step{plan: p})
}

func (tn *tenant) poolsString() string {
	var b strings.Builder
	for _, p := range tn.loadedPools() {
		sc := tn.pools[slices.IndexFunc(tn.pools, func(q modelPool) bool { return q.ID == p.ID })].scope
		fmt.Fprintf(&b, "  pool %d of product %d: %d allotted, %d held, borrowing %v, scope %+v\n", p.ID, p.ProductID, p.AllottedUnits, p.Held, p.AllowsBorrowing, sc)
	}
	for _, u := range tn.users {
		if tn.dept[u] != "" {
			fmt.Fprintf(&b, "  user %d in department %s\n", u, tn.dept[u])
		}
	}
	return b.String()
}

// placeNow returns user u's place in line for pid after the step: its
// place before (w), or a later one when the step removed the source it
// waited through longest.
func placeNow(tn *tenant, u, pid, w int64) int64 {
	now, _ := waitingSince(tn.states[u], pid)
	return max(w, now)
}

var _ = allot.DirectSource
