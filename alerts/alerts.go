// Package alerts watches seat counts against alert rules (available seats
// at most N, utilisation at least X %, a waiting list longer than N, users
// with license errors, the longest wait for a seat, processing lag, users
// under a reclamation notice; per product or for the whole tenant, license
// errors also per group; optionally only once the condition has held for a
// while) and tells admins, once per episode,
// when a rule fires and when it resolves: by webhook (a plain JSON POST)
// and by e-mail over SMTP.
package alerts

import (
	"allot/internal/egress"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/store/sqlstore"
)

// Metrics a rule watches.
const (
	AvailableSeats     = 0 // fires when available seats ≤ threshold
	Utilization        = 1 // fires when consumed/enabled ≥ threshold %
	WaitingList        = 2 // fires when members waiting > threshold
	LicenseErrors      = 3 // fires when users with a license in error > threshold
	OldestWait         = 4 // fires when the longest wait for a seat > threshold minutes
	ProcessingLag      = 5 // fires when the oldest unprocessed change > threshold minutes
	ReclamationNotices = 6 // fires when users under a reclamation notice > threshold
)

// metricNames are the metrics as the API spells them.
var metricNames = []string{"availableSeats", "utilization", "waitingList", "licenseErrors", "oldestWaitMinutes",
	"processingLagMinutes", "reclamationNotices"}

// Needs returns the counts beyond the seats a metric reads.
func Needs(metric int) sqlstore.AlertNeeds {
	switch metric {
	case LicenseErrors:
		return sqlstore.NeedErrors
	case OldestWait:
		return sqlstore.NeedOldestWait
	case ProcessingLag:
		return sqlstore.NeedLag
	case ReclamationNotices:
		return sqlstore.NeedNotices
	}
	return 0
}

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
	return 0, allot.Errorf(allot.EInvalid, "metric '%s' is not valid; use availableSeats (fires at or below the threshold), utilization (percent, fires at or above), or one that fires above the threshold: waitingList, licenseErrors, oldestWaitMinutes, processingLagMinutes or reclamationNotices.", s)
}

// CheckRule checks a rule's threshold and destinations (viaEndpoint: it
// names a webhook endpoint too).
func CheckRule(p egress.Policy, metric int, threshold float64, webhook string, emails []string, viaEndpoint bool) error {
	if math.IsNaN(threshold) || threshold < 0 || (metric == Utilization && threshold > 100) {
		return allot.Errorf(allot.EInvalid, "threshold %v is not valid for %s (a count or minutes from 0, or a percent from 0 to 100).", threshold, MetricName(metric))
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
	case LicenseErrors:
		return float64(c.Errors)
	case OldestWait:
		return c.OldestWait.Minutes()
	case ProcessingLag:
		return c.Lag.Minutes()
	case ReclamationNotices:
		return float64(c.Notices)
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
	what := a.ProductName
	if what == "" {
		what = a.Product
	}
	if what == "" {
		what = "all products"
	}
	var cond string
	switch a.Metric {
	case AvailableSeats:
		cond = fmt.Sprintf("%s: available seats ≤ %s", what, num(a.Threshold))
	case Utilization:
		cond = fmt.Sprintf("%s: ≥ %s%% of seats used", what, num(a.Threshold))
	case LicenseErrors:
		if a.Group != "" {
			what += " from group " + a.Group
		}
		cond = fmt.Sprintf("%s: more than %s users with license errors", what, num(a.Threshold))
	case OldestWait:
		cond = fmt.Sprintf("%s: someone has waited for a seat more than %s minutes", what, num(a.Threshold))
	case ProcessingLag:
		cond = fmt.Sprintf("license processing more than %s minutes behind", num(a.Threshold))
	case ReclamationNotices:
		cond = fmt.Sprintf("%s: more than %s users under a reclamation notice", what, num(a.Threshold))
	default:
		cond = fmt.Sprintf("%s: more than %s waiting for a seat", what, num(a.Threshold))
	}
	if a.For > 0 {
		cond += fmt.Sprintf(", for %s", a.For.Round(time.Second))
	}
	return cond
}

// Page is the admin center's page (a path) that shows what the rule
// watches: its group's, its product's, or the licenses overview.
func Page(a *sqlstore.AlertRule) string {
	switch {
	case a.GroupGUID != "":
		return "/groups/" + a.GroupGUID
	case a.Metric == ProcessingLag:
		return "/licenses"
	case a.SkuID != "":
		return "/licenses/" + a.SkuID
	}
	return "/licenses"
}

// num writes a threshold without exponent: 1000000, 0.5.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
