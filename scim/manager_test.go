package scim_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"
)

const managerPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"

// TestSCIMManagerIsTheDirectoryReference: SCIM's enterprise manager.value
// is the user's manager reference that Graph shows (manager, directReports,
// $expand=manager) and sets (manager/$ref), whichever surface writes it:
// Entra's PATCH Add and Remove by path, a path-less replace, PUT, and
// create. An unknown or malformed manager id and the user itself are a 400
// invalidValue that changes nothing.
func TestSCIMManagerIsTheDirectoryReference(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		a, b, c := h.createUser("a@contoso.com", nil), h.createUser("b@contoso.com", nil), h.createUser("c@contoso.com", nil)
		scimManager := func(id string) string {
			t.Helper()
			ent, _ := h.sc(200, "GET", "/Users/"+id, nil)[ent].(map[string]any)
			m, _ := ent["manager"].(map[string]any)
			v, _ := m["value"].(string)
			return v
		}
		graphManager := func(id string) string {
			t.Helper()
			st, m, _ := h.do(h.ga, "GET", "/v1.0/users/"+id+"/manager", nil)
			if st == 404 {
				return ""
			}
			if st != 200 {
				t.Fatalf("GET manager of %s: %d %v", id, st, m)
			}
			return m["id"].(string)
		}
		both := func(step, id, want string) {
			t.Helper()
			if g, s := graphManager(id), scimManager(id); g != want || s != want {
				t.Fatalf("%s: Graph shows manager %q, SCIM %q, want %q", step, g, s, want)
			}
		}

		h.sc(200, "PATCH", "/Users/"+a, patch(map[string]any{"op": "Add", "path": managerPath, "value": b}))
		both("Entra's Add by path", a, b)
		reports := h.must(200, h.ga, "GET", "/v1.0/users/"+b+"/directReports", nil)["value"].([]any)
		if len(reports) != 1 || reports[0].(map[string]any)["id"] != a {
			t.Fatalf("directReports of the manager SCIM set: %v", reports)
		}
		exp := h.must(200, h.ga, "GET", "/v1.0/users/"+a+"?$expand=manager", nil)
		if m, _ := exp["manager"].(map[string]any); m["id"] != b {
			t.Fatalf("$expand=manager: %v", exp["manager"])
		}
		if got := ids(h.sc(200, "GET", "/Users?filter="+url.QueryEscape(`manager.value eq "`+b+`"`), nil)); !slices.Equal(got, []string{a}) {
			t.Fatalf("filter manager.value eq b: %v", got)
		}

		h.must(204, h.ga, "PUT", "/v1.0/users/"+a+"/manager/$ref", map[string]any{"@odata.id": h.srv.URL + "/v1.0/users/" + c})
		both("Graph manager/$ref", a, c)

		h.sc(200, "PATCH", "/Users/"+a, patch(map[string]any{"op": "Replace", "value": map[string]any{managerPath: map[string]any{"value": b}}}))
		both("path-less Replace", a, b)

		for _, tt := range []struct{ name, value string }{
			{"an unknown user id", uuid.NewString()},
			{"not a user id", "manager@contoso.com"},
			{"the user itself", a},
		} {
			h.scimError(400, "invalidValue", "PATCH", "/Users/"+a, patch(map[string]any{"op": "Replace", "path": managerPath, "value": tt.value}))
			both("refused manager: "+tt.name, a, b)
		}

		h.sc(200, "PATCH", "/Users/"+a, patch(map[string]any{"op": "Remove", "path": managerPath}))
		both("Entra's Remove by path", a, "")

		put := func(want int, manager string) {
			t.Helper()
			body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "a@contoso.com", "active": true}
			if manager != "" {
				body[ent] = map[string]any{"manager": map[string]any{"value": manager}}
			}
			if want == 400 {
				h.scimError(400, "invalidValue", "PUT", "/Users/"+a, body)
				return
			}
			h.sc(want, "PUT", "/Users/"+a, body)
		}
		put(200, c)
		both("PUT with a manager", a, c)
		put(400, uuid.NewString())
		both("PUT with an unknown manager", a, c)
		put(200, "")
		both("PUT without a manager", a, "")

		d := h.createUser("d@contoso.com", map[string]any{ent: map[string]any{"manager": map[string]any{"value": b}}})
		both("create with a manager", d, b)
		before := len(resources(h.sc(200, "GET", "/Users", nil)))
		h.scimError(400, "invalidValue", "POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "e@contoso.com", ent: map[string]any{"manager": map[string]any{"value": uuid.NewString()}}})
		if after := len(resources(h.sc(200, "GET", "/Users", nil))); after != before {
			t.Fatalf("a refused create left %d users, want %d", after, before)
		}

		h.must(204, h.ga, "DELETE", "/v1.0/users/"+b, nil)
		both("the manager deleted", d, "")
	})
}
