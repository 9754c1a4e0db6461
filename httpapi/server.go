// Package httpapi serves allot over HTTP: the Microsoft Graph-compatible
// surface under /v1.0, allot's admin API under /allot/v1, and health checks.
// Handlers translate between JSON and the store; every error is mapped to an
// HTTP status and a Graph error envelope in one place (writeError).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// Limits bound what one request may ask for.
type Limits struct {
	MaxBody    int64 // request body bytes
	DefaultTop int   // page size when $top is absent
	MaxTop     int   // largest $top
}

// DefaultLimits are the limits allot serves with unless configured.
var DefaultLimits = Limits{MaxBody: 1 << 20, DefaultTop: 100, MaxTop: 999}

// Server holds the HTTP handlers.
type Server struct {
	st     *sqlstore.Store
	log    *slog.Logger
	limits Limits
	mux    *http.ServeMux
}

// New returns a Server on the store.
func New(st *sqlstore.Store, log *slog.Logger, limits Limits) *Server {
	s := &Server{st: st, log: log, limits: limits, mux: http.NewServeMux()}
	s.routes()
	return s
}

// Handler returns the server's root handler with its middleware.
func (s *Server) Handler() http.Handler { return s.recover(s.requestID(s.mux)) }

type handler func(w http.ResponseWriter, r *http.Request, p *store.Principal) error

// perm is what a route needs of the caller's role.
type perm int

const (
	permRead      perm = iota // any role
	permLicense               // assign, remove, reprocess licenses; set usage location
	permDirectory             // users, groups, memberships
	permProducts              // products and seats
)

func allowed(role string, p perm) bool {
	switch role {
	case store.RoleGlobalAdmin:
		return true
	case store.RoleUserAdmin:
		return p != permProducts
	case store.RoleLicenseAdmin:
		return p == permRead || p == permLicense
	case store.RoleGlobalReader:
		return p == permRead
	}
	return false
}

// handle registers an authenticated route.
func (s *Server) handle(pattern string, need perm, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !allowed(p.Role, need) {
			s.writeError(w, r, allot.Errorf(allot.EForbidden, "Insufficient privileges to complete the operation: the role %s cannot do this.", p.Role))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxBody)
		ctx := sqlstore.WithCorrelationID(r.Context(), requestIDOf(r))
		if err := h(w, r.WithContext(ctx), p); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (*store.Principal, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return nil, allot.Errorf(allot.EUnauthorized, "Access token is empty. Send 'Authorization: Bearer <token>'; 'allot tenant create' prints one.")
	}
	return s.st.Authenticate(r.Context(), strings.TrimSpace(tok))
}

type ridKey struct{}

func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("client-request-id")
		if id == "" || len(id) > 64 {
			b := make([]byte, 16)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("request-id", id)
		w.Header().Set("client-request-id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ridKey{}, id)))
	})
}

func requestIDOf(r *http.Request) string {
	id, _ := r.Context().Value(ridKey{}).(string)
	return id
}

func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, allot.Errorf(allot.EInternal, "panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.st.Ping(ctx); err != nil {
			s.writeError(w, r, allot.Errorf(allot.EUnavailable, "The database does not answer: %v", err))
			return
		}
		w.Write([]byte("ready\n"))
	})
	s.graphRoutes()
	s.adminRoutes()
	// Anything else under the API prefixes is a Graph-style 404.
	for _, prefix := range []string{"/v1.0/", "/allot/v1/"} {
		s.mux.HandleFunc(prefix, func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, allot.Errorf(allot.ENotFound, "Resource not found for the segment '%s' (%s %s).", lastSegment(r.URL.Path), r.Method, r.URL.Path))
		})
	}
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
