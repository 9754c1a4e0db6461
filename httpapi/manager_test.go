package httpapi

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func managerRef(host, kind, id string) map[string]any {
	return map[string]any{"@odata.id": host + "/v1.0/" + kind + "/" + id}
}

func TestManagerSetGetRemove(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		boss := c.createUser("boss@contoso.com", "US")
		u := c.createUser("adele@contoso.com", "US")
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+u+"/manager", nil)
		c.must(204, "PUT", "/v1.0/users/"+u+"/manager/$ref", managerRef("https://graph.microsoft.com", "users", boss))
		m := c.must(200, "GET", "/v1.0/users/"+u+"/manager", nil).object(t)
		if m["id"] != boss || m["userPrincipalName"] != "boss@contoso.com" {
			t.Fatalf("manager: %v", m)
		}
		// Any host, and directoryObjects, name the same user.
		other := c.createUser("other@contoso.com", "US")
		c.must(204, "PUT", "/v1.0/users/"+u+"/manager/$ref", managerRef("http://localhost:8080", "directoryObjects", other))
		if m := c.must(200, "GET", "/v1.0/users/"+u+"/manager", nil).object(t); m["id"] != other {
			t.Fatalf("manager after change: %v", m["id"])
		}
		ref := c.must(200, "GET", "/v1.0/users/"+u+"/manager/$ref", nil).object(t)
		if id, _ := ref["@odata.id"].(string); !strings.HasSuffix(id, "/v1.0/directoryObjects/"+other) || len(ref) != 2 {
			t.Fatalf("manager/$ref: %v", ref)
		}
		audits := c.must(200, "GET", "/v1.0/auditLogs/directoryAudits", nil).String()
		if !strings.Contains(audits, `"manager"`) {
			t.Fatalf("no audit of the manager change: %s", audits)
		}
		c.must(204, "DELETE", "/v1.0/users/"+u+"/manager/$ref", nil)
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+u+"/manager", nil)
		c.expectError(404, "Request_ResourceNotFound", "DELETE", "/v1.0/users/"+u+"/manager/$ref", nil)
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+u+"/manager/$ref", nil)
	})
}

func TestManagerRefusals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "US")
		b := h.newTenant("Fabrikam", "NAM", "US", defaultProducts)
		foreign := b.createUser("boss@fabrikam.com", "US")
		before := c.snapshot()
		c.expectError(400, "Request_BadRequest", "PUT", "/v1.0/users/"+u+"/manager/$ref", managerRef("https://graph.microsoft.com", "users", u))
		c.expectError(404, "Request_ResourceNotFound", "PUT", "/v1.0/users/"+u+"/manager/$ref", managerRef("https://graph.microsoft.com", "users", foreign))
		c.expectError(400, "Request_BadRequest", "PUT", "/v1.0/users/"+u+"/manager/$ref", map[string]any{"id": foreign})
		c.unchanged(before, "refused manager changes")
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+u+"/manager", nil)
	})
}

func TestDirectReportsAndExpandManager(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		boss := c.createUser("boss@contoso.com", "US")
		var reports []string
		for i := range 5 {
			r := c.createUser(fmt.Sprintf("r%d@contoso.com", i), "US")
			reports = append(reports, r)
			c.must(204, "PUT", "/v1.0/users/"+r+"/manager/$ref", managerRef("https://graph.microsoft.com", "users", boss))
		}
		got := c.listAll("/v1.0/users/" + boss + "/directReports?$top=2")
		if len(got) != 5 {
			t.Fatalf("directReports: %d, want 5", len(got))
		}
		for i, r := range got {
			if r["id"] != reports[i] {
				t.Fatalf("directReports[%d] = %v, want %s", i, r["id"], reports[i])
			}
		}
		page := c.must(200, "GET", "/v1.0/users?$expand=manager&$select=id,displayName", nil).values(t)
		with := 0
		for _, it := range page {
			m, ok := it["manager"].(map[string]any)
			if it["id"] == boss && ok {
				t.Fatalf("boss has a manager: %v", m)
			}
			if ok {
				if m["id"] != boss {
					t.Fatalf("expanded manager of %v: %v", it["id"], m["id"])
				}
				with++
			}
		}
		if with != 5 {
			t.Fatalf("$expand=manager: %d users with a manager, want 5", with)
		}
		one := c.must(200, "GET", "/v1.0/users/"+reports[0]+"?$expand=manager", nil).object(t)
		if m, _ := one["manager"].(map[string]any); m == nil || m["id"] != boss {
			t.Fatalf("GET user $expand=manager: %v", one["manager"])
		}

		// Deleting the manager clears the reference of every report.
		c.must(204, "DELETE", "/v1.0/users/"+boss, nil)
		for _, r := range reports {
			c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+r+"/manager", nil)
		}
		// Restoring the manager does not bring the references back.
		c.must(200, "POST", "/v1.0/directory/deletedItems/"+boss+"/restore", nil)
		for _, r := range reports {
			c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+r+"/manager", nil)
		}
		if n := len(c.listAll("/v1.0/users/" + boss + "/directReports")); n != 0 {
			t.Fatalf("restored manager has %d direct reports, want 0", n)
		}
	})
}

// A manager deleted while a report is being given it: once both are done,
// and the manager restored, the report has no manager (the reference was
// either refused or cleared, never left pointing at the restored user).
func TestManagerDeletedWhileAssigned(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		for i := range concurrencyRounds() {
			boss := c.createUser(fmt.Sprintf("boss%d@contoso.com", i), "US")
			r := c.createUser(fmt.Sprintf("r%d@contoso.com", i), "US")
			done := make(chan int, 1)
			go func() {
				res, err := c.send("PUT", "/v1.0/users/"+r+"/manager/$ref", managerRef("https://graph.microsoft.com", "users", boss))
				if err != nil {
					done <- 0 // reported below: the test goroutine fails
					return
				}
				done <- res.Status
			}()
			time.Sleep(time.Duration(i%4) * 5 * time.Millisecond) // vary which comes first
			c.must(204, "DELETE", "/v1.0/users/"+boss, nil)
			if st := <-done; st != 204 && st != 404 {
				t.Fatalf("round %d: PUT manager → %d, want 204 or 404", i, st)
			}
			c.must(200, "POST", "/v1.0/directory/deletedItems/"+boss+"/restore", nil)
			c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+r+"/manager", nil)
		}
	})
}
