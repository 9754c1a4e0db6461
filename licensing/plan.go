package licensing

import (
	"fmt"
	"slices"
	"sort"

	"allot"
)

// Plan is the result of a decision: what to write for each user and how the
// counters change. Applying it is the store's job.
type Plan struct {
	// Users are the users of the snapshot that a decision evaluated, in the
	// order they were served.
	Users []UserPlan
	// Consumed and Waiting are, per product, the change of consumedUnits and
	// of the number of users waiting for a seat.
	Consumed, Waiting map[int64]int
	// GroupErrors is, per group, the change of the number of members with a
	// license error from it.
	GroupErrors map[int64]int
	// SeqsUsed counts the ordering numbers handed out from FirstSeq.
	SeqsUsed int
}

// Recompute recomputes every user of the snapshot from all their sources
// (group licensing, membership changes, reprocessing). Users who wait for a
// seat are served first, longest waiting first; the others keep their order.
//
// A user of the snapshot who waits for a seat keeps it from the users served
// before them. When that user then does not take it (another product of the
// same group failed), the users who gave way are decided again without that
// claim, so nobody is left waiting beside a seat nobody took.
func Recompute(s *Snapshot) *Plan {
	gaveUp := map[int64]map[int64]bool{}
	for {
		d := newDecider(s, true)
		d.waitFor(s.Users, gaveUp)
		p := &Plan{}
		for _, i := range priority(s.Users) {
			u := s.Users[i]
			d.serve(&u)
			p.Users = append(p.Users, d.evaluate(u, u.Current))
		}
		if !d.yielded || !forsaken(p, gaveUp) {
			return d.finish(p)
		}
	}
}

// forsaken adds to gaveUp, per product, the places in line of users who
// waited for it and after the plan neither hold it nor wait for it. It
// reports whether it added any.
func forsaken(p *Plan, gaveUp map[int64]map[int64]bool) bool {
	added := false
	for _, u := range p.Users {
		for pid := range awaited(u.Before) {
			if awaited(u.After)[pid] || holdsProduct(u.After, pid) {
				continue
			}
			w, _ := waitingSince(u.Before, pid)
			if gaveUp[pid] == nil {
				gaveUp[pid] = map[int64]bool{}
			}
			if !gaveUp[pid][w] {
				gaveUp[pid][w], added = true, true
			}
		}
	}
	return added
}

func holdsProduct(ss []allot.LicenseState, pid int64) bool {
	for _, s := range ss {
		if s.ProductID == pid && s.State == allot.StateActive {
			return true
		}
	}
	return false
}

// priority returns the order in which users are served: waiters first, by
// their place in line, then the rest in the given order.
func priority(users []UserInput) []int {
	idx := make([]int, len(users))
	key := make([]int64, len(users))
	for i, u := range users {
		idx[i] = i
		key[i] = 1<<62 + int64(i)
		for _, s := range u.Current {
			if isWaiting(s.Code) && s.Seq < key[i] {
				key[i] = s.Seq
			}
		}
	}
	sort.SliceStable(idx, func(x, y int) bool { return key[idx[x]] < key[idx[y]] })
	return idx
}

// finish derives the counter changes from the user plans.
func (d *decider) finish(p *Plan) *Plan {
	p.Consumed, p.Waiting, p.GroupErrors = map[int64]int{}, map[int64]int{}, map[int64]int{}
	for _, u := range p.Users {
		for _, pid := range u.Gained {
			p.Consumed[pid]++
		}
		for _, pid := range u.Lost {
			p.Consumed[pid]--
		}
		countChange(u.Before, u.After, p.Waiting, waitingFor)
		countChange(u.Before, u.After, p.GroupErrors, groupError)
	}
	for _, m := range []map[int64]int{p.Consumed, p.Waiting, p.GroupErrors} {
		for k, v := range m {
			if v == 0 {
				delete(m, k)
			}
		}
	}
	p.SeqsUsed = int(d.seq - d.snap.FirstSeq)
	return p
}

