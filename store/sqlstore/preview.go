package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"allot"
	"allot/licensing"
	"allot/store"
)

// Preview runs change and everything group-based licensing would do after
// it, in one transaction that is rolled back, and reports per product how
// many users would gain, lose or fail to get it (docs/design.md, rule 10).
// change must use the store's methods with the context it is given.
func (s *Store) Preview(ctx context.Context, tenantID int64, change func(ctx context.Context) error) (*store.Preview, error) {
	return s.PreviewPage(ctx, tenantID, store.MemberPage{}, change)
}

// PreviewPage is Preview listing the page of joins and leaves of each
// dynamic group whose rule the change evaluates.
func (s *Store) PreviewPage(ctx context.Context, tenantID int64, page store.MemberPage, change func(ctx context.Context) error) (*store.Preview, error) {
	if page.Top <= 0 {
		page.Top = 10
	}
	page.Top, page.Skip = min(page.Top, store.MaxPreviewMembers), max(page.Skip, 0)
	var pv *store.Preview
	// A preview takes the same locks as the change; a deadlock or another
	// transient failure runs it again, as for every write.
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		pv, err = s.previewOnce(ctx, tenantID, page, change)
		return err
	})
	return pv, err
}

// previewOnce computes a preview in one transaction that it rolls back.
func (s *Store) previewOnce(ctx context.Context, tenantID int64, page store.MemberPage, change func(ctx context.Context) error) (*store.Preview, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer t.rollback()
	t.preview, t.deltas = true, map[int64][2]int{}
	// The states of every user the change's plans touch: before the first
	// plan and after the last.
	before := map[int64][]allot.LicenseState{}
	after := map[int64][]allot.LicenseState{}
	var order []int64
	var cat *licensing.Catalog
	t.onApply = func(b *batch, plan *licensing.Plan) {
		cat = b.cat
		for _, up := range plan.Users {
			if _, ok := before[up.UserID]; !ok {
				before[up.UserID] = up.Before
				order = append(order, up.UserID)
			}
			after[up.UserID] = up.After
		}
	}
	pctx := context.WithValue(ctx, txCtxKey{}, t)
	t.ctx = pctx
	if err := change(pctx); err != nil {
		return nil, err
	}
	// Follow the marks the change wrote, and the marks that follow from
	// them (freed seats go to waiters), as the reconciler would.
	for round := 0; round < 100; round++ {
		ms := t.previewMarks
		t.previewMarks = nil
		if len(ms) == 0 {
			break
		}
		seen := map[int64]bool{}
		var users []int64
		for _, m := range ms {
			if m.kind == store.MarkUser {
				if !seen[m.id] {
					seen[m.id] = true
					users = append(users, m.id)
				}
				continue
			}
			if err := s.expand(pctx, t.tx, m.id, func(typ int, id int64) {
				if typ == 0 && !seen[id] {
					seen[id] = true
					users = append(users, id)
				}
			}); err != nil {
				return nil, err
			}
		}
		res := &batchResult{}
		for start := 0; start < len(users); start += 25000 {
			if err := t.reconcile(tenantID, users[start:min(start+25000, len(users))], res); err != nil {
				return nil, err
			}
		}
	}
	products, err := t.products(tenantID)
	if err != nil {
		return nil, err
	}
	pv, err := summarize(t, products, order, before, after)
	if err != nil {
		return nil, err
	}
	if cat == nil {
		cat = licensing.NewCatalog(products)
	}
	if pv.Memberships, err = t.previewMemberships(page); err != nil {
		return nil, err
	}
	return pv, t.previewLosses(pv, cat, order, before, after)
}

// ruleDiff is who one rule evaluation of a preview adds to and removes
// from a group, in user id order.
type ruleDiff struct {
	group       *allot.Group
	members     int
	add, remove []int64
}

// recordRuleDiff keeps a preview's rule evaluation for its report.
func (t *tx) recordRuleDiff(g *allot.Group, members int, add, remove []int64) {
	t.ruleDiffs = append(t.ruleDiffs, ruleDiff{group: g, members: members, add: add, remove: remove})
}

