package scim_test

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"allot/store"
)

// memberIDs lists a SCIM group's member ids, sorted.
func memberIDs(g map[string]any) []string {
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		out = append(out, m.(map[string]any)["value"].(string))
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// graphMembers lists the group's members as Graph shows them.
func (h *harness) graphMembers(id string) []string {
	var out []string
	for _, v := range h.must(200, h.ga, "GET", "/v1.0/groups/"+id+"/members", nil)["value"].([]any) {
		out = append(out, v.(map[string]any)["id"].(string))
	}
	slices.Sort(out)
	return out
}

func TestGroupMembersFollowPatchAndLicensesFollowMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		sku := h.must(201, h.ga, "POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": "SPE_E3", "enabledUnits": 10})["skuId"].(string)
		a := h.createUser("a@contoso.com", nil)
		b := h.createUser("b@contoso.com", nil)
		c := h.createUser("c@contoso.com", nil)
		g := h.sc(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "Sales", "externalId": "sales", "members": []any{map[string]any{"value": a}}})
		gid := g["id"].(string)
		if got := memberIDs(g); !slices.Equal(got, []string{a}) {
			t.Fatalf("created with members %v", got)
		}
		h.must(202, h.ga, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []any{map[string]any{"skuId": sku}}, "removeLicenses": []any{}})
		h.drain()
		licensed := func(u string) bool {
			for _, l := range h.must(200, h.ga, "GET", "/v1.0/users/"+u+"/licenseDetails", nil)["value"].([]any) {
				if l.(map[string]any)["skuId"] == sku {
					return true
				}
			}
			return false
		}
		if !licensed(a) || licensed(b) {
			t.Fatal("group licensing did not license the first member only")
		}
		// Entra adds members in batches.
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Add", "path": "members",
			"value": []any{map[string]any{"$ref": nil, "value": b}, map[string]any{"$ref": nil, "value": c}, map[string]any{"value": a}}}))
		if got := h.graphMembers(gid); !slices.Equal(got, sorted(a, b, c)) {
			t.Fatalf("Graph members after add %v", got)
		}
		h.drain()
		if !licensed(b) || !licensed(c) {
			t.Fatal("members added through SCIM were not licensed by the group")
		}
		// Okta removes with a value filter, Entra with a value list.
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "remove", "path": `members[value eq "` + b + `"]`}))
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": c}}}))
		if got := h.graphMembers(gid); !slices.Equal(got, []string{a}) {
			t.Fatalf("Graph members after remove %v", got)
		}
		h.drain()
		if licensed(b) || licensed(c) || !licensed(a) {
			t.Fatal("members removed through SCIM kept the group's license")
		}
		// replace sets the whole list.
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "replace", "path": "members", "value": []any{map[string]any{"value": c}}}))
		if got := h.graphMembers(gid); !slices.Equal(got, []string{c}) {
			t.Fatalf("after replace %v", got)
		}
		// Filters on groups.
		for f, want := range map[string][]string{`displayName eq "sales"`: {gid}, `externalId eq "sales"`: {gid},
			`members[value eq "` + c + `"]`: {gid}, `members[value eq "` + a + `"]`: nil} {
			if got := ids(h.sc(200, "GET", "/Groups?filter="+url.QueryEscape(f), nil)); !slices.Equal(got, want) {
				t.Errorf("filter %s: %v, want %v", f, got, want)
			}
		}
		// The audit names the SCIM client.
		evs, _, err := h.st.ListAudit(context.Background(), h.tenant.ID, store.AuditFilter{Activity: "Remove member from group", Limit: 10})
		if err != nil || len(evs) == 0 {
			t.Fatalf("audit: %v %v", evs, err)
		}
		for _, e := range evs {
			if e.ActorID != h.scimID || e.ActorKind != "app" {
				t.Errorf("audit actor %s %s, want the SCIM client %s", e.ActorKind, e.ActorID, h.scimID)
			}
		}
		// A group that still assigns licenses is not deleted from under its members.
		h.scimError(409, "", "DELETE", "/Groups/"+gid, nil)
		// Unknown members are refused and change nothing.
		h.scimError(400, "invalidValue", "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members",
			"value": []any{map[string]any{"value": "00000000-0000-0000-0000-000000000001"}, map[string]any{"value": a}}}))
		if got := h.graphMembers(gid); !slices.Equal(got, []string{c}) {
			t.Fatalf("a refused add changed members: %v", got)
		}
	})
}

func TestGroupPutRenameDeleteAndVersion(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		a := h.createUser("a@contoso.com", nil)
		b := h.createUser("b@contoso.com", nil)
		gid := h.sc(201, "POST", "/Groups", map[string]any{"displayName": "Team", "members": []any{map[string]any{"value": a}}})["id"].(string)
		g := h.sc(200, "PUT", "/Groups/"+gid, map[string]any{"displayName": "Team 2", "members": []any{map[string]any{"value": b}}})
		if g["displayName"] != "Team 2" || !slices.Equal(memberIDs(g), []string{b}) {
			t.Fatalf("PUT: %v", g)
		}
		v := g["meta"].(map[string]any)["version"].(string)
		// Okta renames with {"id", "displayName"} in a path-less replace.
		g = h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Team 3"}}), "If-Match", v)
		if h.must(200, h.ga, "GET", "/v1.0/groups/"+gid, nil)["displayName"] != "Team 3" {
			t.Fatal("the rename did not reach Graph")
		}
		h.scimError(412, "invalidVers", "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "replace", "path": "displayName", "value": "X"}), "If-Match", v)
		if m := h.sc(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", nil); m["members"] != nil {
			t.Errorf("excludedAttributes=members: %v", m)
		}
		h.scimError(400, "invalidValue", "POST", "/Groups", map[string]any{"members": []any{}})
		h.scimError(400, "invalidValue", "POST", "/Groups", map[string]any{"displayName": "x", "members": []any{map[string]any{"value": "nope"}}})
		h.sc(204, "DELETE", "/Groups/"+gid, nil)
		h.must(404, h.ga, "GET", "/v1.0/groups/"+gid, nil)
		h.scimError(404, "", "GET", "/Groups/"+gid, nil)
	})
}
