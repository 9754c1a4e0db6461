package web

// Replace and Unassign all: change the direct licenses of every selected
// user in one batch (sqlstore.BulkChangeDirect), after the loss review.

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// bulkModel is one Replace or Unassign all: the selected users, the chosen
// products, then the review and, after applying, one result per user.
type bulkModel struct {
	Action   string // "replace" or "unassign"
	Users    []*allot.User
	Products []*allot.Product // the tenant's, to choose from
	Chosen   []*allot.Product
	Review   *reviewModel
	Results  []bulkResult
	Summary  string
	Failed   int
	Err      string
}

// bulkResult is what the change did for one user, in words.
type bulkResult struct {
	U    *allot.User
	OK   bool
	Text string
	Kept string // the licenses from groups the user keeps
}

func (m *bulkModel) replace() bool { return m.Action == "replace" }

func (m *bulkModel) title() string {
	if m.replace() {
		return "Replace licenses"
	}
	return "Unassign licenses"
}

func (m *bulkModel) chosen(p *allot.Product) bool { return slices.Contains(m.Chosen, p) }

// loadBulk reads the action, the selected users and the chosen products of
// a request (form values, or the URL's on a GET).
func (s *Server) loadBulk(q *req, form map[string][]string) (*bulkModel, error) {
	m := &bulkModel{Action: "unassign"}
	if get(form, "action") == "replace" {
		m.Action = "replace"
	}
	users, err := s.selectedUsers(q, form["user"])
	if err != nil {
		return nil, err
	}
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return nil, err
	}
	sortProducts(products)
	m.Users, m.Products = users, products
	for _, p := range products {
		if slices.Contains(form["sku"], p.SkuID) {
			m.Chosen = append(m.Chosen, p)
		}
	}
	if len(users) == 0 {
		m.Err = "Select one or more users in Active users first."
	}
	return m, nil
}

func get(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// request is the store's change for m.
func (m *bulkModel) request() sqlstore.BulkDirectRequest {
	r := sqlstore.BulkDirectRequest{All: m.replace() || len(m.Chosen) == 0}
	for _, u := range m.Users {
		r.Users = append(r.Users, u.GUID)
	}
	for _, p := range m.Chosen {
		if m.replace() {
			r.Add = append(r.Add, store.LicenseRequest{SkuID: p.SkuID})
		} else {
			r.Remove = append(r.Remove, p.SkuID)
		}
	}
	return r
}

// bulkChoose shows the products to choose for Replace or Unassign all.
func (s *Server) bulkChoose(q *req) error {
	m, err := s.loadBulk(q, q.r.URL.Query())
	if err != nil {
		return err
	}
	return q.render(bulkPage(q.view(m.title(), "users"), m))
}

// bulkReview shows what the chosen change would do, losses first; nothing
// changes.
func (s *Server) bulkReview(q *req) error {
	m, err := s.reviewBulk(q)
	if err != nil || m.Err != "" {
		return s.bulkDone(q, m, err)
	}
	return q.render(bulkPage(q.view(m.title(), "users"), m))
}

// reviewBulk loads the POST's change and reviews it (store.Preview).
func (s *Server) reviewBulk(q *req) (*bulkModel, error) {
	m, err := s.loadBulk(q, q.r.PostForm)
	if err != nil || m.Err != "" {
		return m, err
	}
	if m.replace() && len(m.Chosen) == 0 {
		m.Err = "Choose at least one product: Replace gives the selected users exactly the products chosen."
		return m, nil
	}
	a, t, req := q.p.Actor(), q.tenant(), m.request()
	m.Review, err = s.review(q, func(ctx context.Context) error {
		_, err := s.st.BulkChangeDirect(ctx, a, t, req)
		return err
	})
	if err != nil && isUserError(err) {
		m.Err, err = allot.ErrorMessage(err), nil
	}
	return m, err
}

// bulkDone renders m's error, or returns err.
func (s *Server) bulkDone(q *req, m *bulkModel, err error) error {
	if err != nil {
		return err
	}
	return q.renderStatus(http.StatusBadRequest, bulkPage(q.view(m.title(), "users"), m))
}

// bulkApply applies a reviewed Replace or Unassign all. The change is
// reviewed again now: it must take away exactly what the person saw and,
// when it takes anything, the person must have confirmed.
func (s *Server) bulkApply(q *req) error {
	m, err := s.reviewBulk(q)
	if err != nil || m.Err != "" {
		return s.bulkDone(q, m, err)
	}
	if msg := q.recheck(m.Review); msg != "" {
		m.Err = msg
		return q.renderStatus(http.StatusConflict, bulkPage(q.view(m.title(), "users"), m))
	}
	out, err := s.st.BulkChangeDirect(q.ctx(), q.p.Actor(), q.tenant(), m.request())
	if err != nil {
		if !isUserError(err) {
			return err
		}
		m.Err = allot.ErrorMessage(err)
		return q.renderStatus(http.StatusConflict, bulkPage(q.view(m.title(), "users"), m))
	}
	s.report(m, out)
	m.Review = nil
	return q.render(bulkPage(q.view(m.title(), "users"), m))
}

// report says, per user, what the change did.
func (s *Server) report(m *bulkModel, out []sqlstore.BulkDirectOutcome) {
	w := newWords(m.Products)
	var chosen []string
	for _, p := range m.Chosen {
		chosen = append(chosen, p.SkuID)
	}
	done := 0
	for i, o := range out {
		r := bulkResult{U: m.Users[i], OK: o.Code == "" && !o.NotFound, Kept: keptWords(w, o.FromGroup)}
		switch {
		case o.NotFound:
			r.Text = "Refused: this user no longer exists."
		case o.Code != "":
			r.Text = "Refused, nothing changed: " + w.err(&allot.Error{Code: o.Code, Message: o.Message, Target: o.Target}, chosen...)
		case o.NoDiff:
			r.Text = "Nothing to change."
		default:
			r.Text = "Done: " + changeWords(o) + "."
			done++
		}
		if !r.OK {
			m.Failed++
		}
		m.Results = append(m.Results, r)
	}
	m.Summary = plural(done, "user changed", "users changed") + ", " + plural(m.Failed, "refusal", "refusals") + "."
}

// changeWords says what was removed, then what was assigned, by display
// name in alphabetical order.
func changeWords(o sqlstore.BulkDirectOutcome) string {
	return strings.Join(append(named("removed ", o.Removed), named("assigned ", o.Added)...), ", ")
}

// named is verb and the products' display names, sorted.
func named(verb string, ps []*allot.Product) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, verb+p.DisplayName)
	}
	slices.Sort(out)
	return out
}

// keptWords says which licenses from groups the user keeps.
func keptWords(w *words, fromGroup map[string]string) string {
	var parts []string
	for sku, g := range fromGroup {
		name := sku
		if p := w.bySku[strings.ToLower(sku)]; p != nil {
			name = p.DisplayName
		}
		parts = append(parts, name+" (from group "+g+")")
	}
	if len(parts) == 0 {
		return ""
	}
	slices.Sort(parts)
	return "Keeps " + strings.Join(parts, ", ") + ": a license from a group is never removed here; remove the user from the group instead."
}
