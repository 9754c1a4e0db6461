package httpapi

// Activity reports (docs/api.md, "Reclamation"): who was last active on
// which product, imported as JSON or CSV for no-activity reclamation.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// activityMaxBody is the largest activity report a request may send (a
// 100,000-row CSV is about 6 MB).
const activityMaxBody = 64 << 20

// activityMaxRows is the most rows one activity report may have.
const activityMaxRows = 1_000_000

// bodyLimit is the body limit of a route: the activity reports' is larger.
func (s *Server) bodyLimit(pattern string) int64 {
	if pattern == "POST /allot/v1/activityReports" {
		return max(activityMaxBody, s.limits.MaxBody)
	}
	return s.limits.MaxBody
}

// importActivity imports an activity report: JSON {"value": [{
// "userPrincipalName" | "userId", "skuId" | "skuPartNumber",
// "lastActivityDate"}]} or text/csv with the header
// userPrincipalName,skuPartNumber,lastActivityDate. Good rows are
// imported; the others are reported by row and skipped.
func (s *Server) importActivity(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	var rows []sqlstore.ActivityRow
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.EqualFold(mt, "text/csv") {
		rows, err = activityCSV(data)
	} else {
		rows, err = activityJSON(data)
	}
	if err != nil {
		return err
	}
	res, err := s.st.ImportActivity(r.Context(), p.Actor(), p.Tenant.ID, rows)
	if err != nil {
		return err
	}
	errs := make([]map[string]any, 0, len(res.Errors))
	for _, e := range res.Errors {
		errs = append(errs, map[string]any{"row": e.Row, "message": e.Message})
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": res.Imported, "failed": res.Failed, "errors": errs})
	return nil
}

// activityJSON reads the JSON form; a row's problems are the row's.
func activityJSON(data []byte) ([]sqlstore.ActivityRow, error) {
	var b struct {
		Value []map[string]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &b); err != nil || b.Value == nil {
		return nil, allot.Errorf(allot.EInvalid, `Send {"value": [{"userPrincipalName": "adele@contoso.com", "skuPartNumber": "SPE_E3", "lastActivityDate": "2026-09-01"}]}, or a CSV file with Content-Type: text/csv.`)
	}
	if len(b.Value) > activityMaxRows {
		return nil, allot.Errorf(allot.EInvalid, "The report has %d rows; send at most %d at a time.", len(b.Value), activityMaxRows)
	}
	rows := make([]sqlstore.ActivityRow, len(b.Value))
	for i, v := range b.Value {
		rows[i] = activityJSONRow(i+1, v)
	}
	return rows, nil
}

func activityJSONRow(n int, v map[string]json.RawMessage) sqlstore.ActivityRow {
	row := sqlstore.ActivityRow{Row: n}
	get := func(k string) string {
		var s string
		if raw, ok := v[k]; ok && json.Unmarshal(raw, &s) != nil {
			row.Err = fmt.Sprintf("%s must be a string.", k)
		}
		return strings.TrimSpace(s)
	}
	for k := range v {
		switch k {
		case "userPrincipalName", "userId", "skuId", "skuPartNumber", "lastActivityDate":
		default:
			row.Err = fmt.Sprintf("Unknown property '%s'; a row has userPrincipalName or userId, skuId or skuPartNumber, and lastActivityDate.", k)
		}
	}
	row.User, row.Product = first(get("userPrincipalName"), get("userId")), first(get("skuPartNumber"), get("skuId"))
	date := get("lastActivityDate")
	if row.Err == "" {
		row.At, row.Err = activityFields(row.User, row.Product, date)
	}
	return row
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// activityFields checks a row's fields and reads its date (a day such as
// 2026-09-01, or a full timestamp).
func activityFields(user, product, date string) (int64, string) {
	switch {
	case user == "":
		return 0, "The row names no user (userPrincipalName or userId)."
	case product == "":
		return 0, fmt.Sprintf("The row of '%s' names no product (skuPartNumber or skuId).", user)
	case date == "":
		return 0, fmt.Sprintf("The row of '%s' has no lastActivityDate.", user)
	}
	if t, err := time.Parse("2006-01-02", date); err == nil {
		return t.UnixMilli(), ""
	}
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		return t.UnixMilli(), ""
	}
	return 0, fmt.Sprintf("The last activity date '%s' of '%s' is not a date such as 2026-09-01.", date, user)
}

// activityCSV reads the CSV form: a header naming userPrincipalName (or
// userId), skuPartNumber (or skuId) and lastActivityDate, in any order.
func activityCSV(data []byte) ([]sqlstore.ActivityRow, error) {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})))
	cr.FieldsPerRecord, cr.ReuseRecord = -1, true
	head, err := cr.Read()
	if err != nil {
		return nil, allot.Errorf(allot.EInvalid, "The CSV file has no header row; start it with userPrincipalName,skuPartNumber,lastActivityDate.")
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	user, uok := colOf(col, "userprincipalname", "userid")
	prod, pok := colOf(col, "skupartnumber", "skuid")
	date, dok := colOf(col, "lastactivitydate", "")
	if !uok || !pok || !dok {
		return nil, allot.Errorf(allot.EInvalid, "The CSV header must name userPrincipalName, skuPartNumber and lastActivityDate (it has %s).", strings.Join(head, ", "))
	}
	var rows []sqlstore.ActivityRow
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if len(rows) >= activityMaxRows {
			return nil, allot.Errorf(allot.EInvalid, "The report has more than %d rows; send at most %d at a time.", activityMaxRows, activityMaxRows)
		}
		row := sqlstore.ActivityRow{Row: n}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrFieldCount {
				return nil, allot.Errorf(allot.EInvalid, "Line %d of the CSV file cannot be read: %v.", pe.Line, pe.Err)
			}
		}
		cell := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row.User, row.Product = cell(user), cell(prod)
		row.At, row.Err = activityFields(row.User, row.Product, cell(date))
		rows = append(rows, row)
	}
}

func colOf(col map[string]int, a, b string) (int, bool) {
	if i, ok := col[a]; ok {
		return i, true
	}
	i, ok := col[b]
	return i, ok && b != ""
}
