package httpapi

// Graph's directoryObject routes: a user's license details by id, the
// groups an object is a member of (directly and transitively, paged),
// directory objects by id and getByIds, and members@odata.bind on groups.

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/licensing"
	"allot/store"
)

// maxLinkChanges is how many members@odata.bind one request may add (Graph's limit).
const maxLinkChanges = 20

// maxGetByIds is how many ids one getByIds call may ask for (Graph's limit).
const maxGetByIds = 1000

func (s *Server) directoryRoutes() {
	s.handle("GET /v1.0/users/{id}/licenseDetails/{lid}", PermUsersRead, s.licenseDetail)
	s.handle("GET /v1.0/users/{id}/transitiveMemberOf", PermUsersRead, s.memberOfPage(true))
	s.handle("GET /v1.0/groups/{id}/transitiveMemberOf", PermGroupsRead, s.memberOfPage(true))
	s.handle("GET /v1.0/directoryObjects/{id}", PermUsersRead|PermGroupsRead, s.directoryObject)
	s.handle("POST /v1.0/directoryObjects/getByIds", PermUsersRead|PermGroupsRead, s.getByIds)
	s.directoryRoleRoutes()
	s.batchRoutes()
	s.deltaRoutes()
}

// licenseDetailID is Graph's id of a licenseDetails entry: the tenant's and
// the product's GUIDs, 16 bytes each in Microsoft's GUID byte order,
// base64url without padding.
func licenseDetailID(tenantGUID, skuID string) string {
	t, terr := uuid.Parse(tenantGUID)
	k, kerr := uuid.Parse(skuID)
	if terr != nil || kerr != nil {
		return strings.ReplaceAll(skuID, "-", "")
	}
	b := append(guidBytesLE(t), guidBytesLE(k)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// guidBytesLE is a GUID's bytes as Windows stores them (the first three
// fields little-endian).
func guidBytesLE(g uuid.UUID) []byte {
	b := make([]byte, 16)
	copy(b, g[:])
	b[0], b[1], b[2], b[3] = g[3], g[2], g[1], g[0]
	b[4], b[5] = g[5], g[4]
	b[6], b[7] = g[7], g[6]
	return b
}

// licenseDetail answers GET /users/{id}/licenseDetails/{lid}: the entry of
// the list whose id is lid.
func (s *Server) licenseDetail(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	u, err := s.st.User(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	lic, err := s.st.UserLicenses(r.Context(), p.Tenant.ID, []int64{u.ID})
	if err != nil {
		return err
	}
	for _, it := range licenseDetailItems(p.Tenant, lic[u.ID]) {
		if it["id"] == r.PathValue("lid") {
			it["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#users('" + u.GUID + "')/licenseDetails/$entity"
			writeJSON(w, http.StatusOK, it)
			return nil
		}
	}
	return allot.Errorf(allot.ENotFound, "License details '%s' do not exist for user '%s'; GET /v1.0/users/%s/licenseDetails lists them.",
		r.PathValue("lid"), u.UserPrincipalName, u.GUID)
}

// memberOfPage answers memberOf (or transitiveMemberOf) of a user or group,
// a page at a time with @odata.nextLink.
func (s *Server) memberOfPage(transitive bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
		q, after, err := s.query(r)
		if err != nil {
			return err
		}
		if q.Filter != nil || q.Count {
			return allot.Errorf(allot.EInvalid, "$filter and $count are not supported on %s; use them on /v1.0/groups instead.", lastSegment(r.URL.Path))
		}
		if err := checkSelect(q.Select, "group"); err != nil {
			return err
		}
		groups, next, err := s.st.MemberOfPage(r.Context(), p.Tenant.ID, r.PathValue("id"), transitive, after, q.Top)
		if err != nil {
			return err
		}
		items, err := s.groupJSON(r, p, groups)
		if err != nil {
			return err
		}
		s.list(w, r, "directoryObjects", items, skipToken(r, next), -1, q.Select)
		return nil
	}
}

// directoryObject answers GET /directoryObjects/{id}: the user or group, as
// far as the caller may read that kind.
func (s *Server) directoryObject(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	id := r.PathValue("id")
	items, err := s.objectsByID(r, p, []string{id}, nil)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return allot.Errorf(allot.ENotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
	}
	items[0]["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#directoryObjects/$entity"
	writeJSON(w, http.StatusOK, items[0])
	return nil
}

type getByIdsBody struct {
	IDs   []string `json:"ids"`
	Types []string `json:"types"`
}

// getByIds answers POST /directoryObjects/getByIds: the users and groups
// with the ids, in the order asked, those not found left out.
func (s *Server) getByIds(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b getByIdsBody
	if err := decodeBody(r, &b, "getByIds"); err != nil {
		return err
	}
	if len(b.IDs) == 0 {
		return allot.Errorf(allot.EInvalid, "Send {\"ids\": [\"<object id>\", …]} with at least one id.")
	}
	if len(b.IDs) > maxGetByIds {
		return allot.Errorf(allot.EInvalid, "getByIds accepts at most %d ids; this request has %d.", maxGetByIds, len(b.IDs))
	}
	types := map[string]bool{}
	for _, t := range b.Types {
		t = strings.ToLower(strings.TrimPrefix(t, "microsoft.graph."))
		if t != "user" && t != "group" {
			return allot.Errorf(allot.EInvalid, "types may list user and group; allot has no '%s' objects.", t)
		}
		types[t] = true
	}
	items, err := s.objectsByID(r, p, b.IDs, types)
	if err != nil {
		return err
	}
	s.list(w, r, "directoryObjects", items, "", -1, nil)
	return nil
}

// objectsByID renders the users and groups with the ids, in their order,
// of the kinds in types (all when empty) that the caller may read.
func (s *Server) objectsByID(r *http.Request, p *store.Principal, ids []string, types map[string]bool) ([]map[string]any, error) {
	users, groups, err := s.st.DirectoryObjects(r.Context(), p.Tenant.ID, ids)
	if err != nil {
		return nil, err
	}
	perms := effectivePerms(p)
	wantUsers := perms&PermUsersRead != 0 && (len(types) == 0 || types["user"])
	wantGroups := perms&PermGroupsRead != 0 && (len(types) == 0 || types["group"])
	var ul []*allot.User
	var gl []*allot.Group
	var order []string
	for _, id := range ids {
		id = strings.ToLower(id)
		if u := users[id]; u != nil && wantUsers {
			ul = append(ul, u)
			order = append(order, "u")
		} else if g := groups[id]; g != nil && wantGroups {
			gl = append(gl, g)
			order = append(order, "g")
		}
	}
	uj, err := s.userJSON(r, p, ul)
	if err != nil {
		return nil, err
	}
	gj, err := s.groupJSON(r, p, gl)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(order))
	for _, k := range order {
		if k == "u" {
			out, uj = append(out, uj[0]), uj[1:]
		} else {
			out, gj = append(out, gj[0]), gj[1:]
		}
	}
	return out, nil
}

// boundMembers reads members@odata.bind: the object ids of its
// directoryObjects URLs, at most maxLinkChanges (Graph's message beyond).
func boundMembers(refs *[]string) ([]string, error) {
	if refs == nil {
		return nil, nil
	}
	if len(*refs) > maxLinkChanges {
		return nil, allot.Errorf(allot.EInvalid, "A resource cannot contain more than %d link changes; this request has %d. Add the others with POST /v1.0/groups/{id}/members/$ref or in a $batch.",
			maxLinkChanges, len(*refs))
	}
	out := make([]string, len(*refs))
	for i, ref := range *refs {
		out[i] = odataRef(ref)
		if out[i] == "" {
			return nil, allot.Errorf(allot.EInvalid, "members@odata.bind[%s] is empty; send \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\".", strconv.Itoa(i))
		}
	}
	return out, nil
}

// licenseDetailItems renders a user's active licenses as Graph's
// licenseDetails, one per product with its service plans.
func licenseDetailItems(t *allot.Tenant, views []store.LicenseView) []map[string]any {
	type agg struct {
		p        *allot.Product
		disabled [][]string
	}
	var order []int64
	by := map[int64]*agg{}
	for _, v := range views {
		if v.State != allot.StateActive {
			continue
		}
		if by[v.ProductID] == nil {
			by[v.ProductID] = &agg{p: v.Product}
			order = append(order, v.ProductID)
		}
		by[v.ProductID].disabled = append(by[v.ProductID].disabled, v.DisabledPlans)
	}
	items := []map[string]any{}
	for _, pid := range order {
		a := by[pid]
		enabled := licensing.EnabledPlans(a.p, a.disabled)
		var sps []map[string]any
		for _, sp := range a.p.ServicePlans {
			st := "Disabled"
			if slices.Contains(enabled, sp.ID) {
				st = "Success"
			}
			sps = append(sps, map[string]any{"servicePlanId": sp.ID, "servicePlanName": sp.Name, "provisioningStatus": st, "appliesTo": "User"})
		}
		items = append(items, map[string]any{"id": licenseDetailID(t.GUID, a.p.SkuID), "skuId": a.p.SkuID,
			"skuPartNumber": a.p.SkuPartNumber, "servicePlans": sps})
	}
	return items
}
