// Package licensing holds allot's licensing rules (DESIGN.md §3) as pure
// functions: given a user's sources of licenses, the products and the seats
// left, it decides which grants are active and which fail, and why. It does no
// I/O; the store loads the inputs and writes the outputs in one transaction.
package licensing

import (
	"fmt"
	"slices"
	"strings"

	"allot"
)

// Grant is one source's intent to give a product to a user.
type Grant struct {
	Source        int64 // allot.DirectSource or a group id
	ProductID     int64
	DisabledPlans []string
}

// UserInput is everything the rules need to know about one user.
type UserInput struct {
	UserID        int64
	UsageLocation string
	// Grants lists every source's intent, direct ones first, then groups in
	// the order the user joined them.
	Grants []Grant
	// Current lists the user's stored license states.
	Current []allot.LicenseState
}

// Env is the tenant-wide context of an evaluation. Evaluate updates Consumed
// as it hands out and takes back seats, so one Env serves a whole batch.
type Env struct {
	DataLocation         string
	DefaultUsageLocation string
	Products             map[int64]*allot.Product
	byPart               map[string]int64
	// WaitingOutside counts, per product, users waiting for a seat who are not
	// part of this batch: newcomers may not take seats that they are owed.
	WaitingOutside map[int64]int
	// Ahead lists, per product with free seats, the places in line (seqs, in
	// order) of the first users outside this batch who wait for it: a waiter
	// of the batch gets a seat only after those who wait longer.
	Ahead map[int64][]int64
	// NextSeq returns the next ordering number for grants and waiters.
	NextSeq func() int64
	// Now is the timestamp written into changed states (unix ms).
	Now int64
}

// NewEnv returns an Env over the tenant's products.
func NewEnv(dataLocation, defaultUsageLocation string, products []*allot.Product, nextSeq func() int64, now int64) *Env {
	e := &Env{
		DataLocation:         dataLocation,
		DefaultUsageLocation: defaultUsageLocation,
		Products:             make(map[int64]*allot.Product, len(products)),
		byPart:               make(map[string]int64, len(products)),
		WaitingOutside:       map[int64]int{},
		Ahead:                map[int64][]int64{},
		NextSeq:              nextSeq,
		Now:                  now,
	}
	for _, p := range products {
		e.Products[p.ID] = p
		e.byPart[strings.ToUpper(p.SkuPartNumber)] = p.ID
	}
	return e
}

// ProductByPart returns the tenant's product with the skuPartNumber, or nil.
func (e *Env) ProductByPart(part string) *allot.Product {
	if id, ok := e.byPart[strings.ToUpper(part)]; ok {
		return e.Products[id]
	}
	return nil
}

// Outcome is the result of evaluating one user.
type Outcome struct {
	// Desired lists the states the user should have, one per grant.
	Desired []allot.LicenseState
	// Gained and Lost list the products whose seat the user took or gave back.
	Gained, Lost []int64
	// Changed tells whether Desired differs from the current states.
	Changed bool
}

type key struct{ source, product int64 }

