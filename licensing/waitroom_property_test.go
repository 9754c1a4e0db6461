package licensing

import (
	"fmt"
	"maps"
	"slices"

	"pgregory.net/rapid"

	"allot"
)

// The property test's fallback chains and waiting room (fallback.go,
// waitroom.go): random chains on the groups' assignments, actions that
// change a chain, mark a group VIP and move a waiter up, and the checks
// that a member holds at most one product of a chain through its group and
// gives a fallback back only for a product ahead of it in the chain.

func cloneFallbacks(f map[[2]int64][]int64) map[[2]int64][]int64 {
	if f == nil {
		return nil
	}
	out := make(map[[2]int64][]int64, len(f))
	for k, v := range f {
		out[k] = slices.Clone(v)
	}
	return out
}

// drawChain draws a fallback chain for group g's assignment of pid that
// FallbackProblem accepts, or nil.
func drawChain(t *rapid.T, tn *tenant, g, pid int64, label string) []int64 {
	var candidates []int64
	for _, p := range tn.prods {
		candidates = append(candidates, p.ID)
	}
	chain := rapid.SliceOfNDistinct(rapid.SampledFrom(candidates), 0, 2, rapid.ID[int64]).Draw(t, label)
	if FallbackProblem(NewCatalog(tn.prods), pid, chain, tn.assigned(g), tn.chainsOf(g)) != nil {
		return nil
	}
	return chain
}

func (tn *tenant) assigned(g int64) []int64 {
	var out []int64
	for _, gr := range tn.lic[g] {
		out = append(out, gr.ProductID)
	}
	return out
}

func (tn *tenant) chainsOf(g int64) map[int64][]int64 {
	out := map[int64][]int64{}
	for k, v := range tn.fallbacks {
		if k[0] == g {
			out[k[1]] = v
		}
	}
	return out
}

// drawFallbacks gives some of the groups' assignments a chain.
func drawFallbacks(t *rapid.T, tn *tenant) {
	tn.fallbacks = map[[2]int64][]int64{}
	for _, g := range tn.groups {
		for _, gr := range tn.lic[g] {
			if c := drawChain(t, tn, g, gr.ProductID, fmt.Sprintf("group%d-P%d-fallbacks", g, gr.ProductID)); len(c) > 0 {
				tn.fallbacks[[2]int64{g, gr.ProductID}] = c
			}
		}
	}
}

// withWaitingRoomActions adds the actions of fallback chains and of the
// waiting room to the property test's actions.
func withWaitingRoomActions(tn *tenant, actions map[string]func(*rapid.T)) map[string]func(*rapid.T) {
	actions["setFallbacks"] = func(rt *rapid.T) {
		g := rapid.SampledFrom(tn.groups).Draw(rt, "group")
		if len(tn.lic[g]) == 0 {
			rt.Skip("the group assigns nothing")
		}
		pid := rapid.SampledFrom(tn.assigned(g)).Draw(rt, "product")
		k := [2]int64{g, pid}
		others := tn.chainsOf(g)
		delete(others, pid)
		var candidates []int64
		for _, p := range tn.prods {
			candidates = append(candidates, p.ID)
		}
		chain := rapid.SliceOfNDistinct(rapid.SampledFrom(candidates), 0, 2, rapid.ID[int64]).Draw(rt, "fallbacks")
		if err := FallbackProblem(NewCatalog(tn.prods), pid, chain, tn.assigned(g), others); err != nil {
			rt.Skip(allot.ErrorMessage(err))
		}
		before := tn.clone()
		removed := Removed{}
		for _, f := range tn.fallbacks[k] {
			if !slices.Contains(chain, f) {
				removed[[2]int64{g, f}] = true // a fallback the admin took out of the chain goes on purpose
			}
		}
		tn.fallbacks[k] = chain
		s := tn.snapshot(tn.members(g), true)
		p, _, _ := decide(rt, s, recompute)
		tn.apply(rt, s, p)
		finish(rt, tn, before, step{plan: p, mayLose: lossSet(p.ExplicitLosses(removed), true), cascade: true})
	}
	actions["markVIP"] = func(rt *rapid.T) {
		g := rapid.SampledFrom(tn.groups).Draw(rt, "group")
		if tn.vip == nil {
			tn.vip = map[int64]bool{}
		}
		tn.vip[g] = !tn.vip[g]
		for u, ss := range tn.states { // as the store re-places the group's waiting states
			for i := range ss {
				if ss[i].Source == g && isWaiting(ss[i].Code) {
					ss[i].Seq = Replace(ss[i].Seq, tn.vip[g])
				}
			}
			tn.states[u] = ss
		}
		before := tn.clone()
		finish(rt, tn, before, step{})
	}
	actions["moveUp"] = func(rt *rapid.T) {
		p := drawProduct(rt, tn, "product")
		var line []Waiter
		for _, u := range tn.users {
			if w, ok := waitingSince(tn.states[u], p.ID); ok {
				line = append(line, Waiter{UserID: u, Place: w})
			}
		}
		if len(line) < 2 {
			rt.Skip("fewer than two waiters")
		}
		u := rapid.SampledFrom(line).Draw(rt, "waiter").UserID
		pos := rapid.IntRange(0, len(line)).Draw(rt, "position")
		places, err := MoveUp(line, u, pos)
		if err != nil {
			rt.Skip(allot.ErrorMessage(err))
		}
		for w, place := range places { // as the store writes the new places
			for i, st := range tn.states[w] {
				if st.ProductID == p.ID && isWaiting(st.Code) {
					tn.states[w][i].Seq = place
				}
			}
		}
		order := func() []int64 {
			var ws []Waiter
			for _, w := range tn.users {
				if place, ok := waitingSince(tn.states[w], p.ID); ok {
					ws = append(ws, Waiter{UserID: w, Place: place})
				}
			}
			var out []int64
			for _, w := range InLine(ws) {
				out = append(out, w.UserID)
			}
			return out
		}
		var want []int64
		for _, w := range InLine(line) {
			if w.UserID != u {
				want = append(want, w.UserID)
			}
		}
		want = slices.Insert(want, pos-1, u)
		if got := order(); !slices.Equal(got, want) {
			rt.Fatalf("moving user %d to position %d: line %v, want %v", u, pos, got, want)
		}
		before := tn.clone()
		finish(rt, tn, before, step{})
	}
	return actions
}

