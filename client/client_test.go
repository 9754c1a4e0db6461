package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestErrorTakesThePreciseCodeFromDetails: allot's precise code and message
// are error.details[0]; Graph's top-level code stays in GraphCode; the
// remaining details (a refused loss's entries) are Details.
func TestErrorTakesThePreciseCodeFromDetails(t *testing.T) {
	cases := []struct {
		name, body                     string
		code, msg, graphCode, graphMsg string
		details                        int
	}{
		{"licensing", `{"error":{"code":"Request_BadRequest","message":"License assignment cannot be done for user with invalid usage location.",
			"details":[{"code":"usageLocationMissing","message":"Set usageLocation.","target":""}]}}`,
			"usageLocationMissing", "Set usageLocation.", "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.", 0},
		{"loss", `{"error":{"code":"licenseLossNotConfirmed","message":"Confirm.","details":[{"code":"licenseLossNotConfirmed","message":"Confirm."},
			{"code":"removed","message":"a would lose E3 (removed)","target":"u1"}]}}`,
			"licenseLossNotConfirmed", "Confirm.", "licenseLossNotConfirmed", "Confirm.", 1},
		{"no details", `{"error":{"code":"Request_ResourceNotFound","message":"Gone."}}`,
			"Request_ResourceNotFound", "Gone.", "Request_ResourceNotFound", "Gone.", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			_, err := New(srv.URL, "t").Do(context.Background(), "GET", "/x", nil, nil)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("err %T %v", err, err)
			}
			if e.Code != c.code || e.Message != c.msg || e.GraphCode != c.graphCode || e.GraphMessage != c.graphMsg || len(e.Details) != c.details {
				t.Errorf("got %+v", e)
			}
			if ErrorCode(err) != c.code {
				t.Errorf("ErrorCode = %s", ErrorCode(err))
			}
		})
	}
}
