// Package metrics exports allot's Prometheus metrics: HTTP requests by route
// pattern, the group-licensing queue and batches, seats per tenant and
// product, the database pools, and the Go runtime. Request and batch
// figures are pushed by the server and the worker (Request, ReconcileHooks);
// the queue, seats and pools are read from the store on each scrape.
package metrics

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"allot/reconcile"
	"allot/store/sqlstore"
)

// DefaultMaxSeatSeries bounds the products whose seats one scrape reports
// (each product gives three series).
const DefaultMaxSeatSeries = 1000

// Options tune the metrics; zero values take the defaults.
type Options struct {
	// MaxSeatSeries is the most products reported per scrape
	// (DefaultMaxSeatSeries); past it allot_seats_truncated is 1.
	MaxSeatSeries int
	// ScrapeTimeout bounds the store reads of one scrape (5 s).
	ScrapeTimeout time.Duration
}

// Metrics is one registry of allot's metrics.
type Metrics struct {
	reg        *prometheus.Registry
	log        *slog.Logger
	requests   *prometheus.HistogramVec
	respBytes  *prometheus.CounterVec
	batchUsers *prometheus.HistogramVec
	batchTime  *prometheus.HistogramVec
	processed  *prometheus.CounterVec
	events     *eventMetrics
}

// New returns the metrics of a server on the store, with the Go runtime,
// process and build-information collectors.
func New(st *sqlstore.Store, log *slog.Logger, opts Options) *Metrics {
	if opts.MaxSeatSeries <= 0 {
		opts.MaxSeatSeries = DefaultMaxSeatSeries
	}
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 5 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "allot_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and status (the count is the number of requests).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		respBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "allot_http_response_bytes_total",
			Help: "Bytes of response bodies, by method and route pattern.",
		}, []string{"method", "route"}),
		batchUsers: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "allot_reconcile_batch_users",
			Help:    "Users recomputed per reconcile transaction, by kind of mark (user or group).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 … 65536
		}, []string{"kind"}),
		batchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "allot_reconcile_batch_duration_seconds",
			Help:    "Duration of reconcile transactions, by kind of mark.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "allot_reconcile_users_processed_total",
			Help: "Users whose licenses group-based licensing recomputed, by kind of mark.",
		}, []string{"kind"}),
	}
	// Both kinds exist from the start, at 0: a rate over them is defined
	// before the first batch.
	for _, kind := range []string{"user", "group"} {
		m.batchUsers.WithLabelValues(kind)
		m.batchTime.WithLabelValues(kind)
		m.processed.WithLabelValues(kind)
	}
	m.events = newEventMetrics()
	m.reg.MustRegister(m.events.delivered, m.events.failures, m.events.latency)
	m.reg.MustRegister(m.requests, m.respBytes, m.batchUsers, m.batchTime, m.processed,
		&storeCollector{st: st, log: log, maxSeats: opts.MaxSeatSeries, timeout: opts.ScrapeTimeout},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	return m
}

// knownMethods keeps the method label bounded: others count as OTHER.
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// Request records one answered request. route is the mux pattern that
// matched (a bounded set), never the path.
func (m *Metrics) Request(method, route string, status int, bytes int64, took time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
	m.respBytes.WithLabelValues(method, route).Add(float64(bytes))
}

// ReconcileHooks returns the hooks that record a worker's batches.
func (m *Metrics) ReconcileHooks() reconcile.Hooks {
	return reconcile.Hooks{Batch: func(kind string, users int, took time.Duration) {
		m.batchUsers.WithLabelValues(kind).Observe(float64(users))
		m.batchTime.WithLabelValues(kind).Observe(took.Seconds())
		m.processed.WithLabelValues(kind).Add(float64(users))
	}}
}

// Handler serves the metrics in the Prometheus exposition formats. A store
// read that fails leaves its series out of that scrape (and is logged); the
// rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// Protect serves h only to requests with "Authorization: Bearer token";
// others get 401.
func Protect(h http.Handler, token string) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="allot metrics"`)
			http.Error(w, "Send 'Authorization: Bearer <ALLOT_METRICS_TOKEN>'.", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
