package httpapi

import (
	"net/http"
	"strings"

	"allot"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlstore"
)

// cloudLicensingRoutes serve license pools in the shapes of Microsoft
// Graph beta's cloudLicensing API (docs/api.md, "cloudLicensing (beta)"):
// a pool is an allotment. Read-only; allot's own admin API changes pools.
func (s *Server) cloudLicensingRoutes() {
	s.handle("GET /beta/admin/cloudLicensing/allotments", PermProductsRead, s.betaAllotments)
	s.handle("GET /beta/admin/cloudLicensing/allotments/{id}", PermProductsRead, s.betaAllotment)
	s.handle("GET /beta/admin/cloudLicensing/allotments/{id}/assignments", PermProductsRead, s.betaAllotmentAssignments)
	s.handle("GET /beta/admin/cloudLicensing/allotments/{id}/waitingMembers", PermProductsRead, s.betaWaitingMembers)
	s.handle("GET /beta/users/{id}/cloudLicensing/usageRights", PermUsersRead, s.betaUsageRights)
	s.handle("GET /beta/me/cloudLicensing/usageRights", PermSignedIn, s.betaMyUsageRights)
}

const clType = "#microsoft.graph.cloudLicensing."

// clServices renders service plans as cloudLicensing.service objects.
func clServices(p *allot.Product, enabled []string) []map[string]any {
	out := []map[string]any{}
	for _, sp := range p.ServicePlans {
		if enabled == nil || containsString(enabled, sp.ID) {
			out = append(out, map[string]any{"@odata.type": clType + "service", "assignableTo": "user,group", "planId": sp.ID, "planName": sp.Name})
		}
	}
	return out
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// subscriptionState is a product's capability status as a cloudLicensing
// subscriptionState.
func subscriptionState(p *allot.Product) string {
	switch p.CapabilityStatus {
	case "Warning":
		return "warning"
	case "Suspended":
		return "suspended"
	case "LockedOut":
		return "lockedOut"
	case "Deleted":
		return "deleted"
	}
	return "active"
}

// allotmentJSON is a pool as a cloudLicensing.allotment.
func allotmentJSON(lp *sqlstore.LicensePool, p *allot.Product) map[string]any {
	sub := map[string]any{"@odata.type": clType + "subscription", "subscriptionId": p.SkuID, "startDate": p.CreatedAt.UTC().Format("2006-01-02"),
		"nextLifecycleDate": nil, "state": subscriptionState(p), "tags": "none"}
	return map[string]any{"@odata.type": clType + "allotment", "id": lp.GUID, "allottedUnits": lp.AllottedUnits, "assignableTo": "user,group",
		"consumedUnits": lp.ConsumedUnits, "services": clServices(p, nil), "skuId": p.SkuID, "skuPartNumber": p.SkuPartNumber,
		"subscriptions": []map[string]any{sub}}
}

func (s *Server) betaCollection(w http.ResponseWriter, r *http.Request, context string, items []map[string]any) {
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.baseURL(r) + "/beta/$metadata#" + context, "value": items})
}

func (s *Server) betaAllotments(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	pools, err := s.st.Pools(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	products, err := s.st.Products(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	cat := licensing.NewCatalog(products)
	items := make([]map[string]any, 0, len(pools))
	for _, lp := range pools {
		if pr := cat.Product(lp.ProductID); pr != nil {
			items = append(items, allotmentJSON(lp, pr))
		}
	}
	s.betaCollection(w, r, "admin/cloudLicensing/allotments", items)
	return nil
}

func (s *Server) betaAllotment(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	lp, err := s.st.Pool(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	pr, err := s.st.Product(r.Context(), p.Tenant.ID, lp.SkuID)
	if err != nil {
		return err
	}
	out := allotmentJSON(lp, pr)
	out["@odata.context"] = s.baseURL(r) + "/beta/$metadata#admin/cloudLicensing/allotments/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) betaAllotmentAssignments(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	as, err := s.st.PoolAssignments(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(as))
	for _, a := range as {
		dis := a.DisabledPlans
		if dis == nil {
			dis = []string{}
		}
		items = append(items, map[string]any{"@odata.type": clType + "assignment", "id": a.GUID + "_" + r.PathValue("id"), "disabledServicePlanIds": dis})
	}
	s.betaCollection(w, r, "admin/cloudLicensing/allotments('"+r.PathValue("id")+"')/assignments", items)
	return nil
}

func (s *Server) betaWaitingMembers(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	ws, err := s.st.PoolWaiters(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(ws))
	for _, x := range ws {
		items = append(items, map[string]any{"@odata.type": clType + "waitingMember", "id": x.GUID + "_" + r.PathValue("id"),
			"waitingSinceDateTime": msTimeOf(x.WaitingSince)})
	}
	s.betaCollection(w, r, "admin/cloudLicensing/allotments('"+r.PathValue("id")+"')/waitingMembers", items)
	return nil
}

// usageRights renders a user's active licenses as cloudLicensing.usageRight
// objects, one per product, with the services its sources enable.
func (s *Server) usageRights(w http.ResponseWriter, r *http.Request, p *store.Principal, ref string) error {
	u, err := s.st.User(r.Context(), p.Tenant.ID, ref)
	if err != nil {
		return err
	}
	lic, err := s.st.UserLicenses(r.Context(), p.Tenant.ID, []int64{u.ID})
	if err != nil {
		return err
	}
	by, order := map[int64][][]string{}, []*allot.Product{}
	for _, v := range lic[u.ID] {
		if v.State != allot.StateActive {
			continue
		}
		if _, seen := by[v.ProductID]; !seen {
			order = append(order, v.Product)
		}
		by[v.ProductID] = append(by[v.ProductID], v.DisabledPlans)
	}
	items := make([]map[string]any, 0, len(order))
	for _, pr := range order {
		enabled := licensing.EnabledPlans(pr, by[pr.ID])
		items = append(items, map[string]any{"@odata.type": clType + "usageRight", "id": u.GUID + "_" + pr.SkuID, "skuId": pr.SkuID,
			"skuPartNumber": pr.SkuPartNumber, "services": clServices(pr, append([]string{}, enabled...))})
	}
	s.betaCollection(w, r, "users('"+u.GUID+"')/cloudLicensing/usageRights", items)
	return nil
}

func (s *Server) betaUsageRights(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	return s.usageRights(w, r, p, r.PathValue("id"))
}

func (s *Server) betaMyUsageRights(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if p.UserID == 0 {
		return allot.Errorf(allot.EInvalid, "/me request is only valid with delegated authentication flow: an API client has no user; use /beta/users/{id}/cloudLicensing/usageRights.")
	}
	return s.usageRights(w, r, p, p.GUID)
}
