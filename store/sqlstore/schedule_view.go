package sqlstore

// Upcoming ends of time-bound assignments, for the admin center's
// Schedules page, and the preview of what each does when it comes.

import (
	"context"
	"database/sql"

	"allot"
	"allot/store"
)

// UpcomingEnd is a set of assignments of one product that end (or, with
// Starts, start) at one instant: direct ones (Users, DirectCount) or one
// group's (Group).
type UpcomingEnd struct {
	// Starts tells that the assignments start then (startDateTime).
	Starts      bool
	At          int64
	ProductID   int64
	ProductName string
	// ProductSkuID is the product's skuId.
	ProductSkuID string
	// Users are the first userPrincipalNames of the direct assignments
	// that end (at most 20); DirectCount counts them all.
	Users       []string
	DirectCount int
	// Group is the group whose assignment ends; nil for direct ends.
	Group *GroupName
}

// UpcomingEnds lists the tenant's assignments that end after now, soonest
// first, grouped by instant and product (direct) or group: at most limit
// entries.
func (s *Store) UpcomingEnds(ctx context.Context, tenantID, now int64, limit int) ([]*UpcomingEnd, error) {
	rows, err := s.query(ctx, `SELECT d.ends_at, d.product_id, p.display_name, p.sku_guid, u.upn FROM direct_ends d
		JOIN products p ON p.id = d.product_id JOIN users u ON u.id = d.user_id
		WHERE d.tenant_id = ? AND d.ends_at > ? ORDER BY d.ends_at, d.product_id, u.upn_key LIMIT 10000`, tenantID, now)
	direct, err := collect(rows, err, func(r *sql.Rows) (*UpcomingEnd, error) {
		var e UpcomingEnd
		var upn string
		err := r.Scan(&e.At, &e.ProductID, &e.ProductName, &e.ProductSkuID, &upn)
		e.Users = []string{upn}
		return &e, err
	})
	if err != nil {
		return nil, err
	}
	out := groupDirect(direct)
	rows, err = s.query(ctx, `SELECT gl.ends_at, gl.product_id, p.display_name, p.sku_guid, g.guid, g.display_name FROM group_licenses gl
		JOIN products p ON p.id = gl.product_id JOIN dir_groups g ON g.id = gl.group_id
		WHERE gl.tenant_id = ? AND gl.ends_at > ? ORDER BY gl.ends_at LIMIT ?`, tenantID, now, limit)
	groups, err := collect(rows, err, func(r *sql.Rows) (*UpcomingEnd, error) {
		e := UpcomingEnd{Group: &GroupName{}}
		return &e, r.Scan(&e.At, &e.ProductID, &e.ProductName, &e.ProductSkuID, &e.Group.GUID, &e.Group.DisplayName)
	})
	if err != nil {
		return nil, err
	}
	out = mergeEnds(out, groups)
	starts, err := s.upcomingStarts(ctx, tenantID, now, limit)
	if err != nil {
		return nil, err
	}
	out = mergeEnds(out, starts)
	return out[:min(len(out), limit)], nil
}

// upcomingStarts lists the tenant's assignments that start after now,
// soonest first: one entry per instant and product for direct ones, one
// per group.
func (s *Store) upcomingStarts(ctx context.Context, tenantID, now int64, limit int) ([]*UpcomingEnd, error) {
	rows, err := s.query(ctx, `SELECT a.starts_at, a.product_id, p.display_name, p.sku_guid, a.kind,
		COALESCE(u.upn, ''), COALESCE(g.guid, ''), COALESCE(g.display_name, '') FROM assignment_starts a
		JOIN products p ON p.id = a.product_id
		LEFT JOIN users u ON a.kind = 0 AND u.id = a.target_id LEFT JOIN dir_groups g ON a.kind = 1 AND g.id = a.target_id
		WHERE a.tenant_id = ? AND a.starts_at > ? ORDER BY a.starts_at, a.product_id, a.kind, a.target_id LIMIT 10000`, tenantID, now)
	list, err := collect(rows, err, func(r *sql.Rows) (*UpcomingEnd, error) {
		e := UpcomingEnd{Starts: true}
		var kind int
		var upn, guid, name string
		err := r.Scan(&e.At, &e.ProductID, &e.ProductName, &e.ProductSkuID, &kind, &upn, &guid, &name)
		if kind == startGroup {
			e.Group = &GroupName{GUID: guid, DisplayName: name}
		} else {
			e.Users = []string{upn}
		}
		return &e, err
	})
	if err != nil {
		return nil, err
	}
	out := groupDirect(list)
	return out[:min(len(out), limit)], nil
}

