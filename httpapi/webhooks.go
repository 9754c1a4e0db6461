package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"allot"
	"allot/events"
	"allot/odata"
	"allot/store"
	"allot/store/sqlstore"
)

// Webhook endpoints (docs/api.md, "Webhook endpoints"): allot's admin API
// under /allot/v1/webhookEndpoints. The events dispatcher (allot serve)
// delivers each endpoint's outbox as signed CloudEvents.

func (s *Server) webhookRoutes() {
	s.handle("POST /allot/v1/webhookEndpoints", PermProductsWrite, s.createWebhook)
	s.handle("GET /allot/v1/webhookEndpoints", PermProductsRead, s.listWebhooks)
	s.handle("GET /allot/v1/webhookEndpoints/{id}", PermProductsRead, s.getWebhook)
	s.handle("DELETE /allot/v1/webhookEndpoints/{id}", PermProductsWrite, s.deleteWebhook)
	s.handle("GET /allot/v1/webhookEndpoints/{id}/deliveries", PermProductsRead, s.listWebhookDeliveries)
	s.handle("POST /allot/v1/webhookEndpoints/{id}/test", PermProductsWrite, s.testWebhook)
}

// maxWebhooks bounds a tenant's webhook endpoints.
const maxWebhooks = 100

type webhookBody struct {
	URL         string `json:"url"`
	Description string `json:"description"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b webhookBody
	if err := decodeBody(r, &b, "webhookEndpoint", "id", "secret", "createdDateTime"); err != nil {
		return err
	}
	if err := s.checkWebhookURL(b.URL); err != nil {
		return err
	}
	if len(b.Description) > 500 {
		return allot.Errorf(allot.EInvalid, "description is at most 500 characters.")
	}
	if existing, err := s.st.WebhookEndpoints(r.Context(), p.Tenant.ID); err != nil {
		return err
	} else if len(existing) >= maxWebhooks {
		return allot.Errorf(allot.EForbidden, "The tenant has %d webhook endpoints, the most allowed; delete some first.", maxWebhooks)
	}
	e := &sqlstore.WebhookEndpoint{GUID: newGUID(), TenantID: p.Tenant.ID, URL: b.URL, Description: strings.TrimSpace(b.Description),
		Secret: newWebhookSecret()}
	if err := s.st.CreateWebhookEndpoint(r.Context(), p.Actor(), e); err != nil {
		return err
	}
	out := webhookJSON(e)
	out["secret"] = e.Secret // shown this once
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// checkWebhookURL says why events may not go to raw, or returns nil.
func (s *Server) checkWebhookURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return allot.Errorf(allot.EInvalid, "url is required: where to POST the events, such as https://hooks.example.com/allot.")
	}
	u, err := url.Parse(raw)
	if len(raw) > 2048 {
		return allot.Errorf(allot.EInvalid, "url is at most 2048 characters.")
	}
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return allot.Errorf(allot.EInvalid, "url '%s' is not an absolute http or https URL.", raw)
	}
	if err := s.limits.Webhooks.CheckURL(u); err != nil {
		return allot.Errorf(allot.EInvalid, "url '%s' is refused: %s.", raw, err)
	}
	return nil
}

// newWebhookSecret returns a new endpoint secret: "whsec_" and 32 random
// bytes, base64url.
func newWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

func webhookJSON(e *sqlstore.WebhookEndpoint) map[string]any {
	return map[string]any{"id": e.GUID, "url": e.URL, "description": nullable(e.Description), "createdDateTime": graphTime(e.Created)}
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	list, err := s.st.WebhookEndpoints(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	vals := make([]map[string]any, 0, len(list))
	for _, e := range list {
		vals = append(vals, webhookJSON(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": vals})
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	e, err := s.st.WebhookEndpoint(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookJSON(e))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.DeleteWebhookEndpoint(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testWebhook puts an allot.test event in the endpoint's outbox and answers
// 202 with its id.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	e, err := s.st.WebhookEndpoint(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	id, err := events.EnqueueTest(r.Context(), s.st, p.Tenant.GUID, e, "POST /allot/v1/webhookEndpoints/{id}/test")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"eventId": id, "type": events.TypeTest})
	return nil
}

// listWebhookDeliveries lists the endpoint's delivery attempts newest
// first, $top at a time, with @odata.nextLink.
func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := odata.ParseQuery(r.URL.Query(), s.limits.DefaultTop, s.limits.MaxTop)
	if err != nil {
		return err
	}
	before, err := afterCursor(r, q)
	if err != nil {
		return err
	}
	e, err := s.st.WebhookEndpoint(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	list, next, err := s.st.WebhookAttempts(r.Context(), e.ID, before, q.Top)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(list))
	for i, a := range list {
		items[i] = deliveryJSON(a)
	}
	s.list(w, r, "webhookDeliveries", items, skipToken(r, next), -1, q.Select)
	return nil
}

var deliveryStatus = map[int]string{sqlstore.WebhookPending: "retrying", sqlstore.WebhookDelivered: "delivered", sqlstore.WebhookDead: "deadLettered"}

func deliveryJSON(a sqlstore.WebhookAttempt) map[string]any {
	m := map[string]any{"id": strconv.FormatInt(a.ID, 10), "eventId": a.EventID, "eventType": a.Type, "attempt": a.Attempt, "attemptDateTime": graphTime(a.At),
		"httpStatus": nil, "error": nullable(a.Error), "nextRetryDateTime": nil, "status": deliveryStatus[a.State]}
	if a.HTTPStatus != 0 {
		m["httpStatus"] = a.HTTPStatus
	}
	if !a.NextRetry.IsZero() {
		m["nextRetryDateTime"] = graphTime(a.NextRetry)
	}
	return m
}
