package httpapi

// Reports (/allot/v1/reports/…): seat history, license assignments,
// utilisation, unused seats and cost. Each answers JSON, paged with
// @odata.nextLink, or CSV when the request sends Accept: text/csv (or
// $format=csv); a CSV is the whole report, streamed row by row.

import (
	"bufio"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/odata"
	"allot/store"
)

func (s *Server) reportRoutes() {
	s.handle("GET /allot/v1/reports/seatHistory", PermReportsRead, s.seatHistory)
	s.handle("GET /allot/v1/reports/licenseAssignments", PermReportsRead, s.licenseAssignments)
	s.handle("GET /allot/v1/reports/unusedSeats", PermReportsRead, s.unusedSeats)
	s.handle("GET /allot/v1/reports/utilization", PermReportsRead, s.utilization)
	s.costRoutes()
	s.exportRoutes()
}

// wantsCSV tells whether the request asks for text/csv.
func wantsCSV(r *http.Request) bool {
	if f := r.URL.Query().Get("$format"); f != "" {
		return strings.EqualFold(f, "csv") || strings.EqualFold(f, "text/csv")
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/csv") {
			return true
		}
	}
	return false
}

// csvStream writes a CSV answer, flushing every few hundred rows so that a
// long report streams in constant memory.
type csvStream struct {
	w    http.ResponseWriter
	buf  *bufio.Writer
	cw   *csv.Writer
	rows int
}

func newCSVStream(w http.ResponseWriter, name string, header []string) *csvStream {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.WriteHeader(http.StatusOK)
	buf := bufio.NewWriterSize(w, 64<<10)
	c := &csvStream{w: w, buf: buf, cw: csv.NewWriter(buf)}
	c.cw.Write(header)
	return c
}

func (c *csvStream) row(rec []string) error {
	if err := c.cw.Write(rec); err != nil {
		return err
	}
	c.rows++
	if c.rows%512 == 0 {
		c.cw.Flush()
		if err := c.cw.Error(); err != nil {
			return err
		}
	}
	return nil
}

// end finishes the answer. A report that failed midway aborts the
// connection so that a client never takes a cut CSV for a whole one.
func (c *csvStream) end(err error) error {
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	c.cw.Flush()
	return c.buf.Flush()
}

// reportTime parses a from/to parameter: an RFC 3339 instant or a date.
func reportTime(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return def, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, allot.Errorf(allot.EInvalid, "%s must be a date (2026-01-31) or a time (2026-01-31T08:00:00Z), not '%s'.", name, v)
}

// reportTop reads $top (default def, at most max).
func reportTop(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("$top")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, allot.Errorf(allot.EInvalid, "$top must be a number from 1 to %d.", max)
	}
	return n, nil
}

// historySpan is the default span of a seat history per interval.
var historySpan = map[string]func(time.Time) time.Time{
	store.IntervalHour:  func(t time.Time) time.Time { return t.Add(-48 * time.Hour) },
	store.IntervalDay:   func(t time.Time) time.Time { return t.AddDate(0, 0, -30) },
	store.IntervalWeek:  func(t time.Time) time.Time { return t.AddDate(0, 0, -7*26) },
	store.IntervalMonth: func(t time.Time) time.Time { return t.AddDate(-1, 0, 0) },
}

func historyQuery(r *http.Request) (store.HistoryQuery, error) {
	q := store.HistoryQuery{Product: r.URL.Query().Get("skuId"), Interval: r.URL.Query().Get("interval")}
	if q.Product == "" {
		return q, allot.Errorf(allot.EInvalid, "skuId is required: the product (skuId or skuPartNumber) whose seat history to read.")
	}
	if q.Interval == "" {
		q.Interval = store.IntervalDay
	}
	span, ok := historySpan[q.Interval]
	if !ok {
		return q, allot.Errorf(allot.EInvalid, "interval must be hour, day, week or month, not '%s'.", q.Interval)
	}
	var err error
	if q.To, err = reportTime(r, "to", time.Now().UTC()); err != nil {
		return q, err
	}
	if q.From, err = reportTime(r, "from", span(q.To)); err != nil {
		return q, err
	}
	if q.From.After(q.To) {
		return q, allot.Errorf(allot.EInvalid, "from must not be after to.")
	}
	return historyDimension(r, q)
}

