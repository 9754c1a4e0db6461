package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// Schema URNs.
const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// doc is a SCIM resource as JSON.
type doc = map[string]any

// userDoc renders a user as a SCIM User resource.
func userDoc(u *sqlstore.SCIMUser, base string) doc {
	d := doc{"schemas": []any{userSchema, enterpriseSchema}, "id": u.GUID, "userName": u.UserPrincipalName,
		"displayName": u.DisplayName, "active": u.AccountEnabled}
	setStr(d, "externalId", u.Ext.ExternalID)
	setStr(d, "title", u.JobTitle)
	setStr(d, "preferredLanguage", u.Profile.Text["preferredLanguage"])
	name := doc{}
	setStr(name, "givenName", u.GivenName)
	setStr(name, "familyName", u.Surname)
	if f := strings.TrimSpace(u.GivenName + " " + u.Surname); f != "" {
		name["formatted"] = f
	}
	if len(name) > 0 {
		d["name"] = name
	}
	if u.Mail != "" {
		d["emails"] = []any{doc{"value": u.Mail, "type": "work", "primary": true}}
	}
	var phones []any
	if b := u.Profile.Lists["businessPhones"]; len(b) > 0 {
		phones = append(phones, doc{"value": b[0], "type": "work"})
	}
	if m := u.Profile.Text["mobilePhone"]; m != "" {
		phones = append(phones, doc{"value": m, "type": "mobile"})
	}
	if len(phones) > 0 {
		d["phoneNumbers"] = phones
	}
	addr := doc{}
	for scim, graph := range addressFields {
		setStr(addr, scim, u.Profile.Text[graph])
	}
	if len(addr) > 0 {
		addr["type"] = "work"
		d["addresses"] = []any{addr}
	}
	ent := doc{}
	setStr(ent, "employeeNumber", u.Profile.Text["employeeId"])
	setStr(ent, "department", u.Department)
	setStr(ent, "costCenter", u.Ext.CostCenter)
	setStr(ent, "organization", u.Profile.Text["companyName"])
	setStr(ent, "division", u.Ext.Division)
	if u.Ext.Manager != "" {
		ent["manager"] = doc{"value": u.Ext.Manager, "$ref": base + "/Users/" + u.Ext.Manager}
	}
	if len(ent) > 0 {
		d[enterpriseSchema] = ent
	}
	created := u.CreatedAt.UTC().Format(time.RFC3339)
	d["meta"] = doc{"resourceType": "User", "created": created, "lastModified": created, "location": base + "/Users/" + u.GUID}
	d["meta"].(doc)["version"] = etag(d)
	return d
}

// addressFields maps the work address's sub-attributes to profile properties.
var addressFields = map[string]string{"streetAddress": "streetAddress", "locality": "city", "region": "state",
	"postalCode": "postalCode", "country": "country"}

func setStr(d doc, k, v string) {
	if v != "" {
		d[k] = v
	}
}

