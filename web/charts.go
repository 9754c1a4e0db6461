package web

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"allot"
	"allot/httpapi"
	"allot/store"
)

// ---- Seat economics charts: sparklines, waiting list, unused spend, downloads ----

// sparkline is a product's consumed seats over the last 30 days, one point
// a day, drawn as a tiny SVG line.
type sparkline struct {
	Points   []store.SeatPoint
	Line     string // SVG polyline points
	Low, Max int
}

// Sparkline geometry, in SVG user units.
const sparkW, sparkH = 96, 24

// newSparkline lays out pts on a scale from 0 to their largest count.
func newSparkline(pts []store.SeatPoint) sparkline {
	s := sparkline{Points: pts}
	if len(pts) == 0 {
		return s
	}
	s.Low = pts[0].Consumed
	for _, p := range pts {
		s.Max, s.Low = max(s.Max, p.Consumed), min(s.Low, p.Consumed)
	}
	y := func(v int) string { return f1(2 + float64(sparkH-4)*(1-float64(v)/float64(max(s.Max, 1)))) }
	if len(pts) == 1 {
		s.Line = "0," + y(pts[0].Consumed) + " " + f1(sparkW) + "," + y(pts[0].Consumed)
		return s
	}
	for i, p := range pts {
		s.Line += f1(float64(sparkW)*float64(i)/float64(len(pts)-1)) + "," + y(p.Consumed) + " "
	}
	return s
}

// First is the consumed count of the first point.
func (s sparkline) First() int { return s.Points[0].Consumed }

// Last is the latest consumed count.
func (s sparkline) Last() int { return s.Points[len(s.Points)-1].Consumed }

// Label is the sparkline's accessible name.
func (s sparkline) Label() string {
	return fmt.Sprintf("Consumed seats over 30 days: %s to %s (lowest %s, highest %s)", num(s.First()), num(s.Last()), num(s.Low), num(s.Max))
}

// Dates and Consumed list the points for the page's tests (data attributes).
func (s sparkline) Dates() string {
	out := make([]string, len(s.Points))
	for i, p := range s.Points {
		out[i] = p.Start.Format("2006-01-02T15:04:05Z")
	}
	return strings.Join(out, ",")
}

// Consumed lists the consumed counts, comma-separated.
func (s sparkline) Consumed() string {
	out := make([]string, len(s.Points))
	for i, p := range s.Points {
		out[i] = strconv.Itoa(p.Consumed)
	}
	return strings.Join(out, ",")
}

// permHistory is what the seat history needs (as GET /allot/v1/reports/seatHistory).
const permHistory = httpapi.PermReportsRead

