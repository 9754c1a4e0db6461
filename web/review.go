package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"allot"
	"allot/store"
)

// ---- Reviews: what a change would do, from store.Preview of that change ----

// reviewModel is what one change would do, computed by store.Preview of
// exactly the change its button applies: first every license someone would
// lose, then, per product, who would gain it, wait for it or fail to get it.
type reviewModel struct {
	// Losses are the licenses the change would take away, side effects
	// first; LossCount is their total (the list may be shorter).
	Losses    []lossLine
	LossCount int
	// People counts the distinct people in Losses.
	People int
	// Products says, per product that would change, what happens to it.
	Products []productChange
	// Key identifies the losses the person reviewed, so that a POST can tell
	// whether the change still does what the review said.
	Key string

	pv *store.Preview
}

// lossLine is one license one person would lose, in words.
type lossLine struct {
	UserGUID, Name, UPN string
	Product, Part       string
	Reason              string
	Explicit            bool
}

// productChange is one product's part of a review.
type productChange struct {
	Name, Part      string
	Gain, Lose      int
	Wait            int      // would wait for a seat
	Fail            []string // other failures, counted, in words
	Seats           string   // "Seats after the change: 12 of 25 in use."
	WaitingExamples []string
}

// NeedsConfirm tells whether applying the change needs the second,
// explicit confirmation: someone would lose a license.
func (r *reviewModel) NeedsConfirm() bool { return r != nil && r.LossCount > 0 }

// confirmLabel is the words of the confirmation check box.
func (r *reviewModel) confirmLabel() string {
	if r.LossCount > len(r.Losses) {
		return fmt.Sprintf("I understand that %s will be taken away.", plural(r.LossCount, "license", "licenses"))
	}
	if r.People == 1 {
		return "I understand that 1 person will lose licenses."
	}
	return fmt.Sprintf("I understand that %s people will lose licenses.", num(r.People))
}

// lossHeadline says how many people would lose how many licenses.
func (r *reviewModel) lossHeadline() string {
	people := plural(r.People, "person", "people")
	if r.LossCount > len(r.Losses) {
		people = "At least " + people
	}
	return fmt.Sprintf("%s would lose %s.", people, plural(r.LossCount, "license", "licenses"))
}

// review runs change as a dry run (store.Preview, rolled back) and says
// what it would do. change must run the store's methods with the context
// it is given, confirmed (a preview shows losses; it does not refuse them).
func (s *Server) review(q *req, change func(ctx context.Context) error) (*reviewModel, error) {
	pv, err := s.st.Preview(q.ctx(), q.tenant(), change)
	if err != nil {
		return nil, err
	}
	return s.reviewOf(q, pv)
}

// reviewOf says what a change's preview says it would do.
func (s *Server) reviewOf(q *req, pv *store.Preview) (*reviewModel, error) {
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, p := range products {
		names[strings.ToLower(p.SkuID)] = p.DisplayName
	}
	r := &reviewModel{pv: pv, LossCount: max(pv.LossCount, len(pv.Losses)), Key: lossKey(pv)}
	people := map[string]bool{}
	for _, l := range pv.Losses {
		r.Losses = append(r.Losses, lossLine{UserGUID: l.UserID, Name: l.DisplayName, UPN: l.UserPrincipalName,
			Product: orName(l.ProductName, names[strings.ToLower(l.SkuID)], l.SkuPartNumber), Part: l.SkuPartNumber,
			Reason: lossWords(l), Explicit: l.Explicit})
		people[l.UserID] = true
	}
	lost := 0
	for _, pp := range pv.Products {
		name := orName(names[strings.ToLower(pp.SkuID)], pp.SkuPartNumber)
		r.Products = append(r.Products, changeOf(pp, name))
		lost += pp.Lose
		if len(pv.Losses) == 0 {
			// A store that does not list losses still counts them per
			// product: never say "no one" when someone would lose one.
			for _, id := range pp.SampleLose {
				if u, err := s.st.User(q.ctx(), q.tenant(), id); err == nil {
					r.Losses = append(r.Losses, lossLine{UserGUID: u.GUID, Name: u.DisplayName, UPN: u.UserPrincipalName,
						Product: name, Part: pp.SkuPartNumber, Reason: "It would be removed."})
					people[u.GUID] = true
				}
			}
		}
	}
	r.LossCount = max(r.LossCount, lost)
	r.People = len(people)
	return r, nil
}

