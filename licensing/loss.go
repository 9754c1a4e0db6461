package licensing

import (
	"slices"

	"allot"
)

// Losses lists every product a user of the plan would lose, with the
// reason. explicit tells, for a user and product, whether the change names
// it (so losing it is the point of the change); nil means nothing is explicit.
func (p *Plan) Losses(explicit func(user, product int64) bool) []allot.Loss {
	var out []allot.Loss
	for _, u := range p.Users {
		for _, pid := range u.Lost {
			if slices.Contains(u.Released, pid) {
				continue // a fallback given back for a better product
			}
			l := allot.Loss{UserID: u.UserID, ProductID: pid, Reason: lossReason(u, pid)}
			l.Explicit = explicit != nil && explicit(u.UserID, pid)
			out = append(out, l)
		}
	}
	return out
}

// SideEffects returns the losses that are not explicit: the ones a change
// may only cause when the request confirms them (rule 11).
func SideEffects(losses []allot.Loss) []allot.Loss {
	var out []allot.Loss
	for _, l := range losses {
		if !l.Explicit {
			out = append(out, l)
		}
	}
	return out
}

// lossReason says why a user loses product pid: the code of its state
// afterwards (the specific one over otherProductInGroupFailed), or
// "removed" when no source grants it any more.
func lossReason(u UserPlan, pid int64) allot.Code {
	var code allot.Code
	for _, st := range u.After {
		if st.ProductID == pid && st.Code != "" && (code == "" || code == allot.EOtherProductFailed) {
			code = st.Code
		}
	}
	if code == "" {
		return allot.LossReasonRemoved
	}
	return code
}

// LostThrough tells whether a user's loss of product pid is what the
// change removed on purpose: every source that granted it actively before
// is in removed. removed holds (source, product) pairs; product 0 stands
// for every product of the source.
func LostThrough(before []allot.LicenseState, pid int64, removed Removed) bool {
	any := false
	for _, st := range before {
		if st.ProductID != pid || st.State != allot.StateActive {
			continue
		}
		if !removed[[2]int64{st.Source, pid}] && !removed[[2]int64{st.Source, 0}] {
			return false
		}
		any = true
	}
	return any
}

// Removed is the set of grants a change takes away on purpose, as (source,
// product) pairs; product 0 stands for every product of the source.
type Removed map[[2]int64]bool

// Unconfirmed returns the losses of a plan that the change does not
// explain by what it removed on purpose: the ones that need confirmation
// (rule 11). An empty answer means the change may go ahead as it is.
func (p *Plan) Unconfirmed(removed Removed) []allot.Loss {
	return SideEffects(p.Losses(p.through(removed)))
}

// through returns the explicit test of Losses for a set of removed grants.
func (p *Plan) through(removed Removed) func(user, product int64) bool {
	before := make(map[int64][]allot.LicenseState, len(p.Users))
	for _, up := range p.Users {
		before[up.UserID] = up.Before
	}
	return func(user, product int64) bool { return LostThrough(before[user], product, removed) }
}

// ExplicitLosses returns every loss of the plan, each marked explicit when
// removed explains it.
func (p *Plan) ExplicitLosses(removed Removed) []allot.Loss { return p.Losses(p.through(removed)) }
