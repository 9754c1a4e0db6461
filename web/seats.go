package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/store"
)

// ---- Change seats: a product's enabled units, previewed, then applied ----

// maxSeats is the most seats a product may have (the store's limit).
const maxSeats = 10_000_000

// seatsModel is the review of a change of a product's seats: the store's
// preview of exactly the SetSeats that Apply makes.
type seatsModel struct {
	P       *allot.Product
	Enabled int // the seats asked for
	Input   string
	Waiting int // people waiting for a seat now
	Review  *reviewModel
	// Gains are the waiting people the change would license, first in line
	// first; GainCount is how many in all (the list may be shorter).
	Gains     []*allot.User
	GainCount int
	Err       string
}

// Up tells whether the change adds seats.
func (m *seatsModel) Up() bool { return m.Enabled > m.P.EnabledUnits }

// loadSeats reads the product and the seats asked for (from the query or
// the form) and, when the number is valid and new, reviews the change.
func (s *Server) loadSeats(q *req, form bool) (*seatsModel, error) {
	p, err := s.productOf(q)
	if err != nil {
		return nil, err
	}
	vals := q.r.URL.Query()
	if form {
		vals = q.r.PostForm
	}
	m := &seatsModel{P: p, Input: strings.TrimSpace(vals.Get("enabledUnits"))}
	if _, m.Waiting, err = s.st.ProductWaiters(q.ctx(), q.tenant(), p.ID, 0); err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m.Input, ",", ""))
	switch {
	case err != nil || n < 0 || n > maxSeats:
		m.Err = fmt.Sprintf("Enter the number of seats bought: a whole number from 0 to %s.", num(maxSeats))
		return m, nil
	case n == p.EnabledUnits:
		m.Err = fmt.Sprintf("%s already has %s: enter another number to change it.", p.DisplayName, plural(n, "seat", "seats"))
		return m, nil
	}
	m.Enabled, m.Input = n, strconv.Itoa(n)
	return m, s.reviewSeats(q, m)
}

// reviewSeats previews the change and names the waiting people it would
// license, in the order of the line.
func (s *Server) reviewSeats(q *req, m *seatsModel) error {
	a, t, sku, n := q.p.Actor(), q.tenant(), m.P.SkuID, m.Enabled
	var err error
	m.Review, err = s.review(q, func(ctx context.Context) error {
		_, err := s.st.SetSeats(ctx, a, t, sku, n, true)
		return err
	})
	if err != nil {
		return err
	}
	gain := map[string]bool{}
	for _, pp := range m.Review.pv.Products {
		if strings.EqualFold(pp.SkuID, sku) {
			m.GainCount = pp.Gain
			for _, id := range pp.SampleGain {
				gain[strings.ToLower(id)] = true
			}
		}
	}
	if m.GainCount == 0 {
		return nil
	}
	waiters, _, err := s.st.ProductWaiters(q.ctx(), t, m.P.ID, store.MaxPreviewMembers)
	if err != nil {
		return err
	}
	for _, u := range waiters {
		if gain[strings.ToLower(u.GUID)] {
			m.Gains = append(m.Gains, u)
		}
	}
	return nil
}

// seatsReview shows what changing the seats would do before anything changes.
func (s *Server) seatsReview(q *req) error {
	m, err := s.loadSeats(q, false)
	if err != nil {
		return err
	}
	return s.renderSeats(q, http.StatusOK, m)
}

// saveSeats changes the seats after their review. The change is reviewed
// again now: it must take away exactly the licenses the person saw and,
// when it takes any, the person must have confirmed.
func (s *Server) saveSeats(q *req) error {
	m, err := s.loadSeats(q, true)
	if err != nil {
		return err
	}
	if m.Review == nil {
		return s.renderSeats(q, http.StatusBadRequest, m)
	}
	if msg := q.recheck(m.Review); msg != "" {
		m.Err = msg
		return s.renderSeats(q, http.StatusConflict, m)
	}
	_, err = s.st.SetSeats(q.ctx(), q.p.Actor(), q.tenant(), m.P.SkuID, m.Enabled, m.Review.NeedsConfirm())
	if err != nil {
		return s.seatsRefused(q, m, err)
	}
	http.Redirect(q.w, q.r, query("/licenses/"+m.P.SkuID, "seats", "changed"), http.StatusSeeOther)
	return nil
}

