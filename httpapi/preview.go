package httpapi

import (
	"context"
	"net/http"

	"allot"
	"allot/store"
)

// previewBody is a planned change for POST /allot/v1/preview.
type previewBody struct {
	Action       string `json:"action"`
	GroupID      string `json:"groupId"`
	UserID       string `json:"userId"`
	MemberID     string `json:"memberId"`
	SkuID        string `json:"skuId"`
	EnabledUnits *int   `json:"enabledUnits"`
	AddLicenses  []struct {
		DisabledPlans []string `json:"disabledPlans"`
		SkuID         string   `json:"skuId"`
	} `json:"addLicenses"`
	RemoveLicenses []string `json:"removeLicenses"`
}

// previewActions lists the changes a preview can plan.
const previewActions = "groupAssignLicense, userAssignLicense, addMember, removeMember, setSeats, deleteGroup"

func (s *Server) preview(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b previewBody
	if err := decodeBody(r, &b, "preview"); err != nil {
		return err
	}
	lb := licenseBody{AddLicenses: b.AddLicenses, RemoveLicenses: b.RemoveLicenses}
	var change func(ctx context.Context) error
	t, a := p.Tenant.ID, p.Actor()
	switch b.Action {
	case "groupAssignLicense", "userAssignLicense":
		add, remove, err := lb.requests()
		if err != nil {
			return err
		}
		if b.Action == "groupAssignLicense" {
			change = func(ctx context.Context) error {
				_, err := s.st.AssignGroupLicenses(ctx, a, t, b.GroupID, add, remove, true)
				return err
			}
		} else {
			change = func(ctx context.Context) error {
				_, err := s.st.AssignUserLicenses(ctx, a, t, b.UserID, add, remove)
				return err
			}
		}
	case "addMember", "removeMember":
		if b.GroupID == "" || b.MemberID == "" {
			return allot.Errorf(allot.EInvalid, "%s needs groupId and memberId.", b.Action)
		}
		change = func(ctx context.Context) error {
			if b.Action == "addMember" {
				return s.st.AddMember(ctx, a, t, b.GroupID, b.MemberID)
			}
			return s.st.RemoveMember(ctx, a, t, b.GroupID, b.MemberID, true)
		}
	case "setSeats":
		if b.SkuID == "" || b.EnabledUnits == nil {
			return allot.Errorf(allot.EInvalid, "setSeats needs skuId and enabledUnits.")
		}
		change = func(ctx context.Context) error {
			_, err := s.st.SetSeats(ctx, a, t, b.SkuID, *b.EnabledUnits, true)
			return err
		}
	case "deleteGroup":
		if b.GroupID == "" {
			return allot.Errorf(allot.EInvalid, "deleteGroup needs groupId.")
		}
		change = func(ctx context.Context) error {
			return s.st.DeleteGroup(ctx, a, t, b.GroupID, true)
		}
	default:
		return allot.Errorf(allot.EInvalid, "action must be one of %s.", previewActions)
	}
	// The change runs confirmed (losses are what a preview shows); the
	// preview's confirmationRequired says whether applying it needs that.
	pv, err := s.st.Preview(r.Context(), t, change)
	if err != nil {
		// A direct assignment that would fail is a preview result, not an error.
		if c := allot.ErrorCode(err); c.IsLicensing() && b.Action == "userAssignLicense" {
			writeJSON(w, http.StatusOK, map[string]any{"usersEvaluated": 1, "products": []any{},
				"summary": "Would fail: " + allot.ErrorMessage(err),
				"error":   map[string]any{"code": string(c), "licenseError": c.LicenseError(), "message": allot.ErrorMessage(err)}})
			return nil
		}
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}