// countChange adds to delta, per key, +1 when some state after has the
// property and none before did, -1 for the reverse. prop returns a state's
// key and whether it has the property.
func countChange(before, after []allot.LicenseState, delta map[int64]int, prop func(allot.LicenseState) (int64, bool)) {
	keys := func(ss []allot.LicenseState) []int64 {
		var ks []int64
		for _, s := range ss {
			if k, ok := prop(s); ok && !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
		return ks
	}
	b, a := keys(before), keys(after)
	for _, k := range b {
		if !slices.Contains(a, k) {
			delta[k]--
		}
	}
	for _, k := range a {
		if !slices.Contains(b, k) {
			delta[k]++
		}
	}
}

// waitingFor keys a state by its product when it waits for a seat.
func waitingFor(s allot.LicenseState) (int64, bool) { return s.ProductID, isWaiting(s.Code) }

// groupError keys a state by its group when that group's grant failed.
func groupError(s allot.LicenseState) (int64, bool) {
	return s.Source, s.Source != allot.DirectSource && s.State == allot.StateError
}

// DirectChange is an assignLicense call on one user: products to add (or
// whose disabled plans to replace) and products to remove, directly.
type DirectChange struct {
	Add    []Grant // Source is ignored: direct
	Remove []int64
}

// AssignDirect decides a direct assignment to the snapshot's only user
// (rule 2): it applies completely or it fails with the precise error and no
// plan. Direct assignment does not queue: a product without a free seat
// fails. A removal is refused when the product comes from a group (rule 8),
// when the user has no direct assignment of it, or when it would leave
// another product the user keeps without its prerequisite.
func AssignDirect(s *Snapshot, c DirectChange) (*Plan, error) {
	if len(s.Users) != 1 {
		return nil, fmt.Errorf("licensing: AssignDirect needs one user, got %d", len(s.Users))
	}
	d := newDecider(s, false)
	u := s.Users[0]
	grants, err := d.withDirect(u, c)
	if err != nil {
		return nil, err
	}
	in := u
	in.Grants = grants
	up := d.evaluate(in, u.Current)
	if err := d.refusal(up, c, owed(s, u)); err != nil {
		return nil, err
	}
	return d.finish(&Plan{Users: []UserPlan{up}}), nil
}

// owed returns what the user loses without any change: the losses group
// licensing owes it already (a source went away and it has not caught up).
// They are no side effect of a direct change; its plan applies them.
func owed(s *Snapshot, u UserInput) []int64 {
	return newDecider(s, false).evaluate(u, u.Current).Lost
}

// withDirect returns the user's grants with the change's direct ones
// applied: direct grants first (by product id), then the group grants.
func (d *decider) withDirect(u UserInput, c DirectChange) ([]Grant, error) {
	direct := map[int64]Grant{}
	for _, g := range u.Grants {
		if g.Source == allot.DirectSource {
			direct[g.ProductID] = g
		}
	}
	for _, pid := range append(slices.Clone(c.Remove), grantProducts(c.Add)...) {
		if d.cat.Product(pid) == nil {
			return nil, allot.Errorf(allot.EInvalid, "Product %d is not a product of this tenant.", pid)
		}
	}
	for _, g := range c.Add {
		if _, had := direct[g.ProductID]; !had {
			if err := d.directRefusal(d.cat.Product(g.ProductID)); err != nil {
				return nil, err
			}
		}
	}
	for _, pid := range c.Remove {
		if _, ok := direct[pid]; ok {
			delete(direct, pid)
			continue
		}
		name := d.cat.Product(pid).SkuPartNumber
		for _, g := range u.Grants {
			if g.ProductID == pid {
				return nil, allot.Errorf(allot.EInheritedLicense, "%s is assigned to this user by group '%s'; remove the user from that group or remove the license from the group.", name, d.snap.GroupNames[g.Source])
			}
		}
		return nil, allot.Errorf(allot.EInvalid, "User does not have a direct assignment of %s to remove.", name)
	}
	for _, g := range c.Add {
		if err := CheckEnd(d.cat.Product(g.ProductID), g.EndsAt, d.snap.Now); err != nil {
			return nil, err
		}
		direct[g.ProductID] = Grant{Source: allot.DirectSource, ProductID: g.ProductID, DisabledPlans: g.DisabledPlans, EndsAt: g.EndsAt}
	}
	out := make([]Grant, 0, len(u.Grants)+len(c.Add))
	for _, pid := range sortedKeys(direct) {
		out = append(out, direct[pid])
	}
	for _, g := range u.Grants {
		if g.Source != allot.DirectSource {
			out = append(out, g)
		}
	}
	return out, nil
}

func grantProducts(gs []Grant) []int64 {
	out := make([]int64, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.ProductID)
	}
	return out
}

