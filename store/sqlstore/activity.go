package sqlstore

// Activity for no-activity reclamation (docs/design.md, rule 15): the
// users' last sign-in as provisioned (signInActivity.lastSignInDateTime),
// imported activity reports (user, product, last active date) and the
// "keep" answers to reclamation notices.

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"allot"
)

// ActivityRow is one row of an activity report: a user (GUID or
// userPrincipalName), a product (skuId or skuPartNumber) and the user's
// last active date on it (unix ms). Row is its number in the report, for
// errors; Err is set when the row could not be read (it is then reported
// and skipped).
type ActivityRow struct {
	Row     int
	User    string
	Product string
	At      int64
	Err     string
}

// ActivityError is a row of a report that was not imported, and why.
type ActivityError struct {
	Row     int
	Message string
}

// ActivityImport is what an import did: rows imported (a row's date is
// kept only when it is later than the one already known) and the rows
// that were not, with their reasons.
type ActivityImport struct {
	Imported int
	Failed   int
	Errors   []ActivityError
}

// maxActivityErrors is how many row errors an import names.
const maxActivityErrors = 100

// ImportActivity writes an activity report in one transaction, audited:
// users and products are resolved with one query per 500 rows, and the
// dates upserted with multi-row inserts (the later date wins). Rows that
// name no user or product of the tenant, or carry a date in the future,
// are reported and skipped; the others are imported.
func (s *Store) ImportActivity(ctx context.Context, a allot.Actor, tenantID int64, rows []ActivityRow) (*ActivityImport, error) {
	var out *ActivityImport
	err := s.write(ctx, func(t *tx) error {
		out = &ActivityImport{}
		users, err := t.resolveActivityUsers(tenantID, rows)
		if err != nil {
			return err
		}
		products, err := t.products(tenantID)
		if err != nil {
			return err
		}
		best := map[[2]int64]int64{}
		for _, r := range rows {
			if msg := activityRowError(r, users, products, t.now); msg != "" {
				out.fail(r.Row, msg)
				continue
			}
			k := [2]int64{users[activityUserKey(r.User)], activityProduct(products, r.Product).ID}
			best[k] = max(best[k], r.At)
			out.Imported++
		}
		if err := t.upsertActivity(tenantID, best); err != nil {
			return err
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActImportActivity, TargetKind: "Tenant",
			Changes: []allot.Change{{Property: "imported", New: fmt.Sprint(out.Imported)}, {Property: "failed", New: fmt.Sprint(out.Failed)}}})
	})
	return out, err
}

func (o *ActivityImport) fail(row int, msg string) {
	o.Failed++
	if len(o.Errors) < maxActivityErrors {
		o.Errors = append(o.Errors, ActivityError{Row: row, Message: msg})
	}
}

// activityRowError says, in an admin's words, why a row cannot be imported.
func activityRowError(r ActivityRow, users map[string]int64, products []*allot.Product, now int64) string {
	switch {
	case r.Err != "":
		return r.Err
	case users[activityUserKey(r.User)] == 0:
		return fmt.Sprintf("No user '%s' in this tenant.", r.User)
	case activityProduct(products, r.Product) == nil:
		return fmt.Sprintf("No product '%s' in this tenant (give its skuId or skuPartNumber).", r.Product)
	case r.At > now+24*3600*1000:
		return fmt.Sprintf("The last activity date of '%s' is in the future.", r.User)
	}
	return ""
}

// activityUserKey is how a user reference is looked up: a GUID in lower
// case, a userPrincipalName normalized.
func activityUserKey(ref string) string {
	ref = strings.TrimSpace(ref)
	if _, err := uuid.Parse(ref); err == nil {
		return "g:" + strings.ToLower(ref)
	}
	return "u:" + allot.NormalizeKey(ref)
}

func activityProduct(ps []*allot.Product, ref string) *allot.Product {
	ref = strings.TrimSpace(ref)
	for _, p := range ps {
		if strings.EqualFold(p.SkuID, ref) || strings.EqualFold(p.SkuPartNumber, ref) {
			return p
		}
	}
	return nil
}

