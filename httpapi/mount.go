package httpapi

import (
	"net/http"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// Surface is an API surface mounted beside Graph (the SCIM service):
// Serve answers an authenticated request, Fail writes an error in the
// surface's own form.
type Surface interface {
	Serve(w http.ResponseWriter, r *http.Request, p *store.Principal)
	Fail(w http.ResponseWriter, r *http.Request, err error)
}

// MountSCIM serves the SCIM surface under prefix to API clients with the
// SCIM.Provisioning scope only: people, operator tokens and Graph clients
// are refused. Authentication, rate limits and body limits are the
// Graph routes'.
func (s *Server) MountSCIM(prefix string, sf Surface) {
	s.mux.HandleFunc(prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			sf.Fail(w, r, err)
			return
		}
		notePrincipal(r, p)
		if wait, ok := s.auth.rate.allow(r.Context(), rateKey(p), time.Now()); !ok {
			setRetryAfter(w, wait)
			sf.Fail(w, r, allot.Errorf(allot.ETooManyRequests, "Too many requests with this credential; slow down and retry after the Retry-After header's seconds."))
			return
		}
		if !scimOnly(p) || effectivePerms(p)&PermSCIM == 0 {
			sf.Fail(w, r, allot.Errorf(allot.EForbidden, "Only an API client with the %s scope may provision through SCIM; create one with POST /allot/v1/apiClients {\"scopes\": [\"%s\"]}.", SCIMScope, SCIMScope))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxBody)
		sf.Serve(w, r.WithContext(sqlstore.WithCorrelationID(r.Context(), requestIDOf(r))), p)
	})
}
