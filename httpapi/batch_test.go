package httpapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"allot/store"
)

func batchOf(reqs ...map[string]any) map[string]any { return map[string]any{"requests": reqs} }

func batchResponses(t *testing.T, r *response) map[string]batchResponse {
	t.Helper()
	var out struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("batch answer: %v: %s", err, r.Body)
	}
	m := map[string]batchResponse{}
	for _, br := range out.Responses {
		m[br.ID] = br
	}
	return m
}

func TestBatchOfTwentyWithDependsOn(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5 := c.sku("SPE_E5")
		reqs := []map[string]any{
			{"id": "1", "method": "POST", "url": "/users", "headers": map[string]string{"Content-Type": "application/json"},
				"body": map[string]any{"userPrincipalName": "adele@contoso.com", "displayName": "Adele", "usageLocation": "US"}},
			{"id": "2", "method": "POST", "url": "/users/adele@contoso.com/assignLicense", "dependsOn": []string{"1"},
				"body": assignBody([]string{e5}, nil)},
			{"id": "3", "method": "POST", "url": "/users", "body": map[string]any{"displayName": "No UPN"}},
			{"id": "4", "method": "GET", "url": "/users/adele@contoso.com", "dependsOn": []string{"3"}},
		}
		for i := len(reqs); i < 20; i++ {
			reqs = append(reqs, map[string]any{"id": fmt.Sprint(i + 1), "method": "GET", "url": "/v1.0/subscribedSkus"})
		}
		got := batchResponses(t, c.must(200, "POST", "/v1.0/$batch", batchOf(reqs...)))
		if len(got) != 20 || got["1"].Status != 201 || got["1"].Headers["Location"] == "" || got["2"].Status != 200 ||
			got["3"].Status != 400 || got["4"].Status != 424 || got["20"].Status != 200 {
			t.Fatalf("batch statuses: %+v", got)
		}
		var u struct{ ID string }
		json.Unmarshal(got["1"].Body, &u)
		if skus := c.userSkus(u.ID); len(skus) != 1 || skus[0] != e5 {
			t.Fatalf("license assigned in the batch: %v", skus)
		}
		audits := c.listAll("/v1.0/auditLogs/directoryAudits?$filter=" + url.QueryEscape("targetResources/any(t:t/id eq '"+u.ID+"')"))
		if len(audits) < 2 {
			t.Fatalf("batched changes audited: %d events", len(audits))
		}
		twentyOne := append(reqs, map[string]any{"id": "21", "method": "GET", "url": "/users"})
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/$batch", batchOf(twentyOne...))
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/$batch", batchOf(map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"9"}}))
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/$batch", batchOf(map[string]any{"id": "1", "method": "GET", "url": "https://evil.example/users"}))
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/$batch", batchOf(map[string]any{"id": "1", "method": "POST", "url": "/$batch", "body": batchOf()}))
	})
}

// Each request of a batch is authorized as the caller: a Global Reader's
// batched write is refused and changes nothing.
func TestBatchAuthorizesEachRequest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		reader := h.newClient(h.A.Tenant, store.RoleGlobalReader)
		before := h.A.snapshot()
		got := batchResponses(t, reader.must(200, "POST", "/v1.0/$batch", batchOf(
			map[string]any{"id": "w", "method": "POST", "url": "/users", "body": map[string]any{"userPrincipalName": "x@contoso.com", "displayName": "X"}},
			map[string]any{"id": "r", "method": "GET", "url": "/users"})))
		if got["w"].Status != 403 || got["r"].Status != 200 {
			t.Fatalf("reader's batch: %+v", got)
		}
		h.A.unchanged(before, "a reader's batched write")
		anon := *h.A
		anon.Token = "not-a-token"
		anon.expectError(401, "InvalidAuthenticationToken", "POST", "/v1.0/$batch", nil)
	})
}
