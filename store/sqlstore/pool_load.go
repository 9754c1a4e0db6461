package sqlstore

import (
	"database/sql"
	"slices"
	"strings"

	"allot"
	"allot/licensing"
)

// poolDef is a pool as decisions need it: its seats and its scope.
type poolDef struct {
	licensing.Pool
	groups []int64 // the scope group and every group nested in it
	dept   string  // lower-cased department value (groups empty)
}

// poolSet is a tenant's pools by product, in id order: a user's pool for a
// product is the first whose scope holds the user.
type poolSet struct {
	byProduct map[int64][]poolDef
	tenantID  int64
}

// poolScopes reads the tenant's pools (those of products in cat; all when
// cat is nil) with their scopes' nested groups: two queries at most.
func poolScopes(q poolQuerier, tenantID int64, cat *licensing.Catalog) (*poolSet, error) {
	ps := &poolSet{byProduct: map[int64][]poolDef{}, tenantID: tenantID}
	rows, err := q.query(`SELECT id, product_id, display_name, allotted_units, allows_borrowing, scope_group_id, scope_department FROM license_pools WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return nil, err
	}
	var defs []poolDef
	anyGroup := false
	for rows.Next() {
		var d poolDef
		var borrow int
		var g int64
		if err := rows.Scan(&d.ID, &d.ProductID, &d.Name, &d.AllottedUnits, &borrow, &g, &d.dept); err != nil {
			rows.Close()
			return nil, err
		}
		d.AllowsBorrowing, d.dept = borrow != 0, strings.ToLower(d.dept)
		if g != 0 {
			d.groups, anyGroup = []int64{g}, true
		}
		if cat == nil || cat.Product(d.ProductID) != nil {
			defs = append(defs, d)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if anyGroup && len(defs) > 0 {
		children, err := groupChildren(q, tenantID)
		if err != nil {
			return nil, err
		}
		for i := range defs {
			if len(defs[i].groups) == 1 {
				defs[i].groups = append(defs[i].groups, closure(children, defs[i].groups[0])...)
			}
		}
	}
	for _, d := range defs {
		ps.byProduct[d.ProductID] = append(ps.byProduct[d.ProductID], d)
	}
	return ps, nil
}

// scope returns a condition on the user id column col: the user is in the
// pool's scope.
func (ps *poolSet) scope(d poolDef, col string) (string, []any) {
	if len(d.groups) > 0 {
		return col + ` IN (SELECT member_id FROM memberships WHERE member_type = 0 AND group_id IN (` + placeholders(len(d.groups)) + `))`, idArgs(d.groups)
	}
	return col + ` IN (SELECT id FROM users WHERE tenant_id = ? AND LOWER(department) = ?)`, []any{ps.tenantID, d.dept}
}

// line returns a condition on col: the user's pool for product pid is pool
// id (0: the user is in no pool of the product).
func (ps *poolSet) line(pid, id int64, col string) (string, []any) {
	conds, args := []string{"1 = 1"}, []any{}
	for _, d := range ps.byProduct[pid] {
		c, a := ps.scope(d, col)
		if d.ID == id {
			conds, args = append(conds, c), append(args, a...)
			break
		}
		conds, args = append(conds, "NOT ("+c+")"), append(args, a...)
	}
	return strings.Join(conds, " AND "), args
}

// loadPools completes a snapshot with the pools of its products: each
// user's pool, each pool's holders and, for group licensing, the waiters
// outside the snapshot per line. On PostgreSQL it first locks the rows of
// the products that have pools (refreshing their counters), so that the
// decisions of a pooled product take turns and count its pools exactly.
// A fixed number of queries per pool, whatever the number of users.
func (t *tx) loadPools(b *batch, queue bool) error {
	ps, err := poolScopes(t, b.tenant.ID, b.cat)
	if err != nil || len(ps.byProduct) == 0 {
		return err
	}
	pids := make([]int64, 0, len(ps.byProduct))
	for pid := range ps.byProduct {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	if t.s.engine == Postgres && !t.preview {
		if _, err := t.lockProducts(b, pids); err != nil {
			return err
		}
	}
	if err := t.loadUserPools(b, ps, pids); err != nil {
		return err
	}
	for _, pid := range pids {
		for _, d := range ps.byProduct[pid] {
			cond, args := ps.line(pid, d.ID, "user_id")
			if d.Held, err = countIn(t, pid, `state = 'Active'`, cond, args); err != nil {
				return err
			}
			b.snap.Pools = append(b.snap.Pools, d.Pool)
		}
	}
	if !queue {
		return nil
	}
	return t.loadLines(b, ps, pids)
}

// loadUserPools sets, per snapshot user and pooled product, the user's pool.
func (t *tx) loadUserPools(b *batch, ps *poolSet, pids []int64) error {
	sorted := make([]int64, 0, len(b.index))
	for u := range b.index {
		sorted = append(sorted, u)
	}
	slices.Sort(sorted)
	for _, pid := range pids {
		for _, d := range ps.byProduct[pid] {
			scope, sargs := ps.scope(d, "id")
			for _, c := range pieces(sorted) {
				cond, args, _ := rangeOrIn("id", c)
				rows, err := t.query(`SELECT id FROM users WHERE `+cond+` AND `+scope, append(args, sargs...)...)
				if err != nil {
					return err
				}
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						rows.Close()
						return err
					}
					i, ok := b.index[id]
					if !ok {
						continue
					}
					in := &b.snap.Users[i]
					if in.Pools == nil {
						in.Pools = map[int64]int64{}
					}
					if in.Pools[pid] == 0 {
						in.Pools[pid] = d.ID
					}
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// loadLines loads, per line of each pooled product, how many users wait
// outside the snapshot and, where seats are free and the snapshot has
// waiters of the line, the places of those outside who wait longer.
func (t *tx) loadLines(b *batch, ps *poolSet, pids []int64) error {
	b.snap.LineOutside, b.snap.LineAhead = map[licensing.Line]int{}, map[licensing.Line][]int64{}
	for _, pid := range pids {
		inBatch := map[int64]map[int64]bool{}
		for _, in := range b.snap.Users {
			for _, s := range in.Current {
				if s.ProductID == pid && licensing.IsWaiting(s.Code) {
					l := in.Pools[pid]
					if inBatch[l] == nil {
						inBatch[l] = map[int64]bool{}
					}
					inBatch[l][in.UserID] = true
				}
			}
		}
		lines := []int64{0}
		for _, d := range ps.byProduct[pid] {
			lines = append(lines, d.ID)
		}
		p := b.cat.Product(pid)
		for _, id := range lines {
			cond, args := ps.line(pid, id, "user_id")
			total, err := countIn(t, pid, waitingCond, cond, args)
			if err != nil {
				return err
			}
			l := licensing.Line{Product: pid, Pool: id}
			n := total - len(inBatch[id])
			if n <= 0 {
				continue
			}
			b.snap.LineOutside[l] = n
			free := p.EnabledUnits - p.ConsumedUnits
			if free <= 0 || len(inBatch[id]) == 0 {
				continue
			}
			if b.snap.LineAhead[l], err = t.lineWaiters(pid, cond, args, free+len(inBatch[id]), inBatch[id]); err != nil {
				return err
			}
		}
	}
	return nil
}

// lineWaiters returns the places (first-waiting seqs) of up to k users of a
// line waiting for product pid who are not in skip, in queue order.
func (t *tx) lineWaiters(pid int64, cond string, args []any, k int, skip map[int64]bool) ([]int64, error) {
	rows, err := t.query(`SELECT user_id, MIN(seq) FROM license_states WHERE product_id = ? AND `+waitingCond+` AND `+cond+`
		GROUP BY user_id ORDER BY MIN(seq) LIMIT ?`, append(append([]any{pid}, args...), k+len(skip))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var u, seq int64
		if err := rows.Scan(&u, &seq); err != nil {
			return nil, err
		}
		if !skip[u] && len(out) < k {
			out = append(out, seq)
		}
	}
	return out, rows.Err()
}

// markPoolWaiters is markWaiters for a product with pools: it marks, in
// each line, as many of its longest-waiting users as the product has free
// seats (which line may take them is the decision's). It reports whether
// the product has pools.
func (t *tx) markPoolWaiters(tenantID, pid int64, free int) (bool, error) {
	ps, err := poolScopes(t, tenantID, nil)
	if err != nil || len(ps.byProduct[pid]) == 0 {
		return false, err
	}
	lines := []int64{0}
	for _, d := range ps.byProduct[pid] {
		lines = append(lines, d.ID)
	}
	var users []int64
	for _, id := range lines {
		cond, args := ps.line(pid, id, "user_id")
		rows, err := t.query(`SELECT user_id FROM license_states WHERE product_id = ? AND `+waitingCond+` AND `+cond+`
			GROUP BY user_id ORDER BY MIN(seq) LIMIT ?`, append(append([]any{pid}, args...), free)...)
		got, err := collect(rows, err, func(r *sql.Rows) (int64, error) {
			var u int64
			return u, r.Scan(&u)
		})
		if err != nil {
			return true, err
		}
		users = append(users, got...)
	}
	slices.Sort(users)
	return true, t.markUsers(tenantID, slices.Compact(users))
}

// groupChildren returns the tenant's groups nested in each group.
func groupChildren(q poolQuerier, tenantID int64) (map[int64][]int64, error) {
	rows, err := q.query(`SELECT group_id, member_id FROM memberships WHERE tenant_id = ? AND member_type = 1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	children := map[int64][]int64{}
	for rows.Next() {
		var p, c int64
		if err := rows.Scan(&p, &c); err != nil {
			return nil, err
		}
		children[p] = append(children[p], c)
	}
	return children, rows.Err()
}

// poolScopeMoved tells whether a user's update changed its department in a
// tenant with license pools: its line may have changed (one query, only
// when the department changed).
func (t *tx) poolScopeMoved(tenantID int64, old, u *allot.User) bool {
	if strings.EqualFold(old.Department, u.Department) {
		return false
	}
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM license_pools WHERE tenant_id = ? AND scope_department <> ''`, tenantID).Scan(&n)
	return err != nil || n > 0
}
