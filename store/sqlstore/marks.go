package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"allot"
	"allot/store"
)

// nextSeqs reserves n ordering numbers and returns the last one.
func (t *tx) nextSeqs(n int) (int64, error) {
	if t.s.pg != nil {
		return t.s.pgNextSeqs(t.ctx, n)
	}
	var v int64
	err := t.queryRow(`UPDATE sequences SET value = value + ? WHERE name = 'order' RETURNING value`, n).Scan(&v)
	return v, err
}

func (t *tx) mark(kind int, tenantID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if t.preview {
		// A preview follows its own marks (previewOnce) and writes none:
		// a mark row it upserted would stay locked until its rollback,
		// holding up the reconciler and every writer that marks the same
		// target.
		for _, id := range ids {
			t.previewMarks = append(t.previewMarks, previewMark{kind, id})
		}
		return nil
	}
	last, err := t.nextSeqs(len(ids))
	if err != nil {
		return err
	}
	first := last - int64(len(ids)) + 1
	// Each target keeps its place in the queue (seq, in the order given);
	// the rows go in in target order, so that concurrent markers lock
	// common marks in the same order (locks.go).
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
	for start := 0; start < len(order); start += 1000 {
		end := min(start+1000, len(order))
		var b strings.Builder
		b.WriteString(`INSERT INTO marks (kind, target_id, tenant_id, seq, lease_owner, lease_until, marked_at) VALUES `)
		args := make([]any, 0, (end-start)*5)
		now := nowMS()
		for _, i := range order[start:end] {
			if len(args) > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, '', 0, ?)")
			args = append(args, kind, ids[i], tenantID, first+int64(i), now)
		}
		// A target marked again while a worker holds it loses the lease, so
		// the worker's completion leaves it and it is processed once more.
		b.WriteString(` ON CONFLICT (kind, target_id) DO UPDATE SET seq = excluded.seq, lease_owner = '', lease_until = 0,
			progress_done = 0, progress_total = 0`)
		if _, err := t.exec(b.String(), args...); err != nil {
			return err
		}
	}
	t.woke = true
	return nil
}

func (t *tx) markUsers(tenantID int64, ids []int64) error {
	return t.mark(store.MarkUser, tenantID, ids)
}

func (t *tx) markGroups(tenantID int64, ids []int64) error {
	return t.mark(store.MarkGroup, tenantID, ids)
}

