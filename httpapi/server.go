// Package httpapi serves allot over HTTP: the Microsoft Graph-compatible
// surface under /v1.0, allot's admin API under /allot/v1, and health checks.
// Handlers translate between JSON and the store; every error is mapped to an
// HTTP status and a Graph error envelope in one place (writeError).
package httpapi

import (
	"allot/internal/egress"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"allot"
	"allot/events"
	"allot/store"
	"allot/store/sqlstore"
)

// Limits bound what one request may ask for.
type Limits struct {
	MaxBody    int64 // request body bytes
	DefaultTop int   // page size when $top is absent
	MaxTop     int   // largest $top
	// MaxCSVRows is the most rows one CSV import may have (see MaxCSVRows).
	MaxCSVRows int
	// RatePerSecond and RateBurst limit the requests of one credential (API
	// token or session): a token bucket; 0 means no limit. Past it: 429 with
	// Retry-After.
	RatePerSecond float64
	RateBurst     int
	// Webhooks is where change notifications, their handshake and alert
	// webhooks may go (https to public addresses unless AllowPrivate).
	Webhooks egress.Policy
}

// DefaultLimits are the limits allot serves with unless configured.
var DefaultLimits = Limits{MaxBody: 1 << 20, DefaultTop: 100, MaxTop: 999, MaxCSVRows: MaxCSVRows,
	RatePerSecond: DefaultRatePerSecond, RateBurst: DefaultRateBurst}

// Server holds the HTTP handlers.
type Server struct {
	st     *sqlstore.Store
	log    *slog.Logger
	limits Limits
	mux    *http.ServeMux
	auth   *authState // sign-in, sessions, rate limits (auth.go)
	// observers hear of every finished request (the metrics, see Observe).
	observers []func(RequestDone)
	network   Network // proxies and the public URL (network.go)
	// handshake validates subscriptions' notification URLs (subscriptions.go).
	handshake *events.Handshaker
	// exports runs report exports as jobs (exports.go).
	exports *exportState
}

// Observe adds a function that hears of every finished request, after its
// access-log line. Call it before serving.
func (s *Server) Observe(f func(RequestDone)) { s.observers = append(s.observers, f) }

// New returns a Server on the store.
func New(st *sqlstore.Store, log *slog.Logger, limits Limits) *Server {
	s := &Server{st: st, log: log, limits: limits, mux: http.NewServeMux(), handshake: events.NewHandshaker(limits.Webhooks.Client(0))}
	s.auth = newAuthState(st, log, limits)
	s.routes()
	return s
}

// Handler returns the server's root handler with its middleware.
// Cross-origin protection refuses every state-changing request that a
// browser sends from another origin (auth.go).
// Every request gets one access-log line (access.go). Compressed bodies
// are decoded and answers compressed (encoding.go) inside it, so that even a
// panic's answer is encoded.
func (s *Server) Handler() http.Handler {
	return s.forwarded(s.requestID(s.access(s.encoding(s.recover(s.crossOrigin(s.routed()))))))
}

type handler func(w http.ResponseWriter, r *http.Request, p *store.Principal) error

// handle registers an authenticated route that needs the permission need
// (any one of its bits; PermSignedIn for any caller). The role → permission
// model is in roles.go, authentication and limits in auth.go.
func (s *Server) handle(pattern string, need Perm, h handler) {
	s.auth.register(pattern, need)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serveAuthenticated(w, r, need, h)
	})
}

type ridKey struct{}

// requestIDs are a request's two ids as Graph sends them: request-id, the
// server's own GUID for the request, and client-request-id, the client's
// when it sent one (Microsoft's SDKs send a GUID per request), otherwise
// the request-id again.
type requestIDs struct{ server, client string }

func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := requestIDs{server: newGUID()}
		ids.client = r.Header.Get("client-request-id")
		if ids.client == "" || len(ids.client) > 64 || !printableASCII(ids.client) {
			ids.client = ids.server
		}
		w.Header().Set("request-id", ids.server)
		w.Header().Set("client-request-id", ids.client)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ridKey{}, ids)))
	})
}

// newGUID returns a random (version 4) GUID in its 8-4-4-4-12 form.
func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// printableASCII tells whether s has only printable ASCII characters, so
// that echoing it in a header and in JSON is safe.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestIDOf returns the server's id of the request (request-id).
func requestIDOf(r *http.Request) string {
	ids, _ := r.Context().Value(ridKey{}).(requestIDs)
	return ids.server
}

// clientRequestIDOf returns the request's client-request-id.
func clientRequestIDOf(r *http.Request) string {
	ids, _ := r.Context().Value(ridKey{}).(requestIDs)
	return ids.client
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
	s.public("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.public("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.st.Ping(ctx); err != nil {
			// The database's own words (host names, users) stay in the log.
			s.log.Warn("readiness check: the database does not answer", "request-id", requestIDOf(r), "err", err)
			s.writeError(w, r, allot.Errorf(allot.EUnavailable, "The database does not answer; the server log has the details."))
			return
		}
		w.Write([]byte("ready\n"))
	})
	s.graphRoutes()
	s.subscriptionRoutes()
	s.adminRoutes()
	s.authRoutes()
	s.notFoundRoutes()
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
