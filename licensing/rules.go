package licensing

import (
	"slices"
	"strings"

	"allot"
)

// staticCheck checks the rules that depend only on the product, the grant,
// the tenant and the user's usage location: data location, usage location
// (rule 6: direct grants need the user's own, group grants fall back to the
// tenant default) and service-plan dependencies.
func (d *decider) staticCheck(p *allot.Product, g Grant, userUsageLocation string) allot.Code {
	if !Available(p.Rules.AvailableDataLocations, d.snap.DataLocation) {
		return allot.EDataLocation
	}
	loc := userUsageLocation
	if loc == "" && g.Source != allot.DirectSource {
		loc = d.snap.DefaultUsageLocation
	}
	if loc == "" {
		return allot.EUsageLocationNeeded
	}
	if !Available(p.Rules.AllowedUsageLocations, loc) {
		return allot.EUsageLocationDenied
	}
	if MissingPlanDependency(p, g.DisabledPlans) != "" {
		return allot.EPlanDependency
	}
	return ""
}

// MissingPlanDependency returns a service plan that disabledPlans turns off
// although a plan left on needs it, or "".
func MissingPlanDependency(p *allot.Product, disabledPlans []string) string {
	for plan, needs := range p.Rules.PlanDependencies {
		if containsFold(disabledPlans, plan) {
			continue
		}
		for _, n := range needs {
			if containsFold(disabledPlans, n) {
				return n
			}
		}
	}
	return ""
}

// Available tells whether v is in list, case-insensitively; an empty list allows all.
func Available(list []string, v string) bool {
	return len(list) == 0 || containsFold(list, v)
}

// relationCheck checks prerequisites and exclusions against the products
// that are active after all sources are merged (rule 7). Between two
// mutually exclusive products the one the user already holds wins; between
// two new ones, the one added to the tenant first (lower id).
func (d *decider) relationCheck(p *allot.Product, active, held map[int64]bool) allot.Code {
	if len(p.Rules.RequiresAnyOf) > 0 && !d.anyActive(p.Rules.RequiresAnyOf, active) {
		return allot.EPrerequisiteMissing
	}
	for _, qid := range sortedKeys(active) {
		q := d.cat.Product(qid)
		if q == nil || q.ID == p.ID || !d.exclusive(p, q) {
			continue
		}
		if held[p.ID] && !held[q.ID] {
			continue
		}
		if (held[q.ID] && !held[p.ID]) || p.ID > q.ID {
			return allot.EMutuallyExclusive
		}
	}
	return ""
}

func (d *decider) anyActive(parts []string, active map[int64]bool) bool {
	for _, part := range parts {
		if q := d.cat.ByPart(part); q != nil && active[q.ID] {
			return true
		}
	}
	return false
}

// exclusive tells whether either product declares the other mutually exclusive.
func (d *decider) exclusive(p, q *allot.Product) bool {
	return containsFold(p.Rules.MutuallyExclusiveWith, q.SkuPartNumber) || containsFold(q.Rules.MutuallyExclusiveWith, p.SkuPartNumber)
}

// IsWaiting tells whether a state with this code waits for a free seat.
func IsWaiting(c allot.Code) bool { return isWaiting(c) }

func isWaiting(c allot.Code) bool { return c == allot.ENoSeats || c == allot.ESeatsReduced }

// waitingSince returns the place in line (the lowest seq) of a user waiting
// for product pid, and whether the user waits for it.
func waitingSince(cur []allot.LicenseState, pid int64) (int64, bool) {
	var w int64
	found := false
	for _, s := range cur {
		if s.ProductID == pid && isWaiting(s.Code) && (!found || s.Seq < w) {
			w, found = s.Seq, true
		}
	}
	return w, found
}

// countBelow counts the seqs below w (seqs is in ascending order).
func countBelow(seqs []int64, w int64) int {
	n, _ := slices.BinarySearch(seqs, w)
	return n
}

func reducedBefore(cur []allot.LicenseState, pid int64) bool {
	for _, s := range cur {
		if s.ProductID == pid && s.Code == allot.ESeatsReduced {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
