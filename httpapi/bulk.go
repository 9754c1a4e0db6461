package httpapi

import (
	"net/http"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// bulkRoutes registers the bulk endpoints that CSV imports use: resolving
// addresses to users, and licensing many users in one transaction.
func (s *Server) bulkRoutes() {
	s.handle("POST /allot/v1/users/resolve", PermUsersRead, s.resolveAddresses)
	s.handle("POST /allot/v1/licenses/assign", PermLicensesWrite, s.bulkAssign)
}

// resolveAddresses answers {"value": [{"address","id","userPrincipalName",
// "displayName","matchedBy"}]}, one entry per address in order; id is null
// when no user has the address.
func (s *Server) resolveAddresses(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		Addresses []string `json:"addresses"`
	}
	if err := decodeBody(r, &b, "resolveAddresses"); err != nil {
		return err
	}
	if b.Addresses == nil {
		return allot.Errorf(allot.EInvalid, "Send {\"addresses\": [\"alias@domain\", ...]}.")
	}
	ms, err := s.st.ResolveAddresses(r.Context(), p.Tenant.ID, b.Addresses)
	if err != nil {
		return err
	}
	type match struct {
		Address           string  `json:"address"`
		ID                *string `json:"id"`
		UserPrincipalName string  `json:"userPrincipalName,omitempty"`
		DisplayName       string  `json:"displayName,omitempty"`
		MatchedBy         string  `json:"matchedBy,omitempty"`
	}
	items := make([]match, len(ms))
	for i, m := range ms {
		items[i].Address = m.Address
		if m.User != nil {
			items[i].ID, items[i].UserPrincipalName, items[i].DisplayName, items[i].MatchedBy = &m.User.GUID, m.User.UserPrincipalName, m.User.DisplayName, m.MatchedBy
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Value []match `json:"value"`
	}{items})
	return nil
}

// bulkAssign licenses many users with one product in one write transaction:
// {"skuId", "disabledPlans", "userIds" (or "addresses", matched like
// users/resolve), "dryRun", "reservedUnits"}. Each user is licensed fully or
// not at all; the answer lists every user's result, in order.
func (s *Server) bulkAssign(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		SkuID         string   `json:"skuId"`
		SkuPartNumber string   `json:"skuPartNumber"`
		DisabledPlans []string `json:"disabledPlans"`
		UserIDs       []string `json:"userIds"`
		Addresses     []string `json:"addresses"`
		DryRun        bool     `json:"dryRun"`
		ReservedUnits int      `json:"reservedUnits"`
	}
	if err := decodeBody(r, &b, "bulkAssignLicense"); err != nil {
		return err
	}
	sku := b.SkuID
	if sku == "" {
		sku = b.SkuPartNumber
	}
	if sku == "" {
		return allot.Errorf(allot.EInvalid, "Send skuId (or skuPartNumber) and userIds.")
	}
	res, err := s.st.BulkAssignLicense(r.Context(), p.Actor(), p.Tenant.ID, sqlstore.BulkAssignRequest{
		Sku: sku, DisabledPlans: b.DisabledPlans, Users: b.UserIDs, Addresses: b.Addresses, DryRun: b.DryRun, ReservedUnits: b.ReservedUnits})
	if err != nil {
		return err
	}
	type result struct {
		Address           string `json:"address,omitempty"`
		MatchedBy         string `json:"matchedBy,omitempty"`
		UserID            string `json:"userId,omitempty"`
		UserPrincipalName string `json:"userPrincipalName,omitempty"`
		Result            string `json:"result"`
		Code              string `json:"code,omitempty"`
		Error             string `json:"error,omitempty"`
		Message           string `json:"message,omitempty"`
		Via               string `json:"via,omitempty"`
	}
	items := make([]result, len(res.Outcomes))
	summary := map[string]int{sqlstore.BulkLicensed: 0, sqlstore.BulkAlreadyLicensed: 0, sqlstore.BulkNotFound: 0, sqlstore.BulkFailed: 0}
	for i, o := range res.Outcomes {
		it := result{UserID: o.Ref, Result: o.Result, Code: string(o.Code), Message: o.Message, Via: o.Via}
		if len(b.Addresses) > 0 {
			it.Address, it.MatchedBy, it.UserID = o.Ref, o.MatchedBy, ""
		}
		if o.GUID != "" {
			it.UserID, it.UserPrincipalName = o.GUID, o.UPN
		}
		if o.Result == sqlstore.BulkFailed {
			it.Error = o.Code.LicenseError()
		}
		summary[o.Result]++
		items[i] = it
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"skuId": res.Product.SkuID, "skuPartNumber": res.Product.SkuPartNumber, "dryRun": b.DryRun,
		"value": items, "summary": summary, "seatsAvailable": res.Product.Available(),
	})
	return nil
}
