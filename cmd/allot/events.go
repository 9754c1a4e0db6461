package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot/alerts"
	"allot/events"
	"allot/internal/egress"
)

// eventsFlags configure the delivery of Graph change notifications.
type eventsFlags struct {
	retry string
	lease time.Duration
	batch int
	poll  time.Duration

	alertsEvery time.Duration
	smtp        alerts.SMTP
	// allowPrivate lets webhooks use plain http and private addresses.
	allowPrivate bool
}

// webhooks is where change notifications and alert webhooks may go.
func (e *eventsFlags) webhooks() egress.Policy { return egress.Policy{AllowPrivate: e.allowPrivate} }

func (e *eventsFlags) add(cmd *cobra.Command) {
	var def []string
	for _, d := range events.DefaultRetry {
		def = append(def, d.String())
	}
	f := cmd.Flags()
	f.StringVar(&e.retry, "events-retry", envOr("ALLOT_EVENTS_RETRY", strings.Join(def, ",")),
		"waits after the 1st, 2nd, … failed delivery of change notifications in a row, comma-separated; the last repeats (env ALLOT_EVENTS_RETRY)")
	f.DurationVar(&e.lease, "events-lease", 30*time.Second, "how long a process holds a subscription without renewing its lease; after a crash another process (or the restarted one) takes it over after this")
	f.IntVar(&e.batch, "events-batch", 100, "most change notifications in one POST")
	f.DurationVar(&e.poll, "events-poll", 100*time.Millisecond, "how often subscriptions read the change feed")
	f.BoolVar(&e.allowPrivate, "webhook-allow-private", envOr("ALLOT_WEBHOOK_ALLOW_PRIVATE", "") == "true",
		"let change notifications, their validation and alert webhooks use plain http and private, loopback and link-local addresses; by default they go to https URLs of public addresses only (env ALLOT_WEBHOOK_ALLOW_PRIVATE=true)")
	f.DurationVar(&e.alertsEvery, "alerts-every", 2*time.Second, "how often alert rules are checked against the seat counts")
	f.StringVar(&e.smtp.Addr, "smtp-addr", os.Getenv("ALLOT_SMTP_ADDR"), "SMTP server (host:port) that alert e-mails go through; STARTTLS when it offers it (env ALLOT_SMTP_ADDR; default: no e-mail)")
	f.StringVar(&e.smtp.From, "smtp-from", envOr("ALLOT_SMTP_FROM", "allot@localhost"), "sender address of alert e-mails (env ALLOT_SMTP_FROM)")
	f.StringVar(&e.smtp.Username, "smtp-user", os.Getenv("ALLOT_SMTP_USER"), "SMTP user for PLAIN authentication, with the password in ALLOT_SMTP_PASSWORD (env ALLOT_SMTP_USER)")
}

// alertsConfig returns the alert watcher's configuration; the SMTP password
// comes from the environment only.
func (e *eventsFlags) alertsConfig() alerts.Config {
	c := alerts.Config{Every: e.alertsEvery, SMTP: e.smtp, Webhooks: e.webhooks()}
	c.SMTP.Password = os.Getenv("ALLOT_SMTP_PASSWORD")
	return c
}

func (e *eventsFlags) config() (events.Config, error) {
	cfg := events.Config{Lease: e.lease, Batch: e.batch, Poll: e.poll, Webhooks: e.webhooks()}
	for _, f := range strings.Split(e.retry, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("--events-retry: %q is not a positive duration (such as 5s or 10m)", f)
		}
		cfg.Retry = append(cfg.Retry, d)
	}
	if e.batch <= 0 || e.lease <= 0 || e.poll <= 0 {
		return cfg, fmt.Errorf("--events-batch, --events-lease and --events-poll must be positive")
	}
	return cfg, nil
}
