package scim_test

import (
	"net/url"
	"testing"
)

// A SCIM DELETE moves the user to Graph's deleted items: to SCIM it is gone
// (RFC 7644 §3.6: later requests for it answer 404), and an admin can
// restore it, externalId included, once its userName is free again.
func TestSCIMDeleteIsRestorable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		id := h.createUser("megan@contoso.com", map[string]any{"externalId": "ext-megan"})
		h.sc(204, "DELETE", "/Users/"+id, nil)
		h.scimError(404, "", "GET", "/Users/"+id, nil)
		h.scimError(404, "", "DELETE", "/Users/"+id, nil)
		q := "/Users?filter=" + url.QueryEscape(`userName eq "megan@contoso.com"`)
		if m := h.sc(200, "GET", q, nil); m["totalResults"] != 0.0 {
			t.Fatalf("the deleted user is still found: %v", m)
		}
		h.must(200, h.ga, "GET", "/v1.0/directory/deletedItems/"+id, nil)

		// The identity provider provisions the name again: a new user.
		again := h.createUser("megan@contoso.com", map[string]any{"externalId": "ext-megan"})
		if again == id {
			t.Fatal("the new user reuses the deleted user's id")
		}
		h.must(400, h.ga, "POST", "/v1.0/directory/deletedItems/"+id+"/restore", nil)
		h.sc(204, "DELETE", "/Users/"+again, nil)
		h.must(200, h.ga, "POST", "/v1.0/directory/deletedItems/"+id+"/restore", nil)
		u := h.sc(200, "GET", "/Users/"+id, nil)
		if u["userName"] != "megan@contoso.com" || u["externalId"] != "ext-megan" {
			t.Errorf("restored user to SCIM: %v", u)
		}
	})
}
