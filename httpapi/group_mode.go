package httpapi

import (
	"net/http"

	"allot"
	"allot/store"
)

// A group's licensing mode (docs/api.md, "Group licensing mode"): whether a
// member gets all of the group's new products or none (allOrNothing, rule
// 5, the default) or each product that can be granted (bestEffort).

func (s *Server) groupModeRoutes() {
	s.handle("GET /allot/v1/groups/{id}/licensingMode", PermGroupsRead, s.getGroupMode)
	s.handle("PATCH /allot/v1/groups/{id}/licensingMode", PermLicensesWrite, s.setGroupMode)
}

type groupModeBody struct {
	Mode *string `json:"mode"`
}

func (s *Server) getGroupMode(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	mode, err := s.st.GroupLicenseMode(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "mode": mode})
	return nil
}

func (s *Server) setGroupMode(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b groupModeBody
	if err := decodeBody(r, &b, "licensingMode", "id"); err != nil {
		return err
	}
	if b.Mode == nil {
		return allot.Errorf(allot.EInvalid, "Send {\"mode\": \"allOrNothing\"} (a member gets all of the group's products or none of the new ones) or {\"mode\": \"bestEffort\"} (each product that can be granted).")
	}
	if err := s.st.SetGroupLicenseMode(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), *b.Mode); err != nil {
		return err
	}
	return s.getGroupMode(w, r, p)
}
