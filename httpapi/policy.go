package httpapi

import (
	"context"
	"net/http"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// policyRoutes serve products' assignment policies and the move of direct
// assignments to a group (docs/api.md, "Assignment policies").
func (s *Server) policyRoutes() {
	s.handle("GET /allot/v1/subscribedSkus/{id}/assignmentPolicy", PermProductsRead, s.getPolicy)
	s.handle("POST /allot/v1/subscribedSkus/{id}/moveDirectAssignments", PermProductsWrite, s.moveDirect)
}

func policyJSON(rep *sqlstore.PolicyReport) map[string]any {
	groups := make([]map[string]any, 0, len(rep.Groups))
	for _, g := range rep.Groups {
		groups = append(groups, map[string]any{"id": g.GUID, "displayName": g.DisplayName})
	}
	out := map[string]any{"skuId": rep.Product.SkuID, "skuPartNumber": rep.Product.SkuPartNumber, "displayName": rep.Product.DisplayName,
		"assignmentPolicy": rep.Policy, "directAssignments": rep.DirectAssignments, "assigningGroups": groups}
	switch rep.Policy {
	case allot.PolicyGroupOnly:
		out["message"] = plural(rep.DirectAssignments, "user holds", "users hold") + " it directly; new direct assignments are refused. Move them with POST /allot/v1/subscribedSkus/" + rep.Product.SkuID + "/moveDirectAssignments."
	case allot.PolicyDirectOnly:
		out["message"] = plural(len(rep.Groups), "group assigns", "groups assign") + " it; new group assignments are refused."
	default:
		out["message"] = "Direct and group assignments are allowed."
	}
	return out
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	rep, err := s.st.AssignmentPolicy(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyJSON(rep))
	return nil
}

// moveDirect moves a product's direct assignments to a group:
// {"groupId", "preview"}. With preview it changes nothing and answers what
// it would do, with the licensing preview of the change.
func (s *Server) moveDirect(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		GroupID string `json:"groupId"`
		Preview bool   `json:"preview"`
	}
	if err := decodeBody(r, &b, "moveDirectAssignments"); err != nil {
		return err
	}
	if b.GroupID == "" {
		return allot.Errorf(allot.EInvalid, "Send {\"groupId\": \"...\"}: the group that takes over the direct assignments (it must assign the product).")
	}
	res, pv, err := s.MoveDirect(r.Context(), p, r.PathValue("id"), b.GroupID, b.Preview)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, moveJSON(res, pv))
	return nil
}

// MoveDirect moves a product's direct assignments to a group for the
// principal, or with preview set says what it would do (with the
// licensing preview) and changes nothing. The admin center uses it.
func (s *Server) MoveDirect(ctx context.Context, p *store.Principal, sku, group string, preview bool) (*sqlstore.MoveResult, *store.Preview, error) {
	t, a := p.Tenant.ID, p.Actor()
	var res *sqlstore.MoveResult
	move := func(ctx context.Context) error {
		var err error
		res, err = s.st.MoveDirectToGroup(ctx, a, t, sku, group)
		return err
	}
	if !preview {
		return res, nil, move(ctx)
	}
	pv, err := s.st.Preview(ctx, t, move)
	return res, pv, err
}

// MoveSummary says what a move did (or, previewed, would do) in words.
func MoveSummary(res *sqlstore.MoveResult, preview bool) string {
	verb := "moved"
	if preview {
		verb = "would move"
	}
	return "This " + verb + " " + plural(res.Moved, "direct assignment", "direct assignments") + " of " + res.Product.DisplayName +
		" to group '" + res.Group.DisplayName + "'; " + plural(len(res.Kept), "user keeps", "users keep") + " a direct assignment; nobody is left unlicensed."
}

func moveJSON(res *sqlstore.MoveResult, pv *store.Preview) map[string]any {
	kept := make([]map[string]any, 0, len(res.Kept))
	for _, k := range res.Kept {
		kept = append(kept, map[string]any{"userId": k.UserGUID, "userPrincipalName": k.UserPrincipalName, "code": string(k.Code), "message": k.Message})
	}
	out := map[string]any{"preview": pv != nil, "moved": res.Moved, "membersAdded": res.MembersAdded, "kept": kept, "unlicensed": 0}
	if res.Product != nil && res.Group != nil {
		out["skuPartNumber"], out["groupId"], out["groupDisplayName"] = res.Product.SkuPartNumber, res.Group.GUID, res.Group.DisplayName
		verb := "moved"
		if pv != nil {
			verb = "would move"
		}
		out["summary"] = "This " + verb + " " + plural(res.Moved, "direct assignment", "direct assignments") + " of " + res.Product.SkuPartNumber +
			" to group '" + res.Group.DisplayName + "'; " + plural(len(res.Kept), "user keeps", "users keep") + " a direct assignment; nobody is left unlicensed."
	}
	if pv != nil {
		out["licenseChanges"] = pv
	}
	return out
}
