package web

import (
	"net/http"
	"strconv"

	"allot/events"
	"allot/httpapi"
	"allot/store/sqlstore"
)

// ---- Webhooks: endpoints, their delivery log, a test event ----

// webhooksModel is the Webhooks page: the organization's webhook
// endpoints (never a secret).
type webhooksModel struct {
	Endpoints []*sqlstore.WebhookEndpoint
}

// webhookModel is one endpoint's page: its delivery log, newest first,
// a page at a time, and the "Send test event" button.
type webhookModel struct {
	E        *sqlstore.WebhookEndpoint
	Attempts []sqlstore.WebhookAttempt
	Next     int64  // the attempt id the next page starts before (0: none)
	Sent     string // the id of the test event just queued
}

// webhookLogPage is how many delivery attempts one page shows.
const webhookLogPage = 25

func (s *Server) webhooks(q *req) error {
	es, err := s.st.WebhookEndpoints(q.ctx(), q.tenant())
	if err != nil {
		return err
	}
	return q.render(webhooksPage(q.view("Webhooks", "webhooks"), &webhooksModel{Endpoints: es}))
}

// loadWebhook reads the endpoint of the path and a page of its log.
func (s *Server) loadWebhook(q *req) (*webhookModel, error) {
	e, err := s.st.WebhookEndpoint(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	before, _ := strconv.ParseInt(q.r.URL.Query().Get("before"), 10, 64)
	as, next, err := s.st.WebhookAttempts(q.ctx(), e.ID, max(0, before), webhookLogPage)
	if err != nil {
		return nil, err
	}
	return &webhookModel{E: e, Attempts: as, Next: next, Sent: q.r.URL.Query().Get("sent")}, nil
}

func (s *Server) webhook(q *req) error {
	m, err := s.loadWebhook(q)
	if err != nil {
		return err
	}
	return q.render(webhookPage(q.view("Webhook "+m.E.URL, "webhooks"), m))
}

// webhookLog is the delivery log fragment the page polls while open.
func (s *Server) webhookLog(q *req) error {
	m, err := s.loadWebhook(q)
	if err != nil {
		return err
	}
	return q.render(webhookLogTable(m))
}

// sendWebhookTest queues a test event through the endpoint's outbox, as
// POST /allot/v1/webhookEndpoints/{id}/test does, and shows the page again.
func (s *Server) sendWebhookTest(q *req) error {
	e, err := s.st.WebhookEndpoint(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	id, err := events.EnqueueTest(q.ctx(), s.st, q.p.Tenant.GUID, e, "the admin center's Send test event")
	if err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/webhooks/"+e.GUID, "sent", id), http.StatusSeeOther)
	return nil
}

// attemptState says a delivery attempt's outcome in words, with its tag class.
func attemptState(a sqlstore.WebhookAttempt) (string, string) {
	switch a.State {
	case sqlstore.WebhookDelivered:
		return "Delivered", "tag ok"
	case sqlstore.WebhookDead:
		return "Gave up", "tag off"
	}
	return "Will retry", "tag warn"
}

// attemptAnswer is what the receiver answered: its HTTP status, or why
// there was no answer.
func attemptAnswer(a sqlstore.WebhookAttempt) string {
	if a.HTTPStatus == 0 {
		return "no answer: " + a.Error
	}
	return strconv.Itoa(a.HTTPStatus) + " " + http.StatusText(a.HTTPStatus)
}

// webhooksNeed is what the pages need: the API's GET of webhook endpoints
// needs the same.
const webhooksNeed = httpapi.PermProductsRead
