package httpapi

// The Graph role management API: role definitions (Entra's built-in role
// templates that allot knows) and role assignments to users and API clients.

import (
	"net/http"
	"strings"

	"allot"
	"allot/odata"
	"allot/store"
	"allot/store/sqlstore"
)

func (s *Server) roleRoutes() {
	s.handle("GET /v1.0/roleManagement/directory/roleDefinitions", PermRolesRead, s.listRoleDefinitions)
	s.handle("GET /v1.0/roleManagement/directory/roleDefinitions/{id}", PermRolesRead, s.getRoleDefinition)
	s.handle("GET /v1.0/roleManagement/directory/roleAssignments", PermRolesRead, s.listRoleAssignments)
	s.handle("POST /v1.0/roleManagement/directory/roleAssignments", PermRolesWrite, s.createRoleAssignment)
	s.handle("GET /v1.0/roleManagement/directory/roleAssignments/{id}", PermRolesRead, s.getRoleAssignment)
	s.handle("DELETE /v1.0/roleManagement/directory/roleAssignments/{id}", PermRolesWrite, s.deleteRoleAssignment)
}

func roleDefinitionJSON(d roleDef) map[string]any {
	return map[string]any{
		"id": d.ID, "templateId": d.ID, "displayName": d.Name, "description": d.Description,
		"isBuiltIn": true, "isEnabled": true, "resourceScopes": []string{"/"}, "version": "1",
		"inheritsPermissionsFrom": []any{},
		"rolePermissions":         []map[string]any{{"allowedResourceActions": nonNil(d.Perms.Names()), "condition": nil}},
	}
}

func (s *Server) listRoleDefinitions(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := odata.ParseQuery(r.URL.Query(), 100, 100)
	if err != nil {
		return err
	}
	var items []map[string]any
	for _, d := range roleDefs {
		if q.Filter != nil && !roleDefMatches(q.Filter, d) {
			continue
		}
		items = append(items, roleDefinitionJSON(d))
	}
	s.list(w, r, "roleManagement/directory/roleDefinitions", nonNilMaps(items), "", -1, q.Select)
	return nil
}

func nonNilMaps(m []map[string]any) []map[string]any {
	if m == nil {
		return []map[string]any{}
	}
	return m
}

// roleDefMatches supports displayName eq '…', id eq '…' and templateId eq '…'.
func roleDefMatches(e odata.Expr, d roleDef) bool {
	switch x := e.(type) {
	case *odata.And:
		return roleDefMatches(x.Left, d) && roleDefMatches(x.Right, d)
	case *odata.Compare:
		if x.Op != odata.OpEq {
			return false
		}
		switch strings.ToLower(x.Field) {
		case "displayname":
			return strings.EqualFold(x.Value.Str, d.Name)
		case "id", "templateid":
			return strings.EqualFold(x.Value.Str, d.ID)
		}
	}
	return false
}

func (s *Server) getRoleDefinition(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	d, ok := roleByID(r.PathValue("id"))
	if !ok {
		return allot.Errorf(allot.ENotFound, "Role definition '%s' does not exist; GET /v1.0/roleManagement/directory/roleDefinitions lists them.", r.PathValue("id"))
	}
	out := roleDefinitionJSON(d)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#roleManagement/directory/roleDefinitions/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

func roleAssignmentJSON(ra *sqlstore.RoleAssignment) map[string]any {
	return map[string]any{"id": ra.GUID, "principalId": ra.PrincipalGUID, "roleDefinitionId": ra.RoleID,
		"directoryScopeId": "/", "appScopeId": nil, "allotPrincipalName": ra.PrincipalName,
		"allotPrincipalType": principalType(ra.PrincipalKind), "allotCreatedDateTime": graphTime(ra.CreatedAt)}
}

func principalType(kind string) string {
	if kind == store.PrincipalUser {
		return "user"
	}
	return "apiClient"
}

func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := odata.ParseQuery(r.URL.Query(), 999, 999)
	if err != nil {
		return err
	}
	var f sqlstore.RoleAssignmentFilter
	if err := roleAssignmentFilter(q.Filter, &f); err != nil {
		return err
	}
	ras, err := s.st.RoleAssignments(r.Context(), p.Tenant.ID, f)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(ras))
	for i, ra := range ras {
		items[i] = roleAssignmentJSON(ra)
	}
	s.list(w, r, "roleManagement/directory/roleAssignments", items, "", -1, q.Select)
	return nil
}