// Evaluate applies the rules to one user. It is deterministic: the same input
// and Env give the same outcome, and evaluating its own output again gives no
// change.
func Evaluate(env *Env, u UserInput) Outcome {
	if out, ok := evaluateSimple(env, u); ok {
		return out
	}
	current := make(map[key]allot.LicenseState, len(u.Current))
	held := map[int64]bool{}
	for _, s := range u.Current {
		current[key{s.Source, s.ProductID}] = s
		if s.State == allot.StateActive {
			held[s.ProductID] = true
		}
	}
	failed := make(map[key]allot.Code)
	var grants []Grant
	for _, g := range u.Grants {
		p := env.Products[g.ProductID]
		if p == nil {
			continue
		}
		grants = append(grants, g)
		if c := StaticCheck(env, p, g.Source, u.UsageLocation); c != "" {
			failed[key{g.Source, g.ProductID}] = c
		}
	}
	// reserved holds the products whose seat this user takes now.
	reserved := map[int64]bool{}
	for {
		changed := allOrNothing(grants, failed)
		active := activeSet(grants, failed)
		for _, g := range grants {
			k := key{g.Source, g.ProductID}
			if _, bad := failed[k]; bad {
				continue
			}
			p := env.Products[g.ProductID]
			if c := relationCheck(env, p, active, held); c != "" {
				failed[k] = c
				changed = true
			}
		}
		if changed {
			continue
		}
		// Capacity: products the user does not hold yet need a free seat.
		for _, pid := range sortedKeys(active) {
			if held[pid] || reserved[pid] {
				continue
			}
			p := env.Products[pid]
			free := p.EnabledUnits - p.ConsumedUnits
			if w, waiting := waitingSince(u.Current, pid); waiting {
				// Seats go to the users outside this batch who wait longer first.
				free -= countBelow(env.Ahead[pid], w)
			} else {
				free -= env.WaitingOutside[pid]
			}
			if free > 0 {
				reserved[pid] = true
				p.ConsumedUnits++
				continue
			}
			code := allot.ENoSeats
			if reducedBefore(u.Current, pid) {
				code = allot.ESeatsReduced
			}
			for _, g := range grants {
				if g.ProductID == pid {
					if _, bad := failed[key{g.Source, pid}]; !bad {
						failed[key{g.Source, pid}] = code
					}
				}
			}
			changed = true
		}
		if !changed {
			break
		}
	}
	active := activeSet(grants, failed)
	// Give back reservations that later failures made unnecessary.
	for pid := range reserved {
		if !active[pid] {
			env.Products[pid].ConsumedUnits--
			delete(reserved, pid)
		}
	}
	var out Outcome
	for pid := range reserved {
		out.Gained = append(out.Gained, pid)
	}
	for pid := range held {
		if !active[pid] {
			out.Lost = append(out.Lost, pid)
			if p := env.Products[pid]; p != nil {
				p.ConsumedUnits--
			}
		}
	}
	slices.Sort(out.Gained)
	slices.Sort(out.Lost)
	for _, g := range grants {
		k := key{g.Source, g.ProductID}
		st := allot.LicenseState{UserID: u.UserID, ProductID: g.ProductID, Source: g.Source, DisabledPlans: g.DisabledPlans}
		if c, bad := failed[k]; bad {
			st.State, st.Code = allot.StateError, c
		} else {
			st.State = allot.StateActive
		}
		cur, had := current[k]
		switch {
		case had && cur.State == st.State && cur.Code == st.Code && slices.Equal(cur.DisabledPlans, st.DisabledPlans):
			st.Seq, st.UpdatedAt = cur.Seq, cur.UpdatedAt
		case had && cur.State == st.State && cur.Code == st.Code:
			st.Seq, st.UpdatedAt = cur.Seq, env.Now
			out.Changed = true
		case had && isWaiting(cur.Code) && isWaiting(st.Code):
			// Still waiting for a seat: keep the place in the queue.
			st.Seq, st.UpdatedAt = cur.Seq, env.Now
			out.Changed = true
		default:
			st.Seq, st.UpdatedAt = env.NextSeq(), env.Now
			out.Changed = true
		}
		out.Desired = append(out.Desired, st)
	}
	if len(out.Desired) != len(u.Current) {
		out.Changed = true
	}
	return out
}