// previewMemberships reports the preview's rule evaluations with one page
// of the joins and leaves of each.
func (t *tx) previewMemberships(page store.MemberPage) ([]store.PreviewMembership, error) {
	var out []store.PreviewMembership
	for _, d := range t.ruleDiffs {
		pm := store.PreviewMembership{GroupID: d.group.GUID, DisplayName: d.group.DisplayName, MemberCountAfter: d.members,
			JoinCount: len(d.add), LeaveCount: len(d.remove)}
		var err error
		if pm.Joins, err = t.memberPage(d.add, page); err != nil {
			return nil, err
		}
		if pm.Leaves, err = t.memberPage(d.remove, page); err != nil {
			return nil, err
		}
		out = append(out, pm)
	}
	return out, nil
}

// memberPage names the users of ids (sorted) that page selects.
func (t *tx) memberPage(ids []int64, page store.MemberPage) ([]store.PreviewMember, error) {
	out := []store.PreviewMember{}
	if page.Skip >= len(ids) {
		return out, nil
	}
	ids = ids[page.Skip:min(page.Skip+page.Top, len(ids))]
	byID := map[int64]store.PreviewMember{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := t.query(`SELECT id, guid, upn, display_name FROM users WHERE id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var m store.PreviewMember
			if err := rows.Scan(&id, &m.ID, &m.UserPrincipalName, &m.DisplayName); err != nil {
				rows.Close()
				return nil, err
			}
			byID[id] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return out, nil
}

// previewLosses lists every license the change takes away, side effects
// first, with names and reasons, and puts them first in the summary.
func (t *tx) previewLosses(pv *store.Preview, cat *licensing.Catalog, order []int64, before, after map[int64][]allot.LicenseState) error {
	plan := &licensing.Plan{}
	for _, u := range order {
		up := licensing.UserPlan{UserID: u, Before: before[u], After: after[u]}
		hb, ha := holding(before[u]), holding(after[u])
		for _, pid := range sortedIDs(hb) {
			if !ha[pid] {
				up.Lost = append(up.Lost, pid)
			}
		}
		plan.Users = append(plan.Users, up)
	}
	ls := plan.ExplicitLosses(t.removed)
	sort.SliceStable(ls, func(i, j int) bool { return !ls[i].Explicit && ls[j].Explicit })
	pv.LossCount = len(ls)
	pv.ConfirmationRequired = len(licensing.SideEffects(ls)) > 0
	ls = ls[:min(len(ls), store.MaxPreviewLosses)]
	if err := t.nameLosses(cat, ls); err != nil {
		return err
	}
	pv.Losses = make([]store.PreviewLoss, 0, len(ls))
	for _, l := range ls {
		pl := store.PreviewLoss{UserID: l.UserGUID, UserPrincipalName: l.UserPrincipalName, SkuID: l.SkuID, SkuPartNumber: l.SkuPartNumber,
			Reason: string(l.Reason), Explicit: l.Explicit}
		if p := cat.Product(l.ProductID); p != nil {
			pl.ProductName = p.DisplayName
			pl.Message = lossMessage(cat, l, p)
		}
		pv.Losses = append(pv.Losses, pl)
	}
	if pv.LossCount > 0 {
		head := fmt.Sprintf("%d licenses would be taken away from %s", pv.LossCount, people(distinctUsers(ls)))
		if pv.ConfirmationRequired {
			head += " (needs confirmLicenseLoss)"
		}
		pv.Summary = head + ". " + pv.Summary
	}
	return t.displayNames(pv)
}

func distinctUsers(ls []allot.Loss) int {
	seen := map[int64]bool{}
	for _, l := range ls {
		seen[l.UserID] = true
	}
	return len(seen)
}

// lossMessage says in words why a user loses a product.
func lossMessage(cat *licensing.Catalog, l allot.Loss, p *allot.Product) string {
	if l.Reason == allot.LossReasonRemoved {
		return fmt.Sprintf("%s would be removed: no assignment grants it any more.", p.DisplayName)
	}
	return licensing.Message(cat, l.Reason, p)
}

// displayNames fills in the losers' display names.
func (t *tx) displayNames(pv *store.Preview) error {
	for start := 0; start < len(pv.Losses); start += 500 {
		chunk := pv.Losses[start:min(start+500, len(pv.Losses))]
		args := make([]any, len(chunk))
		for i, l := range chunk {
			args[i] = l.UserID
		}
		rows, err := t.query(`SELECT guid, display_name FROM users WHERE guid IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for rows.Next() {
			var g, n string
			if err := rows.Scan(&g, &n); err != nil {
				rows.Close()
				return err
			}
			names[g] = n
		}
		rows.Close()
		for i := range chunk {
			chunk[i].DisplayName = names[chunk[i].UserID]
		}
	}
	return nil
}

func summarize(t *tx, products []*allot.Product, order []int64, before, after map[int64][]allot.LicenseState) (*store.Preview, error) {
	byID := map[int64]*store.PreviewProduct{}
	var pp []*store.PreviewProduct
	for _, p := range products {
		x := &store.PreviewProduct{SkuID: p.SkuID, SkuPartNumber: p.SkuPartNumber, FailByError: map[string]int{}, FailByCode: map[string]int{},
			EnabledUnits: p.EnabledUnits, ConsumedUnitsAfter: p.ConsumedUnits}
		byID[p.ID] = x
		pp = append(pp, x)
	}
	var sampleIDs []int64
	type ev struct {
		p    *store.PreviewProduct
		kind string
		user int64
	}
	var evs []ev
	for _, u := range order {
		holdB, holdA := holding(before[u]), holding(after[u])
		failA := failing(after[u])
		for pid, x := range byID {
			switch {
			case !holdB[pid] && holdA[pid]:
				x.Gain++
				evs = append(evs, ev{x, "gain", u})
			case holdB[pid] && !holdA[pid]:
				x.Lose++
				evs = append(evs, ev{x, "lose", u})
			}
			if c, ok := failA[pid]; ok && !holdA[pid] {
				x.Fail++
				x.FailByError[c.LicenseError()]++
				x.FailByCode[string(c)]++
				evs = append(evs, ev{x, "fail", u})
			}
		}
	}
	for _, e := range evs {
		if n := len(sampleOf(e.p, e.kind)); n < 10 {
			sampleIDs = append(sampleIDs, e.user)
		}
		setSample(e.p, e.kind, append(sampleOf(e.p, e.kind), fmt.Sprint(e.user)))
	}
	names, err := t.userNames(sampleIDs)
	if err != nil {
		return nil, err
	}
	out := &store.Preview{UsersEvaluated: len(order)}
	var parts []string
	for _, x := range pp {
		for _, kind := range []string{"gain", "lose", "fail"} {
			var ids []string
			for _, s := range sampleOf(x, kind) {
				var id int64
				fmt.Sscan(s, &id)
				if n, ok := names[id]; ok {
					ids = append(ids, n[0])
				}
			}
			if ids == nil {
				ids = []string{}
			}
			setSample(x, kind, ids)
		}
		if x.Gain+x.Lose+x.Fail == 0 {
			continue
		}
		out.Products = append(out.Products, *x)
		msg := fmt.Sprintf("%s: would license %d", x.SkuPartNumber, x.Gain)
		if x.Lose > 0 {
			msg += fmt.Sprintf(", remove %d", x.Lose)
		}
		if x.Fail > 0 {
			var errs []string
			for _, k := range sortedKeys(x.FailByCode) {
				errs = append(errs, fmt.Sprintf("%d %s", x.FailByCode[k], k))
			}
			msg += fmt.Sprintf("; %d would fail: %s", x.Fail, strings.Join(errs, ", "))
		}
		parts = append(parts, msg)
	}
	if out.Products == nil {
		out.Products = []store.PreviewProduct{}
	}
	out.Summary = strings.Join(parts, ". ")
	if out.Summary == "" {
		out.Summary = "No license would change."
	}
	return out, nil
}

func sampleOf(p *store.PreviewProduct, kind string) []string {
	switch kind {
	case "gain":
		return p.SampleGain
	case "lose":
		return p.SampleLose
	}
	return p.SampleFail
}

func setSample(p *store.PreviewProduct, kind string, v []string) {
	if len(v) > 10 {
		v = v[:10]
	}
	switch kind {
	case "gain":
		p.SampleGain = v
	case "lose":
		p.SampleLose = v
	default:
		p.SampleFail = v
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func holding(ss []allot.LicenseState) map[int64]bool {
	m := map[int64]bool{}
	for _, s := range ss {
		if s.State == allot.StateActive {
			m[s.ProductID] = true
		}
	}
	return m
}

func failing(ss []allot.LicenseState) map[int64]allot.Code {
	m := map[int64]allot.Code{}
	for _, s := range ss {
		if s.State != allot.StateActive && s.Code != "" {
			// Prefer the specific reason over "another product failed".
			if c, ok := m[s.ProductID]; !ok || c == allot.EOtherProductFailed {
				m[s.ProductID] = s.Code
			}
		}
	}
	return m
}
