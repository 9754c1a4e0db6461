package sqlstore

// Assignments that start later: kept as their whole request until their
// start, then made by the worker in the transaction that drops them.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"allot"
	"allot/licensing"
	"allot/store"
)

// Kinds of assignment_starts rows.
const (
	startUser  = 0 // a user's direct assignment
	startGroup = 1 // a group's assignment
)

// splitStarts separates the requests that start now (no start, or one
// already past) from those that start later.
func splitStarts(add []store.LicenseRequest, now int64) (at, later []store.LicenseRequest) {
	for _, r := range add {
		if licensing.StartsLater(r.StartsAt, now) {
			later = append(later, r)
		} else {
			r.StartsAt = 0
			at = append(at, r)
		}
	}
	return at, later
}

// scheduleStarts records the requests that start later for the user or
// group target, audited, and drops the pending starts of the products
// removed now (removing a product takes its coming start away too).
func (t *tx) scheduleStarts(a allot.Actor, tenantID int64, kind int, targetID int64, guid, name string, later []store.LicenseRequest, remove []string) error {
	if len(later) == 0 && len(remove) == 0 {
		return nil
	}
	products, err := t.products(tenantID)
	if err != nil {
		return err
	}
	bySku, err := resolveRequests(products, later, remove)
	if err != nil {
		return err
	}
	for _, id := range remove {
		if _, err := t.exec(`DELETE FROM assignment_starts WHERE kind = ? AND target_id = ? AND product_id = ?`, kind, targetID, bySku[id].ID); err != nil {
			return err
		}
	}
	if len(later) == 0 {
		return nil
	}
	var changes []allot.Change
	for _, r := range later {
		p := bySku[r.SkuID]
		if err := licensing.CheckStart(p, r.StartsAt, r.EndsAt); err != nil {
			return err
		}
		check := licensing.CheckDirectAssign
		if kind == startGroup {
			check = licensing.CheckGroupAssign
		}
		if err := check(p); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO assignment_starts (kind, target_id, product_id, tenant_id, starts_at, ends_at, disabled_plans) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, target_id, product_id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at, disabled_plans = excluded.disabled_plans`,
			kind, targetID, p.ID, tenantID, r.StartsAt, r.EndsAt, encodePlans(r.DisabledPlans)); err != nil {
			return err
		}
		changes = append(changes, allot.Change{Property: "AssignedLicense",
			New: fmt.Sprintf("%s from %s", p.DisplayName, time.UnixMilli(r.StartsAt).UTC().Format(time.RFC3339))})
	}
	cat, target := "UserManagement", "User"
	if kind == startGroup {
		cat, target = "GroupManagement", "Group"
	}
	return t.audit(tenantID, a, allot.AuditEvent{Category: cat, Activity: allot.ActAssignmentStart, TargetKind: target,
		TargetID: guid, TargetName: name, Changes: changes})
}

// pendingStart is one assignment_starts row.
type pendingStart struct {
	kind                    int
	target, product, tenant int64
	startsAt, endsAt        int64
	plans                   string
}

// pendingStartCols are the columns scanPendingStart reads.
const pendingStartCols = `kind, target_id, product_id, tenant_id, starts_at, ends_at, disabled_plans`

func scanPendingStart(r *sql.Rows) (pendingStart, error) {
	var d pendingStart
	return d, r.Scan(&d.kind, &d.target, &d.product, &d.tenant, &d.startsAt, &d.endsAt, &d.plans)
}

// StartDue makes the assignments whose start has come, at most limit, each
// in the transaction that drops its row, and returns how many it handled.
// One that cannot be made then (no seat left for a direct assignment, the
// user or group gone) is dropped with an audited failure that says why.
func (s *Store) StartDue(ctx context.Context, limit int) (int, error) {
	rows, err := s.query(ctx, `SELECT `+pendingStartCols+` FROM assignment_starts
		WHERE starts_at <= ? ORDER BY starts_at, kind, target_id LIMIT ?`, nowMS(), limit)
	due, err := collect(rows, err, scanPendingStart)
	if err != nil {
		return 0, err
	}
	for i, d := range due {
		if err := s.start(ctx, d); err != nil {
			return i, err
		}
	}
	return len(due), nil
}

// start makes one due assignment and drops its row.
func (s *Store) start(ctx context.Context, d pendingStart) error {
	a := allot.SystemActor
	return s.write(ctx, func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM assignment_starts WHERE kind = ? AND target_id = ? AND product_id = ? AND starts_at = ?`, d.kind, d.target, d.product, d.startsAt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another worker made it, or it was changed or removed
		}
		p, err := s.productByIDTx(tx, d.product)
		if err != nil {
			return err
		}
		req := []store.LicenseRequest{{SkuID: p.SkuID, DisabledPlans: decodePlans(d.plans), EndsAt: d.endsAt}}
		if req[0].EndsAt != 0 && req[0].EndsAt <= tx.now {
			return nil // it ended before it could start
		}
		guid, name, err := tx.startTarget(d)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the user or group is gone, and its start with it
		}
		if err != nil {
			return err
		}
		if d.kind == startGroup {
			g, err := tx.groupLocked(d.tenant, guid, lockKeep)
			if err != nil {
				return err
			}
			err = tx.assignGroup(a, d.tenant, g, req, nil, false)
			return tx.startResult(d, p, "Group", guid, name, err)
		}
		u, err := tx.user(d.tenant, guid)
		if err != nil {
			return err
		}
		err = tx.assignUser(a, d.tenant, u, req, nil)
		return tx.startResult(d, p, "User", guid, name, err)
	})
}

// startTarget names the user or group of a pending start.
func (t *tx) startTarget(d pendingStart) (guid, name string, err error) {
	q := `SELECT guid, upn FROM users WHERE id = ? AND tenant_id = ?`
	if d.kind == startGroup {
		q = `SELECT guid, display_name FROM dir_groups WHERE id = ? AND tenant_id = ?`
	}
	err = t.queryRow(q, d.target, d.tenant).Scan(&guid, &name)
	return guid, name, err
}

// startResult audits a start: made, or refused in words (a licensing or
// policy refusal changes nothing else; the start is dropped). A database
// error ends the transaction, which runs again.
func (t *tx) startResult(d pendingStart, p *allot.Product, kind, guid, name string, err error) error {
	ev := allot.AuditEvent{Category: "UserManagement", Activity: allot.ActAssignmentStarted, TargetKind: kind, TargetID: guid, TargetName: name,
		Result: "success", Changes: []allot.Change{{Property: "AssignedLicense", New: p.DisplayName}}}
	if kind == "Group" {
		ev.Category = "GroupManagement"
	}
	if err != nil {
		if c := allot.ErrorCode(err); c == allot.EInternal || c == allot.EUnavailable {
			return err // a database error: the start runs again
		}
		ev.Result, ev.ResultReason = "failure", allot.ErrorMessage(err)
	}
	return t.audit(d.tenant, allot.SystemActor, ev)
}
