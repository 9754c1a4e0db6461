package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

func (s *Server) adminRoutes() {
	s.handle("GET /allot/v1/catalog", PermProductsRead, s.catalog)
	s.handle("POST /allot/v1/subscribedSkus", PermProductsWrite, s.addProduct)
	s.handle("PATCH /allot/v1/subscribedSkus/{id}", PermProductsWrite, s.setSeats)
	s.handle("GET /allot/v1/groups/{id}/licenseSummary", PermReportsRead, s.licenseSummary)
	s.handle("GET /allot/v1/me", PermSignedIn, s.me)
	s.bulkRoutes()
	s.policyRoutes()
	s.groupModeRoutes()
	s.waitroomRoutes()
	s.reclaimRoutes()
	s.reportRoutes()
	s.alertRoutes()
	s.webhookRoutes()
	s.poolRoutes()
	s.cloudLicensingRoutes()
	s.handle("POST /allot/v1/preview", permRead, s.preview)
}

func msTimeOf(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// decodeRef reads {"@odata.id": "..."} from a $ref request body.
func decodeRef(r *http.Request, dst *string) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return allot.Errorf(allot.EInvalid, "The request body is not a valid JSON object: %s.", jsonErr(err))
	}
	raw, ok := m["@odata.id"]
	if !ok || json.Unmarshal(raw, dst) != nil || *dst == "" {
		return allot.Errorf(allot.EInvalid, "Send {\"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\"}.")
	}
	return nil
}

