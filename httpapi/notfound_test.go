package httpapi

import (
	"strings"
	"testing"
)

// TestUnknownPathsAnswerLikeGraph: a path under /v1.0 that no route serves
// answers 400 BadRequest naming the first unknown segment, as Graph does; a
// known path with another method 405 with Allow; anything under /beta a
// JSON Graph error, never a page. Each answer is a complete Graph envelope.
func TestUnknownPathsAnswerLikeGraph(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		u := c.createUser("adele@contoso.com", "US")
		g := c.createGroup("Sales")
		cases := []struct {
			name, method, path string
			status             int
			code, message      string
		}{
			{"unknown top-level segment", "GET", "/v1.0/widgets", 400, "BadRequest", "Resource not found for the segment 'widgets'."},
			{"unknown segment after a user", "GET", "/v1.0/users/" + u + "/mailFolders", 400, "BadRequest", "Resource not found for the segment 'mailFolders'."},
			{"unknown segment deep in a path", "GET", "/v1.0/groups/" + g + "/members/x/y/z", 400, "BadRequest", "Resource not found for the segment 'y'."},
			{"unknown action on a group", "POST", "/v1.0/groups/" + g + "/renew", 400, "BadRequest", "Resource not found for the segment 'renew'."},
			{"path shorter than a route", "GET", "/v1.0/auditLogs", 400, "BadRequest", "Resource not found for the segment 'auditLogs'."},
			{"known path, other method", "PUT", "/v1.0/users/" + u, 405, "Request_BadRequest", "GET, PATCH, DELETE"},
			{"known list, other method", "DELETE", "/v1.0/subscribedSkus", 405, "Request_BadRequest", "accepts GET"},
			{"beta route", "GET", "/beta/users", 400, "BadRequest", "/v1.0/users"},
			{"beta write", "POST", "/beta/users/" + u + "/assignLicense", 400, "BadRequest", "segment 'beta'"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := c.with(t).do(tc.method, tc.path, nil)
				if r.Status != tc.status {
					t.Fatalf("want %d: %s", tc.status, r)
				}
				e := r.graphError(t)
				if e.Code != tc.code || !strings.Contains(e.Message, tc.message) {
					t.Errorf("want %s containing %q: %s", tc.code, tc.message, r)
				}
				if tc.status == 405 && r.Header.Get("Allow") == "" {
					t.Errorf("405 without Allow: %s", r)
				}
			})
		}
	})
}

// TestGroupAssignLicenseLocation: the 202 of a group's assignLicense (and of
// its reprocess) carries Location, the group's own URL, which GETs it.
func TestGroupAssignLicenseLocation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		g := c.createGroup("Licensed")
		for _, path := range []string{"/v1.0/groups/" + g + "/assignLicense", "/v1.0/groups/" + g + "/reprocessLicenseAssignment"} {
			var body any
			if strings.HasSuffix(path, "assignLicense") {
				body = assignBody([]string{c.sku("SPE_E3")}, nil)
			}
			r := c.must(202, "POST", path, body)
			loc := r.Header.Get("Location")
			if loc != h.srv.URL+"/v1.0/groups/"+g {
				t.Fatalf("Location %q, want the group's URL: %s", loc, r)
			}
			if id := c.getJSON(h.relative(loc))["id"]; id != g {
				t.Errorf("Location leads to %v, want group %s", id, g)
			}
		}
	})
}
