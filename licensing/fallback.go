package licensing

import (
	"slices"

	"allot"
)

// Fallback chains (docs/design.md, rule 16). A group's assignment of
// product A may carry an ordered list of fallbacks, "E5, else E3": a member
// who cannot get A for lack of seats gets the first fallback that the rules
// grant, and keeps waiting for A. When A has a seat for the member again,
// the member gets A and gives the fallback back in the same plan, so it is
// never unlicensed. A member holds at most one product of a chain through
// the group.
//
// The decision tries the chain step by step: step k evaluates the user
// with the group's grants of A and of the chain's products up to k, where
// the products before k stand in line with their waiting code (they do not
// make the group fail, rule 5, and take no seat). It goes a step further
// only while the product of the current step fails for lack of seats (or
// fails while the user holds a later product of the chain: nextStep).

// chainGrant is one of a user's group grants that carries a fallback chain:
// products[0] is the group's product, then its fallbacks.
type chainGrant struct {
	source   int64
	products []int64
	disabled []string
}

// fallbackChains returns the user's group grants with a fallback chain,
// leaving out fallbacks the tenant does not have, that the group assigns
// itself or that an earlier chain of the group already lists.
func (s *Snapshot) fallbackChains(u UserInput, cat *Catalog) []chainGrant {
	if len(s.Fallbacks) == 0 {
		return nil
	}
	own := map[[2]int64]bool{}
	for _, g := range u.Grants {
		own[[2]int64{g.Source, g.ProductID}] = true
	}
	var out []chainGrant
	for _, g := range u.Grants {
		fb := s.Fallbacks[[2]int64{g.Source, g.ProductID}]
		if g.Source == allot.DirectSource || len(fb) == 0 || g.Ended(s.Now) || cat.Product(g.ProductID) == nil {
			continue
		}
		c := chainGrant{source: g.Source, products: []int64{g.ProductID}, disabled: g.DisabledPlans}
		for _, pid := range fb {
			k := [2]int64{g.Source, pid}
			if cat.Product(pid) == nil || own[k] || slices.Contains(c.products, pid) {
				continue
			}
			own[k] = true
			c.products = append(c.products, pid)
		}
		if len(c.products) > 1 {
			out = append(out, c)
		}
	}
	return out
}

// fallbackGrants counts the grants the users' fallback chains may add.
func (s *Snapshot) fallbackGrants() int {
	if len(s.Fallbacks) == 0 {
		return 0
	}
	cat := NewCatalog(s.Products)
	n := 0
	for _, u := range s.Users {
		for _, c := range s.fallbackChains(u, cat) {
			n += len(c.products) - 1
		}
	}
	return n
}

// evaluateFallbacks evaluates a user who has fallback chains (and reports
// false for one who has none): the first step of every chain, then one
// step further for the first chain whose current product waits for a seat,
// until none does. Each step starts again from the counters as they were.
func (d *decider) evaluateFallbacks(u UserInput, before []allot.LicenseState) (UserPlan, bool) {
	chains := d.snap.fallbackChains(u, d.cat)
	if len(chains) == 0 {
		return UserPlan{}, false
	}
	step := make([]int, len(chains))
	codes := map[key]allot.Code{}
	for {
		consumed, seq := d.save()
		yielded := d.yielded
		in := u
		in.Grants = withFallbacks(u.Grants, chains, step)
		d.standIn = codes
		up := d.evaluatePlain(in, before)
		d.standIn = nil
		i, code := nextStep(up, chains, step)
		if i < 0 {
			up.Released = released(up, chains, step)
			return up, true
		}
		codes[key{chains[i].source, chains[i].products[step[i]]}] = code
		step[i]++
		d.restore(consumed, seq)
		d.yielded = yielded
	}
}

