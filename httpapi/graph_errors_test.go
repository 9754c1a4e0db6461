package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"allot"
)

// TestGraphErrorCodeAndMessageAsGraphSendsThem: each error code answers
// with Graph's status, top-level code and, where Graph's wording of the same
// failure is documented or widely reported, Graph's message; allot's precise
// code, message and target are always details[0].
func TestGraphErrorCodeAndMessageAsGraphSendsThem(t *testing.T) {
	withTarget := func(c allot.Code, msg, target string) error {
		e := allot.Errorf(c, "%s", msg)
		e.Target = target
		return e
	}
	cases := []struct {
		name      string
		err       error
		noToken   bool
		status    int
		code, msg string
	}{
		{"usage location missing", withTarget(allot.EUsageLocationNeeded, "Set usageLocation.", "sku-1"), false,
			400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location."},
		{"no seats", withTarget(allot.ENoSeats, "No E3 seats left.", "05e9a617-0261-4cee-bb44-138d3ef5d965"), false,
			400, "Request_BadRequest", "Subscription with SKU 05e9a617-0261-4cee-bb44-138d3ef5d965 does not have any available licenses."},
		{"seats reduced", withTarget(allot.ESeatsReduced, "Fewer seats.", "s"), false,
			400, "Request_BadRequest", "Subscription with SKU s does not have any available licenses."},
		{"no seats without a sku", allot.Errorf(allot.ENoSeats, "No seats."), false, 400, "Request_BadRequest", "No seats."},
		{"prerequisite: allot's words", withTarget(allot.EPrerequisiteMissing, "Needs E3 first.", "s"), false,
			400, "Request_BadRequest", "Needs E3 first."},
		{"mutually exclusive: allot's words", allot.Errorf(allot.EMutuallyExclusive, "Not with E5."), false,
			400, "Request_BadRequest", "Not with E5."},
		{"not found", withTarget(allot.ENotFound, "User 'x' does not exist or is not in this tenant.", "x"), false,
			404, "Request_ResourceNotFound", "Resource 'x' does not exist or one of its queried reference-property objects are not present."},
		{"not found without an id", allot.Errorf(allot.ENotFound, "No such page."), false, 404, "Request_ResourceNotFound", "No such page."},
		{"not found wrapped", &allot.Error{Op: "get", Err: withTarget(allot.ENotFound, "m", "y")}, false,
			404, "Request_ResourceNotFound", "Resource 'y' does not exist or one of its queried reference-property objects are not present."},
		{"bad input", allot.Errorf(allot.EInvalid, "Bad."), false, 400, "Request_BadRequest", "Bad."},
		{"unsupported query", allot.Errorf(allot.EUnsupportedQuery, "Unsupported."), false, 400, "Request_UnsupportedQuery", "Unsupported."},
		{"unknown segment", allot.Errorf(allot.EUnknownSegment, "Resource not found for the segment 'x'."), false,
			400, "BadRequest", "Resource not found for the segment 'x'."},
		{"no token", allot.Errorf(allot.EUnauthorized, "Send a token."), true, 401, "InvalidAuthenticationToken", "Access token is empty."},
		{"bad token", allot.Errorf(allot.EUnauthorized, "The token is not valid."), false, 401, "InvalidAuthenticationToken", "The token is not valid."},
		{"forbidden", allot.Errorf(allot.EForbidden, "Needs User Administrator."), false,
			403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
		{"license loss", &allot.Error{Code: allot.ELicenseLoss, Message: "Confirm.", Err: &allot.LossError{}}, false,
			409, "licenseLossNotConfirmed", "Confirm."},
		{"too large", allot.Errorf(allot.ETooLarge, "Too large."), false, 413, "Request_EntityTooLarge", "Too large."},
		{"busy", allot.Errorf(allot.EUnavailable, "Busy."), false, 503, "ServiceNotAvailable", "Busy."},
		{"internal", errors.New("disk on fire"), false, 500, "InternalServerError", "An internal error occurred. The server log has the details."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1.0/users/x", nil)
			if !c.noToken {
				r.Header.Set("Authorization", "Bearer t")
			}
			st, _ := status(allot.ErrorCode(c.err))
			ge := graphBody(r, c.err)
			if st != c.status || ge.Error.Code != c.code || ge.Error.Message != c.msg {
				t.Errorf("got %d %s %q; want %d %s %q", st, ge.Error.Code, ge.Error.Message, c.status, c.code, c.msg)
			}
			d := ge.Error.Details
			if len(d) == 0 || d[0].Code != string(allot.ErrorCode(c.err)) || d[0].Message != allot.ErrorMessage(c.err) ||
				d[0].Target != allot.ErrorTarget(c.err) {
				t.Errorf("details[0] = %+v; want allot's code %s, message %q, target %q", d, allot.ErrorCode(c.err),
					allot.ErrorMessage(c.err), allot.ErrorTarget(c.err))
			}
		})
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestGraphErrorsOverHTTP: real failures answer Graph's code and message on
// top, allot's code in details[0], and innerError with date, request-id (a
// GUID of the server's) and client-request-id (the client's, echoed).
func TestGraphErrorsOverHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3 := c.sku("SPE_E3")
		nowhere := c.createUser("nowhere@contoso.com", "")
		before := c.snapshot()
		e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users/"+nowhere+"/assignLicense", assignBody([]string{e3}, nil))
		if e.Message != "License assignment cannot be done for user with invalid usage location." || e.Precise != string(allot.EUsageLocationNeeded) ||
			!strings.Contains(e.PreciseMessage, "usageLocation") {
			t.Errorf("no usage location: %+v", e)
		}
		c.unchanged(before, "a refused assignment")

		one := h.newTenant("Fabrikam", "NAM", "US", map[string]int{"SPE_E3": 1})
		fe3 := one.sku("SPE_E3")
		one.assign(one.createUser("a@fabrikam.com", "US"), []string{fe3}, nil)
		e = one.expectError(400, "Request_BadRequest", "POST", "/v1.0/users/"+one.createUser("b@fabrikam.com", "US")+"/assignLicense",
			assignBody([]string{fe3}, nil))
		if e.Message != "Subscription with SKU "+fe3+" does not have any available licenses." || e.Precise != string(allot.ENoSeats) {
			t.Errorf("no seats: %+v", e)
		}

		const missing = "00000000-0000-4000-8000-000000000001"
		e = c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+missing, nil)
		if e.Message != "Resource '"+missing+"' does not exist or one of its queried reference-property objects are not present." ||
			e.Precise != string(allot.ENotFound) {
			t.Errorf("unknown user: %+v", e)
		}
		e = c.expectError(400, "Request_BadRequest", "GET", "/v1.0/users?$filter=displayName%20eq", nil)
		if e.Precise != string(allot.EInvalid) {
			t.Errorf("bad $filter: %+v", e)
		}

		anon := *c
		anon.Token = ""
		e = anon.expectError(401, "InvalidAuthenticationToken", "GET", "/v1.0/users", nil)
		if e.Message != "Access token is empty." || e.Precise != string(allot.EUnauthorized) {
			t.Errorf("no token: %+v", e)
		}

		req, _ := http.NewRequest("GET", h.srv.URL+"/v1.0/users/"+missing, nil)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("client-request-id", "7f3c0b7e-client-chosen")
		res, err := h.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env struct {
			Error struct {
				InnerError map[string]string `json:"innerError"`
			} `json:"error"`
		}
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
			t.Fatal(err)
		}
		in := env.Error.InnerError
		if in["client-request-id"] != "7f3c0b7e-client-chosen" || res.Header.Get("client-request-id") != "7f3c0b7e-client-chosen" ||
			!guidRE.MatchString(in["request-id"]) || res.Header.Get("request-id") != in["request-id"] || in["date"] == "" {
			t.Errorf("innerError %v, headers request-id %q client-request-id %q", in, res.Header.Get("request-id"), res.Header.Get("client-request-id"))
		}
	})
}
