package scim_test

import (
	"context"
	"strings"
	"testing"

	"allot/store"
	"allot/store/sqlstore"
)

func TestSCIMTokenDoesNothingElse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		id := h.createUser("adele@contoso.com", nil)
		for _, r := range []struct{ method, path string }{
			{"GET", "/v1.0/users"}, {"GET", "/v1.0/users/" + id}, {"PATCH", "/v1.0/users/" + id}, {"GET", "/v1.0/groups"},
			{"GET", "/v1.0/subscribedSkus"}, {"GET", "/allot/v1/me"}, {"GET", "/allot/v1/apiClients"},
			{"POST", "/allot/v1/apiClients"}, {"GET", "/v1.0/auditLogs/directoryAudits"},
		} {
			st, m, _ := h.do(h.scim, r.method, r.path, map[string]any{"jobTitle": "x"})
			if st != 403 || m["error"] == nil {
				t.Errorf("SCIM token on %s %s: %d %v, want 403 with a Graph error", r.method, r.path, st, m)
			}
		}
		if h.must(200, h.ga, "GET", "/v1.0/users/"+id, nil)["jobTitle"] != nil {
			t.Error("a SCIM token changed a user through Graph")
		}
	})
}

func TestOnlySCIMClientsProvision(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		graph := h.must(201, h.ga, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "graph", "scopes": []string{"Directory.ReadWrite.All"}})["token"].(string)
		reader := sqlstore.TokenPrefix + "test-reader-" + strings.Repeat("y", 32)
		if err := h.st.CreateToken(context.Background(), h.tenant.ID, "op", store.RoleGlobalReader, reader); err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"Graph client": graph, "Global Administrator token": h.ga, "operator token": reader} {
			st, m, _ := h.do(tok, "GET", "/scim/v2/Users", nil)
			if st != 403 || m["status"] != "403" || m["schemas"] == nil {
				t.Errorf("%s on /scim/v2: %d %v", name, st, m)
			}
			st, _, _ = h.do(tok, "POST", "/scim/v2/Users", map[string]any{"userName": "x@contoso.com"})
			if st != 403 {
				t.Errorf("%s created a user through SCIM: %d", name, st)
			}
		}
		for name, tok := range map[string]string{"no token": "", "bad token": "allot_nope"} {
			st, m, hd := h.do(tok, "GET", "/scim/v2/Users", nil)
			if st != 401 || m["status"] != "401" || hd.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %d %v", name, st, m)
			}
		}
		// A SCIM client has that one scope.
		st, m, _ := h.do(h.ga, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "mixed", "scopes": []string{"SCIM.Provisioning", "User.Read.All"}})
		if st != 400 {
			t.Errorf("SCIM scope with another: %d %v", st, m)
		}
		// A License Administrator may not make one (its roles cannot provision).
		la := sqlstore.TokenPrefix + "test-la-" + strings.Repeat("z", 32)
		if err := h.st.CreateToken(context.Background(), h.tenant.ID, "la", store.RoleLicenseAdmin, la); err != nil {
			t.Fatal(err)
		}
		if st, m, _ := h.do(la, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "s", "scopes": []string{"SCIM.Provisioning"}}); st != 403 {
			t.Errorf("License Administrator created a SCIM client: %d %v", st, m)
		}
		// Revoked, the SCIM client is out.
		h.must(204, h.ga, "DELETE", "/allot/v1/apiClients/"+h.scimID, nil)
		if st, _, _ := h.do(h.scim, "GET", "/scim/v2/Users", nil); st != 401 {
			t.Errorf("revoked SCIM client: %d", st)
		}
	})
}

func TestDiscoveryEndpoints(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		spc := h.sc(200, "GET", "/ServiceProviderConfig", nil)
		if spc["patch"].(map[string]any)["supported"] != true || spc["bulk"].(map[string]any)["supported"] != false ||
			spc["etag"].(map[string]any)["supported"] != true || spc["filter"].(map[string]any)["maxResults"] != 1000.0 {
			t.Errorf("ServiceProviderConfig %v", spc)
		}
		rts := h.sc(200, "GET", "/ResourceTypes", nil)
		if rts["totalResults"] != 2.0 {
			t.Errorf("ResourceTypes %v", rts)
		}
		if u := h.sc(200, "GET", "/ResourceTypes/User", nil); u["schemaExtensions"] == nil || u["endpoint"] != "/Users" {
			t.Errorf("ResourceTypes/User %v", u)
		}
		h.scimError(404, "", "GET", "/ResourceTypes/Device", nil)
		if s := h.sc(200, "GET", "/Schemas", nil); s["totalResults"] != 3.0 {
			t.Errorf("Schemas %v", s)
		}
		e := h.sc(200, "GET", "/Schemas/"+ent, nil)
		names := map[string]bool{}
		for _, a := range e["attributes"].([]any) {
			names[a.(map[string]any)["name"].(string)] = true
		}
		for _, n := range []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"} {
			if !names[n] {
				t.Errorf("enterprise schema lacks %s", n)
			}
		}
		h.scimError(404, "", "GET", "/Schemas/urn:nope", nil)
	})
}