// roleAssignmentFilter supports principalId eq '…' and roleDefinitionId eq
// '…', joined by and.
func roleAssignmentFilter(e odata.Expr, f *sqlstore.RoleAssignmentFilter) error {
	switch x := e.(type) {
	case nil:
		return nil
	case *odata.And:
		if err := roleAssignmentFilter(x.Left, f); err != nil {
			return err
		}
		return roleAssignmentFilter(x.Right, f)
	case *odata.Compare:
		if x.Op == odata.OpEq && (x.Value.Kind == odata.KindString || x.Value.Kind == odata.KindGUID) {
			switch strings.ToLower(x.Field) {
			case "principalid":
				f.PrincipalGUID = x.Value.Str
				return nil
			case "roledefinitionid":
				f.RoleID = x.Value.Str
				return nil
			}
		}
	}
	return allot.Errorf(allot.EInvalid, "$filter on roleAssignments supports principalId eq '…' and roleDefinitionId eq '…'.")
}

func (s *Server) getRoleAssignment(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	ra, err := s.st.RoleAssignmentByGUID(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := roleAssignmentJSON(ra)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

type roleAssignmentBody struct {
	PrincipalID      *string `json:"principalId"`
	RoleDefinitionID *string `json:"roleDefinitionId"`
	DirectoryScopeID *string `json:"directoryScopeId"`
}

func (s *Server) createRoleAssignment(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b roleAssignmentBody
	if err := decodeBody(r, &b, "microsoft.graph.unifiedRoleAssignment", "id", "appScopeId", "principal", "roleDefinition", "tenantId"); err != nil {
		return err
	}
	if str(b.PrincipalID) == "" || str(b.RoleDefinitionID) == "" {
		return allot.Errorf(allot.EInvalid, "Send {\"principalId\": \"<user or API client id>\", \"roleDefinitionId\": \"<role template id>\", \"directoryScopeId\": \"/\"}.")
	}
	if b.DirectoryScopeID != nil && *b.DirectoryScopeID != "/" {
		return allot.Errorf(allot.EInvalid, "directoryScopeId must be \"/\": allot's roles apply to the whole tenant.")
	}
	d, ok := roleByID(*b.RoleDefinitionID)
	if !ok {
		return allot.Errorf(allot.EInvalid, "roleDefinitionId '%s' is not a role; GET /v1.0/roleManagement/directory/roleDefinitions lists them.", *b.RoleDefinitionID)
	}
	if err := s.mayManageRole(p, d); err != nil {
		return err
	}
	ra, err := s.st.AddRoleAssignment(r.Context(), p.Actor(), p.Tenant.ID, *b.PrincipalID, d.ID)
	if err != nil {
		return err
	}
	out := roleAssignmentJSON(ra)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity"
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// mayManageRole: only a Global Administrator grants or removes Global
// Administrator, and nobody grants or removes a role with rights they do
// not have.
func (s *Server) mayManageRole(p *store.Principal, d roleDef) error {
	if d.ID == store.RoleIDGlobalAdmin && !isGlobalAdmin(p) {
		return allot.Errorf(allot.EForbidden, "Only a Global Administrator can grant or remove the Global Administrator role.")
	}
	if d.Perms&^effectivePerms(p) != 0 && !isGlobalAdmin(p) {
		return allot.Errorf(allot.EForbidden, "You cannot grant or remove the role %s: it has rights you do not have.", d.Name)
	}
	return nil
}

func (s *Server) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	ra, err := s.st.RoleAssignmentByGUID(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if d, ok := roleByID(ra.RoleID); ok {
		if err := s.mayManageRole(p, d); err != nil {
			return err
		}
	}
	if err := s.st.RemoveRoleAssignment(r.Context(), p.Actor(), p.Tenant.ID, ra.GUID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
