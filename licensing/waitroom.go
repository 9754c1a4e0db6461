package licensing

import (
	"fmt"
	"sort"

	"allot"
)

// The waiting room (docs/design.md, rule 17). A waiting state's seq is its
// place in line: every store query and decision serves the lowest place
// first, so this file decides places and nothing else needs to know why a
// place is what it is.
//
//   - A state that starts waiting through a VIP group takes its new seq less
//     VIPShift: ahead of every place taken outside VIP groups, and after the
//     VIP places taken before it (first come, first served among VIPs).
//   - Marking a group VIP (or not) moves its members' waiting states by
//     VIPShift (Replace).
//   - Moving a waiter up to position n hands the places of the waiters from
//     position n to the waiter's own round: the waiter takes the place of
//     the one at n, each of those moves one back (MoveUp). No new number is
//     made up, so places stay distinct and every other waiter keeps its own.

// VIPShift is how far ahead of ordinary places a VIP place is: far more
// than a store hands out ordering numbers in its lifetime.
const VIPShift = int64(1) << 52

// place returns the seq a state gets when it changes: seq, moved ahead by
// VIPShift when it starts waiting through a VIP group.
func (d *decider) place(seq int64, st allot.LicenseState) int64 {
	if isWaiting(st.Code) && d.snap.VIP[st.Source] {
		return seq - VIPShift
	}
	return seq
}

// Replace returns the place of a waiting state whose group is marked VIP
// (vip) or no longer: an ordinary place moves ahead, a VIP one back; a
// place already on the right side stays.
func Replace(seq int64, vip bool) int64 {
	switch {
	case vip && seq >= 0:
		return seq - VIPShift
	case !vip && seq < 0 && seq+VIPShift >= 0:
		return seq + VIPShift
	}
	return seq
}

// IsVIPPlace tells whether a place in line is one of the VIP places.
func IsVIPPlace(seq int64) bool { return seq < 0 }

// Waiter is a user in a product's line.
type Waiter struct {
	UserID int64
	// Place is the user's place in line: the lowest seq of its waiting
	// states of the product.
	Place int64
}

// InLine sorts waiters into the order they get seats: lowest place first
// (ties: lower user id).
func InLine(ws []Waiter) []Waiter {
	out := append([]Waiter(nil), ws...)
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Place != out[b].Place {
			return out[a].Place < out[b].Place
		}
		return out[a].UserID < out[b].UserID
	})
	return out
}

// MoveUp decides an admin's move of a waiter to position (1 is the head)
// of the line: it returns the new place of every waiter whose place
// changes. A waiter already at that position or ahead of it, a user who
// does not wait and a position below 1 are refused; a position past the
// end of the line is refused too (moving up never moves back).
func MoveUp(line []Waiter, userID int64, position int) (map[int64]int64, error) {
	line = InLine(line)
	from := -1
	for i, w := range line {
		if w.UserID == userID {
			from = i
		}
	}
	switch {
	case from < 0:
		return nil, allot.Errorf(allot.ENotFound, "The user does not wait for a seat of this product.")
	case position < 1:
		return nil, allot.Errorf(allot.EInvalid, "The position is counted from 1 (the head of the line).")
	case position-1 >= from:
		return nil, allot.Errorf(allot.EInvalid, "The user is already at position %d, at or ahead of position %d.", from+1, position)
	}
	to := position - 1
	out := map[int64]int64{userID: line[to].Place}
	for i := to; i < from; i++ {
		out[line[i].UserID] = line[i+1].Place
	}
	return out, nil
}

// WaitReason says, in an admin's words, why a user waits for product p:
// the reason of its waiting state (code), the group it waits through ("":
// none), the product it holds meanwhile through a fallback chain (nil:
// none), whether it waits as a VIP and why an admin moved it up ("": never).
func WaitReason(cat *Catalog, code allot.Code, p *allot.Product, group string, fallback *allot.Product, vip bool, moved string) string {
	out := Message(cat, code, p)
	if group != "" {
		out += fmt.Sprintf(" Waits through group '%s'.", group)
	}
	if fallback != nil {
		out += fmt.Sprintf(" Has %s meanwhile, as the group's fallback; gives it back when a seat of %s frees up.", fallback.DisplayName, p.DisplayName)
	}
	if vip {
		out += " Goes ahead of others: a member of a VIP group."
	}
	if moved != "" {
		out += fmt.Sprintf(" Moved up by an admin: %s", moved)
	}
	return out
}
