package httpapi

// Graph's JSON batching: POST /v1.0/$batch runs up to 20 requests, each
// through the same handler chain as a request of its own (authentication
// with the batch's credential, rate limit, permission check, body limit,
// audit), and answers each one's status, headers and body.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"

	"allot"
	"allot/store"
)

// maxBatch is how many requests one $batch may hold (Graph's limit).
const maxBatch = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

func (s *Server) batchRoutes() {
	s.handle("POST /v1.0/$batch", PermSignedIn, s.batch)
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := decodeBody(r, &b, "batch"); err != nil {
		return err
	}
	if err := checkBatch(b.Requests); err != nil {
		return err
	}
	status := map[string]int{}
	out := make([]batchResponse, 0, len(b.Requests))
	for _, br := range b.Requests {
		resp := batchResponse{ID: br.ID}
		if failed := failedDependency(br, status); failed != "" {
			resp.Status = http.StatusFailedDependency
			resp.Body, _ = json.Marshal(map[string]any{"error": map[string]any{"code": "Request_FailedDependency",
				"message": "The request depends on request '" + failed + "', which failed."}})
		} else {
			resp = s.runBatched(r, br)
		}
		status[br.ID] = resp.Status
		out = append(out, resp)
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
	return nil
}

// checkBatch refuses a batch that Graph refuses: none or more than 20
// requests, a missing or repeated id, a URL that is not relative, and a
// dependsOn that names no earlier request.
func checkBatch(reqs []batchRequest) error {
	if len(reqs) == 0 || len(reqs) > maxBatch {
		return allot.Errorf(allot.EInvalid, "A batch holds 1 to %d requests; this one has %d. Send the others in another batch.", maxBatch, len(reqs))
	}
	seen := map[string]bool{}
	for i, br := range reqs {
		switch {
		case br.ID == "":
			return allot.Errorf(allot.EInvalid, "requests[%d] needs an id.", i)
		case seen[br.ID]:
			return allot.Errorf(allot.EInvalid, "Request id '%s' is used twice; every request of a batch needs its own id.", br.ID)
		case br.Method == "" || br.URL == "":
			return allot.Errorf(allot.EInvalid, "Request '%s' needs a method and a url.", br.ID)
		case strings.Contains(br.URL, "://") || strings.HasPrefix(br.URL, "//"):
			return allot.Errorf(allot.EInvalid, "Request '%s': url must be relative to /v1.0, such as /users/{id}.", br.ID)
		case strings.Contains(strings.SplitN(br.URL, "?", 2)[0], "$batch"):
			return allot.Errorf(allot.EInvalid, "Request '%s': a batch cannot contain another $batch.", br.ID)
		}
		for _, d := range br.DependsOn {
			if !seen[d] {
				return allot.Errorf(allot.EInvalid, "Request '%s' depends on '%s', which is not an earlier request of the batch.", br.ID, d)
			}
		}
		seen[br.ID] = true
	}
	return nil
}

// failedDependency names the first request br depends on that failed.
func failedDependency(br batchRequest, status map[string]int) string {
	for _, d := range br.DependsOn {
		if status[d] >= 400 {
			return d
		}
	}
	return ""
}

// runBatched serves one request of a batch through the server's handler
// chain as the batch's caller (its Authorization and cookies).
func (s *Server) runBatched(outer *http.Request, br batchRequest) batchResponse {
	path := "/v1.0/" + strings.TrimPrefix(strings.TrimPrefix(br.URL, "/v1.0"), "/")
	var body []byte
	if len(br.Body) > 0 && string(br.Body) != "null" {
		body = br.Body
	}
	ctx := context.WithValue(outer.Context(), infoKey{}, &reqInfo{})
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(br.Method), path, bytes.NewReader(body))
	if err != nil {
		rec := httptest.NewRecorder()
		s.writeError(rec, outer, allot.Errorf(allot.EInvalid, "Request '%s': %v", br.ID, err))
		return recorded(br.ID, rec)
	}
	req.Host, req.RemoteAddr, req.TLS = outer.Host, outer.RemoteAddr, outer.TLS
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	for _, h := range []string{"Authorization", "Cookie", "Origin", "Sec-Fetch-Site", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-For"} {
		if v := outer.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.recover(s.crossOrigin(s.routed())).ServeHTTP(rec, req)
	return recorded(br.ID, rec)
}

// recorded turns a recorded answer into a batch response: a JSON body as
// it is, another body as a JSON string.
func recorded(id string, rec *httptest.ResponseRecorder) batchResponse {
	resp := batchResponse{ID: id, Status: rec.Code, Headers: map[string]string{}}
	for _, h := range []string{"Content-Type", "Location", "Retry-After"} {
		if v := rec.Header().Get(h); v != "" {
			resp.Headers[h] = v
		}
	}
	data := bytes.TrimSpace(rec.Body.Bytes())
	if len(data) > 0 {
		if json.Valid(data) {
			resp.Body = data
		} else {
			resp.Body, _ = json.Marshal(string(data))
		}
	}
	return resp
}
