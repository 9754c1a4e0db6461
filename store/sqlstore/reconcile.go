package sqlstore

import (
	"context"
	"fmt"

	"allot"
	"allot/licensing"
	"allot/store"
)

// ReconcileUsers recomputes the licenses of users from all their sources and
// writes only the difference, in one transaction. Users waiting for a seat
// go first, longest waiting first; done marks are deleted in the same
// transaction.
func (s *Store) ReconcileUsers(ctx context.Context, tenantID int64, users []int64, done []store.Mark) (store.ReconcileStats, error) {
	st := store.ReconcileStats{Users: len(users)}
	err := s.write(ctx, func(tx *tx) error {
		res := &batchResult{Succeeded: map[int64]int{}, Failed: map[int64]int{}}
		if err := tx.reconcile(tenantID, users, res); err != nil {
			return err
		}
		st.Changed, st.Succeeded, st.Failed = res.Changed, res.Succeeded, res.Failed
		return tx.completeMarks(done)
	})
	return st, err
}

// reconcile recomputes users in the transaction: load their snapshot
// (locking them), decide (licensing.Recompute), apply the plan.
func (t *tx) reconcile(tenantID int64, users []int64, res *batchResult) error {
	if len(users) == 0 {
		return nil
	}
	products, err := t.products(tenantID)
	if err != nil {
		return err
	}
	b, err := t.loadBatch(tenantID, users, products, lockRows)
	if err != nil {
		return err
	}
	if err := t.prepare(b, true); err != nil {
		return err
	}
	plan, err := t.decide(b, func(s *licensing.Snapshot) (*licensing.Plan, error) { return licensing.Recompute(s), nil })
	if err != nil {
		return err
	}
	return t.apply(b, plan, allot.SystemActor, res)
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
