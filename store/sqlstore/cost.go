package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"allot"
	"allot/store"
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// SetPrice sets (or, with a nil price, removes) a product's unit price.
func (s *Store) SetPrice(ctx context.Context, a allot.Actor, tenantID int64, ref string, pr *store.Price) error {
	if pr != nil {
		if !currencyCode.MatchString(pr.Currency) {
			return allot.Errorf(allot.EInvalid, "currency must be an ISO 4217 code such as USD or EUR, not '%s'.", pr.Currency)
		}
		if pr.UnitPrice < 0 || pr.UnitPrice > 100_000_000_00 {
			return allot.Errorf(allot.EInvalid, "unitPrice must be between 0 and 100000000.")
		}
		if pr.Term != store.TermMonthly && pr.Term != store.TermAnnual {
			return allot.Errorf(allot.EInvalid, "term must be monthly or annual, not '%s'.", pr.Term)
		}
	}
	p, err := s.Product(ctx, tenantID, ref)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		ev := allot.AuditEvent{Category: "Subscription", Activity: allot.ActUpdateProduct, TargetKind: "Product",
			TargetID: p.SkuID, TargetName: p.SkuPartNumber}
		if pr == nil {
			if _, err := t.exec(`DELETE FROM product_prices WHERE product_id = ?`, p.ID); err != nil {
				return err
			}
			ev.Changes = []allot.Change{{Property: "unitPrice", New: ""}}
			return t.audit(tenantID, a, ev)
		}
		var end any
		if pr.CommitmentEnd != nil {
			end = pr.CommitmentEnd.UTC().Unix()
		}
		if _, err := t.exec(`INSERT INTO product_prices (product_id, tenant_id, currency, unit_price, term, commitment_end, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product_id) DO UPDATE SET currency = excluded.currency, unit_price = excluded.unit_price,
			term = excluded.term, commitment_end = excluded.commitment_end, updated_at = excluded.updated_at`,
			p.ID, tenantID, pr.Currency, pr.UnitPrice, pr.Term, end, t.now); err != nil {
			return err
		}
		ev.Changes = []allot.Change{{Property: "unitPrice", New: fmt.Sprintf("%d.%02d %s %s", pr.UnitPrice/100, pr.UnitPrice%100, pr.Currency, pr.Term)}}
		return t.audit(tenantID, a, ev)
	})
}

// Prices returns the tenant's prices by product id.
func (s *Store) Prices(ctx context.Context, tenantID int64) (map[int64]store.Price, error) {
	rows, err := s.query(ctx, `SELECT product_id, currency, unit_price, term, commitment_end FROM product_prices WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]store.Price{}
	for rows.Next() {
		var id int64
		var p store.Price
		var end sql.NullInt64
		if err := rows.Scan(&id, &p.Currency, &p.UnitPrice, &p.Term, &end); err != nil {
			return nil, err
		}
		if end.Valid {
			t := time.Unix(end.Int64, 0).UTC()
			p.CommitmentEnd = &t
		}
		out[id] = p
	}
	return out, rows.Err()
}

// prorate is price × seatDays / (days × months per term), rounded half up.
func prorate(p store.Price, seatDays int64, days int) int64 {
	den := int64(days) * p.MonthsPerTerm()
	return (p.UnitPrice*seatDays*2 + den) / (2 * den)
}

// CostStatement returns the showback statement of the month that contains
// month: per priced product the seats bought and in use per day from the
// seat history, and per department the cost of its users' seats now.
func (s *Store) CostStatement(ctx context.Context, tenantID int64, month time.Time) (*store.CostStatement, error) {
	start := IntervalStart(month, store.IntervalMonth)
	end := start.AddDate(0, 1, 0)
	st := &store.CostStatement{Month: start, Days: int(end.Sub(start).Hours() / 24), Products: []store.ProductCost{}, Departments: []store.DepartmentCost{}}
	prices, err := s.Prices(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	util, err := s.Utilization(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, p := range products {
		pr, ok := prices[p.ID]
		if !ok {
			continue
		}
		c := store.ProductCost{SkuID: p.SkuID, SkuPartNumber: p.SkuPartNumber, ProductName: p.DisplayName, Price: pr}
		if err := s.seatDays(ctx, tenantID, p.SkuID, start, end, &c); err != nil {
			return nil, err
		}
		c.Billed, c.Assigned = prorate(pr, c.SeatDays, st.Days), prorate(pr, c.AssignedSeatDays, st.Days)
		for _, u := range util {
			if u.SkuID == p.SkuID {
				c.UnusedSeats = u.Available() + u.DisabledUsers
			}
		}
		c.Unused = prorate(pr, int64(c.UnusedSeats)*int64(st.Days), st.Days)
		st.Products = append(st.Products, c)
	}
	deps, err := s.departmentSeats(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	byKey := map[[2]string]*store.DepartmentCost{}
	for _, d := range deps {
		pr, ok := prices[d.product]
		if !ok {
			continue
		}
		k := [2]string{d.department, pr.Currency}
		dc := byKey[k]
		if dc == nil {
			dc = &store.DepartmentCost{Department: d.department, Currency: pr.Currency}
			byKey[k] = dc
		}
		dc.Seats += d.seats
		dc.Cost += prorate(pr, int64(d.seats)*int64(st.Days), st.Days)
	}
	for _, dc := range byKey {
		st.Departments = append(st.Departments, *dc)
	}
	sort.Slice(st.Departments, func(i, j int) bool {
		a, b := st.Departments[i], st.Departments[j]
		if a.Department != b.Department {
			return a.Department < b.Department
		}
		return a.Currency < b.Currency
	})
	return st, nil
}

// seatDays sums the end-of-day counters of the product over [start, end);
// days after now carry the last known counts, days before the first point
// count nothing.
func (s *Store) seatDays(ctx context.Context, tenantID int64, sku string, start, end time.Time, c *store.ProductCost) error {
	pts, err := s.SeatHistory(ctx, tenantID, store.HistoryQuery{Product: sku, From: start, To: end, Interval: store.IntervalDay})
	if err != nil {
		return err
	}
	i := 0
	var en, co int64
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		for ; i < len(pts) && !pts[i].Start.After(d); i++ {
			en, co = int64(pts[i].Enabled), int64(pts[i].Consumed)
		}
		c.SeatDays += en
		c.AssignedSeatDays += co
	}
	return nil
}

type departmentSeat struct {
	department string
	product    int64
	seats      int
}

// departmentSeats counts the seats in use per department and product (one
// grouped query over the holders of the tenant's products, through their
// index).
func (s *Store) departmentSeats(ctx context.Context, tenantID int64) ([]departmentSeat, error) {
	rows, err := s.query(ctx, `SELECT u.department, ls.product_id, COUNT(DISTINCT u.id) FROM license_states ls`+s.indexedBy("license_states_product")+` CROSS JOIN users u
		WHERE ls.product_id IN (SELECT id FROM products WHERE tenant_id = ?) AND ls.state = 'Active' AND u.id = ls.user_id
		GROUP BY u.department, ls.product_id`, tenantID)
	out, err := collect(rows, err, func(r *sql.Rows) (departmentSeat, error) {
		var d departmentSeat
		err := r.Scan(&d.department, &d.product, &d.seats)
		return d, err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return out, err
}
