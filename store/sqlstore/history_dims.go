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

// placeKey is a product under one department and usage location.
type placeKey struct {
	product  int64
	dep, loc string
}

// dimTally counts a plan's changes per product × (department, usage
// location) and per product × group source, integer keys where it can: one
// map update per state on the hot path; series keys are built once at the
// end (deltas).
type dimTally struct {
	place map[placeKey][2]int
	group map[[2]int64][2]int
}

func newDimTally() *dimTally {
	return &dimTally{place: map[placeKey][2]int{}, group: map[[2]int64][2]int{}}
}

// addUserChange adds what moving a user from states before (counted under
// department depBefore and location locBefore) to states after (under
// depAfter, locAfter) changes. A user has a handful of states: linear scans
// beat maps here, as in apply.
func (d *dimTally) addUserChange(before, after []allot.LicenseState, depBefore, locBefore, depAfter, locAfter string) {
	d.addStates(before, depBefore, locBefore, -1)
	d.addStates(after, depAfter, locAfter, 1)
}

// addStates counts states, sign times: per product once (holds when any
// state is active, waits when any waits), per group source once.
func (d *dimTally) addStates(states []allot.LicenseState, dep, loc string, sign int) {
	for i, s := range states {
		first := true
		for _, o := range states[:i] {
			if o.ProductID == s.ProductID {
				first = false
				break
			}
		}
		if first {
			holds, waits := false, false
			for _, o := range states[i:] {
				if o.ProductID == s.ProductID {
					holds = holds || o.State == allot.StateActive
					waits = waits || licensing.IsWaiting(o.Code)
				}
			}
			if holds || waits {
				k := placeKey{s.ProductID, dep, loc}
				v := d.place[k]
				d.place[k] = [2]int{v[0] + sign*b2i(holds), v[1] + sign*b2i(waits)}
			}
		}
		if s.Source != allot.DirectSource {
			k := [2]int64{s.ProductID, s.Source}
			v := d.group[k]
			d.group[k] = [2]int{v[0] + sign*b2i(s.State == allot.StateActive), v[1] + sign*b2i(licensing.IsWaiting(s.Code))}
		}
	}
}

// deltas returns the tally per series.
func (d *dimTally) deltas() dimDeltas {
	out := dimDeltas{}
	for k, v := range d.place {
		out.add(dimKey{k.product, dimDepartment, k.dep}, v[0], v[1])
		out.add(dimKey{k.product, dimUsageLocation, k.loc}, v[0], v[1])
	}
	for k, v := range d.group {
		out.add(dimKey{k[0], dimGroup, strconv.FormatInt(k[1], 10)}, v[0], v[1])
	}
	return out
}

// applyDimCounts changes the per-dimension counts by what the plan did to
// its users. Previews change nothing.
func (t *tx) applyDimCounts(b *batch, plan *licensing.Plan) error {
	if t.preview {
		return nil
	}
	d := newDimTally()
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
	return t.addDimCounts(b.tenant.ID, d.deltas())
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
	d := newDimTally()
	d.addUserChange(states, nil, depBefore, locBefore, "", "")
	d.addUserChange(nil, states, "", "", depAfter, locAfter)
	return t.addDimCounts(tenantID, d.deltas())
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