// changeOf says one product's part of a preview.
func changeOf(pp store.PreviewProduct, name string) productChange {
	c := productChange{Name: name, Part: pp.SkuPartNumber, Gain: pp.Gain, Lose: pp.Lose,
		Seats: fmt.Sprintf("Seats after the change: %s of %s in use.", num(pp.ConsumedUnitsAfter), num(pp.EnabledUnits))}
	for _, code := range sortedKeys(pp.FailByCode) {
		n := pp.FailByCode[code]
		if allot.Code(code) == allot.ENoSeats || allot.Code(code) == allot.ESeatsReduced {
			c.Wait += n
			continue
		}
		c.Fail = append(c.Fail, num(n)+" "+codeWords(code))
	}
	return c
}

// words says a product's change in one line: "would get it: 3; would wait
// for a seat: 2".
func (c productChange) words() string {
	var parts []string
	if c.Lose > 0 {
		parts = append(parts, num(c.Lose)+" would lose it")
	}
	if c.Gain > 0 {
		parts = append(parts, num(c.Gain)+" would get it")
	}
	if c.Wait > 0 {
		parts = append(parts, num(c.Wait)+" would wait for a seat")
	}
	parts = append(parts, c.Fail...)
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

func orName(names ...string) string {
	for _, n := range names {
		if n != "" {
			return n
		}
	}
	return ""
}

// lossWords says why someone would lose a license: the store's words when
// it has them, else the reason code's.
func lossWords(l store.PreviewLoss) string {
	switch allot.Code(l.Reason) {
	case allot.LossReasonRemoved:
		if l.Explicit {
			return "This change removes it."
		}
		return "Its only source goes away."
	case allot.ESeatsReduced, allot.ENoSeats:
		return "There would be fewer seats than people who hold it; the newest assignments lose theirs first."
	case allot.EPrerequisiteMissing:
		return "It needs a product (such as E3 or E5) that the person would no longer have."
	case allot.EPlanDependency:
		return "It needs a service plan that would be turned off."
	case allot.EMutuallyExclusive:
		return "A product that excludes it would be assigned."
	case allot.EOtherProductFailed:
		return "Another product from the same group would fail, and a group licenses all or none."
	case allot.EUsageLocationNeeded, allot.EUsageLocationDenied:
		return "The person's usage location would not allow it."
	}
	if l.Message != "" {
		return l.Message
	}
	return "It would be removed (" + l.Reason + ")."
}

// lossKey identifies a preview's losses: who would lose what, and how
// many, per product too.
func lossKey(pv *store.Preview) string {
	lines := make([]string, 0, len(pv.Losses))
	for _, l := range pv.Losses {
		lines = append(lines, strings.ToLower(l.UserID+"/"+l.SkuID))
	}
	for _, pp := range pv.Products {
		if pp.Lose > 0 {
			lines = append(lines, fmt.Sprintf("%s lose %d %s", strings.ToLower(pp.SkuID), pp.Lose, strings.Join(pp.SampleLose, ",")))
		}
	}
	sort.Strings(lines)
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s", pv.LossCount, strings.Join(lines, "\n"))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Messages of a POST whose review no longer holds.
const (
	msgReviewChanged = "What this change would do is no longer what you reviewed: check the review below again."
	msgConfirmLoss   = "People would lose licenses: tick the box to confirm, or go back."
	msgLossRefused   = "This change would now take licenses away from people: check the review below, confirm, and try again."
)

// recheck compares a POST with the review computed now: it returns why
// the person must look again, or "" when the change may go ahead.
func (q *req) recheck(r *reviewModel) string {
	switch {
	case r.Key != q.r.PostForm.Get("reviewed"):
		return msgReviewChanged
	case r.NeedsConfirm() && !q.lossConfirmed():
		return msgConfirmLoss
	}
	return ""
}

// lossConfirmed tells whether the person ticked "I understand N people
// will lose licenses".
func (q *req) lossConfirmed() bool { return q.r.PostForm.Get("confirmLoss") != "" }

// isLossRefusal tells whether the store refused a change because it would
// take licenses away without confirmation.
func isLossRefusal(err error) bool { return allot.ErrorCode(err) == allot.ELicenseLoss }
