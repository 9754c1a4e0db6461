package scim

import (
	"net/http"
	"strings"

	"allot/store"
)

func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	writeJSON(w, 200, doc{
		"schemas":        []any{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":          doc{"supported": true},
		"bulk":           doc{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         doc{"supported": true, "maxResults": MaxCount},
		"changePassword": doc{"supported": false},
		"sort":           doc{"supported": true},
		"etag":           doc{"supported": true},
		"authenticationSchemes": []any{doc{"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "An allot API client token with the SCIM.Provisioning scope (POST /allot/v1/apiClients)."}},
		"meta": doc{"resourceType": "ServiceProviderConfig", "location": h.base(r) + "/ServiceProviderConfig"},
	})
	return nil
}

func resourceTypeDocs(base string) []any {
	return []any{
		doc{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "User", "name": "User",
			"endpoint": "/Users", "description": "A person of the directory", "schema": userSchema,
			"schemaExtensions": []any{doc{"schema": enterpriseSchema, "required": false}},
			"meta":             doc{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"}},
		doc{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "Group", "name": "Group",
			"endpoint": "/Groups", "description": "A security group", "schema": groupSchema,
			"meta": doc{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Group"}},
	}
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	rts := resourceTypeDocs(h.base(r))
	writeJSON(w, 200, doc{"schemas": []any{listSchema}, "totalResults": len(rts), "startIndex": 1, "itemsPerPage": len(rts), "Resources": rts})
	return nil
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	for _, rt := range resourceTypeDocs(h.base(r)) {
		if strings.EqualFold(rt.(doc)["id"].(string), r.PathValue("name")) {
			writeJSON(w, 200, rt)
			return nil
		}
	}
	return errf(404, "", "No resource type %q; there are User and Group.", r.PathValue("name"))
}

// attr describes one attribute for /Schemas.
func attr(name, typ string, multi, required bool, mutability string, sub ...any) doc {
	d := doc{"name": name, "type": typ, "multiValued": multi, "required": required, "mutability": mutability,
		"returned": "default", "caseExact": false, "uniqueness": "none"}
	if name == "userName" || name == "id" {
		d["uniqueness"] = "server"
	}
	if name == "externalId" {
		d["caseExact"] = true
	}
	if len(sub) > 0 {
		d["subAttributes"] = sub
	}
	return d
}

func schemaDocs(base string) []any {
	rw := "readWrite"
	typed := func(name string, subs ...string) doc {
		var s []any
		for _, x := range subs {
			s = append(s, attr(x, "string", false, false, rw))
		}
		return attr(name, "complex", true, false, rw, s...)
	}
	user := doc{"id": userSchema, "name": "User", "description": "User Account", "attributes": []any{
		attr("id", "string", false, false, "readOnly"),
		attr("userName", "string", false, true, rw),
		attr("externalId", "string", false, false, rw),
		attr("name", "complex", false, false, rw, attr("formatted", "string", false, false, "readOnly"),
			attr("givenName", "string", false, false, rw), attr("familyName", "string", false, false, rw)),
		attr("displayName", "string", false, false, rw),
		attr("title", "string", false, false, rw),
		attr("preferredLanguage", "string", false, false, rw),
		attr("active", "boolean", false, false, rw),
		typed("emails", "value", "type"),
		typed("phoneNumbers", "value", "type"),
		typed("addresses", "type", "streetAddress", "locality", "region", "postalCode", "country"),
	}}
	ent := doc{"id": enterpriseSchema, "name": "EnterpriseUser", "description": "Enterprise User", "attributes": []any{
		attr("employeeNumber", "string", false, false, rw), attr("costCenter", "string", false, false, rw),
		attr("organization", "string", false, false, rw), attr("division", "string", false, false, rw),
		attr("department", "string", false, false, rw),
		attr("manager", "complex", false, false, rw, attr("value", "string", false, false, rw)),
	}}
	group := doc{"id": groupSchema, "name": "Group", "description": "Group", "attributes": []any{
		attr("id", "string", false, false, "readOnly"),
		attr("displayName", "string", false, true, rw),
		attr("externalId", "string", false, false, rw),
		attr("members", "complex", true, false, rw, attr("value", "string", false, false, "immutable"),
			attr("display", "string", false, false, "readOnly"), attr("type", "string", false, false, "immutable")),
	}}
	out := []any{user, ent, group}
	for _, s := range out {
		s.(doc)["schemas"] = []any{"urn:ietf:params:scim:schemas:core:2.0:Schema"}
		s.(doc)["meta"] = doc{"resourceType": "Schema", "location": base + "/Schemas/" + s.(doc)["id"].(string)}
	}
	return out
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	s := schemaDocs(h.base(r))
	writeJSON(w, 200, doc{"schemas": []any{listSchema}, "totalResults": len(s), "startIndex": 1, "itemsPerPage": len(s), "Resources": s})
	return nil
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	for _, s := range schemaDocs(h.base(r)) {
		if strings.EqualFold(s.(doc)["id"].(string), r.PathValue("id")) {
			writeJSON(w, 200, s)
			return nil
		}
	}
	return errf(404, "", "No schema %q; GET %s/Schemas lists them.", r.PathValue("id"), Prefix)
}
