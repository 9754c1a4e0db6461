package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/store"
)

func (s *Server) costRoutes() {
	s.handle("PUT /allot/v1/subscribedSkus/{id}/price", PermProductsWrite, s.setPrice)
	s.handle("DELETE /allot/v1/subscribedSkus/{id}/price", PermProductsWrite, s.deletePrice)
	s.handle("GET /allot/v1/reports/cost", PermReportsRead, s.costReport)
}

type priceBody struct {
	Currency          string      `json:"currency"`
	UnitPrice         json.Number `json:"unitPrice"`
	Term              string      `json:"term"`
	CommitmentEndDate *string     `json:"commitmentEndDate"`
}

// minorUnits reads an amount with at most two decimals as cents.
func minorUnits(n json.Number) (int64, error) {
	bad := allot.Errorf(allot.EInvalid, "unitPrice must be an amount with at most two decimals, such as 36 or 36.50, not '%s'.", n)
	whole, frac, _ := strings.Cut(string(n), ".")
	if len(frac) > 2 || whole == "" || strings.ContainsAny(string(n), "eE+-") {
		return 0, bad
	}
	frac += strings.Repeat("0", 2-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, bad
	}
	return v, nil
}

func formatMinor(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	c := strconv.FormatInt(v%100, 10)
	if len(c) == 1 {
		c = "0" + c
	}
	return sign + strconv.FormatInt(v/100, 10) + "." + c
}

func (s *Server) setPrice(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b priceBody
	if err := decodeBody(r, &b, "price"); err != nil {
		return err
	}
	if b.UnitPrice == "" {
		return allot.Errorf(allot.EInvalid, "unitPrice is required: the price of one seat for the term, such as 36.00.")
	}
	cents, err := minorUnits(b.UnitPrice)
	if err != nil {
		return err
	}
	pr := &store.Price{Currency: b.Currency, UnitPrice: cents, Term: b.Term}
	if pr.Term == "" {
		pr.Term = store.TermMonthly
	}
	if b.CommitmentEndDate != nil && *b.CommitmentEndDate != "" {
		t, err := time.Parse("2006-01-02", *b.CommitmentEndDate)
		if err != nil {
			return allot.Errorf(allot.EInvalid, "commitmentEndDate must be a date such as 2027-03-31, not '%s'.", *b.CommitmentEndDate)
		}
		pr.CommitmentEnd = &t
	}
	if err := s.st.SetPrice(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), pr); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, priceJSON(*pr))
	return nil
}

func (s *Server) deletePrice(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.SetPrice(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func priceJSON(pr store.Price) map[string]any {
	out := map[string]any{"currency": pr.Currency, "unitPrice": formatMinor(pr.UnitPrice), "term": pr.Term, "commitmentEndDate": nil}
	if pr.CommitmentEnd != nil {
		out["commitmentEndDate"] = pr.CommitmentEnd.Format("2006-01-02")
	}
	return out
}

// costMonth reads ?month=2026-04 (default: this month).
func costMonth(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("month")
	if v == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse("2006-01", v)
	if err != nil {
		return t, allot.Errorf(allot.EInvalid, "month must be a month such as 2026-04, not '%s'.", v)
	}
	return t, nil
}

func (s *Server) costReport(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	month, err := costMonth(r)
	if err != nil {
		return err
	}
	st, err := s.st.CostStatement(r.Context(), p.Tenant.ID, month)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		c := newCSVStream(w, "cost-"+st.Month.Format("2006-01"), []string{"month", "department", "currency", "seats", "cost"})
		for _, d := range st.Departments {
			if err := c.row([]string{st.Month.Format("2006-01"), d.Department, d.Currency, strconv.Itoa(d.Seats), formatMinor(d.Cost)}); err != nil {
				return c.end(err)
			}
		}
		return c.end(nil)
	}
	prods := make([]map[string]any, len(st.Products))
	for i, c := range st.Products {
		prods[i] = map[string]any{"skuId": c.SkuID, "skuPartNumber": c.SkuPartNumber, "productName": c.ProductName, "price": priceJSON(c.Price),
			"seatDays": c.SeatDays, "assignedSeatDays": c.AssignedSeatDays, "billedCost": formatMinor(c.Billed),
			"assignedCost": formatMinor(c.Assigned), "unusedCost": formatMinor(c.Unused), "unusedUnits": c.UnusedSeats}
	}
	deps := make([]map[string]any, len(st.Departments))
	for i, d := range st.Departments {
		deps[i] = map[string]any{"department": d.Department, "currency": d.Currency, "seats": d.Seats, "cost": formatMinor(d.Cost)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"month": st.Month.Format("2006-01"), "days": st.Days, "products": prods, "departments": deps})
	return nil
}
