package httpapi

import (
	"net/http"

	"allot"

	"allot/store"
	"allot/store/sqlstore"
)

// poolRoutes serve allot's own admin API of license pools (docs/api.md,
// "License pools").
func (s *Server) poolRoutes() {
	s.handle("GET /allot/v1/licensePools", PermProductsRead, s.listPools)
	s.handle("POST /allot/v1/licensePools", PermProductsWrite, s.addPool)
	s.handle("GET /allot/v1/licensePools/{id}", PermProductsRead, s.getPool)
	s.handle("PATCH /allot/v1/licensePools/{id}", PermProductsWrite, s.patchPool)
	s.handle("DELETE /allot/v1/licensePools/{id}", PermProductsWrite, s.deletePool)
	s.handle("GET /allot/v1/licensePools/{id}/waitingMembers", PermProductsRead, s.poolWaiters)
	// A pool manager holds no role: these two routes check, per pool, that
	// the caller manages it (or may assign licenses) and that the user is
	// in its scope.
	s.handle("POST /allot/v1/licensePools/{id}/assignments", PermSignedIn, s.poolAssign)
	s.handle("DELETE /allot/v1/licensePools/{id}/assignments/{userId}", PermSignedIn, s.poolUnassign)
}

// poolJSON is a pool in allot's admin API.
func poolJSON(lp *sqlstore.LicensePool) map[string]any {
	out := map[string]any{"id": lp.GUID, "displayName": lp.DisplayName, "skuId": lp.SkuID, "skuPartNumber": lp.SkuPartNumber,
		"productDisplayName": lp.ProductName, "allottedUnits": lp.AllottedUnits, "consumedUnits": lp.ConsumedUnits,
		"borrowedUnits": lp.BorrowedUnits, "waitingUnits": lp.WaitingUnits, "allowsBorrowing": lp.AllowsBorrowing,
		"groupId": nil, "department": nil, "createdDateTime": msTimeOf(lp.CreatedAt), "lastModifiedDateTime": msTimeOf(lp.UpdatedAt)}
	out["managerId"] = nil
	if lp.ManagerGUID != "" {
		out["managerId"] = lp.ManagerGUID
	}
	if lp.GroupID != 0 {
		out["groupId"], out["groupDisplayName"] = lp.GroupGUID, lp.GroupName
	} else {
		out["department"] = lp.Department
	}
	return out
}

// poolBody is the body of a pool's creation or change.
type poolBody struct {
	DisplayName     *string `json:"displayName"`
	SkuID           string  `json:"skuId"`
	AllottedUnits   *int    `json:"allottedUnits"`
	AllowsBorrowing *bool   `json:"allowsBorrowing"`
	GroupID         *string `json:"groupId"`
	Department      *string `json:"department"`
	ManagerID       *string `json:"managerId"`
}

var poolReadOnly = []string{"id", "skuPartNumber", "productDisplayName", "consumedUnits", "borrowedUnits", "waitingUnits", "groupDisplayName", "createdDateTime", "lastModifiedDateTime"}

func (b poolBody) input() sqlstore.PoolInput {
	return sqlstore.PoolInput{DisplayName: b.DisplayName, ProductRef: b.SkuID, AllottedUnits: b.AllottedUnits, AllowsBorrowing: b.AllowsBorrowing,
		GroupRef: b.GroupID, Department: b.Department, ManagerRef: b.ManagerID}
}

func (s *Server) listPools(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	pools, err := s.st.Pools(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(pools))
	for _, lp := range pools {
		out = append(out, poolJSON(lp))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (s *Server) getPool(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	lp, err := s.st.Pool(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, poolJSON(lp))
	return nil
}

func (s *Server) addPool(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b poolBody
	if err := decodeBody(r, &b, "licensePool", poolReadOnly...); err != nil {
		return err
	}
	lp, err := s.st.CreatePool(r.Context(), p.Actor(), p.Tenant.ID, b.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, poolJSON(lp))
	return nil
}

func (s *Server) patchPool(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b poolBody
	if err := decodeBody(r, &b, "licensePool", poolReadOnly...); err != nil {
		return err
	}
	lp, err := s.st.UpdatePool(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), b.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, poolJSON(lp))
	return nil
}

func (s *Server) deletePool(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.DeletePool(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) poolWaiters(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	ws, err := s.st.PoolWaiters(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ws))
	for i, x := range ws {
		out = append(out, map[string]any{"userId": x.GUID, "userPrincipalName": x.UPN, "displayName": x.Name,
			"waitingSinceDateTime": msTimeOf(x.WaitingSince), "position": i + 1})
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// poolTarget checks that the caller may assign through the pool (its
// manager, or anyone who may assign licenses) and that the user is in the
// pool's scope; it returns the pool's skuId.
func (s *Server) poolTarget(r *http.Request, p *store.Principal, userRef string) (string, error) {
	lp, u, in, err := s.st.PoolMember(r.Context(), p.Tenant.ID, r.PathValue("id"), userRef)
	if lp == nil {
		return "", err
	}
	manager := p.Kind == store.PrincipalUser && p.UserID != 0 && p.UserID == lp.ManagerID
	if !manager && effectivePerms(p)&PermLicensesWrite == 0 {
		return "", allot.Errorf(allot.EForbidden, "Only the manager of the pool %s (or a License Administrator) may assign its licenses.", lp.DisplayName)
	}
	if err != nil {
		return "", err
	}
	if !in {
		return "", allot.Errorf(allot.EForbidden, "%s is not in the scope of the pool %s (%s): the pool's manager may assign %s only to them.",
			u.UserPrincipalName, lp.DisplayName, scopeWords(lp), lp.ProductName)
	}
	return lp.SkuID, nil
}

func scopeWords(lp *sqlstore.LicensePool) string {
	if lp.GroupID != 0 {
		return "members of " + lp.GroupName
	}
	return "department " + lp.Department
}

// poolAssign gives the pool's product directly to a user in its scope.
func (s *Server) poolAssign(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		UserID string `json:"userId"`
	}
	if err := decodeBody(r, &b, "poolAssignment"); err != nil {
		return err
	}
	if b.UserID == "" {
		return allot.Errorf(allot.EInvalid, `Send the user to license: {"userId": "..."}.`)
	}
	sku, err := s.poolTarget(r, p, b.UserID)
	if err != nil {
		return err
	}
	u, err := s.st.AssignUserLicenses(r.Context(), p.Actor(), p.Tenant.ID, b.UserID, []store.LicenseRequest{{SkuID: sku}}, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"userId": u.GUID, "skuId": sku})
	return nil
}

// poolUnassign removes the pool's product from a user in its scope (its
// direct assignment).
func (s *Server) poolUnassign(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	sku, err := s.poolTarget(r, p, r.PathValue("userId"))
	if err != nil {
		return err
	}
	if _, err := s.st.AssignUserLicenses(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("userId"), nil, []string{sku}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