// refusal returns the error of a direct change that does not apply fully:
// an added product that is not granted, or a product the user keeps that
// the change leaves without its prerequisite or otherwise takes away
// (other than what the user loses anyway, owed).
func (d *decider) refusal(up UserPlan, c DirectChange, owed []int64) error {
	for _, g := range c.Add {
		st, _ := findState(up.After, g.ProductID, allot.DirectSource)
		if st.State != allot.StateActive {
			p := d.cat.Product(g.ProductID)
			msg := Message(d.cat, st.Code, p)
			if pm := d.poolMessage(up.UserID, st.Code, p); pm != "" {
				msg = pm
			}
			return &allot.Error{Code: st.Code, Message: msg, Target: p.SkuID}
		}
	}
	for _, pid := range up.Lost {
		if slices.Contains(c.Remove, pid) || slices.Contains(owed, pid) || slices.Contains(up.Released, pid) {
			continue
		}
		p := d.cat.Product(pid)
		code := lossReason(up, pid)
		e := allot.Errorf(code, "The change would also take %s away from the user: %s Remove %s in the same call, or keep what it needs.",
			p.SkuPartNumber, Message(d.cat, code, p), p.SkuPartNumber)
		e.Target = p.SkuID
		return e
	}
	return nil
}

// BulkResult is one user's outcome of a bulk assignment.
type BulkResult struct {
	// Via is "direct" or the name of the group through which the user
	// already holds the product; "" when the user did not hold it.
	Via string
	// Code is why the user could not get the product; "" when licensed.
	Code    allot.Code
	Message string
	// Target is the skuId the failure is about: the product asked for, or
	// one the user would lose as a side effect.
	Target string
}

// AssignBulk gives product pid directly to every user of the snapshot, in
// order, while seats last (rule 2 per user): a user who cannot get it keeps
// everything as it was and gets the precise error; a user who already holds
// it, directly or through a group, is left alone. reserved seats count as
// consumed (earlier batches of the same dry run).
func AssignBulk(s *Snapshot, pid int64, disabledPlans []string, reserved int) (*Plan, []BulkResult) {
	d := newDecider(s, false)
	d.consumed[pid] += reserved
	p := &Plan{}
	res := make([]BulkResult, len(s.Users))
	for i, u := range s.Users {
		if via := holds(u, pid, s.GroupNames); via != "" {
			res[i].Via = via
			continue
		}
		c := DirectChange{Add: []Grant{{ProductID: pid, DisabledPlans: disabledPlans}}}
		grants, err := d.withDirect(u, c)
		if err != nil {
			res[i].Code, res[i].Message, res[i].Target = allot.ErrorCode(err), allot.ErrorMessage(err), allot.ErrorTarget(err)
			continue
		}
		in := u
		in.Grants = grants
		consumed, seq := d.save()
		up := d.evaluate(in, u.Current)
		if err := d.refusal(up, c, owed(s, u)); err != nil {
			d.restore(consumed, seq)
			res[i].Code, res[i].Message, res[i].Target = allot.ErrorCode(err), allot.ErrorMessage(err), allot.ErrorTarget(err)
			continue
		}
		p.Users = append(p.Users, up)
	}
	d.consumed[pid] -= reserved
	return d.finish(p), res
}

