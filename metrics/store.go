package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/store/sqlstore"
)

var (
	queueDesc = prometheus.NewDesc("allot_reconcile_queue_marks",
		"Pending group-licensing marks (users or groups to recompute), by kind.", []string{"kind"}, nil)
	leasedDesc = prometheus.NewDesc("allot_reconcile_queue_leased_marks",
		"Pending marks that a worker holds under a running lease, by kind.", []string{"kind"}, nil)
	oldestDesc = prometheus.NewDesc("allot_reconcile_oldest_mark_age_seconds",
		"Age of the oldest pending mark, by kind (0 when none is pending).", []string{"kind"}, nil)
	enabledDesc = prometheus.NewDesc("allot_seats_enabled",
		"Seats bought (enabledUnits), by tenant id and product (skuPartNumber).", []string{"tenant_id", "sku"}, nil)
	consumedDesc = prometheus.NewDesc("allot_seats_consumed",
		"Seats in use (consumedUnits), by tenant id and product.", []string{"tenant_id", "sku"}, nil)
	waitingDesc = prometheus.NewDesc("allot_seats_waiting",
		"Users waiting for a seat, by tenant id and product.", []string{"tenant_id", "sku"}, nil)
	tenantDesc = prometheus.NewDesc("allot_tenant_info",
		"1 for each tenant with products reported, naming it (join on tenant_id).", []string{"tenant_id", "tenant_name"}, nil)
	truncDesc = prometheus.NewDesc("allot_seats_truncated",
		"1 when more products exist than one scrape reports (--metrics-max-products).", nil, nil)
	poolOpenDesc = prometheus.NewDesc("allot_db_connections_open",
		"Open connections of a database pool.", []string{"pool"}, nil)
	poolInUseDesc = prometheus.NewDesc("allot_db_connections_in_use",
		"Connections of a database pool in use.", []string{"pool"}, nil)
	poolIdleDesc = prometheus.NewDesc("allot_db_connections_idle",
		"Idle connections of a database pool.", []string{"pool"}, nil)
	poolMaxDesc = prometheus.NewDesc("allot_db_connections_max",
		"Most open connections a database pool allows (0: no limit).", []string{"pool"}, nil)
	poolWaitsDesc = prometheus.NewDesc("allot_db_connection_waits_total",
		"Times a caller waited for a connection of a pool.", []string{"pool"}, nil)
	poolWaitTimeDesc = prometheus.NewDesc("allot_db_connection_wait_seconds_total",
		"Total time callers waited for connections of a pool.", []string{"pool"}, nil)
)

// storeCollector reads the queue, the seats and the pools on each scrape.
type storeCollector struct {
	st       *sqlstore.Store
	log      *slog.Logger
	maxSeats int
	timeout  time.Duration
}

// Describe sends the descriptions of every metric the collector makes.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDesc, leasedDesc, oldestDesc, enabledDesc, consumedDesc, waitingDesc,
		tenantDesc, truncDesc, poolOpenDesc, poolInUseDesc, poolIdleDesc, poolMaxDesc, poolWaitsDesc, poolWaitTimeDesc,
		subsDesc, retryingDesc, pendingDesc} {
		ch <- d
	}
}

// Collect reads the store and sends the metrics.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	c.pools(ch)
	c.queue(ctx, ch)
	c.seats(ctx, ch)
	c.events(ctx, ch)
}

func (c *storeCollector) pools(ch chan<- prometheus.Metric) {
	for _, p := range c.st.PoolStats() {
		s := p.Stats
		ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.OpenConnections), p.Name)
		ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(s.InUse), p.Name)
		ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(s.Idle), p.Name)
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxOpenConnections), p.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.WaitCount), p.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitTimeDesc, prometheus.CounterValue, s.WaitDuration.Seconds(), p.Name)
	}
}

func (c *storeCollector) queue(ctx context.Context, ch chan<- prometheus.Metric) {
	qs, err := c.st.MarkQueue(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the reconcile queue failed", "err", err)
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	now := time.Now()
	for _, q := range qs {
		age := 0.0
		if !q.Oldest.IsZero() {
			age = max(0, now.Sub(q.Oldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(q.Pending), q.Kind)
		ch <- prometheus.MustNewConstMetric(leasedDesc, prometheus.GaugeValue, float64(q.Leased), q.Kind)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, q.Kind)
	}
}

func (c *storeCollector) seats(ctx context.Context, ch chan<- prometheus.Metric) {
	ss, err := c.st.SeatCounts(ctx, c.maxSeats+1)
	if err != nil {
		c.log.Warn("metrics: reading the seats failed", "err", err)
		ch <- prometheus.NewInvalidMetric(enabledDesc, err)
		return
	}
	truncated := 0.0
	if len(ss) > c.maxSeats {
		ss, truncated = ss[:c.maxSeats], 1
	}
	ch <- prometheus.MustNewConstMetric(truncDesc, prometheus.GaugeValue, truncated)
	tenants := map[string]bool{}
	for _, s := range ss {
		ch <- prometheus.MustNewConstMetric(enabledDesc, prometheus.GaugeValue, float64(s.Enabled), s.TenantGUID, s.SkuPartNumber)
		ch <- prometheus.MustNewConstMetric(consumedDesc, prometheus.GaugeValue, float64(s.Consumed), s.TenantGUID, s.SkuPartNumber)
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(s.Waiting), s.TenantGUID, s.SkuPartNumber)
		if !tenants[s.TenantGUID] {
			tenants[s.TenantGUID] = true
			ch <- prometheus.MustNewConstMetric(tenantDesc, prometheus.GaugeValue, 1, s.TenantGUID, s.TenantName)
		}
	}
}