// groupDirect folds consecutive direct entries of one instant and product
// (each with one user) into one entry that counts them and names the
// first 20; group entries stay as they are.
func groupDirect(list []*UpcomingEnd) []*UpcomingEnd {
	var out []*UpcomingEnd
	for _, e := range list {
		if e.Group != nil {
			out = append(out, e)
			continue
		}
		if n := len(out); n > 0 && out[n-1].Group == nil && out[n-1].At == e.At && out[n-1].ProductID == e.ProductID {
			last := out[n-1]
			last.DirectCount++
			if len(last.Users) < 20 {
				last.Users = append(last.Users, e.Users[0])
			}
			continue
		}
		e.DirectCount = 1
		out = append(out, e)
	}
	return out
}

// mergeEnds merges two lists sorted by At.
func mergeEnds(a, b []*UpcomingEnd) []*UpcomingEnd {
	out := make([]*UpcomingEnd, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || len(a) > 0 && a[0].At <= b[0].At {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// PreviewEnd previews what an upcoming end (or start) does when it comes: inside a
// preview the clock is set to its instant and its assignments are expired
// as ExpireDue does (licensing leaves the ended grants out, and the freed
// seats go to the waiters as the reconciler would serve them). Nothing
// changes. Each end is previewed alone (earlier ends are not applied).
func (s *Store) PreviewEnd(ctx context.Context, tenantID int64, e *UpcomingEnd) (*store.Preview, error) {
	return s.Preview(ctx, tenantID, func(ctx context.Context) error {
		t, _ := ctx.Value(txCtxKey{}).(*tx)
		if t == nil {
			return allot.Errorf(allot.EInternal, "PreviewEnd needs the preview's transaction.")
		}
		t.now = e.At
		if e.Starts {
			return s.previewStart(ctx, t, tenantID, e)
		}
		if e.Group != nil {
			return s.expireGroup(ctx, allot.SystemActor, tenantID, e.Group.GUID, e.ProductID)
		}
		rows, err := t.query(`SELECT user_id FROM direct_ends WHERE tenant_id = ? AND product_id = ? AND ends_at = ?`, tenantID, e.ProductID, e.At)
		users, err := collect(rows, err, scanID)
		if err != nil {
			return err
		}
		list := make([]due, len(users))
		for i, u := range users {
			list[i] = due{tenant: tenantID, user: u, product: e.ProductID}
		}
		return s.expireDirect(ctx, allot.SystemActor, tenantID, list)
	})
}

// previewStart makes, inside a preview, the assignments of an upcoming
// start as StartDue will.
func (s *Store) previewStart(ctx context.Context, t *tx, tenantID int64, e *UpcomingEnd) error {
	cond, args := `kind = 0`, []any{tenantID, e.ProductID, e.At}
	if e.Group != nil {
		cond = `kind = 1 AND target_id = (SELECT id FROM dir_groups WHERE guid = ?)`
		args = append(args, e.Group.GUID)
	}
	rows, err := t.query(`SELECT `+pendingStartCols+` FROM assignment_starts
		WHERE tenant_id = ? AND product_id = ? AND starts_at = ? AND `+cond, args...)
	due, err := collect(rows, err, scanPendingStart)
	if err != nil {
		return err
	}
	for _, d := range due {
		if err := s.start(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
