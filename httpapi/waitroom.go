package httpapi

import (
	"net/http"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// Fallback chains of group assignments and the waiting room (docs/api.md,
// "Fallback chains" and "Waiting room").

func (s *Server) waitroomRoutes() {
	s.handle("GET /allot/v1/groups/{id}/licenseFallbacks/{skuId}", PermGroupsRead, s.getFallbacks)
	s.handle("PUT /allot/v1/groups/{id}/licenseFallbacks/{skuId}", PermLicensesWrite, s.setFallbacks)
	s.handle("GET /allot/v1/groups/{id}/waitingRoomPriority", PermGroupsRead, s.getWaitingVIP)
	s.handle("PATCH /allot/v1/groups/{id}/waitingRoomPriority", PermLicensesWrite, s.setWaitingVIP)
	s.handle("GET /allot/v1/subscribedSkus/{id}/waitingRoom", PermProductsRead, s.getWaitingRoom)
	s.handle("POST /allot/v1/subscribedSkus/{id}/waitingRoom/{userId}/moveUp", PermLicensesWrite, s.moveUpWaiter)
}

func fallbacksJSON(f *sqlstore.Fallbacks) map[string]any {
	ids := make([]string, 0, len(f.Fallbacks))
	names := make([]string, 0, len(f.Fallbacks))
	for _, p := range f.Fallbacks {
		ids = append(ids, p.SkuID)
		names = append(names, p.DisplayName)
	}
	return map[string]any{"groupId": f.Group.GUID, "skuId": f.Product.SkuID, "skuPartNumber": f.Product.SkuPartNumber,
		"displayName": f.Product.DisplayName, "fallbackSkuIds": ids, "fallbackDisplayNames": names}
}

func (s *Server) getFallbacks(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	f, err := s.st.GroupLicenseFallbacks(r.Context(), p.Tenant.ID, r.PathValue("id"), r.PathValue("skuId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fallbacksJSON(f))
	return nil
}

func (s *Server) setFallbacks(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		FallbackSkuIDs *[]string `json:"fallbackSkuIds"`
	}
	if err := decodeBody(r, &b, "licenseFallbacks", "groupId", "skuId", "skuPartNumber", "displayName", "fallbackDisplayNames"); err != nil {
		return err
	}
	if b.FallbackSkuIDs == nil {
		return allot.Errorf(allot.EInvalid, "Send {\"fallbackSkuIds\": [\"...\"]}: the products a member gets, in order, while no seat of this product is free ([] removes the fallbacks).")
	}
	f, err := s.st.SetGroupLicenseFallbacks(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), r.PathValue("skuId"), *b.FallbackSkuIDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fallbacksJSON(f))
	return nil
}

func (s *Server) getWaitingVIP(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	g, vip, err := s.st.GroupWaitingVIP(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": g.GUID, "displayName": g.DisplayName, "vip": vip})
	return nil
}

func (s *Server) setWaitingVIP(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		VIP *bool `json:"vip"`
	}
	if err := decodeBody(r, &b, "waitingRoomPriority", "id", "displayName"); err != nil {
		return err
	}
	if b.VIP == nil {
		return allot.Errorf(allot.EInvalid, "Send {\"vip\": true} (the group's members go ahead of others in every waiting room) or {\"vip\": false}.")
	}
	if err := s.st.SetGroupWaitingVIP(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), *b.VIP); err != nil {
		return err
	}
	return s.getWaitingVIP(w, r, p)
}

func waitEntryJSON(e sqlstore.WaitEntry) map[string]any {
	out := map[string]any{"position": e.Position, "userId": e.UserGUID, "userPrincipalName": e.UPN, "displayName": e.DisplayName,
		"waitingSinceDateTime": time.UnixMilli(e.Since).UTC().Format(time.RFC3339), "vip": e.VIP, "reason": e.Reason,
		"groupDisplayName": nilIfEmpty(e.Group), "moveUpReason": nilIfEmpty(e.MoveReason), "fallbackSkuId": nil, "fallbackDisplayName": nil}
	if e.Fallback != nil {
		out["fallbackSkuId"], out["fallbackDisplayName"] = e.Fallback.SkuID, e.Fallback.DisplayName
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) getWaitingRoom(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, after, err := s.query(r)
	if err != nil {
		return err
	}
	if q.Filter != nil || q.Count {
		return allot.Errorf(allot.EInvalid, "The waiting room takes $top and $skiptoken only; it comes in the order its users get seats.")
	}
	room, err := s.st.ProductWaitingRoom(r.Context(), p.Tenant.ID, r.PathValue("id"), int(after), q.Top)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(room.Entries))
	for _, e := range room.Entries {
		items = append(items, waitEntryJSON(e))
	}
	s.list(w, r, "waitingRoom", items, skipToken(r, int64(room.Next)), -1, q.Select)
	return nil
}

func (s *Server) moveUpWaiter(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		Position *int   `json:"position"`
		Reason   string `json:"reason"`
	}
	if err := decodeBody(r, &b, "moveUp"); err != nil {
		return err
	}
	if b.Position == nil {
		return allot.Errorf(allot.EInvalid, "Send {\"position\": 1, \"reason\": \"...\"}: the place in line to move the user to (1 is the head) and why.")
	}
	if err := s.st.MoveUpWaiter(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), r.PathValue("userId"), *b.Position, b.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
