package sqlstore

import (
	"context"
	"slices"

	"allot"
	"allot/licensing"
	"allot/store"
)

// BulkDirectRequest changes the direct licenses of many users in one
// batch: Replace (All with Add) or Unassign (Remove, or All alone).
type BulkDirectRequest struct {
	Users  []string               // user GUIDs or userPrincipalNames (a repeat shares the first's outcome)
	Add    []store.LicenseRequest // products each user is to hold directly
	Remove []string               // skuIds to remove directly
	All    bool                   // remove every direct license not in Add
}

// BulkDirectOutcome is one user's result of BulkChangeDirect.
type BulkDirectOutcome struct {
	GUID             string
	Added, Removed   []*allot.Product
	FromGroup        map[string]string // skuId → the group that keeps it for the user
	Code             allot.Code        // "" when the change applied
	Message, Target  string
	NotFound, NoDiff bool // no such user; nothing to change
	dupOf            int  // 1 + the index of the user's first mention, for a repeat
}

// BulkChangeDirect changes the direct licenses of many users in one write
// transaction (licensing.ChangeBulk): each user fully or not at all, a
// refused user keeps everything and gets the precise error. Licenses from
// groups are never removed. Inside a Preview it is what the review shows.
func (s *Store) BulkChangeDirect(ctx context.Context, a allot.Actor, tenantID int64, req BulkDirectRequest) ([]BulkDirectOutcome, error) {
	if len(req.Users) > MaxBulkUsers {
		return nil, allot.Errorf(allot.EInvalid, "One bulk change may name at most %d users; this one names %d.", MaxBulkUsers, len(req.Users))
	}
	var out []BulkDirectOutcome
	err := s.write(ctx, func(tx *tx) error {
		var err error
		out, err = tx.bulkChangeDirect(a, tenantID, req)
		return err
	})
	return out, err
}

func (t *tx) bulkChangeDirect(a allot.Actor, tenantID int64, req BulkDirectRequest) ([]BulkDirectOutcome, error) {
	products, err := t.products(tenantID)
	if err != nil {
		return nil, err
	}
	c, err := bulkDirectOf(products, req)
	if err != nil {
		return nil, err
	}
	out, ids, at, err := t.bulkDirectUsers(tenantID, req.Users)
	if err != nil || len(ids) == 0 {
		return out, err
	}
	b, err := t.loadBatch(tenantID, ids, products, lockRows)
	if err != nil {
		return nil, err
	}
	if err := t.prepare(b, false); err != nil {
		return nil, err
	}
	var results []licensing.BulkDirectResult
	plan, err := t.decide(b, func(s *licensing.Snapshot) (*licensing.Plan, error) {
		var plan *licensing.Plan
		plan, results = licensing.ChangeBulk(s, c)
		return plan, nil
	})
	if err != nil {
		return nil, err
	}
	for k, r := range results {
		uid := b.snap.Users[k].UserID
		out[at[uid]].fill(b.cat, r)
		for _, pid := range r.Removed {
			t.remove(allot.DirectSource, pid)
		}
		if err := t.writeDirectEnds(tenantID, uid, licensing.DirectChange{Add: withoutEnds(c.Add, r.Added), Remove: r.Removed}); err != nil {
			return nil, err
		}
	}
	for i := range out {
		if j := out[i].dupOf; j > 0 {
			out[i] = out[j-1] // a repeat shares the first mention's outcome
		}
	}
	return out, t.apply(b, plan, a, &batchResult{})
}

// bulkDirectOf is the licensing change of req, by product id.
func bulkDirectOf(products []*allot.Product, req BulkDirectRequest) (licensing.BulkDirect, error) {
	c := licensing.BulkDirect{All: req.All}
	bySku, err := resolveRequests(products, req.Add, req.Remove)
	if err != nil {
		return c, err
	}
	for _, r := range req.Add {
		c.Add = append(c.Add, licensing.Grant{ProductID: bySku[r.SkuID].ID, DisabledPlans: r.DisabledPlans})
	}
	for _, id := range req.Remove {
		c.Remove = append(c.Remove, bySku[id].ID)
	}
	return c, nil
}

// bulkDirectUsers resolves the users of a bulk change: one outcome per
// reference (NotFound when it names no user), the distinct user ids, and
// the outcome index of each id (its first mention).
func (t *tx) bulkDirectUsers(tenantID int64, refs []string) ([]BulkDirectOutcome, []int64, map[int64]int, error) {
	found, err := t.usersByRef(tenantID, refs)
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]BulkDirectOutcome, len(refs))
	var ids []int64
	at := map[int64]int{}
	for i, ref := range refs {
		u, ok := found[refKey(ref)]
		out[i].GUID, out[i].NotFound = u.guid, !ok
		if j, dup := at[u.id]; ok && dup {
			out[i].dupOf = j + 1
		} else if ok {
			at[u.id] = i
			ids = append(ids, u.id)
		}
	}
	return out, ids, at, nil
}

// fill says a user's licensing.ChangeBulk result.
func (o *BulkDirectOutcome) fill(cat *licensing.Catalog, r licensing.BulkDirectResult) {
	o.Code, o.Message, o.Target = r.Code, r.Message, r.Target
	o.NoDiff = r.Code == "" && len(r.Added) == 0 && len(r.Removed) == 0
	for _, pid := range r.Added {
		o.Added = append(o.Added, cat.Product(pid))
	}
	for _, pid := range r.Removed {
		o.Removed = append(o.Removed, cat.Product(pid))
	}
	for pid, g := range r.FromGroup {
		if o.FromGroup == nil {
			o.FromGroup = map[string]string{}
		}
		o.FromGroup[cat.Product(pid).SkuID] = g
	}
}

// withoutEnds is the grants of add that a user got, with no end date.
func withoutEnds(add []licensing.Grant, got []int64) []licensing.Grant {
	var out []licensing.Grant
	for _, g := range add {
		if slices.Contains(got, g.ProductID) {
			out = append(out, licensing.Grant{ProductID: g.ProductID})
		}
	}
	return out
}