func seatPointJSON(p store.SeatPoint) map[string]any {
	return map[string]any{"dateTime": graphTime(p.Start), "enabledUnits": p.Enabled, "consumedUnits": p.Consumed,
		"waitingUnits": p.Waiting, "availableUnits": max(0, p.Enabled-p.Consumed), "peakConsumedUnits": p.PeakConsumed}
}

func (s *Server) seatHistory(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := historyQuery(r)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		pts, err := s.st.SeatHistory(r.Context(), p.Tenant.ID, q)
		if err != nil {
			return err
		}
		c := newCSVStream(w, "seat-history", []string{"dateTime", "enabledUnits", "consumedUnits", "waitingUnits", "availableUnits", "peakConsumedUnits"})
		for _, pt := range pts {
			if err := c.row([]string{graphTime(pt.Start), strconv.Itoa(pt.Enabled), strconv.Itoa(pt.Consumed), strconv.Itoa(pt.Waiting),
				strconv.Itoa(max(0, pt.Enabled-pt.Consumed)), strconv.Itoa(pt.PeakConsumed)}); err != nil {
				return c.end(err)
			}
		}
		return c.end(nil)
	}
	if q.Top, err = reportTop(r, 1000, 10000); err != nil {
		return err
	}
	q.Top++ // one more tells whether a next page follows
	pts, err := s.st.SeatHistory(r.Context(), p.Tenant.ID, q)
	if err != nil {
		return err
	}
	out := map[string]any{"@odata.context": s.baseURL(r) + "/allot/v1/$metadata#seatHistory"}
	if len(pts) == q.Top {
		next := pts[len(pts)-1].Start
		pts = pts[:len(pts)-1]
		v := r.URL.Query()
		v.Set("from", graphTime(next))
		out["@odata.nextLink"] = s.baseURL(r) + r.URL.Path + "?" + v.Encode()
	}
	vals := make([]map[string]any, len(pts))
	for i, pt := range pts {
		vals[i] = seatPointJSON(pt)
	}
	out["value"] = vals
	writeJSON(w, http.StatusOK, out)
	return nil
}

var assignmentHeader = []string{"userPrincipalName", "displayName", "department", "accountEnabled", "skuPartNumber", "productName",
	"state", "sources", "errors", "userId", "skuId"}

func assignmentJSON(a store.AssignmentRow) map[string]any {
	return map[string]any{"userId": a.UserID, "userPrincipalName": a.UserPrincipalName, "displayName": a.DisplayName,
		"department": a.Department, "accountEnabled": a.AccountEnabled, "skuId": a.SkuID, "skuPartNumber": a.SkuPartNumber,
		"productName": a.ProductName, "state": a.State, "assignedDirectly": a.Direct, "assignedByGroups": nonNil(a.Groups),
		"errors": nonNil(a.Errors)}
}

// sourcesText is a row's sources for CSV: "Direct" and the group names, "; " apart.
func sourcesText(a store.AssignmentRow) string {
	var b strings.Builder
	if a.Direct {
		b.WriteString("Direct")
	}
	for _, g := range a.Groups {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(g)
	}
	return b.String()
}

func assignmentRecord(rec []string, a store.AssignmentRow) []string {
	return append(rec[:0], a.UserPrincipalName, a.DisplayName, a.Department, strconv.FormatBool(a.AccountEnabled), a.SkuPartNumber,
		a.ProductName, a.State, sourcesText(a), strings.Join(a.Errors, "; "), a.UserID, a.SkuID)
}

func (s *Server) licenseAssignments(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	return s.assignmentReport(w, r, p, "license-assignments", false)
}

