package httpapi

import (
	"context"
	"net/http"

	"allot"
	"allot/store"
)

// previewBody is a planned change for POST /allot/v1/preview.
type previewBody struct {
	Action         string       `json:"action"`
	GroupID        string       `json:"groupId"`
	UserID         string       `json:"userId"`
	MemberID       string       `json:"memberId"`
	SkuID          string       `json:"skuId"`
	EnabledUnits   *int         `json:"enabledUnits"`
	AddLicenses    []licenseAdd `json:"addLicenses"`
	RemoveLicenses []string     `json:"removeLicenses"`
	// createGroup and updateGroup: the dynamic group's rule fields.
	DisplayName    *string   `json:"displayName"`
	GroupTypes     *[]string `json:"groupTypes"`
	MembershipRule *string   `json:"membershipRule"`
	RuleState      *string   `json:"membershipRuleProcessingState"`
	// The page of joins and leaves listed (default 10, at most 1,000).
	MembersTop  int `json:"membersTop"`
	MembersSkip int `json:"membersSkip"`
}

// previewActions lists the changes a preview can plan.
const previewActions = "groupAssignLicense, userAssignLicense, addMember, removeMember, setSeats, deleteGroup, createGroup, updateGroup, moveDirectToGroup"

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
	case "moveDirectToGroup":
		if b.GroupID == "" || b.SkuID == "" {
			return allot.Errorf(allot.EInvalid, "moveDirectToGroup needs skuId and groupId.")
		}
		change = func(ctx context.Context) error {
			_, err := s.st.MoveDirectToGroup(ctx, a, t, b.SkuID, b.GroupID)
			return err
		}
	case "deleteGroup":
		if b.GroupID == "" {
			return allot.Errorf(allot.EInvalid, "deleteGroup needs groupId.")
		}
		change = func(ctx context.Context) error {
			return s.st.DeleteGroup(ctx, a, t, b.GroupID, true)
		}
	case "createGroup":
		// The same call as POST /v1.0/groups with a rule.
		g, err := previewGroup(b)
		if err != nil {
			return err
		}
		change = func(ctx context.Context) error { return s.st.CreateGroup(ctx, a, t, g) }
	case "updateGroup":
		if b.GroupID == "" {
			return allot.Errorf(allot.EInvalid, "updateGroup needs groupId.")
		}
		dyn, err := dynamicType(b.GroupTypes)
		if err != nil {
			return err
		}
		change = func(ctx context.Context) error {
			_, err := s.st.UpdateGroup(ctx, a, t, b.GroupID, store.GroupPatch{DisplayName: b.DisplayName, Dynamic: dyn,
				MembershipRule: b.MembershipRule, RuleState: b.RuleState, ConfirmLicenseLoss: true})
			return err
		}
	default:
		return allot.Errorf(allot.EInvalid, "action must be one of %s.", previewActions)
	}
	// The change runs confirmed (losses are what a preview shows); the
	// preview's confirmationRequired says whether applying it needs that.
	if b.MembersTop < 0 || b.MembersTop > store.MaxPreviewMembers || b.MembersSkip < 0 {
		return allot.Errorf(allot.EInvalid, "membersTop is 1 to %d and membersSkip 0 or more.", store.MaxPreviewMembers)
	}
	pv, err := s.st.PreviewPage(r.Context(), t, store.MemberPage{Top: b.MembersTop, Skip: b.MembersSkip}, change)
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

// previewGroup is the dynamic group a createGroup preview creates.
func previewGroup(b previewBody) (*allot.Group, error) {
	if b.MembershipRule == nil {
		return nil, allot.Errorf(allot.EInvalid, "createGroup needs membershipRule.")
	}
	g := &allot.Group{DisplayName: "Rule preview", MembershipRule: *b.MembershipRule, RuleState: allot.RuleOn}
	if b.DisplayName != nil {
		g.DisplayName = *b.DisplayName
	}
	if b.RuleState != nil {
		g.RuleState = *b.RuleState
	}
	return g, nil
}
