package scim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestCreateConflictingTwiceNamesExternalIDAndWritesNothing: a create whose
// userName and externalId are both taken is refused for its externalId (the
// check that came first), and a refused create leaves no user, no
// attributes and no audit event behind.
func TestCreateConflictingTwiceNamesExternalIDAndWritesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		h.createUser("adele@contoso.com", map[string]any{"externalId": "adele"})
		before := h.sc(200, "GET", "/Users", nil)["totalResults"]
		m := h.scimError(409, "uniqueness", "POST", "/Users", map[string]any{"userName": "ADELE@contoso.com", "externalId": "adele"})
		if d, _ := m["detail"].(string); !strings.Contains(d, "externalId 'adele'") {
			t.Errorf("detail %q, want the externalId conflict", d)
		}
		m = h.scimError(409, "uniqueness", "POST", "/Users", map[string]any{"userName": "Adele@Contoso.com", "externalId": "other"})
		if d, _ := m["detail"].(string); !strings.Contains(d, "userPrincipalName") {
			t.Errorf("detail %q, want the userName conflict", d)
		}
		h.scimError(409, "uniqueness", "POST", "/Users", map[string]any{"userName": "new@contoso.com", "externalId": "adele"})
		if after := h.sc(200, "GET", "/Users", nil)["totalResults"]; after != before {
			t.Errorf("%v users after refused creates, want %v", after, before)
		}
		if got := resources(h.sc(200, "GET", "/Users?filter="+strings.ReplaceAll(`userName eq "new@contoso.com"`, " ", "%20"), nil)); len(got) != 0 {
			t.Errorf("a refused create left a user: %v", got)
		}
		// The externalId of the refused create is free for the next one.
		h.createUser("new@contoso.com", map[string]any{"externalId": "new"})
	})
}

// TestConcurrentCreatesOfOneUserName: 16 clients create the same userName
// at once (each with its own externalId). One gets 201, every other a 409
// uniqueness conflict, never a 5xx, and one user is there.
func TestConcurrentCreatesOfOneUserName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		const n = 16
		status := make([]int, n)
		scimType := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, _ := json.Marshal(map[string]any{"userName": "race@contoso.com", "externalId": fmt.Sprint("race-", i)})
				req, _ := http.NewRequest("POST", h.srv.URL+"/scim/v2/Users", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+h.scim)
				req.Header.Set("Content-Type", "application/scim+json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var m map[string]any
				json.Unmarshal(raw, &m)
				status[i] = resp.StatusCode
				scimType[i], _ = m["scimType"].(string)
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			switch {
			case status[i] == 201:
				created++
			case status[i] == 409 && scimType[i] == "uniqueness":
			default:
				t.Errorf("client %d: status %d scimType %q, want 201 or 409 uniqueness", i, status[i], scimType[i])
			}
		}
		got := resources(h.sc(200, "GET", "/Users?filter="+strings.ReplaceAll(`userName eq "race@contoso.com"`, " ", "%20"), nil))
		if created != 1 || len(got) != 1 {
			t.Fatalf("%d created, %d users named race@contoso.com; want 1 and 1", created, len(got))
		}
	})
}