// unusedSeats lists the seats held by disabled users: spend that buys
// nothing (the report of unassigned seats per product is utilization).
func (s *Server) unusedSeats(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	return s.assignmentReport(w, r, p, "unused-seats", true)
}

func (s *Server) assignmentReport(w http.ResponseWriter, r *http.Request, p *store.Principal, name string, disabled bool) error {
	q := store.AssignmentQuery{Product: r.URL.Query().Get("skuId"), DisabledOnly: disabled}
	if wantsCSV(r) {
		if q.Product != "" { // a bad product is a 4xx before the CSV starts
			if _, err := s.st.Product(r.Context(), p.Tenant.ID, q.Product); err != nil {
				return err
			}
		}
		c := newCSVStream(w, name, assignmentHeader)
		rec := make([]string, 0, len(assignmentHeader))
		_, err := s.st.EachAssignment(r.Context(), p.Tenant.ID, q, func(a store.AssignmentRow) error {
			return c.row(assignmentRecord(rec, a))
		})
		return c.end(err)
	}
	top, err := reportTop(r, s.limits.DefaultTop, s.limits.MaxTop)
	if err != nil {
		return err
	}
	q.Limit = top
	if q.After, err = assignmentCursor(r); err != nil {
		return err
	}
	var vals []map[string]any
	next, err := s.st.EachAssignment(r.Context(), p.Tenant.ID, q, func(a store.AssignmentRow) error {
		vals = append(vals, assignmentJSON(a))
		return nil
	})
	if err != nil {
		return err
	}
	token := ""
	if next != (store.AssignmentCursor{}) {
		token = odata.EncodeSkipToken(r.URL.Path, strconv.FormatInt(next.User, 10), strconv.FormatInt(next.Product, 10))
	}
	s.list(w, r, name, nonNilMaps(vals), token, -1, nil)
	return nil
}

func assignmentCursor(r *http.Request) (store.AssignmentCursor, error) {
	tok := r.URL.Query().Get("$skiptoken")
	if tok == "" {
		return store.AssignmentCursor{}, nil
	}
	bad := allot.Errorf(allot.EInvalid, "$skiptoken is not valid for this report; follow @odata.nextLink as returned.")
	keys, err := odata.DecodeSkipToken(tok)
	if err != nil || len(keys) != 3 || keys[0] != r.URL.Path {
		return store.AssignmentCursor{}, bad
	}
	u, err1 := strconv.ParseInt(keys[1], 10, 64)
	pr, err2 := strconv.ParseInt(keys[2], 10, 64)
	if err1 != nil || err2 != nil {
		return store.AssignmentCursor{}, bad
	}
	return store.AssignmentCursor{User: u, Product: pr}, nil
}

func (s *Server) utilization(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	us, err := s.st.Utilization(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		c := newCSVStream(w, "utilization", []string{"skuPartNumber", "productName", "enabledUnits", "consumedUnits", "waitingUnits",
			"availableUnits", "disabledUserUnits", "utilizationPercent", "skuId"})
		for _, u := range us {
			if err := c.row([]string{u.SkuPartNumber, u.ProductName, strconv.Itoa(u.Enabled), strconv.Itoa(u.Consumed), strconv.Itoa(u.Waiting),
				strconv.Itoa(u.Available()), strconv.Itoa(u.DisabledUsers), strconv.FormatFloat(u.Percent(), 'f', 1, 64), u.SkuID}); err != nil {
				return c.end(err)
			}
		}
		return c.end(nil)
	}
	vals := make([]map[string]any, len(us))
	for i, u := range us {
		vals[i] = map[string]any{"skuId": u.SkuID, "skuPartNumber": u.SkuPartNumber, "productName": u.ProductName,
			"enabledUnits": u.Enabled, "consumedUnits": u.Consumed, "waitingUnits": u.Waiting, "availableUnits": u.Available(),
			"disabledUserUnits": u.DisabledUsers, "utilizationPercent": u.Percent()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": vals})
	return nil
}
