package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot/events"
)

// eventsFlags configure the delivery of Graph change notifications.
type eventsFlags struct {
	retry string
	lease time.Duration
	batch int
	poll  time.Duration
}

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
}

func (e *eventsFlags) config() (events.Config, error) {
	cfg := events.Config{Lease: e.lease, Batch: e.batch, Poll: e.poll}
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
