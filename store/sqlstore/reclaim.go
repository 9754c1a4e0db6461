package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"allot"
	"allot/licensing"
	"allot/store"
)

// ReclaimRule is a stored reclamation rule (licensing.ReclaimRule) with
// its names.
type ReclaimRule struct {
	licensing.ReclaimRule
	DisplayName   string
	SkuID         string
	SkuPartNumber string
	// ProductName is the product's display name.
	ProductName string
	// Exempt names the exempt groups, in the rule's order.
	Exempt    []GroupName
	CreatedAt int64
}

// GroupName is a group's GUID and display name.
type GroupName struct{ ID, GUID, DisplayName string }

// ReclaimRun is what one run of a rule did.
type ReclaimRun struct {
	ID, RuleID                           int64
	RanAt                                int64
	Noticed, Reclaimed, Cancelled, Skipp int
	// Saved is what the reclaimed seats cost a month, in minor units of
	// Currency (the product's price; 0 and "" when it has none).
	Saved    int64
	Currency string
	// RuleName and ProductName name the rule and its product (lists).
	RuleName, ProductName string
	// ReclaimedUsers are the userPrincipalNames reclaimed from (at most
	// 1,000 kept with a recorded run).
	ReclaimedUsers []string
	// Users names the users the run gave a notice, reclaimed from or
	// withdrew a notice from (by action), for the answer.
	Users map[string][]string
}

// ReclaimSpec is what a new reclamation rule says.
type ReclaimSpec struct {
	Name       string
	ProductRef string
	// Kind is licensing.ReclaimDisabled ("" too) or ReclaimNoActivity.
	Kind string
	// Period is how long (ms) a user is disabled or inactive before the
	// notice; Notice how long (ms) the notice runs.
	Period, Notice int64
	// ExemptGroups are group GUIDs whose members (transitively) keep the
	// product.
	ExemptGroups []string
}

