package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"allot"
	"allot/httpapi"
	"allot/store"
)

// ---- managing groups: create, rename, delete, members, reprocess ----
//
// Every change goes through the store's methods the API's group routes
// use (CreateGroup, UpdateGroup, DeleteGroup, AddMember, RemoveMember,
// ReprocessGroup), with their audit events. A delete and a member removal
// are reviewed first (store.Preview of exactly that change) and need the
// second confirmation when anyone would lose a license.

// canWriteGroups tells whether the person may create, change and delete
// groups and their members.
func (v *view) canWriteGroups() bool { return v.can(httpapi.PermGroupsWrite) }

// groupForm is the name and description a person typed, and why they
// cannot be saved.
type groupForm struct {
	Name, Description, Err string
}

// readGroupForm reads and checks the name and description of a POST.
func readGroupForm(q *req) groupForm {
	f := groupForm{Name: strings.TrimSpace(q.r.PostForm.Get("name")), Description: strings.TrimSpace(q.r.PostForm.Get("description"))}
	switch {
	case f.Name == "":
		f.Err = "Enter a name for the group."
	case utf8.RuneCountInString(f.Name) > allot.GroupLimits["displayName"].Max:
		f.Err = fmt.Sprintf("The name has %s characters; a group name can have at most %s.",
			num(utf8.RuneCountInString(f.Name)), num(allot.GroupLimits["displayName"].Max))
	case utf8.RuneCountInString(f.Description) > allot.GroupLimits["description"].Max:
		f.Err = fmt.Sprintf("The description has %s characters; it can have at most %s.",
			num(utf8.RuneCountInString(f.Description)), num(allot.GroupLimits["description"].Max))
	}
	return f
}

// createGroup creates an assigned security group (the API's POST
// /v1.0/groups) and opens its page.
func (s *Server) createGroup(q *req) error {
	f := readGroupForm(q)
	if f.Err == "" {
		g := &allot.Group{DisplayName: f.Name, Description: f.Description, SecurityEnabled: true}
		err := s.st.CreateGroup(q.ctx(), q.p.Actor(), q.tenant(), g)
		if err == nil {
			http.Redirect(q.w, q.r, query("/groups/"+g.GUID, "done", "created"), http.StatusSeeOther)
			return nil
		}
		if allot.ErrorCode(err) != allot.EInvalid {
			return err
		}
		f.Err = allot.ErrorMessage(err)
	}
	m, err := s.loadGroups(q)
	if err != nil {
		return err
	}
	m.New = f
	return q.renderStatus(http.StatusBadRequest, groupsPage(q.view("Groups", "groups"), m))
}

// renameGroup saves a group's name and description (the API's PATCH of
// displayName and description).
func (s *Server) renameGroup(q *req) error {
	f := readGroupForm(q)
	if f.Err == "" {
		_, err := s.st.UpdateGroup(q.ctx(), q.p.Actor(), q.tenant(), q.r.PathValue("id"), store.GroupPatch{DisplayName: &f.Name, Description: &f.Description})
		if err == nil {
			http.Redirect(q.w, q.r, query("/groups/"+q.r.PathValue("id"), "done", "renamed"), http.StatusSeeOther)
			return nil
		}
		if allot.ErrorCode(err) != allot.EInvalid {
			return err
		}
		f.Err = allot.ErrorMessage(err)
	}
	m, err := s.loadGroup(q)
	if err != nil {
		return err
	}
	m.Rename = f
	return q.renderStatus(http.StatusBadRequest, groupPage(q.view(m.G.DisplayName, "groups"), m))
}

// groupChange is the review of deleting a group or removing one of its
// members, and the form that applies exactly that change.
type groupChange struct {
	G       *allot.Group
	Title   string // the page's heading
	Action  string // where the form posts
	Member  string // the member removed (a GUID), "" for a delete
	Verb    string // the button's word: Delete, Remove
	Review  *reviewModel
	Err     string
	destroy bool
}

// loadDelete reviews deleting the group of the path.
func (s *Server) loadDelete(q *req) (*groupChange, error) {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	m := &groupChange{G: g, Title: "Delete " + g.DisplayName, Action: "/groups/" + g.GUID + "/delete", Verb: "Delete", destroy: true}
	a, t := q.p.Actor(), q.tenant()
	m.Review, err = s.review(q, func(ctx context.Context) error { return s.st.DeleteGroup(ctx, a, t, g.GUID, true) })
	return m, err
}

