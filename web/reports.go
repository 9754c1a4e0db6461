package web

import (
	"fmt"
	"strconv"
	"time"

	"allot"
	"allot/httpapi"
	"allot/store"
)

// ---- Reports: seat history per product, cost per department ----

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 720, 220
	chartLeft      = 48
	chartBottom    = 28
)

// historyChart is a product's seat history drawn as SVG: the seats bought
// and in use as lines, one marker per point (with its figures as data
// attributes, which the browser test compares with the API).
type historyChart struct {
	Points            []chartPoint
	Enabled, Consumed string // SVG polyline points
	Max               int
	Ticks             []chartTick
}

type chartPoint struct {
	X, YEnabled, YConsumed float64
	P                      store.SeatPoint
	Label                  string
}

type chartTick struct {
	Y     float64
	Label string
}

func (c chartPoint) Title() string {
	return fmt.Sprintf("%s: %d of %d seats in use, %d waiting", c.Label, c.P.Consumed, c.P.Enabled, c.P.Waiting)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// newHistoryChart lays out the points left to right on a scale from 0 to
// the largest count.
func newHistoryChart(pts []store.SeatPoint, interval string) historyChart {
	c := historyChart{}
	for _, p := range pts {
		c.Max = max(c.Max, p.Enabled, p.Consumed, p.PeakConsumed)
	}
	scale := max(c.Max, 1)
	plotW, plotH := float64(chartW-chartLeft-8), float64(chartH-chartBottom-8)
	y := func(v int) float64 { return 8 + plotH - plotH*float64(v)/float64(scale) }
	for i, p := range pts {
		x := float64(chartLeft)
		if len(pts) > 1 {
			x += plotW * float64(i) / float64(len(pts)-1)
		}
		cp := chartPoint{X: x, YEnabled: y(p.Enabled), YConsumed: y(p.Consumed), P: p, Label: pointLabel(p.Start, interval)}
		c.Points = append(c.Points, cp)
		c.Enabled += f1(cp.X) + "," + f1(cp.YEnabled) + " "
		c.Consumed += f1(cp.X) + "," + f1(cp.YConsumed) + " "
	}
	for _, v := range []int{0, scale / 2, scale} {
		c.Ticks = append(c.Ticks, chartTick{Y: y(v), Label: num(v)})
	}
	return c
}

func pointLabel(t time.Time, interval string) string {
	switch interval {
	case store.IntervalHour:
		return t.Format("2 Jan 15:04")
	case store.IntervalMonth:
		return t.Format("Jan 2006")
	case store.IntervalWeek:
		return "Week of " + t.Format("2 Jan 2006")
	}
	return t.Format("2 Jan 2006")
}

// costBar is one department's cost drawn as a horizontal bar.
type costBar struct {
	D     store.DepartmentCost
	Y     float64
	Width float64
	Name  string
}

type reportsModel struct {
	Products []*allot.Product
	P        *allot.Product
	Interval string
	Points   []store.SeatPoint
	Chart    historyChart
	Cost     *store.CostStatement
	Bars     []costBar
	Month    string
	Wait     waitChart
	Unused   []unusedBar
	Totals   []unusedTotal
}

func money(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%s.%02d %s", sign, num(int(minor/100)), minor%100, currency)
}

func (s *Server) reports(q *req) error {
	m, err := s.loadReports(q)
	if err != nil {
		return err
	}
	return q.render(reportsPage(q.view("Reports", "reports"), m))
}

// loadReports reads what the Reports page shows: the history of the
// product and interval the query names, and this month's cost.
func (s *Server) loadReports(q *req) (*reportsModel, error) {
	m := &reportsModel{Interval: q.r.URL.Query().Get("interval")}
	if m.Interval == "" {
		m.Interval = store.IntervalDay
	}
	var err error
	if m.Products, err = s.st.Products(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	sortProducts(m.Products)
	if len(m.Products) == 0 {
		return m, nil
	}
	m.P = m.Products[0]
	if ref := q.r.URL.Query().Get("sku"); ref != "" {
		if m.P, err = s.st.Product(q.ctx(), q.tenant(), ref); err != nil {
			return nil, err
		}
	}
	if err := s.loadHistory(q, m); err != nil {
		return nil, err
	}
	return m, s.loadCost(q, m)
}

func (s *Server) loadHistory(q *req, m *reportsModel) error {
	now := time.Now().UTC()
	from := map[string]time.Time{store.IntervalHour: now.Add(-48 * time.Hour), store.IntervalWeek: now.AddDate(0, 0, -7*26),
		store.IntervalMonth: now.AddDate(-1, 0, 0)}[m.Interval]
	if from.IsZero() {
		m.Interval, from = store.IntervalDay, now.AddDate(0, 0, -30)
	}
	var err error
	if m.Points, err = s.st.SeatHistory(q.ctx(), q.tenant(), store.HistoryQuery{Product: m.P.SkuID, From: from, To: now, Interval: m.Interval}); err != nil {
		return err
	}
	m.Chart = newHistoryChart(m.Points, m.Interval)
	m.Wait = newWaitChart(m.Chart.Points)
	return nil
}

func (s *Server) loadCost(q *req, m *reportsModel) error {
	var err error
	if m.Cost, err = s.st.CostStatement(q.ctx(), q.tenant(), time.Now().UTC()); err != nil {
		return err
	}
	m.Month = m.Cost.Month.Format("January 2006")
	var top int64 = 1
	for _, d := range m.Cost.Departments {
		top = max(top, d.Cost)
	}
	for i, d := range m.Cost.Departments {
		name := d.Department
		if name == "" {
			name = "(no department)"
		}
		m.Bars = append(m.Bars, costBar{D: d, Y: float64(i * 28), Width: 420 * float64(d.Cost) / float64(top), Name: name})
	}
	m.Unused, m.Totals = unusedBars(m.Cost.Products)
	return nil
}

// canExport tells whether the person may download the CSV reports.
func (v *view) canExport() bool { return v.can(httpapi.PermReportsRead) }
