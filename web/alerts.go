package web

import (
	"net/http"
	"strconv"
	"strings"

	"allot"
	"allot/alerts"
	"allot/httpapi"
	"allot/store/sqlstore"
)

// ---- Alerts: the alert rules, their state, create and delete ----

// alertsModel is the Alerts page: every rule with its state, and the form
// of a new rule (Form keeps what was typed when it was refused).
type alertsModel struct {
	Rules     []*sqlstore.AlertRule
	Products  []*allot.Product
	Endpoints []*sqlstore.WebhookEndpoint
	Form      alertForm
	Err, Done string
}

// alertForm is the new-rule form as typed.
type alertForm struct {
	Name, Metric, Product, Threshold, ForMinutes, WebhookURL, Emails, Endpoint string
}

// metricChoice is a metric in the form's picker: its API name and words.
type metricChoice struct{ Name, Words string }

// metricChoices are the metrics an admin may pick, in words.
var metricChoices = []metricChoice{
	{"utilization", "Seats used reach a percent (threshold: percent)"},
	{"availableSeats", "Available seats fall to a number (threshold: seats)"},
	{"waitingList", "More people wait for a seat than (threshold: people)"},
	{"oldestWaitMinutes", "Someone waits for a seat longer than (threshold: minutes)"},
	{"licenseErrors", "More users have license errors than (threshold: users)"},
	{"processingLagMinutes", "License processing is behind by more than (threshold: minutes; whole organization)"},
	{"reclamationNotices", "More users are under a reclamation notice than (threshold: users)"},
}

// alertsNeed is what the page needs; creating and deleting need products
// write, as in the API.
const alertsNeed = httpapi.PermProductsRead

func (s *Server) alertsPage(q *req) error {
	m, err := s.loadAlerts(q)
	if err != nil {
		return err
	}
	m.Form = alertForm{Metric: "utilization", Threshold: "90"}
	switch q.r.URL.Query().Get("done") {
	case "created":
		m.Done = "Alert rule created. It is checked every few seconds."
	case "deleted":
		m.Done = "Alert rule deleted."
	}
	return q.render(alertsView(q.view("Alerts", "alerts"), m))
}

func (s *Server) loadAlerts(q *req) (*alertsModel, error) {
	m := &alertsModel{}
	var err error
	if m.Rules, err = s.st.AlertRules(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	if m.Products, err = s.st.Products(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	m.Endpoints, err = s.st.WebhookEndpoints(q.ctx(), q.tenant())
	return m, err
}

// createAlert creates a rule from the form with the API's checks.
func (s *Server) createAlert(q *req) error {
	f := q.r.PostForm
	form := alertForm{Name: f.Get("name"), Metric: f.Get("metric"), Product: f.Get("product"), Threshold: f.Get("threshold"),
		ForMinutes: f.Get("forMinutes"), WebhookURL: strings.TrimSpace(f.Get("webhookUrl")), Emails: f.Get("emails"), Endpoint: f.Get("endpoint")}
	b, err := form.body()
	if err == nil {
		_, err = s.api.CreateAlertRule(q.r, q.p, b)
	}
	if err != nil {
		if !isUserError(err) {
			return err
		}
		m, lerr := s.loadAlerts(q)
		if lerr != nil {
			return lerr
		}
		m.Form, m.Err = form, allot.ErrorMessage(err)
		return q.renderStatus(http.StatusUnprocessableEntity, alertsView(q.view("Alerts", "alerts"), m))
	}
	http.Redirect(q.w, q.r, query("/alerts", "done", "created"), http.StatusSeeOther)
	return nil
}

// body is the form as the API's body; numbers that do not parse are
// refused in words.
func (f alertForm) body() (httpapi.AlertRuleBody, error) {
	b := httpapi.AlertRuleBody{DisplayName: f.Name, Metric: f.Metric, Product: f.Product, WebhookURL: f.WebhookURL, WebhookEndpoint: f.Endpoint}
	th, err := strconv.ParseFloat(strings.TrimSpace(f.Threshold), 64)
	if err != nil {
		return b, allot.Errorf(allot.EInvalid, "Enter the threshold as a number, such as 90.")
	}
	b.Threshold = &th
	if strings.TrimSpace(f.ForMinutes) != "" {
		m, err := strconv.ParseFloat(strings.TrimSpace(f.ForMinutes), 64)
		if err != nil {
			return b, allot.Errorf(allot.EInvalid, "Enter for how many minutes the condition must hold as a number, or leave it empty.")
		}
		b.ForMinutes = &m
	}
	for _, e := range strings.FieldsFunc(f.Emails, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
		b.Emails = append(b.Emails, e)
	}
	return b, nil
}

// deleteAlert deletes the rule of the form.
func (s *Server) deleteAlert(q *req) error {
	if err := s.st.DeleteAlertRule(q.ctx(), q.tenant(), q.r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/alerts", "done", "deleted"), http.StatusSeeOther)
	return nil
}

// alertState is a rule's state in words, with its tag class.
func alertState(a *sqlstore.AlertRule) (string, string) {
	if a.Firing {
		return "Firing", "tag warn"
	}
	if !a.BreachedSince.IsZero() {
		return "Pending", "tag busy"
	}
	return "OK", "tag ok"
}

// alertDestinations says where a rule sends, in words.
func alertDestinations(a *sqlstore.AlertRule) []string {
	var out []string
	if a.WebhookURL != "" {
		out = append(out, "Webhook "+a.WebhookURL)
	}
	if a.WebhookEndpoint != "" {
		out = append(out, "Webhook endpoint (signed)")
	}
	for _, e := range a.Emails {
		out = append(out, "E-mail "+e)
	}
	return out
}

// metricWords is a metric's name in words for the rules table.
func metricWords(metric int) string {
	name := alerts.MetricName(metric)
	for _, c := range metricChoices {
		if c.Name == name {
			return c.Words[:strings.Index(c.Words, " (")]
		}
	}
	return name
}

// alertsDescribe is the rule's condition in words.
func alertsDescribe(a *sqlstore.AlertRule) string { return alerts.Describe(a) }