// sparklines reads the last 30 days of every product in one query, for
// those who may read reports (the seat history's permission).
func (s *Server) sparklines(q *req, products []*allot.Product) (map[int64]sparkline, error) {
	out := map[int64]sparkline{}
	if !q.perms.Has(permHistory) || len(products) == 0 {
		return out, nil
	}
	ids := make([]int64, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	now := time.Now().UTC()
	hist, err := s.st.DailySeatHistories(q.ctx(), q.tenant(), ids, now.AddDate(0, 0, -30), now)
	if err != nil {
		return nil, err
	}
	for id, pts := range hist {
		out[id] = newSparkline(pts)
	}
	return out, nil
}

// waitChart is a product's waiting list over time: a line of the people
// waiting for a seat, one marker per point.
type waitChart struct {
	Points []waitPoint
	Line   string
	Max    int
	Ticks  []chartTick
}

type waitPoint struct {
	X, Y  float64
	P     store.SeatPoint
	Label string
}

// Small chart geometry (readable in a 390 px window), in SVG user units.
const (
	smallW, smallH = 400, 180
	smallLeft      = 36
	smallBottom    = 24
)

func newWaitChart(pts []chartPoint) waitChart {
	c := waitChart{}
	for _, p := range pts {
		c.Max = max(c.Max, p.P.Waiting)
	}
	scale := max(c.Max, 1)
	plotW, plotH := float64(smallW-smallLeft-8), float64(smallH-smallBottom-8)
	y := func(v int) float64 { return 8 + plotH - plotH*float64(v)/float64(scale) }
	for i, p := range pts {
		x := float64(smallLeft)
		if len(pts) > 1 {
			x += plotW * float64(i) / float64(len(pts)-1)
		}
		wp := waitPoint{X: x, Y: y(p.P.Waiting), P: p.P, Label: p.Label}
		c.Points = append(c.Points, wp)
		c.Line += f1(wp.X) + "," + f1(wp.Y) + " "
	}
	for _, v := range slices.Compact([]int{0, scale / 2, scale}) {
		c.Ticks = append(c.Ticks, chartTick{Y: y(v), Label: num(v)})
	}
	return c
}

// unusedBar is one product's unused spend this month as a bar.
type unusedBar struct {
	C     store.ProductCost
	Y     float64
	Width float64
}

// unusedTotal is the unused spend of all products in one currency.
type unusedTotal struct {
	Currency string
	Minor    int64
}

func unusedBars(products []store.ProductCost) ([]unusedBar, []unusedTotal) {
	var top int64 = 1
	var totals []unusedTotal
	for _, c := range products {
		top = max(top, c.Unused)
		i := slices.IndexFunc(totals, func(t unusedTotal) bool { return t.Currency == c.Price.Currency })
		if i < 0 {
			totals, i = append(totals, unusedTotal{Currency: c.Price.Currency}), len(totals)
		}
		totals[i].Minor += c.Unused
	}
	bars := make([]unusedBar, len(products))
	for i, c := range products {
		bars[i] = unusedBar{C: c, Y: float64(i * 40), Width: 260 * float64(c.Unused) / float64(top)}
	}
	return bars, totals
}

// chartFiles are the charts one may download, by file name: each gives
// the file's name and the chart, standalone.
var chartFiles = map[string]func(m *reportsModel) (string, templ.Component){
	"history.svg": func(m *reportsModel) (string, templ.Component) {
		return "seat-history-" + m.P.SkuPartNumber + "-" + m.Interval, historySVG(m, true)
	},
	"waiting.svg": func(m *reportsModel) (string, templ.Component) {
		return "waiting-list-" + m.P.SkuPartNumber + "-" + m.Interval, waitingSVG(m, true)
	},
	"cost.svg": func(m *reportsModel) (string, templ.Component) {
		return "cost-per-department-" + m.Cost.Month.Format("2006-01"), costSVG(m, true)
	},
	"unused.svg": func(m *reportsModel) (string, templ.Component) {
		return "unused-spend-" + m.Cost.Month.Format("2006-01"), unusedSVG(m, true)
	},
}

// chartDownload serves a chart of the Reports page (with the page's
// product and interval) as an SVG file.
func (s *Server) chartDownload(q *req) error {
	pick, ok := chartFiles[q.r.PathValue("file")]
	if !ok {
		return allot.Errorf(allot.ENotFound, "There is no chart %s.", q.r.PathValue("file"))
	}
	m, err := s.loadReports(q)
	if err != nil {
		return err
	}
	if m.P == nil {
		return allot.Errorf(allot.ENotFound, "This organization subscribes to no product yet: there is no chart to download.")
	}
	name, chart := pick(m)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if err := chart.Render(q.ctx(), &buf); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "image/svg+xml; charset=utf-8")
	q.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.svg"`)
	q.w.WriteHeader(http.StatusOK)
	if _, err := q.w.Write(buf.Bytes()); err != nil {
		return errWritten
	}
	return nil
}

// chartName is the file name (without extension) of a chart of the page.
func (m *reportsModel) chartName(file string) string {
	if pick, ok := chartFiles[file]; ok {
		name, _ := pick(m)
		return name
	}
	return "chart"
}

// chartURL is the download address of a chart of the page.
func (m *reportsModel) chartURL(file string) string {
	return "/reports/charts/" + file + "?sku=" + m.P.SkuID + "&interval=" + m.Interval
}

// chartCSS styles a downloaded chart (the page's stylesheet does on the page).
const chartCSS = `<style>.grid-line{stroke:#d8dde6;stroke-width:1}.tick{font:11px sans-serif;fill:#5b6472}.line{fill:none;stroke-width:2}` +
	`.line.enabled{stroke:#8a96a3;stroke-dasharray:5 3}.line.consumed,.line.waiting{stroke:#0f6cbd}.line.waiting{stroke:#b45309}` +
	`.point{fill:#0f6cbd}.point.waiting{fill:#b45309}.bar rect{fill:#0f6cbd}.bar.unused rect{fill:#b45309}</style>`
