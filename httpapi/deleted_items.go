package httpapi

import (
	"net/http"
	"strings"

	"allot"
	"allot/odata"
	"allot/store"
)

// Deleted items (Graph's directory/deletedItems) for users: a deleted user
// is listed here until it is restored, deleted permanently, or purged when
// the retention period ends.
func (s *Server) deletedItemsRoutes() {
	s.handle("GET /v1.0/directory/deletedItems/microsoft.graph.user", PermUsersRead, s.listDeletedUsers)
	s.handle("GET /v1.0/directory/deletedItems/{id}", PermUsersRead, s.getDeletedItem)
	s.handle("POST /v1.0/directory/deletedItems/{id}/restore", PermUsersWrite, s.restoreDeletedItem)
	s.handle("POST /v1.0/directory/deletedItems/{id}/microsoft.graph.restore", PermUsersWrite, s.restoreDeletedItem)
	s.handle("DELETE /v1.0/directory/deletedItems/{id}", PermUsersWrite, s.purgeDeletedItem)
}

// deletedSelect checks $select against a deleted user's properties.
func deletedSelect(sel []string) error {
	var rest []string
	for _, f := range sel {
		if !strings.EqualFold(strings.TrimSpace(f), "deletedDateTime") {
			rest = append(rest, f)
		}
	}
	return checkSelect(rest, "user")
}

func (s *Server) listDeletedUsers(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	for _, opt := range []string{"$expand", "$search", "$orderby"} {
		if r.URL.Query().Has(opt) {
			return allot.Errorf(allot.EUnsupportedQuery, "%s is not supported on deleted items.", opt)
		}
	}
	q, o, err := s.directoryList(r, "users", false)
	if err != nil {
		return err
	}
	if err := deletedSelect(q.Select); err != nil {
		return err
	}
	users, next, count, err := s.st.ListDeletedUsers(r.Context(), p.Tenant.ID, o)
	if err != nil {
		return err
	}
	items, err := s.deletedJSON(r, p, users)
	if err != nil {
		return err
	}
	s.list(w, r, "directory/deletedItems/microsoft.graph.user", items, sortToken(r, o, next, ""), count, q.Select)
	return nil
}

func (s *Server) getDeletedItem(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := odata.ParseQuery(r.URL.Query(), 1, 1)
	if err != nil {
		return err
	}
	if err := deletedSelect(q.Select); err != nil {
		return err
	}
	d, err := s.st.DeletedUser(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	items, err := s.deletedJSON(r, p, []*store.DeletedUser{d})
	if err != nil {
		return err
	}
	out := selectFields(items[0], q.Select)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#directoryObjects/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

type restoreBody struct {
	AutoReconcileProxyConflict *bool   `json:"autoReconcileProxyConflict"`
	NewUserPrincipalName       *string `json:"newUserPrincipalName"`
}

func (s *Server) restoreDeletedItem(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b restoreBody
	data, err := readBody(r) // the body is optional
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := decodeJSONBytes(data, &b, "microsoft.graph.restore"); err != nil {
			return err
		}
	}
	var o store.RestoreOptions
	if b.AutoReconcileProxyConflict != nil {
		o.AutoReconcileProxyConflict = *b.AutoReconcileProxyConflict
	}
	if b.NewUserPrincipalName != nil {
		o.NewUserPrincipalName = *b.NewUserPrincipalName
	}
	u, err := s.st.RestoreUser(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), o)
	if err != nil {
		return err
	}
	m, err := s.userJSON(r, p, []*allot.User{u})
	if err != nil {
		return err
	}
	out := m[0]
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#directoryObjects/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) purgeDeletedItem(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.PurgeDeletedUser(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deletedJSON renders deleted users as Graph does: the user's properties,
// deletedDateTime, and the direct licenses a restore gives back as
// assignedLicenses (a deleted user holds no seat: no license states).
func (s *Server) deletedJSON(r *http.Request, p *store.Principal, ds []*store.DeletedUser) ([]map[string]any, error) {
	users := make([]*allot.User, len(ds))
	for i, d := range ds {
		users[i] = d.User
	}
	items, err := s.renderUsers(r, p, users, false)
	if err != nil {
		return nil, err
	}
	for i, d := range ds {
		assigned := make([]map[string]any, 0, len(d.Licenses))
		for _, l := range d.Licenses {
			assigned = append(assigned, map[string]any{"skuId": l.SkuID, "disabledPlans": nonNil(l.DisabledPlans)})
		}
		items[i]["assignedLicenses"] = assigned
		items[i]["deletedDateTime"] = graphTime(d.DeletedAt)
	}
	return items, nil
}
