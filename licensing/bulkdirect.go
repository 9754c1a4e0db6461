package licensing

import (
	"slices"

	"allot"
)

// BulkDirect is one change of direct licenses made to many users: Replace
// (All, with Add: every direct license not in Add goes, Add is given) or
// Unassign (Remove, or All without Add: every direct license goes).
// Licenses from groups are never removed (rule 8).
type BulkDirect struct {
	Add    []Grant // products each user is to hold directly
	Remove []int64 // products to remove directly
	All    bool    // remove every direct license not in Add
}

// BulkDirectResult is one user's outcome of a BulkDirect change.
type BulkDirectResult struct {
	Added, Removed []int64 // products added and removed directly
	// FromGroup names, per product the change would have removed but the
	// user holds through a group, the group: it stays.
	FromGroup map[int64]string
	// Code is why nothing changed for the user; "" when it applied.
	Code    allot.Code
	Message string
	Target  string
}

// ChangeBulk decides a BulkDirect change for every user of the snapshot, in
// order, each fully or not at all (rule 2 per user): a user who cannot have
// it keeps everything as it was and gets the precise error. A user with
// nothing to change is left alone.
func ChangeBulk(s *Snapshot, c BulkDirect) (*Plan, []BulkDirectResult) {
	d := newDecider(s, false)
	p := &Plan{}
	res := make([]BulkDirectResult, len(s.Users))
	for i, u := range s.Users {
		dc := directChangeOf(u, c, s.GroupNames, &res[i])
		if len(dc.Add) == 0 && len(dc.Remove) == 0 {
			continue
		}
		fail := func(err error) {
			res[i] = BulkDirectResult{FromGroup: res[i].FromGroup, Code: allot.ErrorCode(err), Message: allot.ErrorMessage(err), Target: allot.ErrorTarget(err)}
		}
		grants, err := d.withDirect(u, dc)
		if err != nil {
			fail(err)
			continue
		}
		in := u
		in.Grants = grants
		consumed, seq := d.save()
		up := d.evaluate(in, u.Current)
		if err := d.refusal(up, dc, owed(s, u)); err != nil {
			d.restore(consumed, seq)
			fail(err)
			continue
		}
		res[i].Added, res[i].Removed = grantProducts(dc.Add), dc.Remove
		p.Users = append(p.Users, up)
	}
	return d.finish(p), res
}

// directChangeOf is c for user u: what to remove of the user's direct
// licenses and what to add that the user does not hold directly. Products
// to remove that the user holds only through a group go to r.FromGroup.
func directChangeOf(u UserInput, c BulkDirect, groupNames map[int64]string, r *BulkDirectResult) DirectChange {
	keep := grantProducts(c.Add)
	var dc DirectChange
	direct := map[int64]bool{}
	for _, g := range u.Grants {
		if g.Source == allot.DirectSource {
			direct[g.ProductID] = true
			if (c.All && !slices.Contains(keep, g.ProductID)) || slices.Contains(c.Remove, g.ProductID) {
				dc.Remove = append(dc.Remove, g.ProductID)
			}
		}
	}
	for _, g := range u.Grants {
		drop := c.All && !slices.Contains(keep, g.ProductID) || slices.Contains(c.Remove, g.ProductID)
		if g.Source != allot.DirectSource && drop {
			if r.FromGroup == nil {
				r.FromGroup = map[int64]string{}
			}
			if _, ok := r.FromGroup[g.ProductID]; !ok {
				r.FromGroup[g.ProductID] = groupNames[g.Source]
			}
		}
	}
	for _, g := range c.Add {
		if !direct[g.ProductID] {
			dc.Add = append(dc.Add, Grant{Source: allot.DirectSource, ProductID: g.ProductID, DisabledPlans: g.DisabledPlans})
		}
	}
	return dc
}
