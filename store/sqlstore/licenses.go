package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/licensing"
	"allot/store"
)

// resolveRequests checks skuIds and disabledPlans of an assignLicense body.
func resolveRequests(products []*allot.Product, add []store.LicenseRequest, remove []string) (map[string]*allot.Product, error) {
	bySku := map[string]*allot.Product{}
	for _, p := range products {
		bySku[p.SkuID] = p
	}
	seen := map[string]bool{}
	for i := range add {
		r := &add[i]
		id := strings.ToLower(strings.TrimSpace(r.SkuID))
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return nil, allot.Errorf(allot.EInvalid, "addLicenses[%d].skuId '%s' is not a valid GUID.", i, r.SkuID)
		}
		p := bySku[id]
		if p == nil {
			return nil, allot.Errorf(allot.EInvalid, "License %s does not correspond to a product of this tenant; list them with GET /v1.0/subscribedSkus.", r.SkuID)
		}
		if seen[id] {
			return nil, allot.Errorf(allot.EInvalid, "addLicenses lists skuId %s twice.", id)
		}
		seen[id] = true
		r.SkuID = id
		dis := make([]string, 0, len(r.DisabledPlans))
		for _, d := range r.DisabledPlans {
			d = strings.ToLower(strings.TrimSpace(d))
			if _, err := uuid.Parse(d); err != nil || len(d) != 36 {
				return nil, allot.Errorf(allot.EInvalid, "disabledPlans entry '%s' is not a valid GUID.", d)
			}
			if _, ok := p.Plan(d); !ok {
				return nil, allot.Errorf(allot.EInvalid, "disabledPlans: %s is not a service plan of %s; its plans are listed in GET /v1.0/subscribedSkus/%s.", d, p.SkuPartNumber, p.SkuID)
			}
			if !slices.Contains(dis, d) {
				dis = append(dis, d)
			}
		}
		slices.Sort(dis)
		r.DisabledPlans = dis
	}
	for i, id := range remove {
		id = strings.ToLower(strings.TrimSpace(id))
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return nil, allot.Errorf(allot.EInvalid, "removeLicenses[%d] '%s' is not a valid GUID.", i, remove[i])
		}
		if bySku[id] == nil {
			return nil, allot.Errorf(allot.EInvalid, "License %s does not correspond to a product of this tenant.", id)
		}
		if seen[id] {
			return nil, allot.Errorf(allot.EInvalid, "skuId %s is both in addLicenses and removeLicenses.", id)
		}
		remove[i] = id
	}
	return bySku, nil
}

func encodePlans(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return strings.Join(p, ",")
}