// loadRemoveMember reviews removing member (a GUID) from the group of the
// path.
func (s *Server) loadRemoveMember(q *req, member string) (*groupChange, error) {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	name, err := s.memberName(q, member)
	if err != nil {
		return nil, err
	}
	m := &groupChange{G: g, Title: "Remove " + name + " from " + g.DisplayName, Action: "/groups/" + g.GUID + "/members/remove",
		Member: member, Verb: "Remove"}
	a, t := q.p.Actor(), q.tenant()
	m.Review, err = s.review(q, func(ctx context.Context) error { return s.st.RemoveMember(ctx, a, t, g.GUID, member, true) })
	if allot.ErrorCode(err) == allot.ENotFound {
		return nil, allot.Errorf(allot.ENotFound, "%s is not a direct member of %s (a member of a nested group leaves with that group).", name, g.DisplayName)
	}
	return m, memberErr(err, g, name)
}

// apply makes the reviewed change, confirmed when the review shows losses.
func (s *Server) apply(q *req, m *groupChange, confirm bool) error {
	if !m.destroy {
		return s.st.RemoveMember(q.ctx(), q.p.Actor(), q.tenant(), m.G.GUID, m.Member, confirm)
	}
	err := s.st.DeleteGroup(q.ctx(), q.p.Actor(), q.tenant(), m.G.GUID, confirm)
	if !confirm && allot.ErrorCode(err) == allot.EGroupHasLicenses {
		// The store found no one who would lose a license (it checks that
		// first), as the review said: the API's confirmLicenseLoss is
		// about losses, and there are none to confirm.
		err = s.st.DeleteGroup(q.ctx(), q.p.Actor(), q.tenant(), m.G.GUID, true)
	}
	return err
}

// groupChangeReview shows what deleting a group (or removing a member)
// would do, losses first, before anything changes.
func (s *Server) groupChangeReview(q *req) error {
	m, err := s.loadChange(q, q.r.URL.Query().Get("member"))
	if err != nil {
		return err
	}
	return q.render(groupChangePage(q.view(m.Title, "groups"), m))
}

// loadChange reviews the change of the path: a delete, or the removal of
// member.
func (s *Server) loadChange(q *req, member string) (*groupChange, error) {
	if strings.HasSuffix(q.r.URL.Path, "/delete") {
		return s.loadDelete(q)
	}
	if member == "" {
		return nil, allot.Errorf(allot.EInvalid, "Choose the member to remove.")
	}
	return s.loadRemoveMember(q, member)
}

// groupChangeApply applies a reviewed delete or member removal. The change
// is reviewed again now: it must take away exactly the licenses the person
// saw and, when it takes any, the person must have confirmed.
func (s *Server) groupChangeApply(q *req) error {
	m, err := s.loadChange(q, q.r.PostForm.Get("member"))
	if err != nil {
		return err
	}
	if msg := q.recheck(m.Review); msg != "" {
		m.Err = msg
		return q.renderStatus(http.StatusConflict, groupChangePage(q.view(m.Title, "groups"), m))
	}
	if err := s.apply(q, m, m.Review.NeedsConfirm()); err != nil {
		if !isLossRefusal(err) {
			return err
		}
		if m, err = s.loadChange(q, m.Member); err != nil {
			return err
		}
		m.Err = msgLossRefused
		return q.renderStatus(http.StatusConflict, groupChangePage(q.view(m.Title, "groups"), m))
	}
	if m.destroy {
		http.Redirect(q.w, q.r, query("/groups", "deleted", m.G.GUID), http.StatusSeeOther)
		return nil
	}
	http.Redirect(q.w, q.r, query("/groups/"+m.G.GUID, "done", "removed-member", "member", m.Member), http.StatusSeeOther)
	return nil
}

// deletedFlash is the groups page's message after a delete: the redirect
// carries the group's id, and the name comes from the audit log's Delete
// group event (never from the link).
func (s *Server) deletedFlash(q *req) string {
	id := q.r.URL.Query().Get("deleted")
	if id == "" {
		return ""
	}
	evs, _, err := s.st.ListAudit(q.ctx(), q.tenant(), store.AuditFilter{Activity: allot.ActDeleteGroup, TargetID: id, Limit: 1})
	if err != nil || len(evs) == 0 {
		return ""
	}
	return "Deleted the group " + evs[0].TargetName + "; the licenses it gave its members are being taken away."
}

// memberName is the display name of the user or group with the GUID.
func (s *Server) memberName(q *req, guid string) (string, error) {
	if u, err := s.st.User(q.ctx(), q.tenant(), guid); err == nil {
		return u.DisplayName, nil
	}
	g, err := s.st.Group(q.ctx(), q.tenant(), guid)
	if err != nil {
		return "", allot.Errorf(allot.ENotFound, "There is no user or group with that id: it may have been deleted.")
	}
	return g.DisplayName, nil
}

