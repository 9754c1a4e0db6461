package scim_test

import (
	"net/url"
	"slices"
	"testing"
)

// TestEntraMatchingAndMemberBatches: the rest of what Entra's provisioning
// service is documented to send. It matches users by
// emails[type eq "work"].value and by externalId as well as by userName;
// it reads groups with excludedAttributes=members and checks one
// membership with filter=id eq "…" and members[value eq "…"]; it sends a
// group's member changes as PATCH requests carrying several operations
// with several members each (Add and Remove mixed, capitalised), and may
// send an Add of a member the group has or a Remove of one it lacks,
// which succeed without change.
func TestEntraMatchingAndMemberBatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		q := func(path, f string) string { return path + "?filter=" + url.QueryEscape(f) }
		var users []string
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			users = append(users, h.createUser(n+"@contoso.com", map[string]any{"externalId": "ext-" + n,
				"emails": []any{map[string]any{"value": n + ".work@contoso.com", "type": "work", "primary": true}}}))
		}
		if m := h.sc(200, "GET", q("/Users", `emails[type eq "work"].value eq "c.work@contoso.com"`), nil); !slices.Equal(ids(m), users[2:3]) {
			t.Errorf("match by work email: %v", ids(m))
		}
		if m := h.sc(200, "GET", q("/Users", `externalId eq "ext-d"`), nil); !slices.Equal(ids(m), users[3:4]) {
			t.Errorf("match by externalId: %v", ids(m))
		}
		gid := h.sc(201, "POST", "/Groups", map[string]any{"displayName": "Entra batch", "externalId": "g-ext", "members": []any{}})["id"].(string)
		member := func(id string) map[string]any { return map[string]any{"value": id} }
		h.sc(200, "PATCH", "/Groups/"+gid, patch(
			map[string]any{"op": "Add", "path": "members", "value": []any{member(users[0]), member(users[1]), member(users[2])}},
			map[string]any{"op": "Add", "path": "members", "value": []any{member(users[3]), member(users[4])}},
			map[string]any{"op": "Remove", "path": "members", "value": []any{member(users[1])}}))
		want := []string{users[0], users[2], users[3], users[4]}
		slices.Sort(want)
		if got := h.graphMembers(gid); !slices.Equal(sortedList(got), want) {
			t.Fatalf("members after one batched PATCH %v, want %v", got, want)
		}
		// Add of a present member and Remove of an absent one: no change, no error.
		h.sc(200, "PATCH", "/Groups/"+gid, patch(
			map[string]any{"op": "Add", "path": "members", "value": []any{member(users[0])}},
			map[string]any{"op": "Remove", "path": "members", "value": []any{member(users[1])}}))
		if got := h.graphMembers(gid); !slices.Equal(sortedList(got), want) {
			t.Fatalf("members after idempotent PATCH %v, want %v", got, want)
		}
		// A later batch removes members the group has and adds one back.
		h.sc(200, "PATCH", "/Groups/"+gid, patch(
			map[string]any{"op": "Remove", "path": "members", "value": []any{member(users[3]), member(users[4])}},
			map[string]any{"op": "Add", "path": "members", "value": []any{member(users[1])}}))
		want = sortedList([]string{users[0], users[1], users[2]})
		if got := h.graphMembers(gid); !slices.Equal(got, want) {
			t.Fatalf("members after the second batch %v, want %v", got, want)
		}
		g := h.sc(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", nil)
		if g["members"] != nil || g["displayName"] != "Entra batch" {
			t.Errorf("group without members: %v", g)
		}
		in := h.sc(200, "GET", q("/Groups", `id eq "`+gid+`" and members[value eq "`+users[2]+`"]`)+"&excludedAttributes=members", nil)
		out := h.sc(200, "GET", q("/Groups", `id eq "`+gid+`" and members[value eq "`+users[4]+`"]`)+"&excludedAttributes=members", nil)
		if !slices.Equal(ids(in), []string{gid}) || out["totalResults"] != 0.0 {
			t.Errorf("membership check: member %v, non-member %v", ids(in), out["totalResults"])
		}
		if m := h.sc(200, "GET", q("/Groups", `externalId eq "g-ext"`), nil); !slices.Equal(ids(m), []string{gid}) {
			t.Errorf("group by externalId: %v", ids(m))
		}
	})
}

func sortedList(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
