package httpapi

// Answers for paths allot does not serve, in Graph's words: an unknown
// segment under /v1.0 is a 400 naming the segment, a known path with
// another method a 405, and the rest of /beta (allot serves only cloudLicensing there) a JSON error
// rather than a page.

import (
	"net/http"
	"strings"

	"allot"
)

// notFoundRoutes registers the catch-alls of the API prefixes.
func (s *Server) notFoundRoutes() {
	s.mux.HandleFunc("/v1.0/", s.unknownGraphPath)
	s.mux.HandleFunc("/beta/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, allot.Errorf(allot.EUnknownSegment,
			"Resource not found for the segment 'beta'. allot serves Microsoft Graph v1.0 (under /beta only cloudLicensing): send the request to /v1.0%s.",
			strings.TrimPrefix(r.URL.Path, "/beta")))
	})
	s.mux.HandleFunc("/allot/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, allot.Errorf(allot.ENotFound, "Resource not found for the segment '%s' (%s %s).", lastSegment(r.URL.Path), r.Method, r.URL.Path))
	})
}

// unknownGraphPath answers a /v1.0 request that no route takes.
func (s *Server) unknownGraphPath(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r.URL.Path); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, allot.Errorf(allot.EMethodNotAllowed,
			"Specified HTTP method is not allowed for the request target: %s %s accepts %s.", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	s.writeError(w, r, allot.Errorf(allot.EUnknownSegment, "Resource not found for the segment '%s'.", s.unknownSegment(r.URL.Path)))
}

// allowedMethods lists the methods of the routes that serve path.
func (s *Server) allowedMethods(path string) []string {
	var out []string
	for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		probe, err := http.NewRequest(m, path, nil)
		if err != nil {
			return nil
		}
		if _, pattern := s.mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			out = append(out, m)
		}
	}
	return out
}

// unknownSegment is the first segment of path that no registered route
// has at its place (the last segment when path is a route's prefix).
func (s *Server) unknownSegment(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	known := 0
	for _, ri := range s.auth.routes {
		_, p, _ := strings.Cut(ri.Pattern, " ")
		known = max(known, matchingSegments(segs, strings.Split(strings.TrimPrefix(p, "/"), "/")))
	}
	if known >= len(segs) {
		known = len(segs) - 1
	}
	return segs[known]
}

// matchingSegments counts the leading segments of segs that the pattern's
// segments match ({name} matches any one segment).
func matchingSegments(segs, pattern []string) int {
	n := 0
	for n < len(segs) && n < len(pattern) {
		p := pattern[n]
		wild := strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && p != "{$}"
		if !wild && p != segs[n] || wild && segs[n] == "" {
			break
		}
		n++
	}
	return n
}