func definitionJSON(d allot.ProductDefinition) map[string]any {
	return map[string]any{
		"skuId": d.SkuID, "skuPartNumber": d.SkuPartNumber, "displayName": d.DisplayName, "servicePlans": d.ServicePlans,
		"requiresAnyOf": nonNil(d.Rules.RequiresAnyOf), "mutuallyExclusiveWith": nonNil(d.Rules.MutuallyExclusiveWith),
		"availableDataLocations": nonNil(d.Rules.AvailableDataLocations), "allowedUsageLocations": nonNil(d.Rules.AllowedUsageLocations),
	}
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var items []map[string]any
	for _, d := range catalog.Products() {
		items = append(items, definitionJSON(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": items})
	return nil
}

type productBody struct {
	SkuID                  *string             `json:"skuId"`
	SkuPartNumber          *string             `json:"skuPartNumber"`
	DisplayName            *string             `json:"displayName"`
	EnabledUnits           *int                `json:"enabledUnits"`
	ServicePlans           []allot.ServicePlan `json:"servicePlans"`
	RequiresAnyOf          []string            `json:"requiresAnyOf"`
	MutuallyExclusiveWith  []string            `json:"mutuallyExclusiveWith"`
	AvailableDataLocations []string            `json:"availableDataLocations"`
	AllowedUsageLocations  []string            `json:"allowedUsageLocations"`
}

var productReadOnly = []string{"id", "consumedUnits", "capabilityStatus", "prepaidUnits", "accountId", "accountName", "appliesTo", "subscriptionIds"}

func (s *Server) addProduct(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b productBody
	if err := decodeBody(r, &b, "subscribedSku", productReadOnly...); err != nil {
		return err
	}
	if b.EnabledUnits == nil {
		return allot.Errorf(allot.EInvalid, "enabledUnits is required: the number of seats bought.")
	}
	custom := b.DisplayName != nil || len(b.ServicePlans) > 0 || b.RequiresAnyOf != nil || b.MutuallyExclusiveWith != nil ||
		b.AvailableDataLocations != nil || b.AllowedUsageLocations != nil
	var def allot.ProductDefinition
	ref := str(b.SkuPartNumber)
	if ref == "" {
		ref = str(b.SkuID)
	}
	if d, ok := catalog.Lookup(ref); ok && !custom {
		def = d
	} else if !custom {
		if ref == "" {
			return allot.Errorf(allot.EInvalid, "Send skuPartNumber (a catalog product such as SPE_E5, see GET /allot/v1/catalog) or a custom product with displayName and servicePlans.")
		}
		return allot.Errorf(allot.EInvalid, "'%s' is not in the catalog (GET /allot/v1/catalog lists it); to add a custom product send displayName and servicePlans too.", ref)
	} else {
		if _, ok := catalog.Lookup(ref); ok {
			return allot.Errorf(allot.EInvalid, "'%s' is a catalog product; add it with skuPartNumber and enabledUnits only.", ref)
		}
		def = allot.ProductDefinition{SkuID: str(b.SkuID), SkuPartNumber: str(b.SkuPartNumber), DisplayName: str(b.DisplayName),
			ServicePlans: b.ServicePlans, Rules: allot.ProductRules{RequiresAnyOf: upper(b.RequiresAnyOf),
				MutuallyExclusiveWith: upper(b.MutuallyExclusiveWith), AvailableDataLocations: upper(b.AvailableDataLocations),
				AllowedUsageLocations: upper(b.AllowedUsageLocations)}}
	}
	pr, err := s.st.AddProduct(r.Context(), p.Actor(), p.Tenant.ID, def, *b.EnabledUnits)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, skuJSON(p.Tenant, pr))
	return nil
}

func upper(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToUpper(strings.TrimSpace(s))
	}
	return out
}

func (s *Server) setSeats(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		EnabledUnits       *int    `json:"enabledUnits"`
		AssignmentPolicy   *string `json:"assignmentPolicy"`
		ConfirmLicenseLoss bool    `json:"confirmLicenseLoss"`
	}
	if err := decodeBody(r, &b, "subscribedSku", append(productReadOnly, "skuId", "skuPartNumber", "servicePlans")...); err != nil {
		return err
	}
	if b.EnabledUnits == nil && b.AssignmentPolicy == nil {
		return allot.Errorf(allot.EInvalid, "Send {\"enabledUnits\": N} or {\"assignmentPolicy\": \"any\" | \"groupOnly\" | \"directOnly\"}.")
	}
	if b.AssignmentPolicy != nil {
		if _, err := licensing.ParsePolicy(*b.AssignmentPolicy); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	var pr *allot.Product
	if b.EnabledUnits != nil {
		var err error
		if pr, err = s.st.SetSeats(r.Context(), p.Actor(), p.Tenant.ID, id, *b.EnabledUnits, b.ConfirmLicenseLoss || confirmed(r)); err != nil {
			return err
		}
	}
	if b.AssignmentPolicy != nil {
		rep, err := s.st.SetAssignmentPolicy(r.Context(), p.Actor(), p.Tenant.ID, id, *b.AssignmentPolicy)
		if err != nil {
			return err
		}
		pr = rep.Product
	}
	writeJSON(w, http.StatusOK, skuJSON(p.Tenant, pr))
	return nil
}

func (s *Server) licenseSummary(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	sum, err := s.st.GroupLicenseSummary(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := map[string]any{
		"members": sum.Members, "membersWithLicenses": sum.Licensed, "membersWithoutLicenses": sum.NotLicensed,
		"membersPending": sum.PendingChecks, "errors": sum.ByError, "errorCodes": sum.ByCode,
		"licenseProcessingState": map[string]any{"state": sum.State}, "assignedSkus": sum.AssignedSkus,
		"message": summaryMessage(sum),
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func summaryMessage(s *store.LicenseSummary) string {
	if len(s.AssignedSkus) == 0 {
		return "This group assigns no licenses."
	}
	return plural(s.Licensed, "member has", "members have") + " licenses, " + plural(s.NotLicensed, "member does", "members do") + " not."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	out := principalJSON(p)
	out["tenantId"], out["tenantName"], out["role"] = p.Tenant.GUID, p.Tenant.DisplayName, p.Role
	writeJSON(w, http.StatusOK, out)
	return nil
}
