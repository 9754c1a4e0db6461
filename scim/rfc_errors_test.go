package scim_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"allot/httpapi"
)

// TestEveryErrorClassOfRFC7644: each error of RFC 7644 §3.12 (the HTTP
// statuses and Table 9's scimType values) where allot can meet it, with
// the SCIM error body, and the request changes nothing. mutability on
// PATCH and PUT, uniqueness on userName, externalId and group names
// elsewhere (users_test.go, groups_test.go) are here once more so that the
// list is whole in one place.
func TestEveryErrorClassOfRFC7644(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		id := h.createUser("adele@contoso.com", map[string]any{"externalId": "adele"})
		gid := h.sc(201, "POST", "/Groups", map[string]any{"displayName": "Sales"})["id"].(string)
		q := func(f string) string { return "/Users?filter=" + url.QueryEscape(f) }
		many := make([]string, 65)
		for i := range many {
			many[i] = fmt.Sprintf(`userName eq "u%d@contoso.com"`, i)
		}
		big := strings.Repeat("x", int(httpapi.DefaultLimits.MaxBody))
		for _, tc := range []struct {
			class       string // what the RFC names
			status      int
			scimType    string
			method, url string
			body        any
			headers     []string
		}{
			{"invalidFilter: bad syntax", 400, "invalidFilter", "GET", q(`userName eq`), nil, nil},
			{"invalidFilter: unknown attribute", 400, "invalidFilter", "GET", q(`shoeSize eq "9"`), nil, nil},
			{"invalidFilter: on Groups", 400, "invalidFilter", "GET", "/Groups?filter=" + url.QueryEscape(`displayName xx "a"`), nil, nil},
			{"tooMany: a filter past the server's bound", 400, "tooMany", "GET", q(strings.Join(many, " or ")), nil, nil},
			{"tooMany: a PATCH path filter past it", 400, "tooMany", "PATCH", "/Groups/" + gid,
				patch(map[string]any{"op": "remove", "path": "members[" + strings.Join(many, " or ") + "]"}), nil},
			{"uniqueness: userName", 409, "uniqueness", "POST", "/Users", map[string]any{"userName": "Adele@contoso.com"}, nil},
			{"uniqueness: externalId", 409, "uniqueness", "POST", "/Users", map[string]any{"userName": "b@contoso.com", "externalId": "adele"}, nil},
			{"uniqueness: a PATCH to a taken userName", 409, "uniqueness", "PATCH", "/Users/" + id,
				patch(map[string]any{"op": "replace", "path": "userName", "value": "taken@contoso.com"}), nil},
			{"mutability: PATCH of id", 400, "mutability", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "id", "value": "x"}), nil},
			{"mutability: PUT with another id", 400, "mutability", "PUT", "/Users/" + id,
				map[string]any{"id": "00000000-0000-0000-0000-000000000000", "userName": "adele@contoso.com"}, nil},
			{"invalidSyntax: not JSON", 400, "invalidSyntax", "POST", "/Users", `{"userName": `, nil},
			{"invalidSyntax: PATCH without Operations", 400, "invalidSyntax", "PATCH", "/Users/" + id,
				map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}}, nil},
			{"invalidSyntax: an unknown op", 400, "invalidSyntax", "PATCH", "/Users/" + id, patch(map[string]any{"op": "move", "path": "title"}), nil},
			{"invalidPath: bad path syntax", 400, "invalidPath", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"}), nil},
			{"invalidPath: unknown schema", 400, "invalidPath", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "urn:example:nope:title", "value": "x"}), nil},
			{"noTarget: remove without path", 400, "noTarget", "PATCH", "/Users/" + id, patch(map[string]any{"op": "remove"}), nil},
			{"invalidValue: missing userName", 400, "invalidValue", "POST", "/Users", map[string]any{"displayName": "x"}, nil},
			{"invalidValue: active not a boolean", 400, "invalidValue", "POST", "/Users", map[string]any{"userName": "c@contoso.com", "active": "maybe"}, nil},
			{"invalidValue: an unknown member", 400, "invalidValue", "PATCH", "/Groups/" + gid,
				patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "00000000-0000-0000-0000-000000000000"}}}), nil},
			{"invalidVers: stale If-Match on PUT", 412, "invalidVers", "PUT", "/Users/" + id, map[string]any{"userName": "adele@contoso.com"}, []string{"If-Match", `W/"stale"`}},
			{"invalidVers: stale If-Match on PATCH", 412, "invalidVers", "PATCH", "/Users/" + id,
				patch(map[string]any{"op": "replace", "path": "title", "value": "x"}), []string{"If-Match", `W/"stale"`}},
			{"invalidVers: stale If-Match on DELETE", 412, "invalidVers", "DELETE", "/Users/" + id, nil, []string{"If-Match", `W/"stale"`}},
			{"sensitive: a password in the URL", 403, "sensitive", "GET", q(`password eq "secret"`), nil, nil},
			{"sensitive: the password anywhere in the filter", 403, "sensitive", "GET", q(`userName eq "a" or password pr`), nil, nil},
			{"404: unknown user", 404, "", "GET", "/Users/00000000-0000-0000-0000-000000000000", nil, nil},
			{"404: unknown group", 404, "", "PATCH", "/Groups/00000000-0000-0000-0000-000000000000", patch(map[string]any{"op": "replace", "path": "displayName", "value": "x"}), nil},
			{"404: unknown endpoint", 404, "", "GET", "/Devices", nil, nil},
			{"413: body over the limit", 413, "", "POST", "/Users", map[string]any{"userName": "d@contoso.com", "displayName": big}, nil},
			{"501: Bulk is not implemented", 501, "", "POST", "/Bulk", map[string]any{}, nil},
		} {
			t.Run(tc.class, func(t *testing.T) {
				h := h.on(t)
				if tc.scimType == "uniqueness" && strings.Contains(tc.class, "PATCH") {
					h.createUser("taken@contoso.com", nil)
					defer func() {
						m := h.sc(200, "GET", q(`userName eq "taken@contoso.com"`), nil)
						h.sc(204, "DELETE", "/Users/"+ids(m)[0], nil)
					}()
				}
				before := h.sc(200, "GET", "/Users/"+id, nil)
				h.scimError(tc.status, tc.scimType, tc.method, tc.url, tc.body, tc.headers...)
				after := h.sc(200, "GET", "/Users/"+id, nil)
				if before["meta"].(map[string]any)["version"] != after["meta"].(map[string]any)["version"] {
					t.Errorf("%s %s changed the user", tc.method, tc.url)
				}
			})
		}
		if n := h.sc(200, "GET", "/Users?count=0", nil)["totalResults"]; n != 1.0 {
			t.Errorf("refused requests created users: %v", n)
		}
		// 401 (no or a bad token) and 403 (a token that may not provision)
		// are in auth_test.go (TestOnlySCIMClientsProvision); 409 without a
		// scimType (deleting a group that assigns licenses) in groups_test.go.
	})
}
