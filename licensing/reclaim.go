package licensing

import "allot"

// Reclamation rule kinds.
const (
	// ReclaimDisabled reclaims from users disabled for the rule's period.
	ReclaimDisabled = "disabled"
	// ReclaimNoActivity reclaims from users with no activity on the
	// product for the rule's period.
	ReclaimNoActivity = "noActivity"
)

// ReclaimRule is a reclamation rule: a product held directly by a user
// who has been disabled for DisabledFor (kind ReclaimDisabled, the
// default) or has shown no activity for InactiveFor (ReclaimNoActivity)
// gets a notice; Notice after the notice, if the user still qualifies,
// the license is reclaimed and its seat goes to the waiters. A member of
// an exempt group (transitively) is never noticed. Durations are in
// milliseconds.
type ReclaimRule struct {
	ID          int64
	ProductID   int64
	Kind        string
	DisabledFor int64
	InactiveFor int64
	Notice      int64
	// ExemptGroups are the internal ids of the exempt groups.
	ExemptGroups []int64
}

// ReclaimCandidate is a user who holds the rule's product directly, with
// what the rule looks at.
type ReclaimCandidate struct {
	UserID  int64
	Enabled bool
	// DisabledSince is when the user was disabled (unix ms).
	DisabledSince int64
	// LastActive is the user's latest activity on the product (unix ms):
	// the later of the last sign-in and the imported activity report; 0
	// for none.
	LastActive int64
	// AssignedAt is when the user got the license (unix ms); a user with
	// no activity since counts as inactive from then.
	AssignedAt int64
	// KeptAt is when the user (or their manager, through an admin)
	// answered "keep" to the rule's notice (unix ms); 0 for never. The
	// rule's period starts again from it.
	KeptAt int64
	// NoticedAt is when the user got the rule's notice (unix ms); 0 for none.
	NoticedAt int64
	// Groups are groups the user is a member of, transitively (at least
	// those of the rule's exempt groups the user is in).
	Groups []int64
}

// Reclaim actions.
const (
	ReclaimNone   = ""        // nothing to do yet
	ReclaimNotify = "notice"  // give the notice now
	ReclaimTake   = "reclaim" // the notice ran out: take the license
	ReclaimCancel = "cancel"  // the user no longer qualifies: withdraw the notice
)

// ReclaimAction is what a rule does to one candidate at a time.
type ReclaimAction struct {
	UserID int64
	Action string
	// At is when the next action falls due (the notice's end for a notice).
	At int64
}

// DecideReclaim applies a rule to its candidates at time now: a user who
// no longer qualifies (enabled again, active again, answered "keep", or
// in an exempt group) has the notice withdrawn; a user who qualifies gets
// a notice; one whose notice is Notice old loses the license. A candidate
// whose actions are not due gets ReclaimNone.
func DecideReclaim(r ReclaimRule, cands []ReclaimCandidate, now int64) []ReclaimAction {
	out := make([]ReclaimAction, 0, len(cands))
	for _, c := range cands {
		a := ReclaimAction{UserID: c.UserID}
		due, qualifies := r.dueAt(c)
		qualifies = qualifies && due <= now && !r.exempt(c)
		switch {
		case !qualifies && c.NoticedAt != 0:
			a.Action = ReclaimCancel
		case !qualifies:
			if !r.exempt(c) {
				a.At = due
			}
		case c.NoticedAt != 0 && c.NoticedAt+r.Notice <= now:
			a.Action = ReclaimTake
		case c.NoticedAt != 0:
			a.At = c.NoticedAt + r.Notice
		default:
			a.Action, a.At = ReclaimNotify, now+r.Notice
		}
		out = append(out, a)
	}
	return out
}

// dueAt is when the candidate starts to qualify for the rule's notice
// (the period counted from the last activity, the assignment or the
// disabling, and from a "keep" answer), and false when it cannot (an
// enabled user under a ReclaimDisabled rule).
func (r ReclaimRule) dueAt(c ReclaimCandidate) (int64, bool) {
	if r.Kind == ReclaimNoActivity {
		return max(c.LastActive, c.AssignedAt, c.KeptAt) + r.InactiveFor, true
	}
	if c.Enabled {
		return 0, false
	}
	return max(c.DisabledSince, c.KeptAt) + r.DisabledFor, true
}

// exempt tells whether the candidate is in one of the rule's exempt groups.
func (r ReclaimRule) exempt(c ReclaimCandidate) bool {
	for _, g := range c.Groups {
		if containsID(r.ExemptGroups, g) {
			return true
		}
	}
	return false
}

// Reclaim recomputes the snapshot's users without their direct grants of
// product pid listed in take (the reclaimed ones), as Recompute decides:
// the seats they give back go to the waiters. A reclamation is explicit
// intent for that product only: a user who would lose anything else with
// it (an add-on that needs it) keeps it, and is returned in skipped.
func Reclaim(s *Snapshot, pid int64, take map[int64]bool) (p *Plan, skipped []int64) {
	removed := Removed{{allot.DirectSource, pid}: true}
	for {
		c := *s
		c.Users = make([]UserInput, len(s.Users))
		for i, u := range s.Users {
			if take[u.UserID] && !containsID(skipped, u.UserID) {
				u.Grants = withoutGrant(u.Grants, allot.DirectSource, pid)
			}
			c.Users[i] = u
		}
		p = Recompute(&c)
		side := p.Unconfirmed(removed)
		if len(side) == 0 {
			return p, skipped
		}
		for _, l := range side {
			if !containsID(skipped, l.UserID) {
				skipped = append(skipped, l.UserID)
			}
		}
	}
}
