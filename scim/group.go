package scim

import (
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// groupDoc renders a group as a SCIM Group resource; members only when
// they were loaded.
func groupDoc(g *sqlstore.SCIMGroup, base string) doc {
	d := doc{"schemas": []any{groupSchema}, "id": g.GUID, "displayName": g.DisplayName}
	setStr(d, "externalId", g.ExternalID)
	if g.Members != nil {
		ms := make([]any, len(g.Members))
		for i, m := range g.Members {
			typ, coll := "User", "/Users/"
			if m.Group {
				typ, coll = "Group", "/Groups/"
			}
			ms[i] = doc{"value": m.GUID, "display": m.Display, "type": typ, "$ref": base + coll + m.GUID}
		}
		d["members"] = ms
	}
	created := g.CreatedAt.UTC().Format(time.RFC3339)
	d["meta"] = doc{"resourceType": "Group", "created": created, "lastModified": created, "location": base + "/Groups/" + g.GUID}
	// The version covers displayName and externalId, not members: the
	// same group shows the same version with or without its member list.
	d["meta"].(doc)["version"] = etag(doc{"displayName": g.DisplayName, "externalId": g.ExternalID, "id": g.GUID})
	return d
}

// wantMembers tells whether the answer shows members (Entra asks with
// excludedAttributes=members to spare a large group's list).
func wantMembers(r *http.Request) bool {
	v := r.URL.Query()
	for _, a := range splitAttrs(v.Get("excludedAttributes")) {
		if strings.EqualFold(a, "members") {
			return false
		}
	}
	inc := splitAttrs(v.Get("attributes"))
	if len(inc) == 0 {
		return true
	}
	for _, a := range inc {
		if strings.EqualFold(strings.SplitN(a, ".", 2)[0], "members") {
			return true
		}
	}
	return false
}

// groupFrom reads a Group body: its displayName, externalId and member ids.
func groupFrom(d doc) (name, ext string, members []string, err error) {
	r := newReader(d)
	name, ext = r.str("displayName"), r.str("externalId")
	if *r.errp != nil {
		return "", "", nil, *r.errp
	}
	if strings.TrimSpace(name) == "" {
		return "", "", nil, errf(400, typeInvalidValue, "displayName is required.")
	}
	members, err = memberIDs(d)
	return name, ext, members, err
}

// memberIDs reads members: [{"value": "id"}, ...].
func memberIDs(d doc) ([]string, error) {
	_, v, ok := lookup(d, "members")
	if !ok || v == nil {
		return []string{}, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, errf(400, typeInvalidValue, `members must be a list: [{"value": "user id"}].`)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		m, _ := e.(doc)
		_, id, _ := lookup(m, "value")
		s, isStr := id.(string)
		if !isStr || !isGUID(s) {
			return nil, errf(400, typeInvalidValue, `Each member must be {"value": "user id"}, the id SCIM gave the user; %v is not one.`, e)
		}
		if _, t, ok := lookup(m, "type"); ok && !strings.EqualFold(t.(string), "User") {
			return nil, errf(400, typeInvalidValue, "Only users can be provisioned as members; nested groups are managed in allot.")
		}
		out = append(out, strings.ToLower(s))
	}
	if len(out) > sqlstore.MaxSCIMMembers {
		return nil, errf(413, "", "One request may name at most %d members; add the rest with PATCH.", sqlstore.MaxSCIMMembers)
	}
	return out, nil
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	g, err := h.st.SCIMGroup(r.Context(), p.Tenant.ID, r.PathValue("id"), wantMembers(r))
	if err != nil {
		return err
	}
	return h.writeResource(w, r, 200, groupDoc(g, h.base(r)))
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, start, err := listQuery(r)
	if err != nil {
		return err
	}
	q.Members = wantMembers(r)
	gs, total, err := h.st.SCIMListGroups(r.Context(), p.Tenant.ID, q)
	if err != nil {
		return err
	}
	docs := make([]doc, len(gs))
	for i, g := range gs {
		docs[i] = groupDoc(g, h.base(r))
	}
	return h.writeList(w, r, docs, total, start)
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	name, ext, members, err := groupFrom(body)
	if err != nil {
		return err
	}
	g := &sqlstore.SCIMGroup{Group: &allot.Group{DisplayName: name}, ExternalID: ext}
	if err := h.st.SCIMCreateGroup(r.Context(), p.Actor(), p.Tenant.ID, g, members); err != nil {
		return err
	}
	if g, err = h.st.SCIMGroup(r.Context(), p.Tenant.ID, g.GUID, true); err != nil {
		return err
	}
	d := groupDoc(g, h.base(r))
	w.Header().Set("Location", d["meta"].(doc)["location"].(string))
	return h.writeResource(w, r, 201, d)
}

func (h *Handler) putGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	name, ext, members, err := groupFrom(body)
	if err != nil {
		return err
	}
	return h.updateGroup(w, r, p, func(cur *sqlstore.SCIMGroup, d doc) (*sqlstore.SCIMGroupChange, error) {
		if err := checkImmutable(body, d); err != nil {
			return nil, err
		}
		add, remove := sqlstore.SCIMReplaceMembers(cur.Members, members)
		return &sqlstore.SCIMGroupChange{DisplayName: &name, ExternalID: &ext, Add: add, Remove: remove}, nil
	})
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	ops, err := readPatch(body)
	if err != nil {
		return err
	}
	return h.updateGroup(w, r, p, func(cur *sqlstore.SCIMGroup, d doc) (*sqlstore.SCIMGroupChange, error) {
		nd, err := applyPatch(d, ops)
		if err != nil {
			return nil, err
		}
		name, ext, members, err := groupFrom(nd)
		if err != nil {
			return nil, err
		}
		add, remove := sqlstore.SCIMReplaceMembers(cur.Members, members)
		return &sqlstore.SCIMGroupChange{DisplayName: &name, ExternalID: &ext, Add: add, Remove: remove}, nil
	})
}

// updateGroup runs a change of the group in one store transaction, with
// the If-Match check on the locked group, and answers the group as it is.
func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request, p *store.Principal,
	change func(cur *sqlstore.SCIMGroup, d doc) (*sqlstore.SCIMGroupChange, error)) error {
	base := h.base(r)
	_, err := h.st.SCIMUpdateGroup(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), func(cur *sqlstore.SCIMGroup) (*sqlstore.SCIMGroupChange, error) {
		d := groupDoc(cur, base)
		if err := checkIfMatch(r, d); err != nil {
			return nil, err
		}
		return change(cur, d)
	})
	if err != nil {
		return err
	}
	g, err := h.st.SCIMGroup(r.Context(), p.Tenant.ID, r.PathValue("id"), wantMembers(r))
	if err != nil {
		return err
	}
	return h.writeResource(w, r, 200, groupDoc(g, base))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	g, err := h.st.SCIMGroup(r.Context(), p.Tenant.ID, r.PathValue("id"), true)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, groupDoc(g, h.base(r))); err != nil {
		return err
	}
	if err := h.st.DeleteGroup(r.Context(), p.Actor(), p.Tenant.ID, g.GUID, false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
