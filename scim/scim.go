// Package scim serves allot's directory as a SCIM 2.0 service provider
// (RFC 7643, RFC 7644) under /scim/v2, for identity providers that
// provision users and groups (Microsoft Entra, Okta). It is an adapter
// like httpapi: it maps SCIM resources onto allot's users and groups and
// loads and applies them through the store; licensing follows through
// the marks the store writes. httpapi authenticates the caller (Mount).
package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// Prefix is where the SCIM service is mounted.
const Prefix = "/scim/v2"

// Handler serves the SCIM endpoints.
type Handler struct {
	st  *sqlstore.Store
	log *slog.Logger
	mux *http.ServeMux
}

type ctxKey struct{}

// New returns the SCIM handler on the store.
func New(st *sqlstore.Store, log *slog.Logger) *Handler {
	h := &Handler{st: st, log: log, mux: http.NewServeMux()}
	routes := map[string]func(w http.ResponseWriter, r *http.Request, p *store.Principal) error{
		"GET /Users":                 h.listUsers,
		"POST /Users":                h.createUser,
		"GET /Users/{id}":            h.getUser,
		"PUT /Users/{id}":            h.putUser,
		"PATCH /Users/{id}":          h.patchUser,
		"DELETE /Users/{id}":         h.deleteUser,
		"GET /Groups":                h.listGroups,
		"POST /Groups":               h.createGroup,
		"GET /Groups/{id}":           h.getGroup,
		"PUT /Groups/{id}":           h.putGroup,
		"PATCH /Groups/{id}":         h.patchGroup,
		"DELETE /Groups/{id}":        h.deleteGroup,
		"GET /ServiceProviderConfig": h.serviceProviderConfig,
		"GET /ResourceTypes":         h.resourceTypes,
		"GET /ResourceTypes/{name}":  h.resourceType,
		"GET /Schemas":               h.schemas,
		"GET /Schemas/{id}":          h.schema,
	}
	for pattern, fn := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		h.mux.HandleFunc(method+" "+Prefix+path, h.wrap(fn))
	}
	h.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, Prefix+"/Bulk") || strings.HasPrefix(r.URL.Path, Prefix+"/Me") ||
			strings.HasSuffix(r.URL.Path, "/.search") {
			h.Fail(w, r, errf(501, "", "allot does not implement %s; see GET %s/ServiceProviderConfig for what it supports.", r.URL.Path, Prefix))
			return
		}
		h.Fail(w, r, errf(404, "", "No SCIM endpoint %s %s; allot serves %s/Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas.", r.Method, r.URL.Path, Prefix))
	})
	return h
}

// Serve answers an authenticated SCIM request of principal p.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, p *store.Principal) {
	h.mux.ServeHTTP(w, r.WithContext(contextWith(r, p)))
}

func (h *Handler) wrap(fn func(w http.ResponseWriter, r *http.Request, p *store.Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := r.Context().Value(ctxKey{}).(*store.Principal)
		if p == nil {
			h.Fail(w, r, allot.Errorf(allot.EUnauthorized, "Send 'Authorization: Bearer <token>' of an API client with the SCIM.Provisioning scope."))
			return
		}
		if err := fn(w, r, p); err != nil {
			h.Fail(w, r, err)
		}
	}
}

// readBody decodes a JSON object body.
func readBody(r *http.Request) (map[string]any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/scim+json" && mt != "application/json") {
			return nil, errf(415, "", "Send the body as application/scim+json (or application/json), not %q.", ct)
		}
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errf(400, typeInvalidSyntax, "The body is not a JSON object: %s.", jsonProblem(err))
	}
	if dec.More() {
		return nil, errf(400, typeInvalidSyntax, "The body has more than one JSON value.")
	}
	return m, nil
}

func jsonProblem(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func contextWith(r *http.Request, p *store.Principal) context.Context {
	return context.WithValue(r.Context(), ctxKey{}, p)
}
