package licensing

import "allot"

// ReclaimRule is a reclamation rule: a product held directly by a user
// who has been disabled for DisabledFor gets a notice; Notice after the
// notice, if the user is still disabled, the license is reclaimed and its
// seat goes to the waiters. Durations are in milliseconds.
type ReclaimRule struct {
	ID          int64
	ProductID   int64
	DisabledFor int64
	Notice      int64
}

// ReclaimCandidate is a user who holds the rule's product directly, with
// what the rule looks at.
type ReclaimCandidate struct {
	UserID  int64
	Enabled bool
	// DisabledSince is when the user was disabled (unix ms).
	DisabledSince int64
	// NoticedAt is when the user got the rule's notice (unix ms); 0 for none.
	NoticedAt int64
}

// Reclaim actions.
const (
	ReclaimNone   = ""        // nothing to do yet
	ReclaimNotify = "notice"  // give the notice now
	ReclaimTake   = "reclaim" // the notice ran out: take the license
	ReclaimCancel = "cancel"  // the user was enabled again: withdraw the notice
)

// ReclaimAction is what a rule does to one candidate at a time.
type ReclaimAction struct {
	UserID int64
	Action string
	// At is when the next action falls due (the notice's end for a notice).
	At int64
}

// DecideReclaim applies a rule to its candidates at time now: an enabled
// user's notice is withdrawn; a user disabled for the rule's period gets a
// notice; one whose notice is Notice old loses the license. A candidate
// whose actions are not due gets ReclaimNone.
func DecideReclaim(r ReclaimRule, cands []ReclaimCandidate, now int64) []ReclaimAction {
	out := make([]ReclaimAction, 0, len(cands))
	for _, c := range cands {
		a := ReclaimAction{UserID: c.UserID}
		switch {
		case c.Enabled && c.NoticedAt != 0:
			a.Action = ReclaimCancel
		case c.Enabled:
		case c.NoticedAt != 0 && c.NoticedAt+r.Notice <= now:
			a.Action = ReclaimTake
		case c.NoticedAt != 0:
			a.At = c.NoticedAt + r.Notice
		case c.DisabledSince+r.DisabledFor <= now:
			a.Action, a.At = ReclaimNotify, now+r.Notice
		default:
			a.At = c.DisabledSince + r.DisabledFor
		}
		out = append(out, a)
	}
	return out
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