// CreateReclaimRule adds a reclamation rule (audited): a product held
// directly by a user disabled (or inactive) for the spec's period gets a
// notice, and is reclaimed the notice's length later if the user still
// qualifies.
func (s *Store) CreateReclaimRule(ctx context.Context, a allot.Actor, tenantID int64, sp ReclaimSpec) (*ReclaimRule, error) {
	if sp.Period < 0 || sp.Notice < 0 {
		return nil, allot.Errorf(allot.EInvalid, "The period and the notice must not be negative.")
	}
	kind, what, err := reclaimKind(sp.Kind)
	if err != nil {
		return nil, err
	}
	p, err := s.Product(ctx, tenantID, sp.ProductRef)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(sp.Name) == "" {
		sp.Name = "Reclaim " + p.DisplayName + " from " + what
	}
	var id int64
	err = s.write(ctx, func(tx *tx) error {
		exempt, err := tx.exemptIDs(tenantID, sp.ExemptGroups)
		if err != nil {
			return err
		}
		dis, inact := sp.Period, int64(0)
		if kind == licensing.ReclaimNoActivity {
			dis, inact = 0, sp.Period
		}
		if err := tx.queryRow(`INSERT INTO reclaim_rules (tenant_id, display_name, product_id, disabled_for, notice, created_at, kind, inactive_for, exempt_groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			tenantID, sp.Name, p.ID, dis, sp.Notice, tx.now, kind, inact, encodeGroupIDs(exempt)).Scan(&id); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActAddReclaimRule, TargetKind: "Product",
			TargetID: p.SkuID, TargetName: p.SkuPartNumber, Changes: []allot.Change{{Property: "rule", New: fmt.Sprintf("%s: %s %d ms, notice %d ms, %d exempt group(s)", sp.Name, kind, sp.Period, sp.Notice, len(exempt))}}})
	})
	if err != nil {
		return nil, err
	}
	return s.ReclaimRuleByID(ctx, tenantID, id)
}

// reclaimKind checks a rule's kind and says whom it reclaims from.
func reclaimKind(k string) (kind, what string, err error) {
	switch k {
	case "", licensing.ReclaimDisabled:
		return licensing.ReclaimDisabled, "disabled users", nil
	case licensing.ReclaimNoActivity:
		return k, "inactive users", nil
	case "deleted":
		return "", "", allot.Errorf(allot.EInvalid, "A deleted user's licenses are given back when the user is deleted; no rule is needed. Use kind 'disabled' or 'noActivity'.")
	}
	return "", "", allot.Errorf(allot.EInvalid, "Kind '%s' is not a reclamation rule kind: use 'disabled' or 'noActivity'.", k)
}

// exemptIDs resolves exempt group GUIDs to internal ids.
func (t *tx) exemptIDs(tenantID int64, refs []string) ([]int64, error) {
	var out []int64
	for _, ref := range refs {
		g, err := t.group(tenantID, ref)
		if err != nil {
			return nil, err
		}
		if !containsInt(out, g.ID) {
			out = append(out, g.ID)
		}
	}
	return out, nil
}

func encodeGroupIDs(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func decodeGroupIDs(s string) []int64 {
	var ids []int64
	if s != "" {
		_ = json.Unmarshal([]byte(s), &ids)
	}
	return ids
}

const reclaimRuleCols = `r.id, r.product_id, r.disabled_for, r.notice, r.display_name, p.sku_guid, p.part_number, p.display_name, r.created_at, r.kind, r.inactive_for, r.exempt_groups`

func scanReclaimRule(row interface{ Scan(...any) error }) (*ReclaimRule, error) {
	var r ReclaimRule
	var exempt string
	err := row.Scan(&r.ID, &r.ProductID, &r.DisabledFor, &r.Notice, &r.DisplayName, &r.SkuID, &r.SkuPartNumber, &r.ProductName, &r.CreatedAt, &r.Kind, &r.InactiveFor, &exempt)
	r.ExemptGroups = decodeGroupIDs(exempt)
	return &r, err
}

// ReclaimRuleByID returns a tenant's reclamation rule.
func (s *Store) ReclaimRuleByID(ctx context.Context, tenantID, id int64) (*ReclaimRule, error) {
	r, err := scanReclaimRule(s.queryRow(ctx, `SELECT `+reclaimRuleCols+` FROM reclaim_rules r JOIN products p ON p.id = r.product_id WHERE r.tenant_id = ? AND r.id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Reclamation rule", fmt.Sprint(id))
	}
	if err != nil {
		return nil, err
	}
	return r, s.nameExempt(ctx, []*ReclaimRule{r})
}

// ReclaimRules lists a tenant's reclamation rules by id.
func (s *Store) ReclaimRules(ctx context.Context, tenantID int64) ([]*ReclaimRule, error) {
	rows, err := s.query(ctx, `SELECT `+reclaimRuleCols+` FROM reclaim_rules r JOIN products p ON p.id = r.product_id WHERE r.tenant_id = ? ORDER BY r.id`, tenantID)
	rules, err := collect(rows, err, func(r *sql.Rows) (*ReclaimRule, error) { return scanReclaimRule(r) })
	if err != nil {
		return nil, err
	}
	return rules, s.nameExempt(ctx, rules)
}

// nameExempt fills the rules' Exempt from their exempt group ids (a
// deleted group is left out).
func (s *Store) nameExempt(ctx context.Context, rules []*ReclaimRule) error {
	var ids []int64
	for _, r := range rules {
		ids = append(ids, r.ExemptGroups...)
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.query(ctx, `SELECT id, guid, display_name FROM dir_groups WHERE id IN (`+placeholders(len(ids))+`)`, idArgs(ids)...)
	names, err := collect(rows, err, func(r *sql.Rows) (GroupName, error) {
		var g GroupName
		return g, r.Scan(&g.ID, &g.GUID, &g.DisplayName)
	})
	if err != nil {
		return err
	}
	by := map[string]GroupName{}
	for _, g := range names {
		by[g.ID] = g
	}
	for _, r := range rules {
		for _, id := range r.ExemptGroups {
			if g, ok := by[fmt.Sprint(id)]; ok {
				r.Exempt = append(r.Exempt, g)
			}
		}
	}
	return nil
}

// ReclaimRuns lists a tenant's recorded reclamation runs, newest first (at
// most 200), with their rule's and product's names.
func (s *Store) ReclaimRuns(ctx context.Context, tenantID int64) ([]*ReclaimRun, error) {
	rows, err := s.query(ctx, `SELECT x.id, x.rule_id, x.ran_at, x.noticed, x.reclaimed, x.cancelled, x.skipped, x.saved, x.currency, x.reclaimed_users,
		COALESCE(r.display_name, ''), COALESCE(p.display_name, '')
		FROM reclaim_runs x LEFT JOIN reclaim_rules r ON r.id = x.rule_id LEFT JOIN products p ON p.id = r.product_id
		WHERE x.tenant_id = ? ORDER BY x.id DESC LIMIT 200`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (*ReclaimRun, error) {
		var x ReclaimRun
		var users string
		err := r.Scan(&x.ID, &x.RuleID, &x.RanAt, &x.Noticed, &x.Reclaimed, &x.Cancelled, &x.Skipp, &x.Saved, &x.Currency, &users, &x.RuleName, &x.ProductName)
		if users != "" {
			_ = json.Unmarshal([]byte(users), &x.ReclaimedUsers)
		}
		return &x, err
	})
}

// RunReclaimRule runs a rule now (licensing.DecideReclaim, then
// licensing.Reclaim for the licenses whose notice ran out) in one
// transaction and records the run (audited) when it did something or
// record is set. Run inside Preview it changes nothing.
func (s *Store) RunReclaimRule(ctx context.Context, a allot.Actor, tenantID, ruleID int64, record bool) (*ReclaimRun, error) {
	rule, err := s.ReclaimRuleByID(ctx, tenantID, ruleID)
	if err != nil {
		return nil, err
	}
	var run *ReclaimRun
	err = s.write(ctx, func(tx *tx) error {
		run = &ReclaimRun{RuleID: ruleID, RanAt: tx.now, RuleName: rule.DisplayName, ProductName: rule.ProductName, Users: map[string][]string{}}
		cands, err := tx.reclaimCandidates(tenantID, rule)
		if err != nil {
			return err
		}
		acts := licensing.DecideReclaim(rule.ReclaimRule, cands, tx.now)
		byAction := map[string][]int64{}
		for _, x := range acts {
			if x.Action != licensing.ReclaimNone {
				byAction[x.Action] = append(byAction[x.Action], x.UserID)
			}
		}
		if err := tx.reclaimNotices(tenantID, rule, byAction[licensing.ReclaimNotify], byAction[licensing.ReclaimCancel]); err != nil {
			return err
		}
		taken, skipped, err := tx.reclaimTake(tenantID, a, rule, byAction[licensing.ReclaimTake])
		if err != nil {
			return err
		}
		run.Noticed, run.Cancelled, run.Reclaimed, run.Skipp = len(byAction[licensing.ReclaimNotify]), len(byAction[licensing.ReclaimCancel]), len(taken), len(skipped)
		if err := run.name(tx, map[string][]int64{"noticed": byAction[licensing.ReclaimNotify], "cancelled": byAction[licensing.ReclaimCancel], "reclaimed": taken, "skipped": skipped}); err != nil {
			return err
		}
		if err := tx.reclaimSaved(tenantID, rule.ProductID, run); err != nil {
			return err
		}
		if !record && run.Noticed+run.Cancelled+run.Reclaimed+run.Skipp == 0 {
			return nil
		}
		run.ReclaimedUsers = run.Users["reclaimed"]
		kept := run.ReclaimedUsers[:min(len(run.ReclaimedUsers), 1000)]
		users, _ := json.Marshal(kept)
		if len(kept) == 0 {
			users = nil
		}
		if err := tx.queryRow(`INSERT INTO reclaim_runs (tenant_id, rule_id, ran_at, noticed, reclaimed, cancelled, skipped, saved, currency, reclaimed_users) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			tenantID, ruleID, tx.now, run.Noticed, run.Reclaimed, run.Cancelled, run.Skipp, run.Saved, run.Currency, string(users)).Scan(&run.ID); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActReclaimRun, TargetKind: "Product",
			TargetID: rule.SkuID, TargetName: rule.SkuPartNumber, Changes: []allot.Change{{Property: "rule", New: rule.DisplayName},
				{Property: "noticed", New: fmt.Sprint(run.Noticed)}, {Property: "reclaimed", New: fmt.Sprint(run.Reclaimed)},
				{Property: "cancelled", New: fmt.Sprint(run.Cancelled)}, {Property: "skipped", New: fmt.Sprint(run.Skipp)},
				{Property: "saved", New: fmt.Sprintf("%d.%02d %s a month", run.Saved/100, run.Saved%100, run.Currency)}}})
	})
	return run, err
}

func (r *ReclaimRun) name(tx *tx, by map[string][]int64) error {
	var all []int64
	for _, ids := range by {
		all = append(all, ids...)
	}
	names, err := tx.userNames(all)
	if err != nil {
		return err
	}
	for k, ids := range by {
		for _, id := range ids {
			r.Users[k] = append(r.Users[k], names[id][1])
		}
	}
	return nil
}

// reclaimCandidates returns the users who hold the rule's product
// directly, with their activity, keep answers and exempt groups.
func (t *tx) reclaimCandidates(tenantID int64, r *ReclaimRule) ([]licensing.ReclaimCandidate, error) {
	rows, err := t.query(`SELECT u.id, u.account_enabled, CASE WHEN u.disabled_since > 0 THEN u.disabled_since ELSE u.created_at END, COALESCE(n.noticed_at, 0),
		COALESCE(k.kept_at, 0), ls.updated_at, u.last_sign_in, COALESCE(ar.last_activity, 0)
		FROM license_states ls JOIN users u ON u.id = ls.user_id
		LEFT JOIN reclaim_notices n ON n.rule_id = ? AND n.user_id = u.id
		LEFT JOIN reclaim_keeps k ON k.rule_id = ? AND k.user_id = u.id
		LEFT JOIN activity_reports ar ON ar.user_id = u.id AND ar.product_id = ls.product_id
		WHERE ls.product_id = ? AND ls.source_id = 0 AND ls.state = 'Active' ORDER BY u.id`, r.ID, r.ID, r.ProductID)
	cands, err := collect(rows, err, func(rs *sql.Rows) (licensing.ReclaimCandidate, error) {
		var c licensing.ReclaimCandidate
		var enabled int
		var signIn, report int64
		err := rs.Scan(&c.UserID, &enabled, &c.DisabledSince, &c.NoticedAt, &c.KeptAt, &c.AssignedAt, &signIn, &report)
		c.Enabled, c.LastActive = enabled == 1, max(signIn, report)
		return c, err
	})
	if err != nil || len(r.ExemptGroups) == 0 || len(cands) == 0 {
		return cands, err
	}
	in, err := t.exemptMembers(tenantID, r.ExemptGroups)
	for i := range cands {
		cands[i].Groups = in[cands[i].UserID]
	}
	return cands, err
}

// exemptMembers maps the users in the groups (transitively) to the groups
// of the list they are in.
func (t *tx) exemptMembers(tenantID int64, groups []int64) (map[int64][]int64, error) {
	_, children, err := t.groupGraph(tenantID)
	if err != nil {
		return nil, err
	}
	out := map[int64][]int64{}
	for _, g := range groups {
		all := append([]int64{g}, closure(children, g)...)
		for start := 0; start < len(all); start += 500 {
			chunk := all[start:min(start+500, len(all))]
			rows, err := t.query(`SELECT DISTINCT member_id FROM memberships WHERE member_type = 0 AND group_id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
			users, err := collect(rows, err, func(rs *sql.Rows) (int64, error) {
				var id int64
				return id, rs.Scan(&id)
			})
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				if !containsInt(out[u], g) {
					out[u] = append(out[u], g)
				}
			}
		}
	}
	return out, nil
}

// reclaimSaved sets what the run's reclaimed seats cost a month at the
// product's price.
func (t *tx) reclaimSaved(tenantID, productID int64, run *ReclaimRun) error {
	var p store.Price
	err := t.queryRow(`SELECT currency, unit_price, term FROM product_prices WHERE tenant_id = ? AND product_id = ?`, tenantID, productID).Scan(&p.Currency, &p.UnitPrice, &p.Term)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	run.Saved, run.Currency = prorate(p, int64(run.Reclaimed), 1), p.Currency
	return nil
}

// reclaimNotices gives the notices and withdraws those of users enabled
// again, audited per user.
func (t *tx) reclaimNotices(tenantID int64, r *ReclaimRule, notify, cancel []int64) error {
	if len(notify) > 0 {
		if err := t.insertRows(`INSERT INTO reclaim_notices (rule_id, user_id, tenant_id, noticed_at) VALUES `, 4, "", len(notify), 500,
			func(i int, a []any) []any { return append(a, r.ID, notify[i], tenantID, t.now) }); err != nil {
			return err
		}
	}
	if err := t.dropNotices(r.ID, cancel); err != nil {
		return err
	}
	mails, err := t.reclaimMails(tenantID, r, notify)
	if err != nil {
		return err
	}
	if err := t.enqueueNotify(tenantID, mails); err != nil {
		return err
	}
	names, err := t.userNames(append(append([]int64{}, notify...), cancel...))
	if err != nil {
		return err
	}
	for _, id := range notify {
		if err := t.audit(tenantID, allot.SystemActor, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActReclaimNotice, TargetKind: "User",
			TargetID: names[id][0], TargetName: names[id][1], Changes: []allot.Change{{Property: "reclaimAt", New: msTimeString(t.now + r.Notice)}, {Property: "product", New: r.SkuPartNumber}}}); err != nil {
			return err
		}
	}
	for _, id := range cancel {
		if err := t.audit(tenantID, allot.SystemActor, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActReclaimCancel, TargetKind: "User",
			TargetID: names[id][0], TargetName: names[id][1], Changes: []allot.Change{{Property: "product", Old: r.SkuPartNumber}}}); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) dropNotices(ruleID int64, users []int64) error {
	for start := 0; start < len(users); start += 500 {
		chunk := users[start:min(start+500, len(users))]
		if _, err := t.exec(`DELETE FROM reclaim_notices WHERE rule_id = ? AND user_id IN (`+placeholders(len(chunk))+`)`, append([]any{ruleID}, idArgs(chunk)...)...); err != nil {
			return err
		}
	}
	return nil
}

// reclaimTake takes the rule's product from the users whose notice ran
// out (licensing.Reclaim) and gives the seats to the waiters. It returns
// who lost it and who was skipped (they would lose more than it).
func (t *tx) reclaimTake(tenantID int64, a allot.Actor, r *ReclaimRule, users []int64) (taken, skipped []int64, err error) {
	if len(users) == 0 {
		return nil, nil, nil
	}
	products, err := t.products(tenantID)
	if err != nil {
		return nil, nil, err
	}
	b, err := t.loadBatch(tenantID, users, products, lockRows)
	if err != nil {
		return nil, nil, err
	}
	if err := t.prepare(b, true); err != nil {
		return nil, nil, err
	}
	take := make(map[int64]bool, len(users))
	for _, u := range users {
		take[u] = true
	}
	t.remove(allot.DirectSource, r.ProductID)
	plan, err := t.decide(b, func(sn *licensing.Snapshot) (*licensing.Plan, error) {
		p, sk := licensing.Reclaim(sn, r.ProductID, take)
		skipped = sk
		return p, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := t.apply(b, plan, a, &batchResult{}); err != nil {
		return nil, nil, err
	}
	for _, up := range plan.Users {
		if take[up.UserID] && !containsInt(skipped, up.UserID) {
			taken = append(taken, up.UserID)
		}
	}
	return taken, skipped, t.dropNotices(r.ID, taken)
}

func containsInt(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// RunDueReclaims runs every tenant's reclamation rules (the reconciler
// calls it with ExpireDue); runs that do nothing are not recorded. It
// returns how many users were given a notice, reclaimed from or had a
// notice withdrawn.
func (s *Store) RunDueReclaims(ctx context.Context) (int, error) {
	rows, err := s.query(ctx, `SELECT tenant_id, id FROM reclaim_rules ORDER BY tenant_id, id`)
	rs, err := collect(rows, err, func(r *sql.Rows) ([2]int64, error) {
		var x [2]int64
		return x, r.Scan(&x[0], &x[1])
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range rs {
		run, err := s.RunReclaimRule(ctx, allot.SystemActor, x[0], x[1], false)
		if err != nil {
			return n, err
		}
		n += run.Noticed + run.Reclaimed + run.Cancelled
	}
	return n, nil
}

func msTimeString(ms int64) string { return msTime(ms).UTC().Format("2006-01-02T15:04:05Z") }
