package httpapi

import (
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/alerts"
	"allot/store"
	"allot/store/sqlstore"
)

// Alert rules on seats (docs/api.md, "Alert rules"): allot's admin API
// under /allot/v1/alertRules. The watcher (alerts.Watcher, run by allot
// serve) checks them and sends each episode's firing and resolved.

func (s *Server) alertRoutes() {
	s.handle("POST /allot/v1/alertRules", PermProductsWrite, s.createAlertRule)
	s.handle("GET /allot/v1/alertRules", PermProductsRead, s.listAlertRules)
	s.handle("DELETE /allot/v1/alertRules/{id}", PermProductsWrite, s.deleteAlertRule)
}

// AlertRuleBody is a new alert rule as POST /allot/v1/alertRules takes it.
type AlertRuleBody struct {
	DisplayName string   `json:"displayName"`
	Product     string   `json:"product"` // skuPartNumber or skuId; empty: the whole tenant
	Metric      string   `json:"metric"`
	Threshold   *float64 `json:"threshold"`
	Group       string   `json:"group"`      // licenseErrors only: count the licenses this group assigns
	ForMinutes  *float64 `json:"forMinutes"` // fire only once the condition has held this long
	WebhookURL  string   `json:"webhookUrl"`
	Emails      []string `json:"emails"`
	// WebhookEndpoint is the id of a webhook endpoint the rule sends
	// through, as signed CloudEvents (allot.alert.fired, allot.alert.resolved).
	WebhookEndpoint string `json:"webhookEndpointId"`
}

func (s *Server) createAlertRule(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b AlertRuleBody
	if err := decodeBody(r, &b, "alertRule", "id", "status", "changedDateTime", "createdDateTime"); err != nil {
		return err
	}
	a, err := s.CreateAlertRule(r, p, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, alertRuleJSON(a))
	return nil
}

// CreateAlertRule checks and stores a new alert rule of the principal's
// tenant (the API's POST and the admin center's form).
func (s *Server) CreateAlertRule(r *http.Request, p *store.Principal, b AlertRuleBody) (*sqlstore.AlertRule, error) {
	if strings.TrimSpace(b.DisplayName) == "" {
		return nil, allot.Errorf(allot.EInvalid, "displayName is required: say what the alert is about, such as \"Insights almost full\".")
	}
	metric, err := alerts.ParseMetric(b.Metric)
	if err != nil {
		return nil, err
	}
	if b.Threshold == nil {
		return nil, allot.Errorf(allot.EInvalid, "threshold is required.")
	}
	if err := alerts.CheckRule(s.limits.Webhooks, metric, *b.Threshold, b.WebhookURL, b.Emails, b.WebhookEndpoint != ""); err != nil {
		return nil, err
	}
	a := &sqlstore.AlertRule{GUID: newGUID(), TenantID: p.Tenant.ID, Name: strings.TrimSpace(b.DisplayName), Metric: metric,
		Threshold: *b.Threshold, WebhookURL: b.WebhookURL, Emails: b.Emails}
	if err := s.alertRuleScope(r, p, &b, a); err != nil {
		return nil, err
	}
	if b.WebhookEndpoint != "" {
		e, err := s.st.WebhookEndpoint(r.Context(), p.Tenant.ID, b.WebhookEndpoint)
		if err != nil {
			return nil, err
		}
		a.WebhookEndpointID, a.WebhookEndpoint = e.ID, e.GUID
	}
	if err := s.st.CreateAlertRule(r.Context(), a); err != nil {
		return nil, err
	}
	return a, nil
}

// alertRuleScope sets the rule's product, group and duration from the body.
func (s *Server) alertRuleScope(r *http.Request, p *store.Principal, b *AlertRuleBody, a *sqlstore.AlertRule) error {
	if b.ForMinutes != nil {
		if f := *b.ForMinutes; f < 0 || f > 30*24*60 || f != f {
			return allot.Errorf(allot.EInvalid, "forMinutes %v is not valid: give how long the condition must hold before the alert fires, from 0 to 43200 minutes (30 days).", f)
		}
		a.For = time.Duration(*b.ForMinutes * float64(time.Minute))
	}
	if b.Product != "" {
		if a.Metric == alerts.ProcessingLag {
			return allot.Errorf(allot.EInvalid, "processingLagMinutes watches the whole organization's license processing: leave product out.")
		}
		prod, err := s.st.Product(r.Context(), p.Tenant.ID, b.Product)
		if err != nil {
			return err
		}
		a.ProductID, a.Product, a.SkuID, a.ProductName = prod.ID, prod.SkuPartNumber, prod.SkuID, prod.DisplayName
	}
	if b.Group == "" {
		return nil
	}
	if a.Metric != alerts.LicenseErrors {
		return allot.Errorf(allot.EInvalid, "group can only be given with the licenseErrors metric (users with license errors from that group).")
	}
	g, err := s.st.Group(r.Context(), p.Tenant.ID, b.Group)
	if err != nil {
		return err
	}
	a.GroupID, a.Group, a.GroupGUID = g.ID, g.DisplayName, g.GUID
	return nil
}

func alertRuleJSON(a *sqlstore.AlertRule) map[string]any {
	status := "ok"
	if a.Firing {
		status = "firing"
	}
	emails := a.Emails
	if emails == nil {
		emails = []string{}
	}
	m := map[string]any{"id": a.GUID, "displayName": a.Name, "product": nullable(a.Product), "metric": alerts.MetricName(a.Metric),
		"threshold": a.Threshold, "webhookUrl": nullable(a.WebhookURL), "webhookEndpointId": nullable(a.WebhookEndpoint), "emails": emails, "status": status,
		"condition": alerts.Describe(a), "createdDateTime": a.Created.Format("2006-01-02T15:04:05Z"),
		"group": nullable(a.GroupGUID), "forMinutes": a.For.Minutes(), "link": alerts.Page(a)}
	if a.ChangedAt.UnixMilli() > 0 {
		m["changedDateTime"] = a.ChangedAt.Format("2006-01-02T15:04:05Z")
	}
	return m
}

func (s *Server) listAlertRules(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	rules, err := s.st.AlertRules(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	vals := make([]map[string]any, 0, len(rules))
	for _, a := range rules {
		vals = append(vals, alertRuleJSON(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": vals})
	return nil
}

func (s *Server) deleteAlertRule(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.DeleteAlertRule(r.Context(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