func decodePlans(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// AssignUserLicenses adds and removes a user's direct licenses atomically
// (rule 2): either every change applies or none does and the error says why.
// An added license with a start still to come is kept until then
// (assignment_starts) and made then by StartDue.
func (s *Store) AssignUserLicenses(ctx context.Context, a allot.Actor, tenantID int64, ref string, add []store.LicenseRequest, remove []string) (*allot.User, error) {
	var user *allot.User
	err := s.write(ctx, func(tx *tx) error {
		u, err := tx.user(tenantID, ref)
		if err != nil {
			return err
		}
		user = u
		now, later := splitStarts(add, tx.now)
		if err := tx.scheduleStarts(a, tenantID, startUser, u.ID, u.GUID, u.UserPrincipalName, later, remove); err != nil {
			return err
		}
		if len(now) == 0 && len(remove) == 0 {
			return nil
		}
		return tx.assignUser(a, tenantID, u, now, remove)
	})
	if err != nil {
		return nil, err
	}
	if err := s.fillProxyAddresses(ctx, []*allot.User{user}); err != nil {
		return nil, err
	}
	return user, nil
}

// assignUser decides and applies a direct change of user u.
func (tx *tx) assignUser(a allot.Actor, tenantID int64, u *allot.User, add []store.LicenseRequest, remove []string) error {
	products, err := tx.products(tenantID)
	if err != nil {
		return err
	}
	bySku, err := resolveRequests(products, add, remove)
	if err != nil {
		return err
	}
	b, err := tx.loadBatch(tenantID, []int64{u.ID}, products, lockRows)
	if err != nil {
		return err
	}
	if err := tx.prepare(b, false); err != nil {
		return err
	}
	var c licensing.DirectChange
	for _, r := range add {
		c.Add = append(c.Add, licensing.Grant{ProductID: bySku[r.SkuID].ID, DisabledPlans: r.DisabledPlans, EndsAt: r.EndsAt})
	}
	for _, id := range remove {
		c.Remove = append(c.Remove, bySku[id].ID)
		tx.remove(allot.DirectSource, bySku[id].ID)
	}
	plan, err := tx.decide(b, func(s *licensing.Snapshot) (*licensing.Plan, error) { return licensing.AssignDirect(s, c) })
	if err != nil {
		return err
	}
	if err := tx.apply(b, plan, a, &batchResult{}); err != nil {
		return err
	}
	return tx.writeDirectEnds(tenantID, u.ID, c)
}

func sortedIDs[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// AssignGroupLicenses adds and removes a group's licenses (rule 3). The
// members follow asynchronously: the group is marked and its
// licenseProcessingState becomes QueuedForProcessing.
func (s *Store) AssignGroupLicenses(ctx context.Context, a allot.Actor, tenantID int64, ref string, add []store.LicenseRequest, remove []string, confirm bool) (*allot.Group, error) {
	var g *allot.Group
	err := s.write(ctx, func(tx *tx) error {
		var err error
		if g, err = tx.groupLocked(tenantID, ref, lockKeep); err != nil {
			return err
		}
		now, later := splitStarts(add, tx.now)
		if err := tx.scheduleStarts(a, tenantID, startGroup, g.ID, g.GUID, g.DisplayName, later, remove); err != nil {
			return err
		}
		if len(now) == 0 && len(remove) == 0 {
			return nil
		}
		return tx.assignGroup(a, tenantID, g, now, remove, confirm)
	})
	return g, err
}

// assignGroup adds and removes products of group g and queues its members.
func (tx *tx) assignGroup(a allot.Actor, tenantID int64, g *allot.Group, add []store.LicenseRequest, remove []string, confirm bool) error {
	products, err := tx.products(tenantID)
	if err != nil {
		return err
	}
	bySku, err := resolveRequests(products, add, remove)
	if err != nil {
		return err
	}
	var changes []allot.Change
	for _, id := range remove {
		p := bySku[id]
		res, err := tx.exec(`DELETE FROM group_licenses WHERE group_id = ? AND product_id = ?`, g.ID, p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return allot.Errorf(allot.EInvalid, "Group '%s' does not assign %s, so it cannot be removed.", g.DisplayName, p.SkuPartNumber)
		}
		changes = append(changes, allot.Change{Property: "AssignedLicense", Old: p.SkuPartNumber})
		tx.remove(g.ID, p.ID)
		if err := tx.dropFallbacks(g.ID, p.ID); err != nil {
			return err
		}
	}
	for _, r := range add {
		p := bySku[r.SkuID]
		if err := tx.checkGroupAssign(g.ID, p); err != nil {
			return err
		}
		if err := licensing.CheckEnd(p, r.EndsAt, tx.now); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO group_licenses (group_id, product_id, tenant_id, disabled_plans, created_at, ends_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (group_id, product_id) DO UPDATE SET disabled_plans = excluded.disabled_plans, ends_at = excluded.ends_at`,
			g.ID, p.ID, tenantID, encodePlans(r.DisabledPlans), tx.now, r.EndsAt); err != nil {
			return err
		}
		changes = append(changes, allot.Change{Property: "AssignedLicense", New: fmt.Sprintf("[SkuName=%s, DisabledPlans=[%s]]", p.SkuPartNumber, planNames(p, r.DisabledPlans))})
	}
	if len(remove) > 0 && !confirm {
		if err := tx.checkGroupLoss(tenantID, g, products, fmt.Sprintf("Removing products from group '%s'", g.DisplayName)); err != nil {
			return err
		}
	}
	if err := tx.markGroups(tenantID, []int64{g.ID}); err != nil {
		return err
	}
	if err := tx.setProcessing([]int64{g.ID}, allot.ProcessingQueued); err != nil {
		return err
	}
	g.ProcessingState = allot.ProcessingQueued
	tx.recordChanges(tenantID, DirChange{Kind: ChangeGroup, ObjectID: g.ID, Object: g.GUID})
	return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActSetGroupLicense, TargetKind: "Group",
		TargetID: g.GUID, TargetName: g.DisplayName, Changes: changes})
}

func planNames(p *allot.Product, ids []string) string {
	var names []string
	for _, id := range ids {
		if sp, ok := p.Plan(id); ok {
			names = append(names, sp.Name)
		}
	}
	return strings.Join(names, ",")
}

// GroupLicenses returns the products a group assigns.
func (s *Store) GroupLicenses(ctx context.Context, tenantID int64, groupIDs []int64) (map[int64][]allot.GroupLicense, error) {
	out := map[int64][]allot.GroupLicense{}
	if len(groupIDs) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, `SELECT group_id, product_id, disabled_plans, created_at, ends_at FROM group_licenses
		WHERE tenant_id = ? AND group_id IN (`+placeholders(len(groupIDs))+`) ORDER BY group_id, product_id`, append([]any{tenantID}, idArgs(groupIDs)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gl allot.GroupLicense
		var dis string
		var created int64
		if err := rows.Scan(&gl.GroupID, &gl.ProductID, &dis, &created, &gl.EndsAt); err != nil {
			return nil, err
		}
		gl.DisabledPlans = decodePlans(dis)
		gl.CreatedAt = msTime(created)
		out[gl.GroupID] = append(out[gl.GroupID], gl)
	}
	return out, rows.Err()
}

// UserLicenses returns the stored license states of users, with the product
// and the assigning group, keyed by user id.
func (s *Store) UserLicenses(ctx context.Context, tenantID int64, userIDs []int64) (map[int64][]store.LicenseView, error) {
	out := map[int64][]store.LicenseView{}
	if len(userIDs) == 0 {
		return out, nil
	}
	var states []allot.LicenseState
	for start := 0; start < len(userIDs); start += 500 {
		chunk := userIDs[start:min(start+500, len(userIDs))]
		rows, err := s.query(ctx, `SELECT user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at FROM license_states
			WHERE user_id IN (`+placeholders(len(chunk))+`) ORDER BY user_id, product_id, source_id`, idArgs(chunk)...)
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
			st.Code, st.DisabledPlans = allot.Code(code), decodePlans(dis)
			states = append(states, st)
		}
		rows.Close()
	}
	var gids, pids []int64
	for _, st := range states {
		if st.Source != allot.DirectSource && !slices.Contains(gids, st.Source) {
			gids = append(gids, st.Source)
		}
		if !slices.Contains(pids, st.ProductID) {
			pids = append(pids, st.ProductID)
		}
	}
	byID, err := s.productsByID(ctx, tenantID, pids)
	if err != nil {
		return nil, err
	}
	groups, err := s.groupsByID(ctx, gids)
	if err != nil {
		return nil, err
	}
	gls, err := s.GroupLicenses(ctx, tenantID, gids)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		v := store.LicenseView{LicenseState: st, Product: byID[st.ProductID]}
		if v.Product == nil {
			continue
		}
		if st.Source != allot.DirectSource {
			if g := groups[st.Source]; g != nil {
				v.GroupGUID, v.GroupName = g.GUID, g.DisplayName
			}
			for _, gl := range gls[st.Source] {
				if gl.ProductID == st.ProductID {
					v.DisabledPlans = gl.DisabledPlans
				}
			}
		}
		out[st.UserID] = append(out[st.UserID], v)
	}
	return out, nil
}

// GroupMembersWithErrors returns the users that have a license error from
// the group, in the order they wait, with their states from that group.
func (s *Store) GroupMembersWithErrors(ctx context.Context, tenantID int64, ref string, after int64, top int) ([]*allot.User, int64, error) {
	g, err := s.Group(ctx, tenantID, ref)
	if err != nil {
		return nil, 0, err
	}
	var ids []int64
	err = s.expand(ctx, s.r, g.ID, func(typ int, id int64) {
		if typ == 0 {
			ids = append(ids, id)
		}
	})
	if err != nil {
		return nil, 0, err
	}
	var out []int64
	var next int64
	for start := int(after); start < len(ids) && len(out) <= top; start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		rows, err := s.query(ctx, `SELECT DISTINCT user_id FROM license_states WHERE source_id = ? AND state = 'Error' AND user_id IN (`+placeholders(len(chunk))+`)`,
			append([]any{g.ID}, idArgs(chunk)...)...)
		if err != nil {
			return nil, 0, err
		}
		bad := map[int64]bool{}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			bad[id] = true
		}
		rows.Close()
		for i, id := range chunk {
			if bad[id] {
				if len(out) == top {
					next = int64(start + i)
					break
				}
				out = append(out, id)
			}
		}
		if next != 0 {
			break
		}
	}
	users, err := s.usersByID(ctx, out)
	if err != nil {
		return nil, 0, err
	}
	res := make([]*allot.User, 0, len(out))
	for _, id := range out {
		if u := users[id]; u != nil {
			res = append(res, u)
		}
	}
	return res, next, nil
}

// GroupLicenseSummary computes the group's license summary.
func (s *Store) GroupLicenseSummary(ctx context.Context, tenantID int64, ref string) (*store.LicenseSummary, error) {
	g, err := s.Group(ctx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	sum := &store.LicenseSummary{ByError: map[string]int{}, ByCode: map[string]int{}, State: g.ProcessingState, AssignedSkus: []string{}}
	gls, err := s.GroupLicenses(ctx, tenantID, []int64{g.ID})
	if err != nil {
		return nil, err
	}
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, gl := range gls[g.ID] {
		for _, p := range products {
			if p.ID == gl.ProductID {
				sum.AssignedSkus = append(sum.AssignedSkus, p.SkuPartNumber)
			}
		}
	}
	if len(gls[g.ID]) == 0 {
		// Nothing to tell but the number of members.
		sum.Members, err = s.transitiveUserCount(ctx, g.ID)
		return sum, err
	}
	var ids []int64
	if err := s.expand(ctx, s.r, g.ID, func(typ int, id int64) {
		if typ == 0 {
			ids = append(ids, id)
		}
	}); err != nil {
		return nil, err
	}
	sum.Members = len(ids)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	type st struct {
		active int
		err    string
		code   string
	}
	per := map[int64]*st{}
	for start := 0; start < len(ids); start += 2000 {
		chunk := ids[start:min(start+2000, len(ids))]
		rows, err := s.query(ctx, `SELECT user_id, state, code FROM license_states WHERE source_id = ? AND user_id >= ? AND user_id <= ?`,
			g.ID, chunk[0], chunk[len(chunk)-1])
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u int64
			var state, code string
			if err := rows.Scan(&u, &state, &code); err != nil {
				rows.Close()
				return nil, err
			}
			x := per[u]
			if x == nil {
				x = &st{}
				per[u] = x
			}
			if state == allot.StateActive {
				x.active++
			} else if code != string(allot.EOtherProductFailed) || x.code == "" {
				x.err, x.code = allot.Code(code).LicenseError(), code
			}
		}
		rows.Close()
	}
	want := len(gls[g.ID])
	for _, id := range ids {
		x := per[id]
		switch {
		case x != nil && x.code != "":
			sum.NotLicensed++
			sum.ByError[x.err]++
			sum.ByCode[x.code]++
		case x != nil && x.active == want:
			sum.Licensed++
		default:
			sum.PendingChecks++
		}
	}
	return sum, nil
}

// transitiveUserCount counts the users in group g and its nested groups,
// each once. A group without nested groups is counted in one pass over its
// memberships, without collecting them.
func (s *Store) transitiveUserCount(ctx context.Context, g int64) (int, error) {
	var n, groups int
	if err := s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(member_type), 0) FROM memberships WHERE group_id = ?`, g).Scan(&n, &groups); err != nil {
		return 0, err
	}
	if groups == 0 {
		return n, nil
	}
	n = 0
	err := s.expand(ctx, s.r, g, func(typ int, _ int64) {
		if typ == 0 {
			n++
		}
	})
	return n, err
}
