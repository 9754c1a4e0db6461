package httpapi

// API clients: POST /allot/v1/apiClients creates a client with Graph-named
// scopes and returns its token once; listing never shows a secret; DELETE
// revokes. A client never does more than its creator may: its rights are its
// scopes ∩ its roles ∩ its creator's roles, checked again on every request.

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func (s *Server) apiClientRoutes() {
	s.handle("GET /allot/v1/apiClients", PermClientsRead|PermClientsWrite, s.listAPIClients)
	s.handle("POST /allot/v1/apiClients", PermClientsWrite, s.createAPIClient)
	s.handle("GET /allot/v1/apiClients/{id}", PermClientsRead|PermClientsWrite, s.getAPIClient)
	s.handle("DELETE /allot/v1/apiClients/{id}", PermClientsWrite|PermClientsManage, s.revokeAPIClient)
}

type apiClientBody struct {
	DisplayName     *string   `json:"displayName"`
	Scopes          *[]string `json:"scopes"`
	ExpiresDateTime *string   `json:"expiresDateTime"`
}

var apiClientReadOnly = []string{"id", "token", "createdDateTime", "lastUsedDateTime", "revokedDateTime", "roles", "createdBy",
	"tenantId", "isActive", "effectivePermissions", "secret", "owner"}

func (s *Server) createAPIClient(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b apiClientBody
	if err := decodeBody(r, &b, "apiClient", apiClientReadOnly...); err != nil {
		return err
	}
	if b.DisplayName == nil || b.Scopes == nil || len(*b.Scopes) == 0 {
		return allot.Errorf(allot.EInvalid, "Send {\"displayName\": \"...\", \"scopes\": [\"LicenseAssignment.ReadWrite.All\", ...]}; known scopes: %s.",
			strings.Join(scopeNames(), ", "))
	}
	var scopes []string
	for _, sc := range *b.Scopes {
		name, ok := canonicalScope(sc)
		if !ok {
			return allot.Errorf(allot.EInvalid, "Unknown scope '%s'; known scopes: %s.", sc, strings.Join(scopeNames(), ", "))
		}
		if !slices.Contains(scopes, name) {
			scopes = append(scopes, name)
		}
	}
	mine := effectivePerms(p)
	if slices.Contains(scopes, SCIMScope) && len(scopes) > 1 {
		return allot.Errorf(allot.EInvalid, "A client with the %s scope provisions through /scim/v2 and does nothing else; create it with that one scope, and another client for the other scopes.", SCIMScope)
	}
	for _, sc := range scopes {
		// A scope that gives nothing its creator has is refused; one that
		// gives more is cut down to what the creator has, on every request.
		if scopePerms[sc]&mine == 0 {
			return allot.Errorf(allot.EForbidden, "You cannot create a client with the scope %s: it allows %s, and you may do none of that.",
				sc, strings.Join(scopePerms[sc].Names(), ", "))
		}
		if p.Scopes != nil && !slices.Contains(p.Scopes, sc) {
			return allot.Errorf(allot.EForbidden, "An API client can only create clients with scopes it has itself; it lacks %s.", sc)
		}
	}
	n := sqlstore.NewAPIClient{DisplayName: *b.DisplayName, Scopes: scopes}
	if b.ExpiresDateTime != nil && *b.ExpiresDateTime != "" {
		t, err := time.Parse(time.RFC3339, *b.ExpiresDateTime)
		if err != nil {
			return allot.Errorf(allot.EInvalid, "expiresDateTime must be a date and time such as 2027-01-31T00:00:00Z.")
		}
		if !t.After(time.Now()) {
			return allot.Errorf(allot.EInvalid, "expiresDateTime is in the past.")
		}
		n.ExpiresAt = t
	}
	c, raw, err := s.st.CreateAPIClient(r.Context(), p, n)
	if err != nil {
		return err
	}
	out := s.apiClientJSON(c)
	out["token"] = raw
	out["effectivePermissions"] = nonNil((scopesPerms(scopes) & mine).Names())
	out["allotNote"] = "The token is shown once; store it now. Send it as 'Authorization: Bearer <token>'."
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) apiClientJSON(c *sqlstore.APIClient) map[string]any {
	var scopes any
	if c.Scopes != nil {
		scopes = c.Scopes
	}
	opt := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return graphTime(t)
	}
	var by any
	if c.OwnerKind != "" {
		by = map[string]any{"id": c.OwnerGUID, "displayName": c.OwnerName, "kind": c.OwnerKind}
	}
	active := c.RevokedAt.IsZero() && (c.ExpiresAt.IsZero() || c.ExpiresAt.After(time.Now()))
	return map[string]any{"id": c.GUID, "displayName": c.DisplayName, "scopes": scopes, "roles": roleNamesOf(c.Roles),
		"createdBy": by, "createdDateTime": graphTime(c.CreatedAt), "lastUsedDateTime": opt(c.LastUsedAt),
		"expiresDateTime": opt(c.ExpiresAt), "revokedDateTime": opt(c.RevokedAt), "isActive": active}
}

// visibleClients is who may see which clients: everyone's with
// clients.read, else one's own.
func visibleOwner(p *store.Principal) *store.Principal {
	if effectivePerms(p)&PermClientsRead != 0 {
		return nil
	}
	return p
}

func (s *Server) listAPIClients(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	cs, err := s.st.APIClients(r.Context(), p.Tenant.ID, visibleOwner(p))
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(cs))
	for i, c := range cs {
		items[i] = s.apiClientJSON(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": items})
	return nil
}

// ownClient tells whether the client was created by the principal.
func ownClient(c *sqlstore.APIClient, p *store.Principal) bool {
	return c.OwnerKind == p.Kind && c.OwnerGUID == p.GUID && p.GUID != ""
}

func (s *Server) getAPIClient(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	c, err := s.st.APIClientByGUID(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if visibleOwner(p) != nil && !ownClient(c, p) {
		return allot.Errorf(allot.ENotFound, "API client '%s' does not exist or is not in this tenant.", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, s.apiClientJSON(c))
	return nil
}

func (s *Server) revokeAPIClient(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	c, err := s.st.APIClientByGUID(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	perms := effectivePerms(p)
	if perms&PermClientsManage == 0 {
		if !ownClient(c, p) {
			if perms&PermClientsRead != 0 {
				return forbidden(p, PermClientsManage)
			}
			return allot.Errorf(allot.ENotFound, "API client '%s' does not exist or is not in this tenant.", r.PathValue("id"))
		}
	}
	if err := s.st.RevokeAPIClient(r.Context(), p.Actor(), p.Tenant.ID, c.GUID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
