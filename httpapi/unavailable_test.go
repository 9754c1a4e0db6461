package httpapi

import (
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"

	"allot"
)

// TestUnavailableHasRetryAfter: an EUnavailable error (a write that stayed in
// conflict with concurrent ones for its whole retry budget) answers 503 with
// a Retry-After header and the store's message, never 500.
func TestUnavailableHasRetryAfter(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1.0/users/x/assignLicense", nil)
	s.writeError(rec, req, &allot.Error{Code: allot.EUnavailable, Message: "Busy; try again in a moment."})
	ra, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != 503 || ra < 1 {
		t.Fatalf("EUnavailable: %d Retry-After %q, want 503 with Retry-After ≥ 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if code := errorCode(rec.Body.Bytes()); code != "ServiceNotAvailable" {
		t.Errorf("Graph error code %q, want ServiceNotAvailable", code)
	}
}