// withFallbacks returns the user's grants with, after each chain's grant,
// the chain's fallbacks up to its current step (with the grant's disabled
// plans where the fallback has them, none otherwise).
func withFallbacks(grants []Grant, chains []chainGrant, step []int) []Grant {
	out := make([]Grant, 0, len(grants)+len(chains))
	for _, g := range grants {
		out = append(out, g)
		for i, c := range chains {
			if c.source != g.Source || c.products[0] != g.ProductID {
				continue
			}
			for _, pid := range c.products[1 : step[i]+1] {
				out = append(out, Grant{Source: g.Source, ProductID: pid, EndsAt: g.EndsAt})
			}
		}
	}
	return out
}

// nextStep returns the first chain whose current product fails and has a
// fallback left, with the code it fails with; -1 when none. A product fails
// over to the next one when it waits for a seat, or, whatever its reason,
// when the user holds a later product of the chain through the group
// already: rule 5 never takes that away.
func nextStep(up UserPlan, chains []chainGrant, step []int) (int, allot.Code) {
	for i, c := range chains {
		if step[i]+1 >= len(c.products) {
			continue
		}
		st, ok := findState(up.After, c.products[step[i]], c.source)
		if !ok || st.State != allot.StateError {
			continue
		}
		if isWaiting(st.Code) || slices.ContainsFunc(c.products[step[i]+1:], func(pid int64) bool { return wasActive(up.Before, pid, c.source) }) {
			return i, st.Code
		}
	}
	return -1, ""
}

// released returns the products of up.Lost that the user held through a
// chain's group as a fallback and gives back for a product ahead of them in
// the same chain, which it holds now.
func released(up UserPlan, chains []chainGrant, step []int) []int64 {
	var out []int64
	for _, pid := range up.Lost {
		for i, c := range chains {
			at := slices.Index(c.products, pid)
			if at <= 0 || !wasActive(up.Before, pid, c.source) {
				continue
			}
			if st, ok := findState(up.After, c.products[step[i]], c.source); ok && st.State == allot.StateActive && step[i] < at {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func wasActive(ss []allot.LicenseState, pid, source int64) bool {
	st, ok := findState(ss, pid, source)
	return ok && st.State == allot.StateActive
}

// FallbackProblem checks a fallback chain an admin sets on group g's
// assignment of product pid: every fallback is a product of the tenant,
// none is pid itself, none is listed twice, none is assigned by the group
// itself (assigned lists the group's products) and none is in another
// chain of the group (others). It returns the error to answer, or nil.
func FallbackProblem(cat *Catalog, pid int64, fallbacks, assigned []int64, others map[int64][]int64) error {
	p := cat.Product(pid)
	if p == nil {
		return allot.Errorf(allot.ENotFound, "The group does not assign this product; assign it to the group first, then give it fallbacks.")
	}
	if !slices.Contains(assigned, pid) {
		return allot.Errorf(allot.EInvalid, "The group does not assign %s; assign it to the group first, then give it fallbacks.", p.DisplayName)
	}
	for i, f := range fallbacks {
		q := cat.Product(f)
		switch {
		case q == nil:
			return allot.Errorf(allot.EInvalid, "A fallback is not a product this organization subscribes to.")
		case f == pid:
			return allot.Errorf(allot.EInvalid, "%s cannot be its own fallback.", p.DisplayName)
		case slices.Contains(fallbacks[:i], f):
			return allot.Errorf(allot.EInvalid, "%s is listed twice as a fallback of %s.", q.DisplayName, p.DisplayName)
		case slices.Contains(assigned, f):
			return allot.Errorf(allot.EInvalid, "The group already assigns %s itself, so it cannot be a fallback of %s.", q.DisplayName, p.DisplayName)
		}
		for other, chain := range others {
			if o := cat.Product(other); o != nil && other != pid && slices.Contains(chain, f) {
				return allot.Errorf(allot.EInvalid, "%s is already a fallback of %s in this group; a product can be the fallback of one of the group's products only.", q.DisplayName, o.DisplayName)
			}
		}
	}
	return nil
}