// resolveActivityUsers maps the rows' user references (activityUserKey)
// to internal ids, 500 a query.
func (t *tx) resolveActivityUsers(tenantID int64, rows []ActivityRow) (map[string]int64, error) {
	var guids, upns []string
	seen := map[string]bool{}
	for _, r := range rows {
		k := activityUserKey(r.User)
		if r.Err != "" || seen[k] {
			continue
		}
		seen[k] = true
		if strings.HasPrefix(k, "g:") {
			guids = append(guids, k[2:])
		} else {
			upns = append(upns, k[2:])
		}
	}
	out := make(map[string]int64, len(seen))
	for _, q := range []struct {
		col, prefix string
		keys        []string
	}{{"guid", "g:", guids}, {"upn_key", "u:", upns}} {
		per := 500
		if t.s.engine == Postgres {
			per = 20000 // one array argument
		}
		for start := 0; start < len(q.keys); start += per {
			chunk := q.keys[start:min(start+per, len(q.keys))]
			rs, err := t.userKeysIn(tenantID, q.col, chunk)
			found, err := collect(rs, err, func(r *sql.Rows) ([2]any, error) {
				var id int64
				var k string
				err := r.Scan(&id, &k)
				return [2]any{id, k}, err
			})
			if err != nil {
				return nil, err
			}
			for _, f := range found {
				out[q.prefix+f[1].(string)] = f[0].(int64)
			}
		}
	}
	return out, nil
}

// userKeysIn selects the tenant's users whose column col is one of keys:
// a list of placeholders on SQLite, one text[] on PostgreSQL.
func (t *tx) userKeysIn(tenantID int64, col string, keys []string) (*sql.Rows, error) {
	if t.s.engine == Postgres {
		return t.query(`SELECT id, `+col+` FROM users WHERE tenant_id = ? AND `+col+` = ANY(?::text[])`, tenantID, keys)
	}
	args := []any{tenantID}
	for _, k := range keys {
		args = append(args, k)
	}
	return t.query(`SELECT id, `+col+` FROM users WHERE tenant_id = ? AND `+col+` IN (`+placeholders(len(keys))+`)`, args...)
}

// activityUpsert keeps the later of the stored and the imported date.
const activityUpsert = ` ON CONFLICT (user_id, product_id) DO UPDATE SET last_activity = CASE WHEN excluded.last_activity > activity_reports.last_activity
	THEN excluded.last_activity ELSE activity_reports.last_activity END`

// upsertActivity writes the dates, 500 rows a statement on SQLite and
// 20,000 (as arrays) on PostgreSQL; a date older than the one stored
// leaves it.
func (t *tx) upsertActivity(tenantID int64, best map[[2]int64]int64) error {
	keys := make([][2]int64, 0, len(best))
	for k := range best {
		keys = append(keys, k)
	}
	sortPairs(keys)
	if t.s.engine != Postgres {
		return t.insertRows(`INSERT INTO activity_reports (user_id, product_id, tenant_id, last_activity) VALUES `, 4, activityUpsert, len(keys), 500,
			func(i int, a []any) []any { return append(a, keys[i][0], keys[i][1], tenantID, best[keys[i]]) })
	}
	for start := 0; start < len(keys); start += 20000 {
		chunk := keys[start:min(start+20000, len(keys))]
		users, products, dates := make([]int64, len(chunk)), make([]int64, len(chunk)), make([]int64, len(chunk))
		for i, k := range chunk {
			users[i], products[i], dates[i] = k[0], k[1], best[k]
		}
		if _, err := t.exec(`INSERT INTO activity_reports (user_id, product_id, tenant_id, last_activity)
			SELECT u, p, ?, d FROM unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS x(u, p, d)`+activityUpsert, tenantID, users, products, dates); err != nil {
			return err
		}
	}
	return nil
}

