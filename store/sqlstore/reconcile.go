package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"allot"
	"allot/licensing"
	"allot/store"
)

// batch is everything the rules need for a set of users, loaded in one
// transaction with a fixed number of queries whatever the batch size.
type batch struct {
	tenant     *allot.Tenant
	users      []int64
	inputs     []licensing.UserInput
	products   []*allot.Product
	consumed   map[int64]int // consumed units when loaded
	waiting    map[int64]int // waiting units when loaded
	groupNames map[int64]string
}

// rangeOrIn returns a condition on col selecting ids: a range scan when the
// ids are dense (the caller filters), an IN list otherwise.
func rangeOrIn(col string, ids []int64) (string, []any, bool) {
	lo, hi := slices.Min(ids), slices.Max(ids)
	if hi-lo+1 <= int64(2*len(ids))+64 {
		return col + " >= ? AND " + col + " <= ?", []any{lo, hi}, true
	}
	return col + " IN (" + placeholders(len(ids)) + ")", idArgs(ids), false
}

// chunks splits ids (sorted) into pieces of at most n for IN lists.
func chunksOf(ids []int64, n int) [][]int64 {
	var out [][]int64
	for start := 0; start < len(ids); start += n {
		out = append(out, ids[start:min(start+n, len(ids))])
	}
	return out
}

