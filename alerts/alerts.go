// Package alerts watches seat counts against alert rules (available seats
// at most N, utilisation at least X %, a waiting list longer than N; per
// product or for the whole tenant) and tells admins, once per episode,
// when a rule fires and when it resolves: by webhook (a plain JSON POST)
// and by e-mail over SMTP.
package alerts

import (
	"allot/internal/egress"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strings"

	"allot"
	"allot/store/sqlstore"
)

// Metrics a rule watches.
const (
	AvailableSeats = 0 // fires when available seats ≤ threshold
	Utilization    = 1 // fires when consumed/enabled ≥ threshold %
	WaitingList    = 2 // fires when members waiting > threshold
)

// metricNames are the metrics as the API spells them.
var metricNames = []string{"availableSeats", "utilization", "waitingList"}

// MetricName returns the API's name of a metric.
func MetricName(m int) string {
	if m >= 0 && m < len(metricNames) {
		return metricNames[m]
	}
	return "unknown"
}

// ParseMetric parses a metric's API name.
func ParseMetric(s string) (int, error) {
	for i, n := range metricNames {
		if strings.EqualFold(n, strings.TrimSpace(s)) {
			return i, nil
		}
	}
	return 0, allot.Errorf(allot.EInvalid, "metric '%s' is not valid; use availableSeats (fires at or below the threshold), utilization (percent, fires at or above) or waitingList (fires above).", s)
}

// CheckRule checks a rule's threshold and destinations (viaEndpoint: it
// names a webhook endpoint too).
func CheckRule(p egress.Policy, metric int, threshold float64, webhook string, emails []string, viaEndpoint bool) error {
	if math.IsNaN(threshold) || threshold < 0 || (metric == Utilization && threshold > 100) {
		return allot.Errorf(allot.EInvalid, "threshold %v is not valid for %s (a number of seats, or a percent from 0 to 100).", threshold, MetricName(metric))
	}
	if webhook == "" && len(emails) == 0 && !viaEndpoint {
		return allot.Errorf(allot.EInvalid, "An alert rule needs somewhere to send: webhookEndpointId, webhookUrl, emails or more than one.")
	}
	if webhook != "" {
		u, err := url.Parse(webhook)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return allot.Errorf(allot.EInvalid, "webhookUrl '%s' is not an absolute http or https URL.", webhook)
		}
		if err := p.CheckURL(u); err != nil {
			return allot.Errorf(allot.EInvalid, "webhookUrl '%s' is refused: %s.", webhook, err)
		}
	}
	for _, e := range emails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return allot.Errorf(allot.EInvalid, "'%s' is not an e-mail address (name@example.com).", e)
		}
	}
	return nil
}

// Value is what the rule's metric measures in the counts.
func Value(metric int, c sqlstore.AlertSeats) float64 {
	switch metric {
	case AvailableSeats:
		return float64(max(0, c.Enabled-c.Consumed))
	case Utilization:
		if c.Enabled <= 0 {
			if c.Consumed > 0 {
				return 100
			}
			return 0
		}
		return 100 * float64(c.Consumed) / float64(c.Enabled)
	default:
		return float64(c.Waiting)
	}
}

// Breached reports whether the counts meet the rule's condition.
func Breached(metric int, threshold float64, c sqlstore.AlertSeats) bool {
	v := Value(metric, c)
	switch metric {
	case AvailableSeats:
		return v <= threshold
	case Utilization:
		return v >= threshold
	default:
		return v > threshold
	}
}

// Describe says the rule's condition in an admin's words.
func Describe(a *sqlstore.AlertRule) string {
	what := a.Product
	if what == "" {
		what = "all products"
	}
	switch a.Metric {
	case AvailableSeats:
		return fmt.Sprintf("%s: available seats ≤ %g", what, a.Threshold)
	case Utilization:
		return fmt.Sprintf("%s: ≥ %g%% of seats used", what, a.Threshold)
	default:
		return fmt.Sprintf("%s: more than %g waiting for a seat", what, a.Threshold)
	}
}
