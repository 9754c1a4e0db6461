package web

import (
	"context"
	"net/http"
	"strings"

	"allot"
	"allot/httpapi"
	"allot/store"
)

// ---- a dynamic group's membership rule: preview and save ----

// rulePreviewModel is a preview of a dynamic group's changed rule (and
// processing state), and the form that saves exactly what it previews.
type rulePreviewModel struct {
	G                    *allot.Group
	Rule, State          string
	PV                   *store.Preview
	Review               *reviewModel
	Joins, Leaves, After int
	JoinList, LeaveList  []store.PreviewMember
	// Err is why the rule cannot be saved: the parser's message (Invalid),
	// or that nothing would change. Nothing has changed.
	Err     string
	Invalid bool
	// Refused is why a save was not carried out although it could be: the
	// losses were not confirmed, or are no longer those reviewed.
	Refused string
	// CanSave shows the Save form: the person may write groups.
	CanSave bool
}

// rulePatch is the change of a group's rule that the preview runs and
// Save applies: the same PATCH the API makes of membershipRule and
// membershipRuleProcessingState.
func (m *rulePreviewModel) rulePatch(confirm bool) store.GroupPatch {
	dyn := true
	p := store.GroupPatch{Dynamic: &dyn, MembershipRule: &m.Rule, ConfirmLicenseLoss: confirm}
	if m.State != "" {
		p.RuleState = &m.State
	}
	return p
}

// changed tells whether the rule or the state differs from the group's.
func (m *rulePreviewModel) changed() bool {
	return m.Rule != m.G.MembershipRule || (m.State != "" && !strings.EqualFold(m.State, m.G.RuleState))
}

// loadRulePreview previews the rule and state given for the group, in a
// transaction rolled back. A rule the store refuses (a syntax error) is
// m.Err, not an error.
func (s *Server) loadRulePreview(q *req, rule, state string) (*rulePreviewModel, error) {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	m := &rulePreviewModel{G: g, Rule: strings.TrimSpace(rule), State: strings.TrimSpace(state), CanSave: q.perms.Has(httpapi.PermGroupsWrite)}
	a, t := q.p.Actor(), q.tenant()
	m.PV, err = s.st.PreviewPage(q.ctx(), t, store.MemberPage{Top: 20}, func(ctx context.Context) error {
		_, err := s.st.UpdateGroup(ctx, a, t, g.GUID, m.rulePatch(true))
		return err
	})
	if allot.ErrorCode(err) == allot.EInvalid {
		m.Err, m.Invalid = allot.ErrorMessage(err), true
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if m.Review, err = s.reviewOf(q, m.PV); err != nil {
		return nil, err
	}
	for _, pm := range m.PV.Memberships {
		m.Joins, m.Leaves, m.After, m.JoinList, m.LeaveList = pm.JoinCount, pm.LeaveCount, pm.MemberCountAfter, pm.Joins, pm.Leaves
	}
	if !m.changed() {
		m.Err = "This is the group's rule already: nothing would change."
	}
	return m, nil
}

// renderRulePreview writes the preview page: 400 for a rule the store
// refuses, status otherwise.
func (q *req) renderRulePreview(status int, m *rulePreviewModel) error {
	if m.Invalid {
		status = http.StatusBadRequest
	}
	return q.renderStatus(status, groupRulePreviewPage(q.view("Rule preview", "groups"), m))
}

// groupRulePreview previews a changed rule of a group: who would join and
// leave, and what licenses follow, losses first. Nothing changes.
func (s *Server) groupRulePreview(q *req) error {
	m, err := s.loadRulePreview(q, q.r.URL.Query().Get("rule"), q.r.URL.Query().Get("state"))
	if err != nil {
		return err
	}
	return q.renderRulePreview(http.StatusOK, m)
}

// saveGroupRule saves a previewed rule. The preview is run again now: the
// rule must take away exactly the licenses the person saw and, when it
// takes any, the person must have confirmed; otherwise nothing changes.
func (s *Server) saveGroupRule(q *req) error {
	m, err := s.loadRulePreview(q, q.r.PostForm.Get("rule"), q.r.PostForm.Get("state"))
	if err != nil {
		return err
	}
	if !m.G.Dynamic() {
		return allot.Errorf(allot.EInvalid, "%s is an assigned group: it has no membership rule to save.", m.G.DisplayName)
	}
	if m.Err != "" {
		return q.renderRulePreview(http.StatusBadRequest, m)
	}
	if m.Refused = q.recheck(m.Review); m.Refused != "" {
		return q.renderRulePreview(http.StatusConflict, m)
	}
	if _, err := s.st.UpdateGroup(q.ctx(), q.p.Actor(), q.tenant(), m.G.GUID, m.rulePatch(m.Review.NeedsConfirm())); err != nil {
		if !isLossRefusal(err) {
			return err
		}
		if m, err = s.loadRulePreview(q, m.Rule, m.State); err != nil {
			return err
		}
		m.Refused = msgLossRefused
		return q.renderRulePreview(http.StatusConflict, m)
	}
	http.Redirect(q.w, q.r, query("/groups/"+m.G.GUID, "saved", "rule"), http.StatusSeeOther)
	return nil
}

// ruleFlash is the group page's message after its rule was saved.
func ruleFlash(q *req, g *allot.Group) string {
	switch {
	case q.r.URL.Query().Get("saved") != "rule":
		return ""
	case g.RuleState == allot.RulePaused:
		return "Saved the membership rule. Processing is paused: the members stay as they are."
	}
	return "Saved the membership rule. The members below follow it; their licenses are being updated (see License processing)."
}
