package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"allot"
	"allot/store"
)

// assignmentFetch is how many state rows one query of a page reads per row
// asked for: a user × product has one row per source.
const assignmentFetch = 4

// EachAssignment calls fn with the rows of the licenseAssignments report
// in (user, product) order: one per user × product with its sources. A
// query without Limit reads every row in one streaming query (constant
// memory); with Limit it returns the cursor of the last row when more
// follow (zero cursor at the end).
func (s *Store) EachAssignment(ctx context.Context, tenantID int64, q store.AssignmentQuery, fn func(store.AssignmentRow) error) (store.AssignmentCursor, error) {
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return store.AssignmentCursor{}, err
	}
	byID := map[int64]*allot.Product{}
	var only int64
	for _, p := range products {
		byID[p.ID] = p
	}
	if q.Product != "" {
		p, err := s.Product(ctx, tenantID, q.Product)
		if err != nil {
			return store.AssignmentCursor{}, err
		}
		only = p.ID
	}
	names, err := s.groupNamesOf(ctx, tenantID)
	if err != nil {
		return store.AssignmentCursor{}, err
	}
	a := &assignmentReader{s: s, tenantID: tenantID, only: only, disabled: q.DisabledOnly, products: byID, groups: names, fn: fn}
	if q.Limit <= 0 {
		_, _, err := a.readKeys(ctx, q.After, 0, nil)
		return store.AssignmentCursor{}, err
	}
	return a.page(ctx, q.After, q.Limit)
}

