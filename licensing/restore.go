package licensing

import (
	"fmt"
	"slices"

	"allot"
)

// Restore decides the licenses of a user brought back from deleted items:
// the snapshot's only user, with the group grants of the memberships it got
// back, gets its remembered direct grants too, and is decided like any
// group licensing change (Recompute): a grant without a free seat waits in
// line (noSeatsAvailable) behind those who wait already, and nobody else
// loses a seat. The snapshot is not changed.
func Restore(s *Snapshot, direct []Grant) (*Plan, error) {
	if len(s.Users) != 1 {
		return nil, fmt.Errorf("licensing: Restore needs one user, got %d", len(s.Users))
	}
	u := s.Users[0]
	grants := make([]Grant, 0, len(direct)+len(u.Grants))
	seen := map[int64]bool{}
	for _, g := range direct {
		if !seen[g.ProductID] {
			seen[g.ProductID] = true
			grants = append(grants, Grant{Source: allot.DirectSource, ProductID: g.ProductID, DisabledPlans: slices.Clone(g.DisabledPlans)})
		}
	}
	for _, g := range u.Grants {
		if g.Source != allot.DirectSource || !seen[g.ProductID] {
			grants = append(grants, g)
		}
	}
	u.Grants = grants
	snap := *s
	snap.Users = []UserInput{u}
	return Recompute(&snap), nil
}