// etag is the resource's version: a hash of what it shows, so that any
// change by SCIM, Graph or the CLI changes it.
func etag(d doc) string {
	c := doc{}
	for k, v := range d {
		if k != "meta" {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(sum[:8]) + `"`
}

// checkIfMatch refuses a change when If-Match names another version.
func checkIfMatch(r *http.Request, cur doc) error {
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" || im == "*" {
		return nil
	}
	v := cur["meta"].(doc)["version"].(string)
	for _, t := range strings.Split(im, ",") {
		t = strings.TrimSpace(t)
		if t == v || "W/"+t == v {
			return nil
		}
	}
	return errf(412, typeInvalidVers, "The resource changed since version %s: it is now %s. GET it again and retry with the new If-Match.", im, v)
}

// userFrom reads a SCIM User body into the user as it should be: the
// attributes the body has, and for a full replacement (PUT, create)
// nothing of the old user's SCIM-managed attributes.
func userFrom(d doc, old *sqlstore.SCIMUser) (*sqlstore.SCIMUser, error) {
	u := &sqlstore.SCIMUser{User: &allot.User{AccountEnabled: true}}
	if old != nil {
		cp := *old.User
		cp.Profile = old.Profile.Clone()
		u.User = &cp
		u.Ext = old.Ext
	}
	if u.Profile.Text == nil {
		u.Profile = allot.UserProfile{Text: map[string]string{}, Lists: map[string][]string{}}
	}
	r := newReader(d)
	u.UserPrincipalName = r.str("userName")
	if strings.TrimSpace(u.UserPrincipalName) == "" {
		return nil, errf(400, typeInvalidValue, "userName is required: the user's sign-in name, such as adele@contoso.com.")
	}
	u.Ext.ExternalID = r.str("externalId")
	u.JobTitle = r.str("title")
	u.Profile.Text["preferredLanguage"] = r.str("preferredLanguage")
	name := r.obj("name")
	u.GivenName, u.Surname = name.str("givenName"), name.str("familyName")
	u.DisplayName = r.str("displayName")
	if u.DisplayName == "" {
		u.DisplayName = firstNonEmpty(name.str("formatted"), strings.TrimSpace(u.GivenName+" "+u.Surname), u.UserPrincipalName)
	}
	if a, ok := r.boolean("active"); ok {
		u.AccountEnabled = a
	}
	u.Mail = r.multi("emails", "work").str("value")
	if p := r.multi("phoneNumbers", "work").str("value"); p != "" {
		u.Profile.Lists["businessPhones"] = []string{p}
	} else {
		delete(u.Profile.Lists, "businessPhones")
	}
	u.Profile.Text["mobilePhone"] = r.multi("phoneNumbers", "mobile").str("value")
	addr := r.multi("addresses", "work")
	for scim, graph := range addressFields {
		u.Profile.Text[graph] = addr.str(scim)
	}
	ent := r.obj(enterpriseSchema)
	u.Profile.Text["employeeId"] = ent.str("employeeNumber")
	u.Department = ent.str("department")
	u.Ext.CostCenter = ent.str("costCenter")
	u.Profile.Text["companyName"] = ent.str("organization")
	u.Ext.Division = ent.str("division")
	u.Ext.Manager = strings.ToLower(ent.ref("manager"))
	if *r.errp != nil {
		return nil, *r.errp
	}
	return u, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// reader reads typed attributes of a doc, case-insensitively, keeping the
// first type error.
type reader struct {
	d    doc
	path string
	errp *error // shared by a reader and the readers of its parts
}

func newReader(d doc) *reader { return &reader{d: d, errp: new(error)} }

func (r *reader) child(d doc, name string) *reader {
	return &reader{d: d, path: r.path + name + ".", errp: r.errp}
}

func lookup(d doc, name string) (string, any, bool) {
	if v, ok := d[name]; ok {
		return name, v, true
	}
	for k, v := range d {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

func (r *reader) fail(name, want string) {
	if *r.errp == nil {
		*r.errp = errf(400, typeInvalidValue, "'%s%s' must be %s.", r.path, name, want)
	}
}

func (r *reader) str(name string) string {
	_, v, ok := lookup(r.d, name)
	if !ok || v == nil {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail(name, "a string")
	}
	return s
}

// boolean reads a boolean; Entra sends "True"/"False" as strings.
func (r *reader) boolean(name string) (bool, bool) {
	_, v, ok := lookup(r.d, name)
	if !ok || v == nil {
		return false, false
	}
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		if strings.EqualFold(b, "true") || strings.EqualFold(b, "false") {
			return strings.EqualFold(b, "true"), true
		}
	}
	r.fail(name, "true or false")
	return false, false
}

func (r *reader) obj(name string) *reader {
	out := r.child(doc{}, name)
	_, v, ok := lookup(r.d, name)
	if ok && v != nil {
		if m, isObj := v.(doc); isObj {
			out.d = m
		} else {
			r.fail(name, "an object")
		}
	}
	return out
}

// ref reads a reference: an object with a value, or the id itself.
func (r *reader) ref(name string) string {
	_, v, ok := lookup(r.d, name)
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case doc:
		s, _ := x["value"].(string)
		return s
	}
	r.fail(name, `an object {"value": "id"}`)
	return ""
}

// multi returns the value of a multi-valued attribute of the type, else
// the primary one, else the first.
func (r *reader) multi(name, typ string) *reader {
	out := r.child(doc{}, name)
	_, v, ok := lookup(r.d, name)
	if !ok || v == nil {
		return out
	}
	list, isList := v.([]any)
	if !isList {
		r.fail(name, "a list of objects")
		return out
	}
	var pick doc
	for _, e := range list {
		m, isObj := e.(doc)
		if !isObj {
			r.fail(name, "a list of objects")
			return out
		}
		t, _ := m["type"].(string)
		prim, _ := m["primary"].(bool)
		switch {
		case strings.EqualFold(t, typ):
			return r.child(m, name)
		case prim && pick == nil, pick == nil && t == "":
			pick = m
		}
	}
	if pick != nil && typ == "work" {
		out.d = pick
	}
	return out
}

func (h *Handler) base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	u, err := h.st.SCIMUser(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.writeResource(w, r, 200, userDoc(u, h.base(r)))
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	u, err := userFrom(body, nil)
	if err != nil {
		return err
	}
	if err := checkManager(u); err != nil {
		return err
	}
	if err := h.st.SCIMCreateUser(r.Context(), p.Actor(), p.Tenant.ID, u); err != nil {
		return err
	}
	d := userDoc(u, h.base(r))
	w.Header().Set("Location", d["meta"].(doc)["location"].(string))
	return h.writeResource(w, r, 201, d)
}

func checkManager(u *sqlstore.SCIMUser) error {
	if m := u.Ext.Manager; m != "" && !isGUID(m) {
		return errf(400, typeInvalidValue, "manager.value '%s' is not a user id (the id SCIM gave the manager).", m)
	}
	return nil
}

func (h *Handler) putUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return h.updateUser(w, r, p, func(cur *sqlstore.SCIMUser, d doc) (*sqlstore.SCIMUser, error) {
		if err := checkImmutable(body, d); err != nil {
			return nil, err
		}
		blank := &sqlstore.SCIMUser{User: &allot.User{ID: cur.ID, GUID: cur.GUID, TenantID: cur.TenantID,
			UsageLocation: cur.UsageLocation, CreatedAt: cur.CreatedAt, AccountEnabled: cur.AccountEnabled}}
		blank.Profile = keepUnmapped(cur.Profile)
		return userFrom(body, blank)
	})
}

// keepUnmapped keeps the profile properties SCIM does not show, which a
// PUT therefore cannot mean to clear.
func keepUnmapped(p allot.UserProfile) allot.UserProfile {
	out := p.Clone()
	for _, k := range []string{"preferredLanguage", "mobilePhone", "employeeId", "companyName", "streetAddress", "city", "state", "postalCode", "country"} {
		delete(out.Text, k)
	}
	delete(out.Lists, "businessPhones")
	return out
}

// checkImmutable refuses a body whose id differs from the resource's.
func checkImmutable(body, cur doc) error {
	if _, v, ok := lookup(body, "id"); ok && v != nil {
		if s, _ := v.(string); !strings.EqualFold(s, cur["id"].(string)) {
			return errf(400, typeMutability, "id is read-only: the body says '%v', the resource is %s.", v, cur["id"])
		}
	}
	return nil
}

// updateUser runs a change of the user in one store transaction, with the
// If-Match check on the locked user.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, p *store.Principal,
	change func(cur *sqlstore.SCIMUser, d doc) (*sqlstore.SCIMUser, error)) error {
	base := h.base(r)
	u, err := h.st.SCIMUpdateUser(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), func(cur *sqlstore.SCIMUser) (*sqlstore.SCIMUser, error) {
		d := userDoc(cur, base)
		if err := checkIfMatch(r, d); err != nil {
			return nil, err
		}
		want, err := change(cur, d)
		if err != nil {
			return nil, err
		}
		return want, checkManager(want)
	})
	if err != nil {
		return err
	}
	return h.writeResource(w, r, 200, userDoc(u, base))
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	u, err := h.st.SCIMUser(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, userDoc(u, h.base(r))); err != nil {
		return err
	}
	if err := h.st.DeleteUser(r.Context(), p.Actor(), p.Tenant.ID, u.GUID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeResource writes a resource with its ETag, projected by attributes
// and excludedAttributes.
func (h *Handler) writeResource(w http.ResponseWriter, r *http.Request, status int, d doc) error {
	proj, err := projection(r)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", d["meta"].(doc)["version"].(string))
	writeJSON(w, status, proj(d))
	return nil
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	ops, err := readPatch(body)
	if err != nil {
		return err
	}
	return h.updateUser(w, r, p, func(cur *sqlstore.SCIMUser, d doc) (*sqlstore.SCIMUser, error) {
		nd, err := applyPatch(d, ops)
		if err != nil {
			return nil, err
		}
		blank := &sqlstore.SCIMUser{User: &allot.User{ID: cur.ID, GUID: cur.GUID, TenantID: cur.TenantID,
			UsageLocation: cur.UsageLocation, CreatedAt: cur.CreatedAt, AccountEnabled: cur.AccountEnabled}}
		blank.Profile = keepUnmapped(cur.Profile)
		return userFrom(nd, blank)
	})
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
