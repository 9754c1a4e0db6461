package sqlstore

import (
	"slices"
	"sort"
	"strings"

	"allot"
	"allot/licensing"
)

// batch is a licensing snapshot of a set of users as one transaction loaded
// it, with a fixed number of queries whatever the batch size, and what the
// store needs to apply its plan.
type batch struct {
	tenant *allot.Tenant
	snap   *licensing.Snapshot
	cat    *licensing.Catalog
	// waiting counts, per product, every user waiting for a seat when loaded.
	waiting map[int64]int
	// index maps a user id to its place in snap.Users.
	index map[int64]int
	// departments are the users' departments, by place in snap.Users, for
	// the seat history per department (history_dims.go).
	departments []string
}

// department returns the department of the user at place i.
func (b *batch) department(i int) string {
	if i < len(b.departments) {
		return b.departments[i]
	}
	return ""
}

// Lock modes of loadBatch.
const (
	lockRows = true  // lock the users' rows first (every write)
	noLock   = false // a read-only check inside a transaction
)

// loadBatch loads the snapshot of users: their usage location, their
// grants (direct ones from their states, group ones through every licensed
// group they are in, transitively, in the order they joined) and their
// states. With lock, the users are locked first (lockUsers)
// (docs/design.md, "Concurrency model").
func (t *tx) loadBatch(tenantID int64, users []int64, products []*allot.Product, lock bool) (*batch, error) {
	sorted := slices.Clone(users)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	// On PostgreSQL the users are locked before their usage locations are
	// read; nothing of theirs is read before.
	lock = lock && t.s.engine == Postgres
	ten, err := scanTenant(t.queryRow(`SELECT `+tenantCols+` FROM tenants WHERE id = ?`, tenantID))
	if err != nil {
		return nil, err
	}
	b := &batch{tenant: ten, cat: licensing.NewCatalog(products), index: make(map[int64]int, len(users)),
		departments: make([]string, len(users)),
		snap: &licensing.Snapshot{DataLocation: ten.DataLocation, DefaultUsageLocation: ten.DefaultUsageLocation,
			Products: products, GroupNames: map[int64]string{}, Now: t.now, Users: make([]licensing.UserInput, len(users))}}
	for i, u := range users {
		b.index[u] = i
		b.snap.Users[i].UserID = u
	}
	if err := t.loadUsageLocations(b, sorted, lock); err != nil {
		return nil, err
	}
	gls, err := t.loadGroupLicenses(b, tenantID)
	if err != nil {
		return nil, err
	}
	if len(gls) > 0 {
		if err := t.loadWaitroom(b, tenantID); err != nil {
			return nil, err
		}
	}
	if err := t.loadStates(b, sorted); err != nil {
		return nil, err
	}
	if err := t.loadDirectEnds(b, sorted); err != nil {
		return nil, err
	}
	groupPlans(b, gls)
	if len(gls) > 0 {
		if err := t.loadGroupGrants(b, tenantID, sorted, gls); err != nil {
			return nil, err
		}
	}
	return b, nil
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

// chunksOf splits ids (sorted) into pieces of at most n.
func chunksOf(ids []int64, n int) [][]int64 {
	var out [][]int64
	for start := 0; start < len(ids); start += n {
		out = append(out, ids[start:min(start+n, len(ids))])
	}
	return out
}

// pieces splits sorted ids into the conditions one query each reads: range
// scans over dense runs of up to 20,000 ids, IN lists of 900 otherwise.
func pieces(sorted []int64) [][]int64 {
	var out [][]int64
	for _, chunk := range chunksOf(sorted, 20000) {
		if _, _, ranged := rangeOrIn("x", chunk); ranged || len(chunk) <= 900 {
			out = append(out, chunk)
			continue
		}
		out = append(out, chunksOf(chunk, 900)...)
	}
	return out
}

// loadUsageLocations reads the users' usage locations; with lock
// (PostgreSQL) it locks the users first (lockUsers), so that what it reads
// is what every concurrent writer of theirs committed.
func (t *tx) loadUsageLocations(b *batch, sorted []int64, lock bool) error {
	if lock {
		if err := t.lockUsers(sorted); err != nil {
			return err
		}
	}
	for _, c := range pieces(sorted) {
		cond, args, _ := rangeOrIn("id", c)
		rows, err := t.query(`SELECT id, usage_location, department FROM users WHERE `+cond, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var loc, dep string
			if err := rows.Scan(&id, &loc, &dep); err != nil {
				rows.Close()
				return err
			}
			if i, ok := b.index[id]; ok {
				b.snap.Users[i].UsageLocation = loc
				b.departments[i] = dep
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// loadGroupLicenses returns the tenant's group licenses by group (a small
// table) and names the groups in the snapshot.
func (t *tx) loadGroupLicenses(b *batch, tenantID int64) (map[int64][]allot.GroupLicense, error) {
	gls := map[int64][]allot.GroupLicense{}
	rows, err := t.query(`SELECT gl.group_id, gl.product_id, gl.disabled_plans, g.display_name, gl.ends_at, g.license_mode FROM group_licenses gl
		JOIN dir_groups g ON g.id = gl.group_id WHERE gl.tenant_id = ? ORDER BY gl.group_id, gl.product_id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gl allot.GroupLicense
		var dis, name string
		var mode int
		if err := rows.Scan(&gl.GroupID, &gl.ProductID, &dis, &name, &gl.EndsAt, &mode); err != nil {
			return nil, err
		}
		gl.DisabledPlans = decodePlans(dis)
		gls[gl.GroupID] = append(gls[gl.GroupID], gl)
		b.snap.GroupNames[gl.GroupID] = name
		if mode == groupModeBestEffort {
			if b.snap.BestEffort == nil {
				b.snap.BestEffort = map[int64]bool{}
			}
			b.snap.BestEffort[gl.GroupID] = true
		}
		if b.snap.Assigning == nil {
			b.snap.Assigning = map[int64][]int64{}
		}
		b.snap.Assigning[gl.ProductID] = append(b.snap.Assigning[gl.ProductID], gl.GroupID)
	}
	return gls, rows.Err()
}

// loadStates loads the users' license states; direct states are also the
// users' direct grants.
func (t *tx) loadStates(b *batch, sorted []int64) error {
	for _, c := range pieces(sorted) {
		cond, args, _ := rangeOrIn("user_id", c)
		rows, err := t.query(`SELECT user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at FROM license_states WHERE `+cond, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var st allot.LicenseState
			var code, dis string
			if err := rows.Scan(&st.UserID, &st.ProductID, &st.Source, &st.State, &code, &dis, &st.Seq, &st.UpdatedAt); err != nil {
				rows.Close()
				return err
			}
			i, ok := b.index[st.UserID]
			if !ok {
				continue
			}
			st.Code, st.DisabledPlans = allot.Code(code), decodePlans(dis)
			in := &b.snap.Users[i]
			in.Current = append(in.Current, st)
			if st.Source == allot.DirectSource {
				in.Grants = append(in.Grants, licensing.Grant{Source: allot.DirectSource, ProductID: st.ProductID, DisabledPlans: st.DisabledPlans})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// groupPlans gives the group states of the snapshot the disabled plans of
// their group's license: a group state's plans are its group's (they are
// not stored per user), so an unchanged grant is never rewritten.
func groupPlans(b *batch, gls map[int64][]allot.GroupLicense) {
	for i := range b.snap.Users {
		cur := b.snap.Users[i].Current
		for j := range cur {
			if cur[j].Source == allot.DirectSource {
				continue
			}
			for _, gl := range gls[cur[j].Source] {
				if gl.ProductID == cur[j].ProductID {
					cur[j].DisabledPlans = gl.DisabledPlans
				}
			}
		}
	}
}

type membership struct{ group, seq int64 }

// loadGroupGrants adds, per user, every licensed group the user is in,
// transitively, in the order the user joined.
func (t *tx) loadGroupGrants(b *batch, tenantID int64, sorted []int64, gls map[int64][]allot.GroupLicense) error {
	parents, _, err := t.groupGraph(tenantID)
	if err != nil {
		return err
	}
	memberOf, err := t.loadMemberships(b, sorted)
	if err != nil {
		return err
	}
	ancestors := map[int64][]int64{}
	for i := range b.snap.Users {
		in := &b.snap.Users[i]
		ms := memberOf[in.UserID]
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
					in.Grants = append(in.Grants, licensing.Grant{Source: g, ProductID: gl.ProductID, DisabledPlans: gl.DisabledPlans, EndsAt: gl.EndsAt})
				}
			}
		}
	}
	return nil
}

func (t *tx) loadMemberships(b *batch, sorted []int64) (map[int64][]membership, error) {
	memberOf := map[int64][]membership{}
	for _, c := range pieces(sorted) {
		cond, args, _ := rangeOrIn("member_id", c)
		rows, err := t.query(`SELECT member_id, group_id, seq FROM memberships WHERE member_type = 0 AND `+cond, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u int64
			var m membership
			if err := rows.Scan(&u, &m.group, &m.seq); err != nil {
				rows.Close()
				return nil, err
			}
			if _, ok := b.index[u]; ok {
				memberOf[u] = append(memberOf[u], m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return memberOf, nil
}

// prepare completes the snapshot for a decision: the ordering numbers the
// plan may use and, for group licensing (queue), who waits outside the batch.
func (t *tx) prepare(b *batch, queue bool) error {
	n := b.snap.SeqsNeeded()
	last, err := t.nextSeqs(n)
	if err != nil {
		return err
	}
	b.snap.FirstSeq = last - int64(n) + 1
	if b.waiting, err = t.waitingUnits(b.tenant.ID); err != nil {
		return err
	}
	for pid, d := range t.deltas {
		b.waiting[pid] += d[1]
	}
	b.snap.WaitingOutside, b.snap.Ahead = map[int64]int{}, map[int64][]int64{}
	if err := t.loadPools(b, queue); err != nil {
		return err
	}
	if !queue {
		return nil
	}
	return t.loadQueue(b)
}

func (t *tx) waitingUnits(tenantID int64) (map[int64]int, error) {
	rows, err := t.query(`SELECT id, waiting_units FROM products WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var w int
		if err := rows.Scan(&id, &w); err != nil {
			return nil, err
		}
		out[id] = w
	}
	return out, rows.Err()
}

// loadQueue loads, per product, how many users wait outside the batch and,
// where seats are free and the batch has waiters, the places in line of
// those outside who wait longer.
func (t *tx) loadQueue(b *batch) error {
	inBatch := map[int64]map[int64]bool{}
	for _, in := range b.snap.Users {
		for _, s := range in.Current {
			if licensing.IsWaiting(s.Code) {
				if inBatch[s.ProductID] == nil {
					inBatch[s.ProductID] = map[int64]bool{}
				}
				inBatch[s.ProductID][in.UserID] = true
			}
		}
	}
	for _, p := range b.snap.Products {
		n := b.waiting[p.ID] - len(inBatch[p.ID])
		if n <= 0 {
			continue
		}
		b.snap.WaitingOutside[p.ID] = n
		free := p.EnabledUnits - p.ConsumedUnits
		if free <= 0 || len(inBatch[p.ID]) == 0 {
			continue
		}
		ahead, err := t.waitersAhead(p.ID, free+len(inBatch[p.ID]), inBatch[p.ID])
		if err != nil {
			return err
		}
		b.snap.Ahead[p.ID] = ahead
	}
	return nil
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

// productNames joins the skuPartNumbers of products, sorted.
func productNames(cat *licensing.Catalog, ids []int64) string {
	var parts []string
	for _, id := range ids {
		if p := cat.Product(id); p != nil && !slices.Contains(parts, p.SkuPartNumber) {
			parts = append(parts, p.SkuPartNumber)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