func sortPairs(ks [][2]int64) {
	slices.SortFunc(ks, func(a, b [2]int64) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
}

// SignIns returns the users' last sign-in as provisioned
// (signInActivity.lastSignInDateTime, unix ms) by internal id; users
// without one are left out.
func (s *Store) SignIns(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.query(ctx, `SELECT id, last_sign_in FROM users WHERE last_sign_in > 0 AND id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		got, err := collect(rows, err, func(r *sql.Rows) ([2]int64, error) {
			var x [2]int64
			return x, r.Scan(&x[0], &x[1])
		})
		if err != nil {
			return nil, err
		}
		for _, x := range got {
			out[x[0]] = x[1]
		}
	}
	return out, nil
}

// KeepLicense records a user's "keep" answer to a rule's notice (audited):
// the rule's period starts again from now, and the next run withdraws the
// notice.
func (s *Store) KeepLicense(ctx context.Context, a allot.Actor, tenantID, ruleID int64, userRef string) error {
	rule, err := s.ReclaimRuleByID(ctx, tenantID, ruleID)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		u, err := t.user(tenantID, userRef)
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO reclaim_keeps (rule_id, user_id, tenant_id, kept_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (rule_id, user_id) DO UPDATE SET kept_at = excluded.kept_at`, rule.ID, u.ID, tenantID, t.now); err != nil {
			return err
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActReclaimKeep, TargetKind: "User",
			TargetID: u.GUID, TargetName: u.UserPrincipalName, Changes: []allot.Change{{Property: "product", New: rule.ProductName}, {Property: "rule", New: rule.DisplayName}}})
	})
}

// setSignIn sets a user's last sign-in (unix ms; 0 clears) and returns the
// change for the audit, if any.
func (t *tx) setSignIn(userID, at int64) ([]allot.Change, error) {
	var old int64
	if err := t.queryRow(`SELECT last_sign_in FROM users WHERE id = ?`, userID).Scan(&old); err != nil {
		return nil, err
	}
	if old == at {
		return nil, nil
	}
	if _, err := t.exec(`UPDATE users SET last_sign_in = ? WHERE id = ?`, at, userID); err != nil {
		return nil, err
	}
	str := func(ms int64) string {
		if ms == 0 {
			return ""
		}
		return msTimeString(ms)
	}
	return []allot.Change{{Property: "signInActivity", Old: str(old), New: str(at)}}, nil
}

// ReclaimNotice is a user under a reclamation rule's notice.
type ReclaimNotice struct {
	RuleID                int64
	RuleName, ProductName string
	UserGUID, UPN         string
	NoticedAt, ReclaimAt  int64
	// KeptAt is when the user answered "keep" (0: not yet); the next run
	// withdraws the notice.
	KeptAt int64
}

// ReclaimNotices lists the tenant's users under a notice, the soonest
// reclamation first (at most 500).
func (s *Store) ReclaimNotices(ctx context.Context, tenantID int64) ([]*ReclaimNotice, error) {
	rows, err := s.query(ctx, `SELECT r.id, r.display_name, p.display_name, u.guid, u.upn, n.noticed_at, n.noticed_at + r.notice, COALESCE(k.kept_at, 0)
		FROM reclaim_notices n JOIN reclaim_rules r ON r.id = n.rule_id JOIN products p ON p.id = r.product_id JOIN users u ON u.id = n.user_id
		LEFT JOIN reclaim_keeps k ON k.rule_id = n.rule_id AND k.user_id = n.user_id AND k.kept_at >= n.noticed_at
		WHERE n.tenant_id = ? ORDER BY n.noticed_at + r.notice, u.upn_key LIMIT 500`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (*ReclaimNotice, error) {
		var x ReclaimNotice
		return &x, r.Scan(&x.RuleID, &x.RuleName, &x.ProductName, &x.UserGUID, &x.UPN, &x.NoticedAt, &x.ReclaimAt, &x.KeptAt)
	})
}