// holds returns how the user holds product pid now: "direct", a group's
// name, or "" when the user does not hold it.
func holds(u UserInput, pid int64, groupNames map[int64]string) string {
	via := ""
	for _, st := range u.Current {
		if st.ProductID != pid || st.State != allot.StateActive {
			continue
		}
		if st.Source == allot.DirectSource {
			return "direct"
		}
		if via == "" {
			if via = groupNames[st.Source]; via == "" {
				via = fmt.Sprintf("group %d", st.Source)
			}
		}
	}
	return via
}

// ReduceSeats decides a change of product pid's enabled seats to enabled
// (rule 9). The snapshot's users must be every user who holds the product.
// Below consumption, the newest holders (by when they got their seat) go to
// CountViolation with seatsReducedBelowConsumption, and everything that
// follows for them is decided at once (an add-on that needed the product).
// They wait in the order they got their seats: the first to get one gets
// one back first. Above consumption nothing is decided here: waiting users
// are recomputed by group licensing.
func ReduceSeats(s *Snapshot, pid int64, enabled int) *Plan {
	d := newDecider(s, true)
	d.enabled[pid] = enabled
	excess := d.consumed[pid] - enabled
	p := &Plan{}
	if excess <= 0 {
		return d.finish(p)
	}
	victims := newestHolders(s.Users, pid, excess)
	// Victims lose the seat first, then are recomputed in the order they
	// got it, so that the earliest holder waits first.
	base := d.seq
	d.seq += int64(len(victims))
	d.consumed[pid] -= len(victims)
	for _, v := range victims {
		d.takePool(pid, &s.Users[v], -1)
	}
	for k := len(victims) - 1; k >= 0; k-- {
		u := s.Users[victims[k]]
		in := u
		in.Current = make([]allot.LicenseState, len(u.Current))
		for j, st := range u.Current {
			if st.ProductID == pid && st.State == allot.StateActive {
				st.State, st.Code, st.UpdatedAt = allot.StateError, allot.ESeatsReduced, s.Now
				st.Seq = base + int64(len(victims)-1-k)
			}
			in.Current[j] = st
		}
		up := d.evaluate(in, u.Current)
		// evaluate counted the product as not held: it is lost.
		up.Lost = append(up.Lost, pid)
		slices.Sort(up.Lost)
		p.Users = append(p.Users, up)
	}
	return d.finish(p)
}

// Holder is a user who holds a product, since the lowest seq of its
// active states of it.
type Holder struct {
	UserID int64
	Since  int64
}

// NewestHolders returns the ids of the n holders who got the product last,
// newest first (ties: higher user id first). A store that knows every
// holder's Since can load only these users for ReduceSeats.
func NewestHolders(hs []Holder, n int) []int64 {
	hs = slices.Clone(hs)
	sort.Slice(hs, func(a, b int) bool {
		if hs[a].Since != hs[b].Since {
			return hs[a].Since > hs[b].Since
		}
		return hs[a].UserID > hs[b].UserID
	})
	out := make([]int64, 0, min(max(n, 0), len(hs)))
	for _, h := range hs[:min(max(n, 0), len(hs))] {
		out = append(out, h.UserID)
	}
	return out
}

// newestHolders returns the indexes in users of the n users who got
// product pid last, newest first.
func newestHolders(users []UserInput, pid int64, n int) []int {
	var hs []Holder
	at := map[int64]int{}
	for i, u := range users {
		first, ok := int64(0), false
		for _, st := range u.Current {
			if st.ProductID == pid && st.State == allot.StateActive && (!ok || st.Seq < first) {
				first, ok = st.Seq, true
			}
		}
		if ok {
			hs = append(hs, Holder{u.UserID, first})
			at[u.UserID] = i
		}
	}
	var out []int
	for _, id := range NewestHolders(hs, n) {
		out = append(out, at[id])
	}
	return out
}
