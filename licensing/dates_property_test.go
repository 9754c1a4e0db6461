package licensing

// Dates and reclamation in the property test's model: direct assignments
// that end, a clock that passes their ends, and reclamation runs. An end
// is explicit intent: its loss (and the losses it causes through
// prerequisites) is allowed. A reclamation is explicit intent for its
// product only: nothing else may go with it. Every other check still
// holds, and the freed seats go to the waiters.

import (
	"maps"
	"slices"

	"pgregory.net/rapid"
)

// endStep is far beyond the ticks that deciding adds to the model's clock
// (one per applied plan), so that ends pass only when clockPasses says.
const endStep = 1_000_000

// setEnd records the end of a direct assignment (0: none), as the store's
// writeDirectEnds does for an added product.
func (tn *tenant) setEnd(u, pid, end int64) {
	if end == 0 {
		delete(tn.ends, [2]int64{u, pid})
		return
	}
	if tn.ends == nil {
		tn.ends = map[[2]int64]int64{}
	}
	tn.ends[[2]int64{u, pid}] = end
}

// withDateActions adds the actions of dates: a direct assignment with an
// end, and the clock passing ends (the store's ExpireDue).
func withDateActions(tn *tenant, actions map[string]func(*rapid.T)) map[string]func(*rapid.T) {
	actions["directAddUntil"] = func(rt *rapid.T) {
		u := rapid.SampledFrom(tn.users).Draw(rt, "user")
		p := drawProduct(rt, tn, "product")
		end := tn.now + rapid.Int64Range(1, 3).Draw(rt, "endsIn")*endStep
		runDirect(rt, tn, u, DirectChange{Add: []Grant{{ProductID: p.ID, DisabledPlans: drawPlans(rt, p, "disabled"), EndsAt: end}}})
	}
	actions["clockPasses"] = func(rt *rapid.T) {
		tn.now += rapid.Int64Range(1, 3).Draw(rt, "passes") * endStep
		var due [][2]int64
		for k, end := range tn.ends {
			if end <= tn.now {
				due = append(due, k)
			}
		}
		if len(due) == 0 {
			return
		}
		slices.SortFunc(due, func(a, b [2]int64) int {
			if a[0] != b[0] {
				return int(a[0] - b[0])
			}
			return int(a[1] - b[1])
		})
		before := tn.clone()
		mayLose := map[[2]int64]bool{}
		var users []int64
		for _, k := range due {
			delete(tn.direct[k[0]], k[1])
			mayLose[k] = true
			if !slices.Contains(users, k[0]) {
				users = append(users, k[0])
			}
		}
		// The decision sees the ended grants (their ends still in the
		// snapshot) and leaves them out; then the ends are gone.
		p := tn.recompute(rt, users)
		for _, k := range due {
			delete(tn.ends, k)
		}
		for _, k := range due {
			if _, ok := findDirect(tn, k[0], k[1]); ok {
				rt.Fatalf("user %d keeps the direct assignment of %d after its end", k[0], k[1])
			}
		}
		finish(rt, tn, before, step{plan: p, mayLose: maps.Clone(mayLose), cascade: true})
	}
	actions["reclaim"] = func(rt *rapid.T) {
		p := drawProduct(rt, tn, "product")
		var holders []int64
		for _, u := range tn.users {
			if _, ok := tn.direct[u][p.ID]; ok {
				holders = append(holders, u)
			}
		}
		if len(holders) == 0 {
			rt.Skip("nobody holds the product directly")
		}
		take := map[int64]bool{}
		for _, u := range rapid.SliceOfNDistinct(rapid.SampledFrom(holders), 1, len(holders), rapid.ID[int64]).Draw(rt, "reclaimFrom") {
			take[u] = true
		}
		before := tn.clone()
		s := tn.snapshot(slices.Sorted(maps.Keys(take)), true)
		plan, skipped := Reclaim(s, p.ID, take)
		tn.apply(rt, s, plan)
		mayLose := map[[2]int64]bool{}
		for u := range take {
			if slices.Contains(skipped, u) {
				continue
			}
			delete(tn.direct[u], p.ID)
			delete(tn.ends, [2]int64{u, p.ID})
			mayLose[[2]int64{u, p.ID}] = true
		}
		finish(rt, tn, before, step{plan: plan, mayLose: mayLose})
	}
	return actions
}

// findDirect returns the user's direct state of the product.
func findDirect(tn *tenant, u, pid int64) (int, bool) {
	for i, s := range tn.states[u] {
		if s.Source == 0 && s.ProductID == pid {
			return i, true
		}
	}
	return 0, false
}