// markWaiters marks, for each product with free seats, as many of its
// longest-waiting users as there are free seats.
func (t *tx) markWaiters(tenantID int64, products []int64) error {
	for _, pid := range products {
		var free, waiting int
		if err := t.queryRow(`SELECT enabled_units - consumed_units, waiting_units FROM products WHERE id = ?`, pid).Scan(&free, &waiting); err != nil {
			return err
		}
		free, waiting = free-t.deltas[pid][0], waiting+t.deltas[pid][1]
		if free <= 0 || waiting <= 0 {
			continue
		}
		if pooled, err := t.markPoolWaiters(tenantID, pid, free); pooled || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		rows, err := t.query(`SELECT user_id FROM license_states WHERE product_id = ? AND code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption')
			ORDER BY seq LIMIT ?`, pid, 2*free)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		var users []int64
		for rows.Next() {
			var u int64
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			if !seen[u] && len(users) < free {
				seen[u] = true
				users = append(users, u)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := t.markUsers(tenantID, users); err != nil {
			return err
		}
	}
	return nil
}

// ClaimMarks leases up to limit marks of one kind, oldest first, that no
// live lease holds. owner must be unique per claim.
func (s *Store) ClaimMarks(ctx context.Context, kind int, owner string, limit int, lease time.Duration) ([]store.Mark, error) {
	var out []store.Mark
	err := s.write(ctx, func(tx *tx) error {
		out = out[:0]
		until := tx.now + lease.Milliseconds()
		q, args := `UPDATE marks SET lease_owner = ?, lease_until = ?
			WHERE (kind, target_id) IN (SELECT kind, target_id FROM marks WHERE kind = ? AND lease_until < ? ORDER BY seq LIMIT ?)
			RETURNING kind, target_id, tenant_id, seq`, []any{owner, until, kind, tx.now, limit}
		if s.engine == Postgres {
			// A claim is a lease: lost in a crash, it only lets another
			// worker take the marks at once. So its commit need not wait
			// for the WAL flush; the reconcile that completes the marks
			// does (and flushes the claim with it).
			if _, err := tx.exec(`SET LOCAL synchronous_commit TO OFF`); err != nil {
				return err
			}
			// Concurrent claimers skip each other's marks. The claimed rows
			// are locked and chosen once, in a materialized CTE: a subquery
			// could be run again for the UPDATE and claim more than limit.
			q, args = `WITH c AS MATERIALIZED (SELECT kind, target_id FROM marks WHERE kind = ? AND lease_until < ? ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED)
			UPDATE marks m SET lease_owner = ?, lease_until = ? FROM c WHERE m.kind = c.kind AND m.target_id = c.target_id
			RETURNING m.kind, m.target_id, m.tenant_id, m.seq`, []any{kind, tx.now, limit, owner, until}
		}
		rows, err := tx.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := store.Mark{Owner: owner}
			if err := rows.Scan(&m.Kind, &m.TargetID, &m.TenantID, &m.Seq); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	// RETURNING gives rows in no set order; keep the queue's order.
	sortMarks(out)
	return out, err
}

func sortMarks(ms []store.Mark) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Seq < ms[j-1].Seq; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// completeMarks deletes claimed marks that nobody marked again since.
func (t *tx) completeMarks(ms []store.Mark) error {
	for start := 0; start < len(ms); start += 500 {
		chunk := ms[start:min(start+500, len(ms))]
		args := []any{chunk[0].Kind, chunk[0].Owner}
		for _, m := range chunk {
			args = append(args, m.TargetID)
		}
		if _, err := t.exec(`DELETE FROM marks WHERE kind = ? AND lease_owner = ? AND target_id IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// PendingMarks returns how many marks wait or are being processed.
func (s *Store) PendingMarks(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM marks`).Scan(&n)
	return n, err
}

// MarkAll marks every licensed group and every waiting user of every tenant:
// the periodic full pass that catches anything missed.
func (s *Store) MarkAll(ctx context.Context) error {
	return s.write(ctx, func(tx *tx) error {
		type tk struct{ tenant, id int64 }
		collect := func(q string) ([]tk, error) {
			rows, err := tx.query(q)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []tk
			for rows.Next() {
				var x tk
				if err := rows.Scan(&x.tenant, &x.id); err != nil {
					return nil, err
				}
				out = append(out, x)
			}
			return out, rows.Err()
		}
		groups, err := collect(`SELECT DISTINCT tenant_id, group_id FROM group_licenses`)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := tx.markGroups(g.tenant, []int64{g.id}); err != nil {
				return err
			}
		}
		users, err := collect(`SELECT DISTINCT u.tenant_id, ls.user_id FROM license_states ls JOIN users u ON u.id = ls.user_id WHERE ls.state <> 'Active'`)
		if err != nil {
			return err
		}
		byTenant := map[int64][]int64{}
		for _, u := range users {
			byTenant[u.tenant] = append(byTenant[u.tenant], u.id)
		}
		for t, ids := range byTenant {
			if err := tx.markUsers(t, ids); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReprocessUser marks a user for recomputation.
func (s *Store) ReprocessUser(ctx context.Context, a allot.Actor, tenantID int64, ref string) (*allot.User, error) {
	var u *allot.User
	err := s.write(ctx, func(tx *tx) error {
		var err error
		if u, err = tx.user(tenantID, ref); err != nil {
			return err
		}
		if err := tx.markUsers(tenantID, []int64{u.ID}); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActReprocessLicense, TargetKind: "User", TargetID: u.GUID, TargetName: u.UserPrincipalName})
	})
	return u, err
}

// ReprocessGroup marks every member of a group for recomputation.
func (s *Store) ReprocessGroup(ctx context.Context, a allot.Actor, tenantID int64, ref string) (*allot.Group, error) {
	var g *allot.Group
	err := s.write(ctx, func(tx *tx) error {
		var err error
		if g, err = tx.group(tenantID, ref); err != nil {
			return err
		}
		if err := tx.markGroups(tenantID, []int64{g.ID}); err != nil {
			return err
		}
		g.ProcessingState = allot.ProcessingQueued
		if err := tx.setProcessing([]int64{g.ID}, allot.ProcessingQueued); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActReprocessLicense, TargetKind: "Group", TargetID: g.GUID, TargetName: g.DisplayName})
	})
	return g, err
}

// ExtendLease keeps a claimed mark leased for another d, so long work on a
// large group is not taken over while it makes progress.
func (s *Store) ExtendLease(ctx context.Context, m store.Mark, d time.Duration) error {
	return s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`UPDATE marks SET lease_until = ? WHERE kind = ? AND target_id = ? AND lease_owner = ?`, tx.now+d.Milliseconds(), m.Kind, m.TargetID, m.Owner)
		return err
	})
}

// ReportGroupProgress records how many of a claimed group mark's total
// members the worker has recomputed (nothing when it lost the claim).
func (s *Store) ReportGroupProgress(ctx context.Context, m store.Mark, done, total int) error {
	return s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`UPDATE marks SET progress_done = ?, progress_total = ? WHERE kind = ? AND target_id = ? AND lease_owner = ?`,
			done, total, m.Kind, m.TargetID, m.Owner)
		return err
	})
}

// GroupProgress returns how many of a group's members the worker
// processing it has recomputed, of how many; 0, 0 when no worker is at it.
func (s *Store) GroupProgress(ctx context.Context, groupID int64) (done, total int, err error) {
	err = s.queryRow(ctx, `SELECT progress_done, progress_total FROM marks WHERE kind = ? AND target_id = ?`, store.MarkGroup, groupID).Scan(&done, &total)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return done, total, err
}

// ReleaseLeases frees every lease. The embedded store calls it at start-up:
// only one process serves an SQLite file, so a lease left behind belongs to a
// process that died.
func (s *Store) ReleaseLeases(ctx context.Context) error {
	return s.write(ctx, func(tx *tx) error {
		_, err := tx.exec(`UPDATE marks SET lease_owner = '', lease_until = 0 WHERE lease_until > 0`)
		return err
	})
}

// ReleaseLeasesOf frees the leases of the claims whose owner starts with
// prefix (one worker's: a worker that stops hands its marks back at once,
// instead of leaving them held until the leases expire). It returns how
// many it freed.
func (s *Store) ReleaseLeasesOf(ctx context.Context, prefix string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *tx) error {
		res, err := tx.exec(`UPDATE marks SET lease_owner = '', lease_until = 0 WHERE lease_until > 0 AND lease_owner LIKE ?`, prefix+"%")
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
