package web

import (
	"net/http"
	"strconv"
	"strings"

	"allot"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- Roles ----

type rolesModel struct {
	Roles []roleRow
	Flash string
	Err   string
	User  string // the user name typed into the assign form
	Role  string // the role chosen in the assign form
}

type roleRow struct {
	R       httpapi.Role
	Members []*sqlstore.RoleAssignment
	Manage  bool // the person may grant and remove this role
}

func (s *Server) loadRoles(q *req) (*rolesModel, error) {
	ras, err := s.st.RoleAssignments(q.ctx(), q.tenant(), sqlstore.RoleAssignmentFilter{})
	if err != nil {
		return nil, err
	}
	m := &rolesModel{}
	for _, r := range httpapi.Roles() {
		row := roleRow{R: r, Manage: s.api.MayManageRole(q.p, r.ID) == nil}
		for _, ra := range ras {
			if strings.EqualFold(ra.RoleID, r.ID) {
				row.Members = append(row.Members, ra)
			}
		}
		m.Roles = append(m.Roles, row)
	}
	return m, nil
}

func (s *Server) roles(q *req) error {
	m, err := s.loadRoles(q)
	if err != nil {
		return err
	}
	m.Flash = s.roleFlash(q)
	return q.render(rolesPage(q.view("Roles", "roles"), m))
}

// roleFlash says what the last change did. The redirect carries ids, not
// words, so a link cannot make the page say something allot did not.
func (s *Server) roleFlash(q *req) string {
	v := q.r.URL.Query()
	role := roleNameOf(v.Get("role"))
	if role == v.Get("role") || v.Get("who") == "" {
		return ""
	}
	pr, err := s.st.FindPrincipal(q.ctx(), q.tenant(), v.Get("who"))
	if err != nil {
		return ""
	}
	switch v.Get("done") {
	case "added":
		return pr.Name + " now holds the role " + role + "."
	case "removed":
		return pr.Name + " no longer holds the role " + role + "."
	}
	return ""
}

func (s *Server) assignRole(q *req) error {
	roleID, user := q.r.PostForm.Get("role"), strings.TrimSpace(q.r.PostForm.Get("user"))
	var err error
	switch {
	case roleID == "":
		err = allot.Errorf(allot.EInvalid, "Choose the role to assign.")
	default:
		err = s.api.MayManageRole(q.p, roleID)
	}
	if err == nil && user == "" {
		err = allot.Errorf(allot.EInvalid, "Enter the user name of the person who gets the role.")
	}
	var ra *sqlstore.RoleAssignment
	if err == nil {
		ra, err = s.st.AddRoleAssignment(q.ctx(), q.p.Actor(), q.tenant(), user, roleID)
	}
	if err != nil {
		if !isUserError(err) {
			return err
		}
		m, lerr := s.loadRoles(q)
		if lerr != nil {
			return lerr
		}
		m.Err, m.User, m.Role = allot.ErrorMessage(err), user, roleID
		return q.renderStatus(http.StatusUnprocessableEntity, rolesPage(q.view("Roles", "roles"), m))
	}
	http.Redirect(q.w, q.r, query("/roles", "done", "added", "who", ra.PrincipalGUID, "role", ra.RoleID), http.StatusSeeOther)
	return nil
}

func (s *Server) removeRole(q *req) error {
	ra, err := s.st.RoleAssignmentByGUID(q.ctx(), q.tenant(), q.r.PostForm.Get("id"))
	if err == nil {
		err = s.api.MayManageRole(q.p, ra.RoleID)
	}
	if err == nil {
		err = s.st.RemoveRoleAssignment(q.ctx(), q.p.Actor(), q.tenant(), ra.GUID)
	}
	if err != nil {
		if !isUserError(err) {
			return err
		}
		m, lerr := s.loadRoles(q)
		if lerr != nil {
			return lerr
		}
		m.Err = allot.ErrorMessage(err)
		return q.renderStatus(http.StatusUnprocessableEntity, rolesPage(q.view("Roles", "roles"), m))
	}
	http.Redirect(q.w, q.r, query("/roles", "done", "removed", "who", ra.PrincipalGUID, "role", ra.RoleID), http.StatusSeeOther)
	return nil
}

func roleNameOf(id string) string {
	for _, r := range httpapi.Roles() {
		if strings.EqualFold(r.ID, id) {
			return r.Name
		}
	}
	return id
}

// ---- Audit log ----

type auditModel struct {
	Activity string
	Target   string
	Before   int64
	Next     int64
	Events   []*allot.AuditEvent
}

// activities are the audit activities the filter offers.
var activities = []string{
	allot.ActAddUser, allot.ActUpdateUser, allot.ActDeleteUser, allot.ActRestoreUser, allot.ActHardDeleteUser, allot.ActAddGroup, allot.ActUpdateGroup, allot.ActDeleteGroup,
	allot.ActAddMember, allot.ActRemoveMember, allot.ActChangeUserLicense, allot.ActSetGroupLicense,
	allot.ActStartGroupLicense, allot.ActFinishGroupLicense, allot.ActReprocessLicense, allot.ActAddProduct, allot.ActUpdateProduct,
	allot.ActSeatsBelowConsumed, sqlstore.ActAddRoleMember, sqlstore.ActRemoveRoleMember, allot.ActCreateToken, sqlstore.ActRevokeToken,
	sqlstore.ActSignIn, sqlstore.ActSignInFailed, sqlstore.ActSignOut, sqlstore.ActResetPassword, allot.ActAddTenant,
}

func (s *Server) audit(q *req) error {
	v := q.r.URL.Query()
	m := &auditModel{Activity: v.Get("activity"), Target: strings.TrimSpace(v.Get("target"))}
	m.Before, _ = strconv.ParseInt(v.Get("before"), 10, 64)
	evs, next, err := s.st.ListAudit(q.ctx(), q.tenant(), store.AuditFilter{Activity: m.Activity, TargetID: m.Target, Before: m.Before, Limit: PageSize})
	if err != nil {
		return err
	}
	m.Events, m.Next = evs, next
	if q.htmx() && q.r.Header.Get("HX-Target") == "audit-table" {
		return q.render(auditTable(m))
	}
	return q.render(auditPage(q.view("Audit log", "audit"), m))
}

func (m *auditModel) pageURL(before int64) string {
	return query("/audit", "activity", m.Activity, "target", m.Target, "before", afterParam(before))
}

func actorOf(e *allot.AuditEvent) string {
	if e.ActorName != "" {
		return e.ActorName
	}
	return e.ActorID
}

func changeText(c allot.Change) string {
	switch {
	case c.Old == "" && c.New == "":
		return c.Property
	case c.Old == "":
		return c.Property + ": " + c.New
	case c.New == "":
		return c.Property + ": " + c.Old + " → (none)"
	}
	return c.Property + ": " + c.Old + " → " + c.New
}

// rolePeople suggests people for the role form: the first users whose name
// starts with what was typed (the user field's list).
func (s *Server) rolePeople(q *req) error {
	text := strings.TrimSpace(q.r.URL.Query().Get("user"))
	if text == "" {
		return q.render(rolePeople(nil))
	}
	users, err := s.st.SuggestUsers(q.ctx(), q.tenant(), text, 10)
	if err != nil {
		return err
	}
	return q.render(rolePeople(users))
}