// withoutFallbackStates checks user u's fallback states and returns got
// without them: a fallback's state exists only while the product before it
// in its chain fails (waits for a seat, or fails while the user holds the
// fallback), and the user holds at most one product of
// a chain through its group.
func withoutFallbackStates(t fataler, tn *tenant, u int64, got map[[2]int64][]string) map[[2]int64][]string {
	s := tn.snapshot([]int64{u}, false)
	out := maps.Clone(got)
	for _, c := range s.fallbackChains(s.Users[0], NewCatalog(s.Products)) {
		held := 0
		for j, pid := range c.products {
			st, ok := findState(tn.states[u], pid, c.source)
			if !ok {
				continue
			}
			if st.State == allot.StateActive {
				held++
			}
			if j == 0 {
				continue
			}
			if prev, ok := findState(tn.states[u], c.products[j-1], c.source); !ok || prev.State == allot.StateActive {
				t.Fatalf("(a) user %d has fallback %d of group %d while it holds %d or has no state of it: %s", u, pid, c.source, c.products[j-1], states(tn.states[u]))
			}
			delete(out, [2]int64{c.source, pid})
		}
		if held > 1 {
			t.Fatalf("(a) user %d holds %d products of group %d's chain %v: %s", u, held, c.source, c.products, states(tn.states[u]))
		}
	}
	return out
}

// releasedFallback tells whether user u gave product pid back for a
// product ahead of it in a chain: before the step it held pid through a
// chain's group as a fallback, now it holds an earlier product of that
// chain through the group.
func (tn *tenant) releasedFallback(before *tenant, u, pid int64) bool {
	s := tn.snapshot([]int64{u}, false)
	for _, c := range s.fallbackChains(s.Users[0], NewCatalog(s.Products)) {
		at := slices.Index(c.products, pid)
		if at <= 0 || !wasActive(before.states[u], pid, c.source) {
			continue
		}
		for _, q := range c.products[:at] {
			if wasActive(tn.states[u], q, c.source) {
				return true
			}
		}
	}
	return false
}

// standsIn tells whether a failed state of user u is a product of a chain
// whose later product the user holds through the same group: the code it
// failed with when the fallback was kept stays (fallback.go, nextStep),
// though the product that made it fail may be granted with the fallback.
func (tn *tenant) standsIn(u int64, st allot.LicenseState) bool {
	s := tn.snapshot([]int64{u}, false)
	for _, c := range s.fallbackChains(s.Users[0], NewCatalog(s.Products)) {
		at := slices.Index(c.products, st.ProductID)
		if c.source != st.Source || at < 0 {
			continue
		}
		for _, q := range c.products[at+1:] {
			if wasActive(tn.states[u], q, c.source) {
				return true
			}
		}
	}
	return false
}