// seatsRefused shows the review again, computed now, with why the store
// refused the change.
func (s *Server) seatsRefused(q *req, m *seatsModel, err error) error {
	if !isUserError(err) {
		return err
	}
	msg := msgLossRefused
	if !isLossRefusal(err) {
		w, werr := s.words(q)
		if werr != nil {
			return werr
		}
		msg = "The seats were not changed: " + w.err(err, m.P.SkuID)
	}
	if m2, lerr := s.loadSeats(q, true); lerr == nil {
		m = m2
	}
	m.Err = msg
	return s.renderSeats(q, http.StatusConflict, m)
}

func (s *Server) renderSeats(q *req, status int, m *seatsModel) error {
	return q.renderStatus(status, seatsPage(q.view("Change seats of "+m.P.DisplayName, "licenses"), m))
}

// headline says what the change does to the product's seats.
func (m *seatsModel) headline() string {
	from, to := plural(m.P.EnabledUnits, "seat", "seats"), num(m.Enabled)
	if m.Up() {
		return fmt.Sprintf("From %s to %s: %s more.", from, to, num(m.Enabled-m.P.EnabledUnits))
	}
	return fmt.Sprintf("From %s to %s: %s fewer.", from, to, num(m.P.EnabledUnits-m.Enabled))
}

// gainLine says who from the waiting list would get a seat.
func (m *seatsModel) gainLine() string {
	switch {
	case m.GainCount > 0:
		return fmt.Sprintf("Would license %s from the waiting list, first in line first:", plural(m.GainCount, "person", "people"))
	case m.Waiting > 0:
		return fmt.Sprintf("No one from the waiting list would get a seat: the %s waiting cannot get one yet.", plural(m.Waiting, "person", "people"))
	}
	return "No one is waiting for a seat."
}

// seatsAfter says the seats in use and free after the change.
func (m *seatsModel) seatsAfter() string {
	for _, c := range m.Review.Products {
		if c.Part == m.P.SkuPartNumber {
			return c.Seats
		}
	}
	return fmt.Sprintf("Seats after the change: %s of %s in use.", num(min(m.P.ConsumedUnits, m.Enabled)), num(m.Enabled))
}

// applyLabel is the words of the button that applies the change.
func (m *seatsModel) applyLabel() string {
	label := "Change to " + plural(m.Enabled, "seat", "seats")
	if m.Review.NeedsConfirm() {
		label += " and take " + plural(m.Review.LossCount, "license", "licenses") + " away"
	}
	return label
}

// seatsFlash is the notice the product page shows after a seat change.
func seatsFlash(q *req, p *allot.Product) string {
	if q.r.URL.Query().Get("seats") != "changed" {
		return ""
	}
	return fmt.Sprintf("Seats changed: %s now has %s.", p.DisplayName, plural(p.EnabledUnits, "seat", "seats"))
}

// ---- live seat counts ----

// seatLive is a product's seat counts, polled while its page is open.
type seatLive struct {
	P       *allot.Product
	Waiting int
	Poll    string // htmx trigger
}

func (s *Server) loadSeatLive(q *req, p *allot.Product) (*seatLive, error) {
	_, waiting, err := s.st.ProductWaiters(q.ctx(), q.tenant(), p.ID, 0)
	if err != nil {
		return nil, err
	}
	every := s.SeatPollInterval
	if every <= 0 {
		every = 3 * time.Second
	}
	return &seatLive{P: p, Waiting: waiting, Poll: "every " + every.String()}, nil
}

// seatCounts answers the live seat counts of a product's page.
func (s *Server) seatCounts(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	l, err := s.loadSeatLive(q, p)
	if err != nil {
		return err
	}
	return q.render(seatCountsPart(l))
}
