package sqlstore

// How the users list reads a filtered page on a large tenant.

import (
	"context"
	"math"
)

// listSortCap is the most matches of a filter that FindUsers reads through
// the filter's index and sorts. A filter that matches more is met often
// enough (at least listSortCap in the tenant) that walking the sort's own
// order finds a page after a few thousand users.
const listSortCap = 20_000

// listDriver is a filter whose index can drive the users list.
type listDriver int

const (
	driveNone       listDriver = iota // walk the sort's order
	driveProduct                      // license_states_product: a product's holders in user order
	driveLicensed                     // license_states' primary key: every holder in user order
	driveDepartment                   // users_tenant_department
	driveLocation                     // users_tenant_location
)

// indexedBy tells SQLite to read a table through the named index (a
// planner without statistics may pick another); PostgreSQL plans alone.
func (s *Store) indexedBy(name string) string {
	if s.engine == SQLite {
		return " INDEXED BY " + name
	}
	return ""
}

func (s *Store) sortCap() int {
	if s.listCap > 0 {
		return s.listCap
	}
	return listSortCap
}

// listDriver picks how FindUsers reads q: the driver is the index of its
// most selective filter (driveNone without one); many tells that the
// filter matches more than sortCap users and the order is not creation,
// where walking the sort's order should find a page soon.
func (s *Store) listDriver(ctx context.Context, tenantID int64, q UserQuery) (listDriver, bool, error) {
	var cands []listDriver
	if q.ProductID != 0 {
		cands = append(cands, driveProduct)
	}
	if q.Department != "" {
		if q.Sort == "department" {
			return driveDepartment, false, nil // its index serves the filter and the order
		}
		cands = append(cands, driveDepartment)
	}
	if q.UsageLocation != "" {
		cands = append(cands, driveLocation)
	}
	if len(cands) == 0 {
		if q.Licensed == "licensed" && q.Sort == "" {
			return driveLicensed, false, nil
		}
		return driveNone, false, nil
	}
	if len(cands) == 1 && q.Sort == "" {
		return cands[0], false, nil
	}
	limit := s.sortCap() + 1
	best, bestN := driveNone, math.MaxInt
	for _, d := range cands {
		n, err := s.driverMatches(ctx, tenantID, q, d, limit)
		if err != nil {
			return driveNone, false, err
		}
		if n < bestN {
			best, bestN = d, n
		}
	}
	return best, q.Sort != "" && bestN >= limit, nil
}

// driverMatches counts the matches of d's condition alone through its
// index, up to limit.
func (s *Store) driverMatches(ctx context.Context, tenantID int64, q UserQuery, d listDriver, limit int) (int, error) {
	var sub string
	var args []any
	switch d {
	case driveProduct:
		sub, args = `SELECT 1 FROM license_states WHERE product_id = ? AND state = 'Active'`, []any{q.ProductID}
	case driveDepartment:
		sub, args = `SELECT 1 FROM users WHERE tenant_id = ? AND department = ?`, []any{tenantID, q.Department}
	case driveLocation:
		sub, args = `SELECT 1 FROM users WHERE tenant_id = ? AND usage_location = ?`, []any{tenantID, q.UsageLocation}
	default:
		return math.MaxInt, nil
	}
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM (`+sub+` LIMIT ?) m`, append(args, limit)...).Scan(&n)
	return n, err
}