func (s *Store) groupNamesOf(ctx context.Context, tenantID int64) (map[int64]string, error) {
	rows, err := s.query(ctx, `SELECT id, display_name FROM dir_groups WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

type assignmentReader struct {
	s        *Store
	tenantID int64
	only     int64
	disabled bool
	products map[int64]*allot.Product
	groups   map[int64]string
	fn       func(store.AssignmentRow) error
}

// page emits up to limit rows after the cursor and returns the cursor of
// the last one when more follow. It reads state rows in bounded queries;
// the last user × product of a query that hit its bound may lack sources,
// so it is read again by the next query.
func (a *assignmentReader) page(ctx context.Context, after store.AssignmentCursor, limit int) (store.AssignmentCursor, error) {
	emit := a.fn
	defer func() { a.fn = emit }()
	sent, grow := 0, 1
	for {
		fetch := (limit - sent + 1) * assignmentFetch * grow
		var got []store.AssignmentRow
		var keys []store.AssignmentCursor
		a.fn = func(r store.AssignmentRow) error { got = append(got, r); return nil }
		n, _, err := a.readKeys(ctx, after, fetch, &keys)
		if err != nil {
			return store.AssignmentCursor{}, err
		}
		full := n == fetch
		if full {
			if len(got) == 1 { // one user × product with that many sources
				grow *= 2
				continue
			}
			got, keys = got[:len(got)-1], keys[:len(keys)-1]
		}
		for i, r := range got {
			if sent == limit {
				return after, nil
			}
			if err := emit(r); err != nil {
				return store.AssignmentCursor{}, err
			}
			sent, after = sent+1, keys[i]
		}
		if !full {
			return store.AssignmentCursor{}, nil
		}
	}
}

// readKeys runs the query and folds consecutive state rows of one user ×
// product into a report row; keys, when not nil, gets each row's cursor.
// It returns the number of state rows read. (+u.tenant_id keeps SQLite
// from reading the users through the userPrincipalName index and sorting
// every row in a temporary B-tree: read in id order they come sorted.)
func (a *assignmentReader) readKeys(ctx context.Context, after store.AssignmentCursor, limit int, keys *[]store.AssignmentCursor) (int, store.AssignmentCursor, error) {
	q := `SELECT u.id, u.guid, u.upn, u.display_name, u.department, u.account_enabled, ls.product_id, ls.source_id, ls.state, ls.code
		FROM users u JOIN license_states ls ON ls.user_id = u.id
		WHERE +u.tenant_id = ?`
	args := []any{a.tenantID}
	if after != (store.AssignmentCursor{}) {
		q += ` AND u.id >= ? AND (u.id > ? OR ls.product_id > ?)`
		args = append(args, after.User, after.User, after.Product)
	}
	if a.only != 0 {
		q += ` AND ls.product_id = ?`
		args = append(args, a.only)
	}
	if a.disabled {
		q += ` AND u.account_enabled = ? AND ls.state = ?`
		args = append(args, 0, allot.StateActive)
	}
	q += ` ORDER BY u.id, ls.product_id, ls.source_id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := a.s.query(ctx, q, args...)
	if err != nil {
		return 0, after, err
	}
	defer rows.Close()
	var row store.AssignmentRow
	var cur store.AssignmentCursor
	have, n := false, 0
	flush := func() error {
		if !have {
			return nil
		}
		if keys != nil {
			*keys = append(*keys, cur)
		}
		return a.fn(row)
	}
	for rows.Next() {
		var uid, pid, src int64
		var guid, upn, name, dep, state, code string
		var enabled bool
		if err := rows.Scan(&uid, &guid, &upn, &name, &dep, &enabled, &pid, &src, &state, &code); err != nil {
			return n, cur, err
		}
		n++
		if !have || uid != cur.User || pid != cur.Product {
			if err := flush(); err != nil {
				return n, cur, err
			}
			p := a.products[pid]
			row = store.AssignmentRow{UserID: guid, UserPrincipalName: upn, DisplayName: name, Department: dep, AccountEnabled: enabled,
				SkuID: p.SkuID, SkuPartNumber: p.SkuPartNumber, ProductName: p.DisplayName, State: allot.StateError}
			cur, have = store.AssignmentCursor{User: uid, Product: pid}, true
		}
		a.addSource(&row, src, state, code)
	}
	if err := rows.Err(); err != nil {
		return n, cur, err
	}
	return n, cur, flush()
}

func (a *assignmentReader) addSource(row *store.AssignmentRow, src int64, state, code string) {
	if state == allot.StateActive {
		row.State = allot.StateActive
	} else if code != "" && !slices.Contains(row.Errors, code) {
		row.Errors = append(row.Errors, code)
	}
	if src == allot.DirectSource {
		row.Direct = true
		return
	}
	row.Groups = append(row.Groups, a.groups[src])
}

// Utilization returns every product's seats now, by skuPartNumber, with
// the number held by disabled users (one grouped query over the holders of
// the tenant's products, through their index: a tenant's unlicensed users
// are never read).
func (s *Store) Utilization(ctx context.Context, tenantID int64) ([]store.Utilization, error) {
	rows, err := s.query(ctx, `SELECT ls.product_id, COUNT(DISTINCT ls.user_id) FROM license_states ls`+s.indexedBy("license_states_product")+` CROSS JOIN users u
		WHERE ls.product_id IN (SELECT id FROM products WHERE tenant_id = ?) AND ls.state = 'Active' AND u.id = ls.user_id AND u.account_enabled = ?
		GROUP BY ls.product_id`, tenantID, 0)
	counts, err := collect(rows, err, func(r *sql.Rows) ([2]int64, error) {
		var c [2]int64
		err := r.Scan(&c[0], &c[1])
		return c, err
	})
	if err != nil {
		return nil, err
	}
	rows, err = s.query(ctx, `SELECT id, sku_guid, part_number, display_name, enabled_units, consumed_units, waiting_units
		FROM products WHERE tenant_id = ? ORDER BY part_number`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (store.Utilization, error) {
		var u store.Utilization
		var id int64
		err := r.Scan(&id, &u.SkuID, &u.SkuPartNumber, &u.ProductName, &u.Enabled, &u.Consumed, &u.Waiting)
		for _, c := range counts {
			if c[0] == id {
				u.DisabledUsers = int(c[1])
			}
		}
		return u, err
	})
}