// memberErr says a refused membership change in an admin's words.
func memberErr(err error, g *allot.Group, name string) error {
	switch allot.ErrorCode(err) {
	case "":
		return nil
	case allot.EConflict:
		return allot.Errorf(allot.EConflict, "%s is already a member of %s.", name, g.DisplayName)
	case allot.EForbidden:
		if g.Dynamic() {
			return allot.Errorf(allot.EForbidden, "%s is a dynamic group: its members follow its membership rule and cannot be added or removed by hand.", g.DisplayName)
		}
	}
	return err
}

// addMember adds a user or group to the group (the API's POST
// members/$ref) and shows the group again.
func (s *Server) addMember(q *req) error {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	member := strings.TrimSpace(q.r.PostForm.Get("member"))
	name, err := s.memberName(q, member)
	if err != nil {
		return err
	}
	if err := memberErr(s.st.AddMember(q.ctx(), q.p.Actor(), q.tenant(), g.GUID, member), g, name); err != nil {
		return s.memberRefused(q, err)
	}
	http.Redirect(q.w, q.r, query("/groups/"+g.GUID, "done", "added", "member", member), http.StatusSeeOther)
	return nil
}

// memberRefused shows the group page with why a member could not be
// added, when it is something the person can act on.
func (s *Server) memberRefused(q *req, err error) error {
	switch allot.ErrorCode(err) {
	case allot.EConflict, allot.EMembershipCycle, allot.EForbidden:
	default:
		return err
	}
	m, lerr := s.loadGroup(q)
	if lerr != nil {
		return lerr
	}
	m.MemberErr = allot.ErrorMessage(err)
	return q.renderStatus(http.StatusConflict, groupPage(q.view(m.G.DisplayName, "groups"), m))
}

// memberResult is one user or group a search for members found.
type memberResult struct {
	GUID, Name, Detail string
}

// memberSearch finds up to 8 users and groups whose names start with text
// to add to g (never g itself).
func (s *Server) memberSearch(q *req, g *allot.Group, text string) ([]memberResult, error) {
	m := &assignModel{Q: strings.TrimSpace(text)}
	if err := s.search(q, m); err != nil {
		return nil, err
	}
	var out []memberResult
	for _, p := range m.Results {
		if p.GUID != g.GUID && len(out) < 8 {
			out = append(out, memberResult{GUID: p.GUID, Name: p.Name, Detail: p.Detail})
		}
	}
	return out, nil
}

// memberSearchResults is the search-as-you-type list of the Add members
// form.
func (s *Server) memberSearchResults(q *req) error {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	text := strings.TrimSpace(q.r.URL.Query().Get("mq"))
	found, err := s.memberSearch(q, g, text)
	if err != nil {
		return err
	}
	return q.render(memberResults(g, text, found))
}

// reprocessGroup marks the group's members for license processing again
// (the API's reprocessLicenseAssignment); the page then shows progress.
func (s *Server) reprocessGroup(q *req) error {
	g, err := s.st.ReprocessGroup(q.ctx(), q.p.Actor(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/groups/"+g.GUID, "done", "reprocess"), http.StatusSeeOther)
	return nil
}

// groupFlash is the group page's message after a change made here.
func (s *Server) groupFlash(q *req, g *allot.Group) string {
	v := q.r.URL.Query()
	name := ""
	if id := v.Get("member"); id != "" {
		name, _ = s.memberName(q, id)
	}
	switch v.Get("done") {
	case "created":
		return "Created the group " + g.DisplayName + ". Add members and assign licenses below."
	case "renamed":
		return "Saved the name and description."
	case "added":
		if name != "" {
			return "Added " + name + " to the group; the group's licenses are being applied."
		}
	case "removed-member":
		if name != "" {
			return "Removed " + name + " from the group; the licenses it gave are being taken away."
		}
	case "reprocess":
		return "Reprocessing: every member's licenses from this group are being worked out again."
	}
	return ""
}

// progressWords says how far processing of the group is: "12,400 of
// 50,000 members processed".
func (m *groupModel) progressWords() string {
	if m.Total == 0 {
		return ""
	}
	return fmt.Sprintf("%s of %s processed.", num(m.Done), plural(m.Total, "member", "members"))
}

// canEditMembers tells whether the members list offers Remove: the person
// may write groups, the group is assigned (not dynamic) and the list shows
// direct members.
func (m *groupModel) canEditMembers(v *view) bool {
	return v.canWriteGroups() && !m.G.Dynamic() && !m.All
}

// memberKey is the GUID of a member row's user or group.
func (mb groupMember) memberKey() (string, string) {
	if mb.U != nil {
		return mb.U.GUID, mb.U.DisplayName
	}
	return mb.G.GUID, mb.G.DisplayName
}

// renameValue is what a rename field shows: what was typed after a
// refusal, else the group's value.
func renameValue(typed, refused, stored string) string {
	if refused != "" {
		return typed
	}
	return stored
}
