package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/events"
)

var (
	subsDesc = prometheus.NewDesc("allot_events_subscriptions",
		"Graph change notification subscriptions.", nil, nil)
	retryingDesc = prometheus.NewDesc("allot_events_subscriptions_retrying",
		"Subscriptions whose last delivery failed and that wait for a retry.", nil, nil)
	pendingDesc = prometheus.NewDesc("allot_events_pending_feed_rows",
		"Change feed rows (and unexpanded change batches) not yet delivered to the subscriptions, summed over them (an upper bound).", nil, nil)
)

// eventMetrics are the dispatcher's pushed figures.
type eventMetrics struct {
	delivered prometheus.Counter
	failures  prometheus.Counter
	latency   *prometheus.HistogramVec
}

func newEventMetrics() *eventMetrics {
	return &eventMetrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_events_notifications_delivered_total",
			Help: "Change notifications a receiver accepted (2xx)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_events_delivery_failures_total",
			Help: "POSTs of change notifications that failed (an error or a non-2xx answer); each is retried."}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "allot_events_delivery_duration_seconds",
			Help:    "Time receivers took to answer a POST of change notifications, by outcome (delivered, failed).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"outcome"}),
	}
}

// EventsObserver returns the observer that records a dispatcher's
// deliveries.
func (m *Metrics) EventsObserver() events.Observer { return m.events }

// Delivered implements events.Observer.
func (e *eventMetrics) Delivered(n int, d time.Duration) {
	e.delivered.Add(float64(n))
	e.latency.WithLabelValues("delivered").Observe(d.Seconds())
}

// Failed implements events.Observer.
func (e *eventMetrics) Failed(n int, d time.Duration) {
	e.failures.Inc()
	e.latency.WithLabelValues("failed").Observe(d.Seconds())
}

func (c *storeCollector) events(ctx context.Context, ch chan<- prometheus.Metric) {
	ec, err := c.st.SubscriptionEventCounts(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the subscriptions failed", "err", err)
		ch <- prometheus.NewInvalidMetric(subsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(subsDesc, prometheus.GaugeValue, float64(ec.Subscriptions))
	ch <- prometheus.MustNewConstMetric(retryingDesc, prometheus.GaugeValue, float64(ec.Retrying))
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(ec.PendingRows))
}
