package httpapi

import (
	"net/http"

	"allot"
	"allot/store"
)

// managerRoutes serves the manager reference of users and its inverse,
// directReports.
func (s *Server) managerRoutes() {
	s.handle("GET /v1.0/users/{id}/manager", PermUsersRead, s.getManager)
	s.handle("GET /v1.0/users/{id}/manager/$ref", PermUsersRead, s.getManagerRef)
	s.handle("PUT /v1.0/users/{id}/manager/$ref", PermUsersWrite, s.setManager)
	s.handle("DELETE /v1.0/users/{id}/manager/$ref", PermUsersWrite, s.removeManager)
	s.handle("GET /v1.0/users/{id}/directReports", PermUsersRead, s.directReports)
}

func (s *Server) getManager(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	m, err := s.st.Manager(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	items, err := s.userJSON(r, p, []*allot.User{m})
	if err != nil {
		return err
	}
	items[0]["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#directoryObjects/$entity"
	items[0]["@odata.type"] = "#microsoft.graph.user"
	writeJSON(w, http.StatusOK, items[0])
	return nil
}

// getManagerRef answers the manager as a reference: its @odata.id only.
func (s *Server) getManagerRef(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	m, err := s.st.Manager(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.baseURL(r) + "/v1.0/$metadata#directoryObjects/$entity",
		"@odata.id": s.baseURL(r) + "/v1.0/directoryObjects/" + m.GUID})
	return nil
}

func (s *Server) setManager(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var ref string
	if err := decodeRef(r, &ref); err != nil {
		return err
	}
	if err := s.guardUserChange(r, p, r.PathValue("id"), false, false); err != nil {
		return err
	}
	if err := s.st.SetManager(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), odataRef(ref)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeManager(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.guardUserChange(r, p, r.PathValue("id"), false, false); err != nil {
		return err
	}
	if err := s.st.RemoveManager(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) directReports(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, after, err := s.query(r)
	if err != nil {
		return err
	}
	if q.Filter != nil || q.Count {
		return allot.Errorf(allot.EInvalid, "$filter and $count are not supported on directReports; use them on /v1.0/users instead.")
	}
	if err := checkSelect(q.Select, "user"); err != nil {
		return err
	}
	users, next, err := s.st.DirectReports(r.Context(), p.Tenant.ID, r.PathValue("id"), after, q.Top)
	if err != nil {
		return err
	}
	items, err := s.userJSON(r, p, users)
	if err != nil {
		return err
	}
	for _, it := range items {
		it["@odata.type"] = "#microsoft.graph.user"
	}
	s.list(w, r, "directoryObjects", items, skipToken(r, next), -1, q.Select)
	return nil
}

// expandManager adds each user's manager (when it has one) to its rendered
// item, the managers of the whole page loaded in one query.
func (s *Server) expandManager(r *http.Request, p *store.Principal, ids []int64, items []map[string]any) error {
	managers, err := s.st.Managers(r.Context(), ids)
	if err != nil {
		return err
	}
	var list []*allot.User
	for _, id := range ids {
		if m := managers[id]; m != nil {
			list = append(list, m)
		}
	}
	rendered, err := s.userJSON(r, p, list)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if managers[id] != nil {
			rendered[0]["@odata.type"] = "#microsoft.graph.user"
			items[i]["manager"] = rendered[0]
			rendered = rendered[1:]
		}
	}
	return nil
}
