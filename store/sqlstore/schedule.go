package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"allot"
	"allot/licensing"
)

// due is a direct assignment that has ended.
type due struct{ tenant, user, product int64 }

// loadDirectEnds gives the users' direct grants their ends.
func (t *tx) loadDirectEnds(b *batch, sorted []int64) error {
	for _, c := range pieces(sorted) {
		cond, args, _ := rangeOrIn("user_id", c)
		rows, err := t.query(`SELECT user_id, product_id, ends_at FROM direct_ends WHERE `+cond, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var uid, pid, end int64
			if err := rows.Scan(&uid, &pid, &end); err != nil {
				rows.Close()
				return err
			}
			i, ok := b.index[uid]
			if !ok {
				continue
			}
			gs := b.snap.Users[i].Grants
			for j := range gs {
				if gs[j].Source == allot.DirectSource && gs[j].ProductID == pid {
					gs[j].EndsAt = end
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// writeDirectEnds records the ends of a direct change's products: an added
// product ends when its request says (or never), a removed one has none.
func (t *tx) writeDirectEnds(tenantID, userID int64, c licensing.DirectChange) error {
	for _, g := range c.Add {
		if _, err := t.exec(`DELETE FROM direct_ends WHERE user_id = ? AND product_id = ?`, userID, g.ProductID); err != nil {
			return err
		}
		if g.EndsAt == 0 {
			continue
		}
		if _, err := t.exec(`INSERT INTO direct_ends (user_id, product_id, tenant_id, ends_at) VALUES (?, ?, ?, ?)`, userID, g.ProductID, tenantID, g.EndsAt); err != nil {
			return err
		}
	}
	for _, pid := range c.Remove {
		if _, err := t.exec(`DELETE FROM direct_ends WHERE user_id = ? AND product_id = ?`, userID, pid); err != nil {
			return err
		}
	}
	return nil
}

// ExpireDue takes away the assignments that have ended, at most limit of
// each kind: direct ones are decided at once (licensing drops an ended
// grant, and the end is the intent of the loss), the freed seats go to the
// waiters (apply marks them); a group assignment that ended is removed
// from its group, whose members the reconciler then recomputes. Each ended
// assignment is audited. It returns how many ended.
func (s *Store) ExpireDue(ctx context.Context, limit int) (int, error) {
	a := allot.SystemActor
	now := nowMS()
	rows, err := s.query(ctx, `SELECT tenant_id, user_id, product_id FROM direct_ends WHERE ends_at <= ? ORDER BY ends_at, user_id LIMIT ?`, now, limit)
	ds, err := collect(rows, err, func(r *sql.Rows) (due, error) {
		var d due
		return d, r.Scan(&d.tenant, &d.user, &d.product)
	})
	if err != nil {
		return 0, err
	}
	byTenant := map[int64][]due{}
	for _, d := range ds {
		byTenant[d.tenant] = append(byTenant[d.tenant], d)
	}
	n := 0
	for tenantID, list := range byTenant {
		if err := s.expireDirect(ctx, a, tenantID, list); err != nil {
			return n, err
		}
		n += len(list)
	}
	type groupDue struct {
		tenant, product int64
		guid            string
	}
	rows, err = s.query(ctx, `SELECT gl.tenant_id, g.guid, gl.product_id FROM group_licenses gl JOIN dir_groups g ON g.id = gl.group_id
		WHERE gl.ends_at > 0 AND gl.ends_at <= ? ORDER BY gl.ends_at LIMIT ?`, now, limit)
	gs, err := collect(rows, err, func(r *sql.Rows) (groupDue, error) {
		var d groupDue
		return d, r.Scan(&d.tenant, &d.guid, &d.product)
	})
	if err != nil {
		return n, err
	}
	for _, g := range gs {
		if err := s.expireGroup(ctx, a, g.tenant, g.guid, g.product); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// expireDirect decides the users whose direct assignments ended and drops
// the ends.
func (s *Store) expireDirect(ctx context.Context, a allot.Actor, tenantID int64, list []due) error {
	return s.write(ctx, func(tx *tx) error {
		users := make([]int64, 0, len(list))
		for _, d := range list {
			if !slices.Contains(users, d.user) { // a user may have several ends due
				users = append(users, d.user)
			}
		}
		products, err := tx.products(tenantID)
		if err != nil {
			return err
		}
		b, err := tx.loadBatch(tenantID, users, products, lockRows)
		if err != nil {
			return err
		}
		if err := tx.prepare(b, true); err != nil {
			return err
		}
		for k := range b.snap.Ended() {
			tx.remove(k[0], k[1])
		}
		plan, err := tx.decide(b, func(sn *licensing.Snapshot) (*licensing.Plan, error) { return licensing.Recompute(sn), nil })
		if err != nil {
			return err
		}
		if err := tx.apply(b, plan, a, &batchResult{}); err != nil {
			return err
		}
		names, err := tx.userNames(users)
		if err != nil {
			return err
		}
		lost := map[[2]int64]bool{}
		for _, up := range plan.Users {
			for _, pid := range up.Lost {
				lost[[2]int64{up.UserID, pid}] = true
			}
		}
		for _, d := range list {
			res, err := tx.exec(`DELETE FROM direct_ends WHERE user_id = ? AND product_id = ? AND ends_at <= ?`, d.user, d.product, tx.now)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 || !lost[[2]int64{d.user, d.product}] {
				continue // another worker did it, or the assignment was gone already
			}
			part := fmt.Sprint(d.product)
			if p := b.cat.Product(d.product); p != nil {
				part = p.SkuPartNumber
			}
			if err := tx.audit(tenantID, a, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActAssignmentEnded, TargetKind: "User",
				TargetID: names[d.user][0], TargetName: names[d.user][1], Changes: []allot.Change{{Property: "AssignedLicense", Old: part}}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// expireGroup removes a group assignment that ended; the reconciler then
// takes it from the members (licensing already gives nothing through it).
func (s *Store) expireGroup(ctx context.Context, a allot.Actor, tenantID int64, groupGUID string, productID int64) error {
	return s.write(ctx, func(tx *tx) error {
		g, err := tx.groupLocked(tenantID, groupGUID, lockKeep)
		if err != nil {
			return err
		}
		groupID := g.ID
		res, err := tx.exec(`DELETE FROM group_licenses WHERE group_id = ? AND product_id = ? AND ends_at > 0 AND ends_at <= ?`, groupID, productID, tx.now)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		tx.remove(groupID, productID)
		if err := tx.dropFallbacks(groupID, productID); err != nil {
			return err
		}
		if err := tx.markGroups(tenantID, []int64{groupID}); err != nil {
			return err
		}
		if err := tx.setProcessing([]int64{groupID}, allot.ProcessingQueued); err != nil {
			return err
		}
		part := fmt.Sprint(productID)
		if p, err := s.productByIDTx(tx, productID); err == nil {
			part = p.SkuPartNumber
		}
		tx.recordChanges(tenantID, DirChange{Kind: ChangeGroup, ObjectID: g.ID, Object: g.GUID})
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActAssignmentEnded, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "AssignedLicense", Old: part}}})
	})
}

func (s *Store) productByIDTx(tx *tx, id int64) (*allot.Product, error) {
	return s.scanProduct(tx.queryRow(`SELECT `+productCols+` FROM products p WHERE p.id = ?`, id))
}
