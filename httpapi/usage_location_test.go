package httpapi

import (
	"strings"
	"testing"
)

// A usage location that is no ISO 3166-1 country ("ZZ", "USA", "EU") is
// refused with 400 in the Graph error envelope, saying what the field must
// be, on PATCH and on create; nothing changes (not even a cut "US").
func TestUsageLocationMustBeACountry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "DE")
		before := c.snapshot()
		for _, bad := range []string{"ZZ", "USA", "EU", "U1"} {
			e := c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+u, map[string]any{"usageLocation": bad})
			if !strings.Contains(e.Message, "Usage location must be a two-letter country code such as US") {
				t.Errorf("PATCH %s: message %q", bad, e.Message)
			}
			c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users", map[string]any{"userPrincipalName": "x@contoso.com",
				"displayName": "X", "accountEnabled": true, "usageLocation": bad})
		}
		c.unchanged(before, "a refused usage location")
		if got := c.getJSON("/v1.0/users/" + u)["usageLocation"]; got != "DE" {
			t.Errorf("usageLocation %v, want DE", got)
		}
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"usageLocation": "fr"})
		if got := c.getJSON("/v1.0/users/" + u)["usageLocation"]; got != "FR" {
			t.Errorf("usageLocation %v, want FR", got)
		}
	})
}
