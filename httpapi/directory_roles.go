package httpapi

// Graph's directoryRoles: allot's built-in roles (roles.go) as activated
// directory roles, with the template id as the role's id, and the users and
// API clients that hold each (its role assignments).

import (
	"net/http"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func (s *Server) directoryRoleRoutes() {
	s.handle("GET /v1.0/directoryRoles", PermRolesRead, s.listDirectoryRoles)
	s.handle("GET /v1.0/directoryRoles/{id}", PermRolesRead, s.getDirectoryRole)
	s.handle("GET /v1.0/directoryRoles/{id}/members", PermRolesRead, s.directoryRoleMembers)
}

func directoryRoleJSON(d roleDef) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": d.ID, "roleTemplateId": d.ID,
		"displayName": d.Name, "description": d.Description}
}

func (s *Server) listDirectoryRoles(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := wholeList(r)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(roleDefs))
	for i, d := range roleDefs {
		items[i] = directoryRoleJSON(d)
	}
	s.list(w, r, "directoryRoles", items, "", -1, q.Select)
	return nil
}

// directoryRole is the role whose id (or roleTemplateId) the path names.
func directoryRole(id string) (roleDef, error) {
	d, ok := roleByID(id)
	if !ok {
		return d, allot.Errorf(allot.ENotFound, "Directory role '%s' does not exist; GET /v1.0/directoryRoles lists them.", id)
	}
	return d, nil
}

func (s *Server) getDirectoryRole(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	d, err := directoryRole(r.PathValue("id"))
	if err != nil {
		return err
	}
	out := directoryRoleJSON(d)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#directoryRoles/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

// directoryRoleMembers lists who holds the role: users as Graph users, API
// clients as service principals (id and displayName).
func (s *Server) directoryRoleMembers(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := wholeList(r)
	if err != nil {
		return err
	}
	d, err := directoryRole(r.PathValue("id"))
	if err != nil {
		return err
	}
	ras, err := s.st.RoleAssignments(r.Context(), p.Tenant.ID, sqlstore.RoleAssignmentFilter{RoleID: d.ID})
	if err != nil {
		return err
	}
	var ids []string
	for _, ra := range ras {
		if ra.PrincipalKind == store.PrincipalUser {
			ids = append(ids, ra.PrincipalGUID)
		}
	}
	users, err := s.objectsByID(r, p, ids, map[string]bool{"user": true})
	if err != nil {
		return err
	}
	items := users
	for _, ra := range ras {
		if ra.PrincipalKind != store.PrincipalUser {
			items = append(items, map[string]any{"@odata.type": "#microsoft.graph.servicePrincipal", "id": ra.PrincipalGUID,
				"displayName": ra.PrincipalName})
		}
	}
	s.list(w, r, "directoryObjects", nonNilMaps(items), "", -1, q.Select)
	return nil
}