// evaluateSimple is Evaluate for the most common case, a user who has no
// license yet and one grant of a product that depends on no other product:
// the same result without the general fixed point's allocations.
func evaluateSimple(env *Env, u UserInput) (Outcome, bool) {
	if len(u.Current) != 0 || len(u.Grants) != 1 {
		return Outcome{}, false
	}
	g := u.Grants[0]
	p := env.Products[g.ProductID]
	if p == nil || len(p.Rules.RequiresAnyOf) > 0 || len(p.Rules.MutuallyExclusiveWith) > 0 {
		return Outcome{}, false
	}
	st := allot.LicenseState{UserID: u.UserID, ProductID: g.ProductID, Source: g.Source, DisabledPlans: g.DisabledPlans,
		State: allot.StateActive, UpdatedAt: env.Now}
	out := Outcome{Changed: true}
	if c := StaticCheck(env, p, g.Source, u.UsageLocation); c != "" {
		st.State, st.Code = allot.StateError, c
	} else if p.EnabledUnits-p.ConsumedUnits-env.WaitingOutside[p.ID] > 0 {
		p.ConsumedUnits++
		out.Gained = []int64{p.ID}
	} else {
		st.State, st.Code = allot.StateError, allot.ENoSeats
	}
	st.Seq = env.NextSeq()
	out.Desired = []allot.LicenseState{st}
	return out, true
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
	n := 0
	for _, s := range seqs {
		if s >= w {
			break
		}
		n++
	}
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

// allOrNothing fails every product of a group for a user when one of them
// fails (rule 5). It reports whether it failed anything new.
func allOrNothing(grants []Grant, failed map[key]allot.Code) bool {
	changed := false
	bad := map[int64]bool{}
	for _, g := range grants {
		if _, f := failed[key{g.Source, g.ProductID}]; f && g.Source != allot.DirectSource {
			bad[g.Source] = true
		}
	}
	for _, g := range grants {
		k := key{g.Source, g.ProductID}
		if _, f := failed[k]; !f && bad[g.Source] {
			failed[k] = allot.EOtherProductFailed
			changed = true
		}
	}
	return changed
}

func activeSet(grants []Grant, failed map[key]allot.Code) map[int64]bool {
	a := map[int64]bool{}
	for _, g := range grants {
		if _, f := failed[key{g.Source, g.ProductID}]; !f {
			a[g.ProductID] = true
		}
	}
	return a
}

// StaticCheck checks the rules that depend only on the product, the tenant and
// the user's usage location (rules 6 and data location). Direct grants need the
// user's own usage location; group grants fall back to the tenant default.
func StaticCheck(env *Env, p *allot.Product, source int64, userUsageLocation string) allot.Code {
	if !Available(p.Rules.AvailableDataLocations, env.DataLocation) {
		return allot.EDataLocation
	}
	loc := userUsageLocation
	if loc == "" && source != allot.DirectSource {
		loc = env.DefaultUsageLocation
	}
	if loc == "" {
		return allot.EUsageLocationNeeded
	}
	if !Available(p.Rules.AllowedUsageLocations, loc) {
		return allot.EUsageLocationDenied
	}
	return ""
}

// Available tells whether v is in list, case-insensitively; an empty list allows all.
func Available(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// relationCheck checks prerequisites and exclusions against the products that
// are active after all sources are merged (rule 7).
func relationCheck(env *Env, p *allot.Product, active, held map[int64]bool) allot.Code {
	if len(p.Rules.RequiresAnyOf) > 0 {
		ok := false
		for _, part := range p.Rules.RequiresAnyOf {
			if q := env.ProductByPart(part); q != nil && active[q.ID] {
				ok = true
				break
			}
		}
		if !ok {
			return allot.EPrerequisiteMissing
		}
	}
	for _, part := range p.Rules.MutuallyExclusiveWith {
		q := env.ProductByPart(part)
		if q == nil || !active[q.ID] {
			continue
		}
		// The product the user already holds wins; between two new ones,
		// the one with the lower id (added to the tenant first) wins.
		if held[p.ID] && !held[q.ID] {
			continue
		}
		if held[q.ID] && !held[p.ID] {
			return allot.EMutuallyExclusive
		}
		if p.ID > q.ID {
			return allot.EMutuallyExclusive
		}
	}
	// Exclusion declared on the other product counts too.
	for qid := range active {
		q := env.Products[qid]
		if q == nil || q.ID == p.ID {
			continue
		}
		for _, part := range q.Rules.MutuallyExclusiveWith {
			if !strings.EqualFold(part, p.SkuPartNumber) {
				continue
			}
			if held[p.ID] && !held[q.ID] {
				continue
			}
			if (held[q.ID] && !held[p.ID]) || p.ID > q.ID {
				return allot.EMutuallyExclusive
			}
		}
	}
	return ""
}

func sortedKeys(m map[int64]bool) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Message returns the words an admin reads for a licensing error code on a
// product: what is wrong and what to do.
func Message(env *Env, c allot.Code, p *allot.Product) string {
	name := p.SkuPartNumber
	switch c {
	case allot.ENoSeats:
		return fmt.Sprintf("No %s seats left: %d of %d in use. Buy more seats or free some; waiting users get a seat automatically when one frees up.", name, p.ConsumedUnits, p.EnabledUnits)
	case allot.ESeatsReduced:
		return fmt.Sprintf("The number of %s seats was reduced below the number in use (%d of %d); this assignment waits for a seat.", name, p.ConsumedUnits, p.EnabledUnits)
	case allot.EUsageLocationNeeded:
		return fmt.Sprintf("The user has no usageLocation; set it (for example \"US\") before assigning %s.", name)
	case allot.EUsageLocationDenied:
		return fmt.Sprintf("%s may only be used in %s; change the user's usageLocation.", name, strings.Join(p.Rules.AllowedUsageLocations, ", "))
	case allot.EPrerequisiteMissing:
		return fmt.Sprintf("%s needs one of %s first; assign one of them to the user (directly or through a group).", name, strings.Join(p.Rules.RequiresAnyOf, ", "))
	case allot.EMutuallyExclusive:
		others := p.Rules.MutuallyExclusiveWith
		if env != nil {
			others = exclusivesOf(env, p)
		}
		return fmt.Sprintf("%s cannot be held together with %s; remove that product first.", name, strings.Join(others, ", "))
	case allot.EDataLocation:
		return fmt.Sprintf("%s is not available in this tenant's data location; it is available in %s.", name, strings.Join(p.Rules.AvailableDataLocations, ", "))
	case allot.EOtherProductFailed:
		return fmt.Sprintf("%s was not assigned because another product of the same group failed for this user (a group grants all of its products or none).", name)
	}
	return string(c)
}

func exclusivesOf(env *Env, p *allot.Product) []string {
	set := slices.Clone(p.Rules.MutuallyExclusiveWith)
	for _, q := range env.Products {
		for _, part := range q.Rules.MutuallyExclusiveWith {
			if strings.EqualFold(part, p.SkuPartNumber) && !slices.Contains(set, q.SkuPartNumber) {
				set = append(set, q.SkuPartNumber)
			}
		}
	}
	slices.Sort(set)
	return set
}

// EnabledPlans returns the ids of the service plans a user gets of product p
// from a set of active grants: the union of what each grant enables (rule 1).
func EnabledPlans(p *allot.Product, disabledPerGrant [][]string) []string {
	var out []string
	for _, sp := range p.ServicePlans {
		for _, dis := range disabledPerGrant {
			if !containsFold(dis, sp.ID) {
				out = append(out, sp.ID)
				break
			}
		}
	}
	return out
}

// DisabledPlans returns the plans of p disabled in every grant (the
// intersection), which is the user's effective disabledPlans.
func DisabledPlans(p *allot.Product, disabledPerGrant [][]string) []string {
	enabled := EnabledPlans(p, disabledPerGrant)
	out := []string{}
	for _, sp := range p.ServicePlans {
		if !slices.Contains(enabled, sp.ID) {
			out = append(out, sp.ID)
		}
	}
	return out
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
