package web

import (
	"net/http"

	"allot"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- Assignment policy of a product, and moving direct assignments to a group ----

// policyChoices are the policies an admin may pick, in words.
var policyChoices = []metricChoice{
	{allot.PolicyAny, "Direct and group assignments"},
	{allot.PolicyGroupOnly, "Group assignments only"},
	{allot.PolicyDirectOnly, "Direct assignments only"},
}

// policyWords says a policy in words.
func policyWords(policy string) string {
	for _, c := range policyChoices {
		if c.Name == policy {
			return c.Words
		}
	}
	return policyChoices[0].Words
}

// policyFlash is the banner after a policy change or a move.
func policyFlash(q *req) string {
	switch q.r.URL.Query().Get("policy") {
	case "changed":
		return "Assignment policy changed. Licenses already assigned stay as they are."
	case "moved":
		return "Direct assignments moved to the group; nobody was left unlicensed."
	}
	return ""
}

// savePolicy changes the product's assignment policy (the store's code,
// as PATCH /allot/v1/subscribedSkus/{id} runs it).
func (s *Server) savePolicy(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	if _, err := s.st.SetAssignmentPolicy(q.ctx(), q.p.Actor(), q.tenant(), p.SkuID, q.r.PostForm.Get("policy")); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/licenses/"+p.SkuID, "policy", "changed"), http.StatusSeeOther)
	return nil
}

// moveModel is the review of moving a product's direct assignments to a
// group: what the move would do and the licensing preview.
type moveModel struct {
	P       *allot.Product
	Res     *sqlstore.MoveResult
	Preview *store.Preview
	Summary string
}

// moveReview previews the move (the API's code) and asks to confirm.
func (s *Server) moveReview(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	res, pv, err := s.api.MoveDirect(q.ctx(), q.p, p.SkuID, q.r.URL.Query().Get("group"), true)
	if err != nil {
		return err
	}
	m := &moveModel{P: p, Res: res, Preview: pv, Summary: httpapi.MoveSummary(res, true)}
	return q.render(movePage(q.view("Move direct assignments", "licenses"), m))
}

// moveApply moves the direct assignments (the API's code).
func (s *Server) moveApply(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	if _, _, err := s.api.MoveDirect(q.ctx(), q.p, p.SkuID, q.r.PostForm.Get("group"), false); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/licenses/"+p.SkuID, "policy", "moved"), http.StatusSeeOther)
	return nil
}
