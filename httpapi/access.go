package httpapi

// The access log: one line per request at INFO, and what a request's
// handlers learn about it (route pattern, principal) for that line and for
// the request metrics.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"allot/store"
)

// StatusClientClosed is the status recorded (nginx's 499) for a request
// whose client went away before the answer: nobody reads it, so it is
// neither a server error nor logged as one.
const StatusClientClosed = 499

// reqInfo is what the middleware and the handlers learn about one request.
type reqInfo struct {
	pattern   string // the mux pattern that matched ("" when none did)
	tenant    string // the caller's tenant GUID, once authenticated
	principal string // the caller, once authenticated
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	i, _ := r.Context().Value(infoKey{}).(*reqInfo)
	return i
}

// notePrincipal records the authenticated caller for the access log.
func notePrincipal(r *http.Request, p *store.Principal) {
	if i := infoOf(r); i != nil && p != nil {
		i.tenant = p.Tenant.GUID
		i.principal = principalName(p)
	}
}

// principalName is "kind:id" of the caller: the user's or API client's
// GUID, or the operator token's id.
func principalName(p *store.Principal) string {
	if p.GUID != "" {
		return p.Kind + ":" + p.GUID
	}
	return p.Kind + ":token-" + itoa64(p.TokenID)
}

// recorder remembers the status and the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends what is buffered (streamed answers such as CSV exports).
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// RequestDone describes one finished request to an observer (the metrics).
type RequestDone struct {
	Method  string
	Route   string // the mux pattern, "unmatched" when no route matched
	Status  int
	Bytes   int64
	Elapsed time.Duration
}

// access logs one line per request and tells the observers about it.
func (s *Server) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
		d := RequestDone{Method: r.Method, Route: info.pattern, Status: rec.status, Bytes: rec.bytes, Elapsed: time.Since(start)}
		if d.Route == "" {
			d.Route = "unmatched"
		}
		if d.Status == 0 {
			d.Status = http.StatusOK
		}
		if r.Context().Err() != nil && d.Status >= 500 {
			d.Status = StatusClientClosed
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", d.Method), slog.String("route", d.Route), slog.String("path", r.URL.Path),
			slog.Int("status", d.Status), slog.Duration("duration", d.Elapsed), slog.Int64("bytes", d.Bytes),
			slog.String("request-id", requestIDOf(r)), slog.String("tenant", info.tenant), slog.String("principal", info.principal))
		for _, o := range s.observers {
			o(d)
		}
	})
}

// routed serves the mux and records the pattern that matched.
func (s *Server) routed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mux.ServeHTTP(w, r)
		if i := infoOf(r); i != nil {
			i.pattern = r.Pattern
		}
	})
}

// ClientGone tells whether err, or the request's end, comes from the client
// going away (a closed connection, a canceled request): such errors are
// logged at DEBUG, not as failures of the server.
func ClientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil || errors.Is(err, context.Canceled)
}