func (t *tx) loadBatch(tenantID int64, users []int64, products []*allot.Product) (*batch, error) {
	if err := t.lockUsers(users); err != nil { // before their states are read (locks.go)
		return nil, err
	}
	ten, err := scanTenant(t.queryRow(`SELECT `+tenantCols+` FROM tenants WHERE id = ?`, tenantID))
	if err != nil {
		return nil, err
	}
	b := &batch{tenant: ten, users: users, products: products, consumed: map[int64]int{}, waiting: map[int64]int{}, groupNames: map[int64]string{}}
	for _, p := range products {
		b.consumed[p.ID] = p.ConsumedUnits
	}
	rows, err := t.query(`SELECT id, waiting_units FROM products WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var w int
		if err := rows.Scan(&id, &w); err != nil {
			rows.Close()
			return nil, err
		}
		b.waiting[id] = w
	}
	rows.Close()
	sorted := slices.Clone(users)
	slices.Sort(sorted)
	want := make(map[int64]int, len(users))
	for i, u := range users {
		want[u] = i
	}
	b.inputs = make([]licensing.UserInput, len(users))
	for i, u := range users {
		b.inputs[i].UserID = u
	}
	// Users: usage location.
	for _, chunk := range chunksOf(sorted, 20000) {
		cond, args, _ := rangeOrIn("id", chunk)
		if len(chunk) > 900 && !strings.Contains(cond, ">=") {
			for _, c := range chunksOf(chunk, 900) {
				if err := t.loadUsageLocations(b, want, c); err != nil {
					return nil, err
				}
			}
			continue
		}
		rows, err := t.query(`SELECT id, usage_location FROM users WHERE `+cond, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var loc string
			if err := rows.Scan(&id, &loc); err != nil {
				rows.Close()
				return nil, err
			}
			if i, ok := want[id]; ok {
				b.inputs[i].UsageLocation = loc
			}
		}
		rows.Close()
	}
	// Group licenses and the group graph of the tenant (both small).
	gls := map[int64][]allot.GroupLicense{}
	rows, err = t.query(`SELECT gl.group_id, gl.product_id, gl.disabled_plans, g.display_name FROM group_licenses gl
		JOIN dir_groups g ON g.id = gl.group_id WHERE gl.tenant_id = ? ORDER BY gl.group_id, gl.product_id`, tenantID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var gl allot.GroupLicense
		var dis, name string
		if err := rows.Scan(&gl.GroupID, &gl.ProductID, &dis, &name); err != nil {
			rows.Close()
			return nil, err
		}
		gl.DisabledPlans = decodePlans(dis)
		gls[gl.GroupID] = append(gls[gl.GroupID], gl)
		b.groupNames[gl.GroupID] = name
	}
	rows.Close()
	var parents map[int64][]int64
	if len(gls) > 0 {
		if parents, _, err = t.groupGraph(tenantID); err != nil {
			return nil, err
		}
	}
	// Current states, with the direct ones as grants.
	type mem struct {
		group, seq int64
	}
	memberOf := map[int64][]mem{}
	if len(gls) > 0 {
		for _, chunk := range chunksOf(sorted, 20000) {
			for _, c := range splitForIn(chunk) {
				cond, args, ranged := rangeOrIn("member_id", c)
				rows, err := t.query(`SELECT member_id, group_id, seq FROM memberships WHERE member_type = 0 AND `+cond, args...)
				if err != nil {
					return nil, err
				}
				for rows.Next() {
					var u int64
					var m mem
					if err := rows.Scan(&u, &m.group, &m.seq); err != nil {
						rows.Close()
						return nil, err
					}
					if _, ok := want[u]; ok || !ranged {
						memberOf[u] = append(memberOf[u], m)
					}
				}
				rows.Close()
			}
		}
	}
	for _, chunk := range chunksOf(sorted, 20000) {
		for _, c := range splitForIn(chunk) {
			cond, args, _ := rangeOrIn("user_id", c)
			rows, err := t.query(`SELECT user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at FROM license_states WHERE `+cond, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var st allot.LicenseState
				var code, dis string
				if err := rows.Scan(&st.UserID, &st.ProductID, &st.Source, &st.State, &code, &dis, &st.Seq, &st.UpdatedAt); err != nil {
					rows.Close()
					return nil, err
				}
				i, ok := want[st.UserID]
				if !ok {
					continue
				}
				st.Code, st.DisabledPlans = allot.Code(code), decodePlans(dis)
				in := &b.inputs[i]
				in.Current = append(in.Current, st)
				if st.Source == allot.DirectSource {
					in.Grants = append(in.Grants, licensing.Grant{Source: allot.DirectSource, ProductID: st.ProductID, DisabledPlans: st.DisabledPlans})
				}
			}
			rows.Close()
		}
	}
	// Group grants: every licensed group the user is in, transitively, in
	// the order the user joined.
	ancestors := map[int64][]int64{}
	for i := range b.inputs {
		in := &b.inputs[i]
		ms := memberOf[in.UserID]
		if len(ms) == 0 {
			continue
		}
		sort.Slice(ms, func(a, c int) bool { return ms[a].seq < ms[c].seq })
		seen := map[int64]bool{}
		for _, m := range ms {
			chain, ok := ancestors[m.group]
			if !ok {
				chain = append([]int64{m.group}, closure(parents, m.group)...)
				ancestors[m.group] = chain
			}
			for _, g := range chain {
				if seen[g] {
					continue
				}
				seen[g] = true
				for _, gl := range gls[g] {
					in.Grants = append(in.Grants, licensing.Grant{Source: g, ProductID: gl.ProductID, DisabledPlans: gl.DisabledPlans})
				}
			}
		}
	}
	return b, nil
}

// splitForIn keeps a chunk whole when its ids are dense (one range scan) and
// splits it into IN lists of 900 otherwise.
func splitForIn(chunk []int64) [][]int64 {
	if _, _, ranged := rangeOrIn("x", chunk); ranged || len(chunk) <= 900 {
		return [][]int64{chunk}
	}
	return chunksOf(chunk, 900)
}

func (t *tx) loadUsageLocations(b *batch, want map[int64]int, ids []int64) error {
	rows, err := t.query(`SELECT id, usage_location FROM users WHERE id IN (`+placeholders(len(ids))+`)`, idArgs(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var loc string
		if err := rows.Scan(&id, &loc); err != nil {
			return err
		}
		if i, ok := want[id]; ok {
			b.inputs[i].UsageLocation = loc
		}
	}
	return rows.Err()
}

// evalEnv is a licensing.Env whose ordering numbers come from the store.
type evalEnv struct {
	*licensing.Env
	seqErr     error
	next, last int64
}

func (b *batch) env(t *tx) *evalEnv {
	e := &evalEnv{next: 1, last: 0} // empty range: the first call reserves numbers
	// The rules change Consumed as they go: give them copies.
	ps := make([]*allot.Product, len(b.products))
	for i, p := range b.products {
		c := *p
		ps[i] = &c
	}
	e.Env = licensing.NewEnv(b.tenant.DataLocation, b.tenant.DefaultUsageLocation, ps, func() int64 {
		if e.next > e.last {
			n := 1024
			last, err := t.nextSeqs(n)
			if err != nil {
				e.seqErr = err
				return 0
			}
			e.next, e.last = last-int64(n)+1, last
		}
		e.next++
		return e.next - 1
	}, t.now)
	// Users of this batch who wait, per product.
	inBatch := map[int64]map[int64]bool{}
	for _, in := range b.inputs {
		for _, s := range in.Current {
			if licensing.IsWaiting(s.Code) {
				if inBatch[s.ProductID] == nil {
					inBatch[s.ProductID] = map[int64]bool{}
				}
				inBatch[s.ProductID][in.UserID] = true
			}
		}
	}
	for _, p := range b.products {
		n := b.waiting[p.ID] - len(inBatch[p.ID])
		if n <= 0 {
			continue
		}
		e.WaitingOutside[p.ID] = n
		// With seats free, a waiter of this batch may take one only after
		// the users outside the batch who wait longer: load their places.
		free := p.EnabledUnits - p.ConsumedUnits
		if free <= 0 || len(inBatch[p.ID]) == 0 {
			continue
		}
		ahead, err := t.waitersAhead(p.ID, free+len(inBatch[p.ID]), inBatch[p.ID])
		if err != nil {
			e.seqErr = err
			return e
		}
		e.Ahead[p.ID] = ahead
	}
	return e
}

// waitersAhead returns the first-waiting seqs of up to k users waiting for
// product pid who are not in skip, in queue order.
func (t *tx) waitersAhead(pid int64, k int, skip map[int64]bool) ([]int64, error) {
	rows, err := t.query(`SELECT user_id, seq FROM license_states WHERE product_id = ? AND code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption')
		ORDER BY seq LIMIT ?`, pid, 4*k+len(skip))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[int64]bool{}
	var out []int64
	for rows.Next() {
		var u, seq int64
		if err := rows.Scan(&u, &seq); err != nil {
			return nil, err
		}
		if seen[u] || skip[u] || len(out) == k {
			continue
		}
		seen[u] = true
		out = append(out, seq)
	}
	return out, rows.Err()
}

// batchResult counts what a batch did.
type batchResult struct {
	Changed   int
	Succeeded map[int64]int // per group source: users granted everything
	Failed    map[int64]int // per group source: users with an error
}

type stateKey struct{ u, p, s int64 }

// apply writes the outcomes of a batch: changed states in sorted multi-row
// statements, seat and waiting counters, group error counts and audit events.
func (t *tx) apply(b *batch, env *evalEnv, outs []licensing.Outcome, a allot.Actor, res *batchResult) error {
	var upserts, inserts []allot.LicenseState
	var deletes []stateKey
	waitDelta := map[int64]int{}
	errDelta := map[int64]int{}
	// Users whose licenses changed, by transition (before, after), so one
	// bulk audit event covers every user with the same change.
	audits := map[[2]string][]int{}
	var transitions [][2]string
	var changedUsers []int64
	if t.onApply != nil {
		users := make([]int64, len(outs))
		cur := make([][]allot.LicenseState, len(outs))
		des := make([][]allot.LicenseState, len(outs))
		for i, out := range outs {
			users[i], cur[i], des[i] = b.inputs[i].UserID, b.inputs[i].Current, out.Desired
		}
		t.onApply(users, cur, des)
	}
	for i, out := range outs {
		in := b.inputs[i]
		if res.Succeeded != nil {
			tally(in, out, res)
		}
		if !out.Changed {
			continue
		}
		res.Changed++
		changedUsers = append(changedUsers, in.UserID)
		// A user has a handful of states: linear scans beat maps here.
		for _, s := range out.Desired {
			c, ok := findState(in.Current, s.ProductID, s.Source)
			if !ok {
				inserts = append(inserts, s)
			} else if c.State != s.State || c.Code != s.Code || c.Seq != s.Seq || !slices.Equal(c.DisabledPlans, s.DisabledPlans) {
				upserts = append(upserts, s)
			}
		}
		for _, c := range in.Current {
			if _, ok := findState(out.Desired, c.ProductID, c.Source); !ok {
				deletes = append(deletes, stateKey{c.UserID, c.ProductID, c.Source})
			}
		}
		countChange(in.Current, out.Desired, waitDelta, waitingFor)
		countChange(in.Current, out.Desired, errDelta, groupError)
		before, after := activeParts(env, in.Current), activeParts(env, out.Desired)
		if before != after || len(out.Gained)+len(out.Lost) > 0 {
			k := [2]string{before, after}
			if _, ok := audits[k]; !ok {
				transitions = append(transitions, k)
			}
			audits[k] = append(audits[k], i)
		}
	}
	if err := t.deleteStates(deletes); err != nil {
		return err
	}
	sortStates(upserts)
	if err := t.upsertStates(upserts); err != nil {
		return err
	}
	sortStates(inserts)
	if err := t.insertStates(inserts); err != nil {
		return err
	}
	var touched []int64
	for _, p := range b.products {
		dc := env.Products[p.ID].ConsumedUnits - b.consumed[p.ID]
		dw := waitDelta[p.ID]
		if dc == 0 && dw == 0 {
			continue
		}
		touched = append(touched, p.ID)
		if err := t.addSeats(p.ID, dc, dw); err != nil {
			return err
		}
	}
	for _, g := range sortedIDs(errDelta) {
		if d := errDelta[g]; d != 0 {
			if _, err := t.exec(`UPDATE dir_groups SET error_count = error_count + ? WHERE id = ?`, d, g); err != nil {
				return err
			}
		}
	}
	for _, k := range transitions {
		idx := audits[k]
		ev := allot.AuditEvent{Activity: allot.ActChangeUserLicense, TargetKind: "User",
			Changes: []allot.Change{{Property: "AssignedLicense", Old: k[0], New: k[1]}}}
		if len(idx) == 1 {
			if err := t.queryRow(`SELECT guid FROM users WHERE id = ?`, b.inputs[idx[0]].UserID).Scan(&ev.TargetID); err != nil {
				return err
			}
		}
		users := make([]int64, len(idx))
		for j, i := range idx {
			users[j] = b.inputs[i].UserID
		}
		if err := t.auditUsers(b.tenant.ID, a, ev, users); err != nil {
			return err
		}
	}
	if len(touched) > 0 {
		// Seats freed here, or waiters that this batch skipped, go to the
		// longest-waiting users.
		return t.markWaiters(b.tenant.ID, touched)
	}
	return nil
}

func tally(in licensing.UserInput, out licensing.Outcome, res *batchResult) {
	bad := map[int64]bool{}
	has := map[int64]bool{}
	for _, s := range out.Desired {
		if s.Source == allot.DirectSource {
			continue
		}
		has[s.Source] = true
		if s.State != allot.StateActive {
			bad[s.Source] = true
		}
	}
	for g := range has {
		if bad[g] {
			res.Failed[g]++
		} else {
			res.Succeeded[g]++
		}
	}
}

func findState(ss []allot.LicenseState, product, source int64) (allot.LicenseState, bool) {
	for _, s := range ss {
		if s.ProductID == product && s.Source == source {
			return s, true
		}
	}
	return allot.LicenseState{}, false
}

// countChange adds to delta, per key, +1 when some state after has the
// property and none before did, -1 for the reverse. prop returns a state's
// key and whether it has the property.
func countChange(before, after []allot.LicenseState, delta map[int64]int, prop func(allot.LicenseState) (int64, bool)) {
	has := func(ss []allot.LicenseState, k int64) bool {
		for _, s := range ss {
			if kk, ok := prop(s); ok && kk == k {
				return true
			}
		}
		return false
	}
	seen := func(ss []allot.LicenseState, i int, k int64) bool {
		for _, s := range ss[:i] {
			if kk, ok := prop(s); ok && kk == k {
				return true
			}
		}
		return false
	}
	for i, s := range before {
		if k, ok := prop(s); ok && !seen(before, i, k) && !has(after, k) {
			delta[k]--
		}
	}
	for i, s := range after {
		if k, ok := prop(s); ok && !seen(after, i, k) && !has(before, k) {
			delta[k]++
		}
	}
}

// waitingFor keys a state by its product when it waits for a seat.
func waitingFor(s allot.LicenseState) (int64, bool) { return s.ProductID, licensing.IsWaiting(s.Code) }

// groupError keys a state by its group when that group's grant failed.
func groupError(s allot.LicenseState) (int64, bool) {
	return s.Source, s.Source != allot.DirectSource && s.State == allot.StateError
}

func activeParts(env *evalEnv, ss []allot.LicenseState) string {
	var parts []string
	for _, s := range ss {
		if s.State == allot.StateActive {
			if p := env.Products[s.ProductID]; p != nil && !slices.Contains(parts, p.SkuPartNumber) {
				parts = append(parts, p.SkuPartNumber)
			}
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (t *tx) deleteStates(keys []stateKey) error {
	for start := 0; start < len(keys); start += 300 {
		chunk := keys[start:min(start+300, len(keys))]
		var b strings.Builder
		b.WriteString(`DELETE FROM license_states WHERE `)
		args := make([]any, 0, len(chunk)*3)
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(user_id = ? AND product_id = ? AND source_id = ?)")
			args = append(args, k.u, k.p, k.s)
		}
		if _, err := t.exec(b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// insertStates writes states that do not exist yet (COPY on PostgreSQL).
func (t *tx) insertStates(ss []allot.LicenseState) error {
	return t.copyRows("license_states", []string{"user_id", "product_id", "source_id", "state", "code", "disabled_plans", "seq", "updated_at"}, len(ss),
		func(i int, args []any) []any {
			s := ss[i]
			dis := ""
			if s.Source == allot.DirectSource {
				dis = encodePlans(s.DisabledPlans)
			}
			return append(args, s.UserID, s.ProductID, s.Source, s.State, string(s.Code), dis, s.Seq, s.UpdatedAt)
		})
}

func sortStates(ss []allot.LicenseState) {
	sort.Slice(ss, func(i, j int) bool {
		x, y := ss[i], ss[j]
		if x.UserID != y.UserID {
			return x.UserID < y.UserID
		}
		if x.ProductID != y.ProductID {
			return x.ProductID < y.ProductID
		}
		return x.Source < y.Source
	})
}

func (t *tx) upsertStates(ss []allot.LicenseState) error {
	return t.insertRows(`INSERT INTO license_states (user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at) VALUES `, 8,
		` ON CONFLICT (user_id, product_id, source_id) DO UPDATE SET state = excluded.state, code = excluded.code,
			disabled_plans = excluded.disabled_plans, seq = excluded.seq, updated_at = excluded.updated_at`, len(ss), 1000,
		func(i int, args []any) []any {
			s := ss[i]
			dis := ""
			if s.Source == allot.DirectSource {
				dis = encodePlans(s.DisabledPlans)
			}
			return append(args, s.UserID, s.ProductID, s.Source, s.State, string(s.Code), dis, s.Seq, s.UpdatedAt)
		})
}

// ReconcileUsers recomputes the licenses of users (in priority order) from
// all their sources and writes only the difference, in one transaction.
// Users waiting for a seat go first, longest waiting first; done marks are
// deleted in the same transaction.
func (s *Store) ReconcileUsers(ctx context.Context, tenantID int64, users []int64, done []store.Mark) (store.ReconcileStats, error) {
	st := store.ReconcileStats{Users: len(users)}
	err := s.write(ctx, func(tx *tx) error {
		res := &batchResult{Succeeded: map[int64]int{}, Failed: map[int64]int{}}
		if _, _, err := tx.reconcile(tenantID, users, res); err != nil {
			return err
		}
		st.Changed, st.Succeeded, st.Failed = res.Changed, res.Succeeded, res.Failed
		return tx.completeMarks(done)
	})
	return st, err
}

// reconcile recomputes users in the transaction and writes the difference.
func (t *tx) reconcile(tenantID int64, users []int64, res *batchResult) (*batch, []licensing.Outcome, error) {
	if len(users) == 0 {
		return nil, nil, nil
	}
	products, err := t.products(tenantID)
	if err != nil {
		return nil, nil, err
	}
	b, err := t.loadBatch(tenantID, users, products)
	if err != nil {
		return nil, nil, err
	}
	prioritize(b)
	env := b.env(t)
	outs := make([]licensing.Outcome, len(b.inputs))
	for i, in := range b.inputs {
		outs[i] = licensing.Evaluate(env.Env, in)
	}
	if env.seqErr != nil {
		return nil, nil, env.seqErr
	}
	if err := t.apply(b, env, outs, allot.SystemActor, res); err != nil {
		return nil, nil, err
	}
	return b, outs, nil
}

// prioritize puts users who wait for a seat first, longest waiting first,
// and keeps the given order for the rest.
func prioritize(b *batch) {
	key := make([]int64, len(b.inputs))
	any := false
	for i, in := range b.inputs {
		key[i] = 1<<62 + int64(i)
		for _, s := range in.Current {
			if licensing.IsWaiting(s.Code) && s.Seq < key[i] {
				key[i] = s.Seq
				any = true
			}
		}
	}
	if !any {
		return
	}
	idx := make([]int, len(b.inputs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return key[idx[x]] < key[idx[y]] })
	in := make([]licensing.UserInput, len(idx))
	us := make([]int64, len(idx))
	for i, j := range idx {
		in[i], us[i] = b.inputs[j], b.users[j]
	}
	b.inputs, b.users = in, us
}

// ExpandGroupUsers returns every user in a group, transitively, in
// membership order.
func (s *Store) ExpandGroupUsers(ctx context.Context, groupID int64) ([]int64, error) {
	var ids []int64
	err := s.expand(ctx, s.r, groupID, func(typ int, id int64) {
		if typ == 0 {
			ids = append(ids, id)
		}
	})
	return ids, err
}

// StartGroupProcessing moves a group to ProcessingInProgress and audits the start.
func (s *Store) StartGroupProcessing(ctx context.Context, tenantID, groupID int64) error {
	return s.write(ctx, func(tx *tx) error {
		var guid, name string
		if err := tx.queryRow(`SELECT guid, display_name FROM dir_groups WHERE id = ?`, groupID).Scan(&guid, &name); err != nil {
			return nil // deleted meanwhile: nothing to report
		}
		// A group that assigns nothing itself is recomputed because it moved
		// inside (or out of) a licensed group: no processing state of its own.
		if licensed, err := tx.licensedAmong([]int64{groupID}); err != nil || len(licensed) == 0 {
			return err
		}
		if err := tx.setProcessing([]int64{groupID}, allot.ProcessingInProgress); err != nil {
			return err
		}
		return tx.audit(tenantID, allot.SystemActor, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActStartGroupLicense,
			TargetKind: "Group", TargetID: guid, TargetName: name})
	})
}

// FinishGroup reconciles the last batch of a group's members, completes the
// group's mark, sets ProcessingComplete (unless the group was marked again)
// and audits the totals, all in one transaction.
func (s *Store) FinishGroup(ctx context.Context, tenantID int64, m store.Mark, succeeded, failed int) error {
	return s.write(ctx, func(tx *tx) error {
		if err := tx.completeMarks([]store.Mark{m}); err != nil {
			return err
		}
		var guid, name string
		if err := tx.queryRow(`SELECT guid, display_name FROM dir_groups WHERE id = ?`, m.TargetID).Scan(&guid, &name); err != nil {
			return nil
		}
		var again int
		if err := tx.queryRow(`SELECT COUNT(*) FROM marks WHERE kind = 1 AND target_id = ?`, m.TargetID).Scan(&again); err != nil {
			return err
		}
		if again == 0 {
			if err := tx.setProcessing([]int64{m.TargetID}, allot.ProcessingComplete); err != nil {
				return err
			}
			// Licensed groups that contain this one were queued by the same change.
			parents, err := tx.ancestors(tenantID, m.TargetID)
			if err != nil {
				return err
			}
			if len(parents) > 0 {
				args := append([]any{allot.ProcessingComplete, allot.ProcessingQueued}, idArgs(parents)...)
				if _, err := tx.exec(`UPDATE dir_groups SET processing_state = ? WHERE processing_state = ? AND id IN (`+placeholders(len(parents))+`)
					AND id NOT IN (SELECT target_id FROM marks WHERE kind = 1)`, args...); err != nil {
					return err
				}
			}
		}
		if licensed, err := tx.licensedAmong([]int64{m.TargetID}); err != nil || len(licensed) == 0 {
			return err
		}
		return tx.audit(tenantID, allot.SystemActor, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActFinishGroupLicense,
			TargetKind: "Group", TargetID: guid, TargetName: name,
			ResultReason: fmt.Sprintf("Users successfully assigned licenses: %d, Users for whom license assignment failed: %d.", succeeded, failed)})
	})
}
