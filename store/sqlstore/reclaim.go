package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"allot"
	"allot/licensing"
)

// ReclaimRule is a stored reclamation rule (licensing.ReclaimRule) with
// its names.
type ReclaimRule struct {
	licensing.ReclaimRule
	DisplayName   string
	SkuID         string
	SkuPartNumber string
	CreatedAt     int64
}

// ReclaimRun is what one run of a rule did.
type ReclaimRun struct {
	ID, RuleID                           int64
	RanAt                                int64
	Noticed, Reclaimed, Cancelled, Skipp int
	// Users names the users the run gave a notice, reclaimed from or
	// withdrew a notice from (by action), for the answer.
	Users map[string][]string
}

// CreateReclaimRule adds a reclamation rule (audited): a product held
// directly by a user disabled for disabledFor (ms) gets a notice, and is
// reclaimed notice (ms) later if the user is still disabled.
func (s *Store) CreateReclaimRule(ctx context.Context, a allot.Actor, tenantID int64, name, productRef string, disabledFor, notice int64) (*ReclaimRule, error) {
	if disabledFor < 0 || notice < 0 {
		return nil, allot.Errorf(allot.EInvalid, "disabledFor and notice must not be negative.")
	}
	p, err := s.Product(ctx, tenantID, productRef)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = "Reclaim " + p.SkuPartNumber + " from disabled users"
	}
	var id int64
	err = s.write(ctx, func(tx *tx) error {
		if err := tx.queryRow(`INSERT INTO reclaim_rules (tenant_id, display_name, product_id, disabled_for, notice, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			tenantID, name, p.ID, disabledFor, notice, tx.now).Scan(&id); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActAddReclaimRule, TargetKind: "Product",
			TargetID: p.SkuID, TargetName: p.SkuPartNumber, Changes: []allot.Change{{Property: "rule", New: fmt.Sprintf("%s: disabled for %d ms, notice %d ms", name, disabledFor, notice)}}})
	})
	if err != nil {
		return nil, err
	}
	return s.ReclaimRuleByID(ctx, tenantID, id)
}

const reclaimRuleCols = `r.id, r.product_id, r.disabled_for, r.notice, r.display_name, p.sku_guid, p.part_number, r.created_at`

func scanReclaimRule(row interface{ Scan(...any) error }) (*ReclaimRule, error) {
	var r ReclaimRule
	return &r, row.Scan(&r.ID, &r.ProductID, &r.DisabledFor, &r.Notice, &r.DisplayName, &r.SkuID, &r.SkuPartNumber, &r.CreatedAt)
}

// ReclaimRuleByID returns a tenant's reclamation rule.
func (s *Store) ReclaimRuleByID(ctx context.Context, tenantID, id int64) (*ReclaimRule, error) {
	r, err := scanReclaimRule(s.queryRow(ctx, `SELECT `+reclaimRuleCols+` FROM reclaim_rules r JOIN products p ON p.id = r.product_id WHERE r.tenant_id = ? AND r.id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Reclamation rule", fmt.Sprint(id))
	}
	return r, err
}

// ReclaimRules lists a tenant's reclamation rules by id.
func (s *Store) ReclaimRules(ctx context.Context, tenantID int64) ([]*ReclaimRule, error) {
	rows, err := s.query(ctx, `SELECT `+reclaimRuleCols+` FROM reclaim_rules r JOIN products p ON p.id = r.product_id WHERE r.tenant_id = ? ORDER BY r.id`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (*ReclaimRule, error) { return scanReclaimRule(r) })
}

// ReclaimRuns lists a tenant's recorded reclamation runs, newest first (at
// most 200).
func (s *Store) ReclaimRuns(ctx context.Context, tenantID int64) ([]*ReclaimRun, error) {
	rows, err := s.query(ctx, `SELECT id, rule_id, ran_at, noticed, reclaimed, cancelled, skipped FROM reclaim_runs WHERE tenant_id = ? ORDER BY id DESC LIMIT 200`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (*ReclaimRun, error) {
		var x ReclaimRun
		return &x, r.Scan(&x.ID, &x.RuleID, &x.RanAt, &x.Noticed, &x.Reclaimed, &x.Cancelled, &x.Skipp)
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
		run = &ReclaimRun{RuleID: ruleID, RanAt: tx.now, Users: map[string][]string{}}
		cands, err := tx.reclaimCandidates(rule)
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
		if !record && run.Noticed+run.Cancelled+run.Reclaimed+run.Skipp == 0 {
			return nil
		}
		if err := tx.queryRow(`INSERT INTO reclaim_runs (tenant_id, rule_id, ran_at, noticed, reclaimed, cancelled, skipped) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			tenantID, ruleID, tx.now, run.Noticed, run.Reclaimed, run.Cancelled, run.Skipp).Scan(&run.ID); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActReclaimRun, TargetKind: "Product",
			TargetID: rule.SkuID, TargetName: rule.SkuPartNumber, Changes: []allot.Change{{Property: "rule", New: rule.DisplayName},
				{Property: "noticed", New: fmt.Sprint(run.Noticed)}, {Property: "reclaimed", New: fmt.Sprint(run.Reclaimed)},
				{Property: "cancelled", New: fmt.Sprint(run.Cancelled)}, {Property: "skipped", New: fmt.Sprint(run.Skipp)}}})
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

// reclaimCandidates returns the users who hold the rule's product directly.
func (t *tx) reclaimCandidates(r *ReclaimRule) ([]licensing.ReclaimCandidate, error) {
	rows, err := t.query(`SELECT u.id, u.account_enabled, CASE WHEN u.disabled_since > 0 THEN u.disabled_since ELSE u.created_at END, COALESCE(n.noticed_at, 0)
		FROM license_states ls JOIN users u ON u.id = ls.user_id
		LEFT JOIN reclaim_notices n ON n.rule_id = ? AND n.user_id = u.id
		WHERE ls.product_id = ? AND ls.source_id = 0 AND ls.state = 'Active' ORDER BY u.id`, r.ID, r.ProductID)
	return collect(rows, err, func(rs *sql.Rows) (licensing.ReclaimCandidate, error) {
		var c licensing.ReclaimCandidate
		var enabled int
		err := rs.Scan(&c.UserID, &enabled, &c.DisabledSince, &c.NoticedAt)
		c.Enabled = enabled == 1
		return c, err
	})
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
