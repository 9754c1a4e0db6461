package licensing

import (
	"fmt"
	"strings"

	"allot"
)

// Policy returns a product's assignment policy; an unset one is PolicyAny.
func Policy(p *allot.Product) string {
	if p == nil || p.AssignmentPolicy == "" {
		return allot.PolicyAny
	}
	return p.AssignmentPolicy
}

// ParsePolicy returns the assignment policy named s (case-insensitive), or
// an EInvalid error that lists the policies.
func ParsePolicy(s string) (string, error) {
	for _, p := range []string{allot.PolicyAny, allot.PolicyGroupOnly, allot.PolicyDirectOnly} {
		if strings.EqualFold(strings.TrimSpace(s), p) {
			return p, nil
		}
	}
	return "", allot.Errorf(allot.EInvalid, "assignmentPolicy '%s' is not one of any, groupOnly, directOnly.", s)
}

// A group's licensing modes (rule 5 and its exception), as the API spells them.
const (
	ModeAllOrNothing = "allOrNothing" // a member gets every new product of the group or none
	ModeBestEffort   = "bestEffort"   // a member gets each product that can be granted
)

// ParseGroupMode returns the group licensing mode named s
// (case-insensitive), or an EInvalid error that lists the modes.
func ParseGroupMode(s string) (string, error) {
	for _, m := range []string{ModeAllOrNothing, ModeBestEffort} {
		if strings.EqualFold(strings.TrimSpace(s), m) {
			return m, nil
		}
	}
	return "", allot.Errorf(allot.EInvalid, "mode '%s' is not one of allOrNothing (a member gets all of the group's products or none of the new ones) or bestEffort (each product that can be granted).", s)
}

// CheckGroupAssign refuses a new group assignment of a product whose
// policy is directOnly.
func CheckGroupAssign(p *allot.Product) error {
	if Policy(p) != allot.PolicyDirectOnly {
		return nil
	}
	return &allot.Error{Code: allot.EAssignmentPolicy, Target: p.SkuID, Message: fmt.Sprintf(
		"%s is assigned directly only (assignmentPolicy directOnly); assign it to the users, or change the product's assignmentPolicy.", p.SkuPartNumber)}
}

// CheckDirectAssign refuses a direct assignment, to start later, of a
// product whose policy is groupOnly (the decision refuses one made now,
// naming the groups: directRefusal).
func CheckDirectAssign(p *allot.Product) error {
	if Policy(p) != allot.PolicyGroupOnly {
		return nil
	}
	return &allot.Error{Code: allot.EAssignmentPolicy, Target: p.SkuID, Message: fmt.Sprintf(
		"%s is assigned through groups only (assignmentPolicy groupOnly); assign it to a group and add the user to that group.", p.SkuPartNumber)}
}

// directRefusal refuses a new direct assignment of a groupOnly product,
// naming the groups that assign it.
func (d *decider) directRefusal(p *allot.Product) error {
	if Policy(p) != allot.PolicyGroupOnly {
		return nil
	}
	var names []string
	for _, g := range d.snap.Assigning[p.ID] {
		names = append(names, "'"+d.snap.GroupNames[g]+"'")
	}
	how := "no group assigns it yet; assign it to a group and add the user to that group"
	if len(names) > 0 {
		how = "add the user to a group that assigns it: " + strings.Join(names, ", ")
	}
	return &allot.Error{Code: allot.EAssignmentPolicy, Target: p.SkuID, Message: fmt.Sprintf(
		"%s is assigned through groups only (assignmentPolicy groupOnly); %s.", p.SkuPartNumber, how)}
}

// MoveResult is one user's outcome of MoveToGroup.
type MoveResult struct {
	UserID int64
	// Moved tells whether the direct assignment went: the group now gives
	// the user the seat.
	Moved bool
	// Code says why the direct assignment stays ("" when moved, or when
	// the user had none).
	Code allot.Code
}

// MoveToGroup moves the direct assignments of product pid of the
// snapshot's users to group gid: each user's grants must already include
// the group's (the store makes them members first). A direct grant goes
// only when, in the same plan, the group grant holds the user's seat and
// nothing else is lost, so nobody is unlicensed at any instant; a user for
// whom the group grant fails keeps the direct assignment beside the
// group's grants, and the result says why. Users are decided in order,
// queueing as group licensing does.
func MoveToGroup(s *Snapshot, pid, gid int64) (*Plan, []MoveResult) {
	d := newDecider(s, true)
	p := &Plan{}
	res := make([]MoveResult, len(s.Users))
	for i, u := range s.Users {
		res[i].UserID = u.UserID
		if !hasGrant(u.Grants, allot.DirectSource, pid) || !hasGrant(u.Grants, gid, pid) {
			p.Users = append(p.Users, d.evaluate(u, u.Current))
			continue
		}
		in := u
		in.Grants = withoutGrant(u.Grants, allot.DirectSource, pid)
		consumed, seq := d.save()
		up := d.evaluate(in, u.Current)
		if code := moveBlocked(up, pid, gid, owed(s, u)); code != "" {
			d.restore(consumed, seq)
			up = d.evaluate(u, u.Current)
			res[i].Code = code
		} else {
			res[i].Moved = true
		}
		p.Users = append(p.Users, up)
	}
	return d.finish(p), res
}

// moveBlocked returns why a trial move may not go ahead: the group grant of
// pid is not active, or the user would lose a product it does not lose
// anyway (owed). "" lets it go.
func moveBlocked(up UserPlan, pid, gid int64, owed []int64) allot.Code {
	st, _ := findState(up.After, pid, gid)
	if st.State != allot.StateActive {
		if st.Code == "" {
			return allot.EInvalid
		}
		return st.Code
	}
	for _, lost := range up.Lost {
		if !containsID(owed, lost) {
			return lossReason(up, lost)
		}
	}
	return ""
}

func hasGrant(gs []Grant, source, pid int64) bool {
	for _, g := range gs {
		if g.Source == source && g.ProductID == pid {
			return true
		}
	}
	return false
}

func withoutGrant(gs []Grant, source, pid int64) []Grant {
	out := make([]Grant, 0, len(gs))
	for _, g := range gs {
		if g.Source != source || g.ProductID != pid {
			out = append(out, g)
		}
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Ended returns the grants of the snapshot's users that have ended at
// Now: their licenses go on purpose (an end date is explicit intent), so a
// plan's losses through them need no confirmation.
func (s *Snapshot) Ended() Removed {
	r := Removed{}
	for _, u := range s.Users {
		for _, g := range u.Grants {
			if g.Ended(s.Now) {
				r[[2]int64{g.Source, g.ProductID}] = true
			}
		}
	}
	return r
}

// CheckEnd refuses an assignment of product p whose end (unix ms, 0 for
// none) is not after now.
func CheckEnd(p *allot.Product, endsAt, now int64) error {
	if endsAt != 0 && endsAt <= now {
		return allot.Errorf(allot.EInvalid, "The endDateTime of %s is not in the future.", p.SkuPartNumber)
	}
	return nil
}

// CheckStart refuses an assignment of p that starts at startsAt (unix ms)
// and ends at endsAt (0: never) unless it ends after it starts.
func CheckStart(p *allot.Product, startsAt, endsAt int64) error {
	if endsAt != 0 && endsAt <= startsAt {
		return allot.Errorf(allot.EInvalid, "The assignment of %s would end before it starts: choose an endDateTime after its startDateTime.", p.DisplayName)
	}
	return nil
}

// StartsLater tells whether an assignment that starts at startsAt (unix
// ms; 0: at once) waits until later than now.
func StartsLater(startsAt, now int64) bool { return startsAt > now }
