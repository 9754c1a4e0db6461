package sqlstore

import (
	"slices"
	"strconv"
	"strings"

	"allot"
	"allot/licensing"
)

// Seat history per group, department and usage location (docs/design.md,
// "Seat history and cost"). A licensing plan already says, per user, the
// states before and after; apply turns that into changes of per-product
// counts per dimension value (consumed: users holding the product; waiting:
// users waiting for it; for a group, its members holding or waiting through
// it), adds them to seat_dim_counts in one multi-row statement inside the
// write (so a write rolled back to its savepoint takes them back), and
// records the keys; before the transaction commits, one statement per 500
// keys upserts their points from the counts, as writeSeatHistory does for
// products. The user's department comes with its usage location in the
// snapshot's one query (loadUsageLocations): no query per member.

// Dimension kinds of seat_dim_counts and seat_dim_history.
const (
	dimGroup         = 1
	dimDepartment    = 2
	dimUsageLocation = 3
)

// dimKey names one series: a product and a dimension value.
type dimKey struct {
	product int64
	kind    int
	key     string
}

func (a dimKey) compare(b dimKey) int {
	if a.product != b.product {
		return cmpInt(a.product, b.product)
	}
	if a.kind != b.kind {
		return a.kind - b.kind
	}
	return strings.Compare(a.key, b.key)
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// dimDeltas accumulates changes of consumed and waiting counts per series.
type dimDeltas map[dimKey][2]int

func (d dimDeltas) add(k dimKey, consumed, waiting int) {
	if consumed == 0 && waiting == 0 {
		return
	}
	v := d[k]
	d[k] = [2]int{v[0] + consumed, v[1] + waiting}
}

// userDims is what a user's license states count in: per product whether
// the user holds it and whether it waits for it, and per group source the
// same.
type userDims struct {
	holds, waits           map[int64]bool
	groupHolds, groupWaits map[[2]int64]bool
}

func dimsOf(states []allot.LicenseState) userDims {
	d := userDims{holds: map[int64]bool{}, waits: map[int64]bool{}, groupHolds: map[[2]int64]bool{}, groupWaits: map[[2]int64]bool{}}
	for _, s := range states {
		active, waiting := s.State == allot.StateActive, licensing.IsWaiting(s.Code)
		d.holds[s.ProductID] = d.holds[s.ProductID] || active
		d.waits[s.ProductID] = d.waits[s.ProductID] || waiting
		if s.Source != allot.DirectSource {
			k := [2]int64{s.ProductID, s.Source}
			d.groupHolds[k] = d.groupHolds[k] || active
			d.groupWaits[k] = d.groupWaits[k] || waiting
		}
	}
	return d
}

// addUserChange adds what moving a user from states before (counted under
// department depBefore and location locBefore) to states after (under
// depAfter, locAfter) changes.
func (d dimDeltas) addUserChange(before, after []allot.LicenseState, depBefore, locBefore, depAfter, locAfter string) {
	b, a := dimsOf(before), dimsOf(after)
	for pid := range b.holds {
		d.addSide(pid, depBefore, locBefore, b.holds[pid], b.waits[pid], -1)
	}
	for pid := range a.holds {
		d.addSide(pid, depAfter, locAfter, a.holds[pid], a.waits[pid], 1)
	}
	for k, h := range b.groupHolds {
		d.add(dimKey{k[0], dimGroup, strconv.FormatInt(k[1], 10)}, -b2i(h), -b2i(b.groupWaits[k]))
	}
	for k, h := range a.groupHolds {
		d.add(dimKey{k[0], dimGroup, strconv.FormatInt(k[1], 10)}, b2i(h), b2i(a.groupWaits[k]))
	}
}

func (d dimDeltas) addSide(pid int64, dep, loc string, holds, waits bool, sign int) {
	d.add(dimKey{pid, dimDepartment, dep}, sign*b2i(holds), sign*b2i(waits))
	d.add(dimKey{pid, dimUsageLocation, loc}, sign*b2i(holds), sign*b2i(waits))
}

// applyDimCounts changes the per-dimension counts by what the plan did to
// its users. Previews change nothing.
func (t *tx) applyDimCounts(b *batch, plan *licensing.Plan) error {
	if t.preview {
		return nil
	}
	d := dimDeltas{}
	for _, up := range plan.Users {
		if !up.Changed {
			continue
		}
		i, ok := b.index[up.UserID]
		if !ok {
			continue
		}
		dep, loc := b.department(i), b.snap.Users[i].UsageLocation
		d.addUserChange(up.Before, up.After, dep, loc, dep, loc)
	}
	return t.addDimCounts(b.tenant.ID, d)
}

// moveUserDims moves what a user holds and waits for from its old
// department and usage location to the new ones (a user update).
func (t *tx) moveUserDims(tenantID, userID int64, depBefore, locBefore, depAfter, locAfter string) error {
	if t.preview || (depBefore == depAfter && locBefore == locAfter) {
		return nil
	}
	rows, err := t.query(`SELECT product_id, source_id, state, code FROM license_states WHERE user_id = ?`, userID)
	if err != nil {
		return err
	}
	var states []allot.LicenseState
	for rows.Next() {
		var s allot.LicenseState
		var code string
		if err := rows.Scan(&s.ProductID, &s.Source, &s.State, &code); err != nil {
			rows.Close()
			return err
		}
		s.Code = allot.Code(code)
		states = append(states, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	d := dimDeltas{}
	d.addUserChange(states, nil, depBefore, locBefore, "", "")
	d.addUserChange(nil, states, "", "", depAfter, locAfter)
	return t.addDimCounts(tenantID, d)
}

// addDimCounts adds the deltas to seat_dim_counts in key order, 500 rows a
// statement, and records the keys for the history written before commit.
func (t *tx) addDimCounts(tenantID int64, d dimDeltas) error {
	keys := make([]dimKey, 0, len(d))
	for k, v := range d {
		if v != [2]int{} {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, dimKey.compare)
	err := t.insertRows(`INSERT INTO seat_dim_counts (product_id, kind, key, tenant_id, consumed, waiting) VALUES `, 6,
		` ON CONFLICT (product_id, kind, key) DO UPDATE SET consumed = seat_dim_counts.consumed + excluded.consumed,
		waiting = seat_dim_counts.waiting + excluded.waiting`, len(keys), 500,
		func(i int, args []any) []any {
			k := keys[i]
			return append(args, k.product, k.kind, k.key, tenantID, d[k][0], d[k][1])
		})
	if err != nil {
		return err
	}
	if t.dims == nil {
		t.dims = map[dimKey]bool{}
	}
	for _, k := range keys {
		t.dims[k] = true
	}
	return nil
}

// dimHistoryUpsert writes a point per level from the series' counts.
const dimHistoryUpsert = `INSERT INTO seat_dim_history (product_id, kind, key, level, bucket, tenant_id, consumed, waiting, peak)
	SELECT c.product_id, c.kind, c.key, l.level, (CAST(? AS BIGINT) / l.size) * l.size, c.tenant_id, c.consumed, c.waiting, c.consumed
	FROM seat_dim_counts c, (SELECT 0 AS level, 1 AS size UNION ALL SELECT 1, 3600 UNION ALL SELECT 2, 86400) l
	WHERE (c.product_id, c.kind, c.key) IN (%s)
	ON CONFLICT (product_id, kind, key, level, bucket) DO UPDATE SET consumed = excluded.consumed, waiting = excluded.waiting,
		peak = CASE WHEN excluded.consumed > seat_dim_history.peak THEN excluded.consumed ELSE seat_dim_history.peak END`

// writeDimHistory writes the points of the series the transaction changed,
// 500 series a statement.
func (t *tx) writeDimHistory() error {
	if len(t.dims) == 0 {
		return nil
	}
	keys := make([]dimKey, 0, len(t.dims))
	for k := range t.dims {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, dimKey.compare)
	now := t.s.now().Unix()
	for start := 0; start < len(keys); start += 500 {
		part := keys[start:min(start+500, len(keys))]
		tuples := make([]string, len(part))
		args := []any{now}
		for i, k := range part {
			tuples[i] = "(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS TEXT))"
			args = append(args, k.product, k.kind, k.key)
		}
		q := strings.Replace(dimHistoryUpsert, "%s", "VALUES "+strings.Join(tuples, ", "), 1)
		if _, err := t.exec(q, args...); err != nil {
			return err
		}
	}
	return nil
}
