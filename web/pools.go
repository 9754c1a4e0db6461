package web

import (
	"net/http"
	"strconv"
	"strings"

	"allot"
	"allot/store/sqlstore"
)

// The Pools section of a product's page (docs/admin-center.md, "Pools"):
// a bar per license pool (allotted vs consumed), its waiting members and
// borrowing, with forms to create and change pools.

// productPools returns the pools of product p.
func (s *Server) productPools(q *req, p *allot.Product) ([]*sqlstore.LicensePool, error) {
	all, err := s.st.Pools(q.ctx(), q.tenant())
	if err != nil {
		return nil, err
	}
	var out []*sqlstore.LicensePool
	for _, lp := range all {
		if lp.ProductID == p.ID {
			out = append(out, lp)
		}
	}
	return out, nil
}

// poolBar is a pool's bar: its allotment as the whole, its consumed seats
// as the fill.
func poolBar(lp *sqlstore.LicensePool) *allot.Product {
	return &allot.Product{EnabledUnits: lp.AllottedUnits, ConsumedUnits: lp.ConsumedUnits}
}

func poolBarLabel(lp *sqlstore.LicensePool) string {
	s := num(lp.ConsumedUnits) + " of " + num(lp.AllottedUnits) + " pool seats used"
	if lp.BorrowedUnits > 0 {
		s += ", " + num(lp.BorrowedUnits) + " borrowed from the shared seats"
	}
	return s
}

func poolScope(lp *sqlstore.LicensePool) string {
	if lp.GroupID != 0 {
		return "Members of " + lp.GroupName
	}
	return "Department " + lp.Department
}

// poolInput reads a pool form.
func poolInput(q *req, create bool) (sqlstore.PoolInput, string) {
	f := q.r.PostForm
	var in sqlstore.PoolInput
	name := strings.TrimSpace(f.Get("name"))
	in.DisplayName = &name
	n, err := strconv.Atoi(strings.TrimSpace(f.Get("allotted")))
	if err != nil {
		return in, "Seats for the pool must be a whole number, such as 10."
	}
	in.AllottedUnits = &n
	borrow := f.Get("borrowing") == "on"
	in.AllowsBorrowing = &borrow
	if create {
		dept, group := strings.TrimSpace(f.Get("department")), strings.TrimSpace(f.Get("group"))
		if dept == "" && group == "" {
			return in, "Give the pool a department or a group's id: the people whose seats it reserves."
		}
		if group != "" {
			in.GroupRef = &group
		} else {
			in.Department = &dept
		}
	}
	return in, ""
}

// createPool handles the Create pool form.
func (s *Server) createPool(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	if err := q.r.ParseForm(); err != nil {
		return err
	}
	in, msg := poolInput(q, true)
	if msg == "" {
		in.ProductRef = p.SkuID
		_, err = s.st.CreatePool(q.ctx(), q.p.Actor(), q.tenant(), in)
	}
	return s.poolSaved(q, p, msg, err, "created")
}

// updatePool handles a pool's Save form.
func (s *Server) updatePool(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	if err := q.r.ParseForm(); err != nil {
		return err
	}
	in, msg := poolInput(q, false)
	if msg == "" {
		_, err = s.st.UpdatePool(q.ctx(), q.p.Actor(), q.tenant(), q.r.PathValue("id"), in)
	}
	return s.poolSaved(q, p, msg, err, "saved")
}

// poolSaved sends the person back to the product's pools, or shows the
// page again with why the pool was not saved.
func (s *Server) poolSaved(q *req, p *allot.Product, msg string, err error, done string) error {
	if err != nil {
		if !isUserError(err) {
			return err
		}
		msg = "The pool was not " + done + ": " + allot.ErrorMessage(err)
	}
	if msg == "" {
		http.Redirect(q.w, q.r, query("/licenses/"+p.SkuID, "pool", done)+"#pools", http.StatusSeeOther)
		return nil
	}
	m := &productModel{P: p, PoolErr: msg}
	if m.Live, err = s.loadSeatLive(q, p); err != nil {
		return err
	}
	if m.Pools, err = s.productPools(q, p); err != nil {
		return err
	}
	return q.renderStatus(http.StatusBadRequest, productPage(q.view(p.DisplayName, "licenses"), m))
}

func poolFlash(q *req) string {
	switch q.r.URL.Query().Get("pool") {
	case "created":
		return "Pool created."
	case "saved":
		return "Pool saved."
	}
	return ""
}
