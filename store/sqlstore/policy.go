package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"allot"
	"allot/licensing"
)

// checkGroupAssign refuses a new group assignment of product p to group
// gid when the product's policy does not allow it (licensing decides); a
// group that assigns it already may change its disabled plans.
func (t *tx) checkGroupAssign(gid int64, p *allot.Product) error {
	var one int
	err := t.queryRow(`SELECT 1 FROM group_licenses WHERE group_id = ? AND product_id = ?`, gid, p.ID).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return licensing.CheckGroupAssign(p)
}

// PolicyReport is a product's assignment policy with the assignments that
// do not follow it: under groupOnly the direct ones, under directOnly the
// group ones. They are kept (nothing is taken away by a policy) and listed
// so that an administrator can move them.
type PolicyReport struct {
	Product *allot.Product
	Policy  string
	// DirectAssignments counts the users holding the product directly.
	DirectAssignments int
	// Groups are the groups that assign the product, by id.
	Groups []*allot.Group
}

// SetAssignmentPolicy changes a product's assignment policy (audited) and
// reports the assignments that do not follow it. It takes no license away.
func (s *Store) SetAssignmentPolicy(ctx context.Context, a allot.Actor, tenantID int64, ref, policy string) (*PolicyReport, error) {
	pol, err := licensing.ParsePolicy(policy)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *tx) error {
		w, arg := productWhere(ref)
		p, err := s.scanProduct(tx.queryRow(`SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? AND `+w+tx.lockRows(lockChange), tenantID, arg))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Product (subscribedSku)", ref)
		}
		if err != nil {
			return err
		}
		old := licensing.Policy(p)
		if old == pol {
			return nil
		}
		if _, err := tx.exec(`UPDATE products SET assignment_policy = ? WHERE id = ?`, pol, p.ID); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActSetPolicy, TargetKind: "Product",
			TargetID: p.SkuID, TargetName: p.SkuPartNumber, Changes: []allot.Change{{Property: "assignmentPolicy", Old: old, New: pol}}})
	})
	if err != nil {
		return nil, err
	}
	return s.AssignmentPolicy(ctx, tenantID, ref)
}

// AssignmentPolicy reports a product's assignment policy with its direct
// assignments and the groups that assign it.
func (s *Store) AssignmentPolicy(ctx context.Context, tenantID int64, ref string) (*PolicyReport, error) {
	p, err := s.Product(ctx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	rep := &PolicyReport{Product: p, Policy: licensing.Policy(p)}
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM license_states WHERE product_id = ? AND source_id = 0 AND state = 'Active'`, p.ID).Scan(&rep.DirectAssignments); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT group_id FROM group_licenses WHERE product_id = ? ORDER BY group_id`, p.ID)
	ids, err := collect(rows, err, scanID)
	if err != nil {
		return nil, err
	}
	byID, err := s.groupsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if g := byID[id]; g != nil {
			rep.Groups = append(rep.Groups, g)
		}
	}
	return rep, nil
}

// MoveResult is what MoveDirectToGroup did: who moved, who joined the
// group for it and who keeps a direct assignment, with the reason.
type MoveResult struct {
	Product *allot.Product
	Group   *allot.Group
	// Moved counts the users whose seat now comes from the group.
	Moved int
	// MembersAdded counts the users who became direct members of the group.
	MembersAdded int
	// Kept lists the users who keep their direct assignment.
	Kept []MoveKept
}

// MoveKept is a user who keeps a direct assignment, and why.
type MoveKept struct {
	UserGUID, UserPrincipalName string
	Code                        allot.Code
	Message                     string
}

// MoveDirectToGroup moves every active direct assignment of a product to
// a group that assigns it, in one transaction: the holders become direct
// members of the group (those who are not yet), then licensing.MoveToGroup
// decides, so each user's seat passes from the direct assignment to the
// group without an instant unlicensed. A user whose group grant would fail
// keeps the direct assignment and is listed in Kept. Run inside Preview it
// changes nothing and says what it would do.
func (s *Store) MoveDirectToGroup(ctx context.Context, a allot.Actor, tenantID int64, productRef, groupRef string) (*MoveResult, error) {
	var res *MoveResult
	err := s.write(ctx, func(tx *tx) error {
		res = &MoveResult{}
		g, err := tx.groupLocked(tenantID, groupRef, lockKeep)
		if err != nil {
			return err
		}
		if err := refuseDynamicMembers(g); err != nil {
			return err
		}
		res.Group = g
		products, err := tx.products(tenantID)
		if err != nil {
			return err
		}
		p := findProduct(products, productRef)
		if p == nil {
			return notFound("Product (subscribedSku)", productRef)
		}
		res.Product = p
		if licensing.Policy(p) == allot.PolicyDirectOnly {
			return licensing.CheckGroupAssign(p)
		}
		var one int
		if err := tx.queryRow(`SELECT 1 FROM group_licenses WHERE group_id = ? AND product_id = ?`, g.ID, p.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return allot.Errorf(allot.EInvalid, "Group '%s' does not assign %s; assign it to the group first (POST /v1.0/groups/%s/assignLicense), then move the direct assignments.", g.DisplayName, p.SkuPartNumber, g.GUID)
		} else if err != nil {
			return err
		}
		holders, err := tx.directHolders(p.ID)
		if err != nil || len(holders) == 0 {
			return err
		}
		if res.MembersAdded, err = tx.joinGroup(tenantID, g, holders); err != nil {
			return err
		}
		b, err := tx.loadBatch(tenantID, holders, products, lockRows)
		if err != nil {
			return err
		}
		if err := tx.prepare(b, true); err != nil {
			return err
		}
		tx.remove(allot.DirectSource, p.ID)
		var moved []licensing.MoveResult
		plan, err := tx.decide(b, func(sn *licensing.Snapshot) (*licensing.Plan, error) {
			var pl *licensing.Plan
			pl, moved = licensing.MoveToGroup(sn, p.ID, g.ID)
			return pl, nil
		})
		if err != nil {
			return err
		}
		if err := tx.apply(b, plan, a, &batchResult{}); err != nil {
			return err
		}
		if err := res.tally(tx, b, moved); err != nil {
			return err
		}
		if err := tx.dropMovedEnds(p.ID, moved); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActMoveToGroup, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{
				{Property: "product", New: p.SkuPartNumber}, {Property: "moved", New: fmt.Sprint(res.Moved)},
				{Property: "kept", New: fmt.Sprint(len(res.Kept))}, {Property: "membersAdded", New: fmt.Sprint(res.MembersAdded)}}})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// tally fills in the counts and the kept users of a move.
func (r *MoveResult) tally(tx *tx, b *batch, moved []licensing.MoveResult) error {
	var kept []licensing.MoveResult
	for _, m := range moved {
		if m.Moved {
			r.Moved++
		} else if m.Code != "" {
			kept = append(kept, m)
		}
	}
	ids := make([]int64, len(kept))
	for i, m := range kept {
		ids[i] = m.UserID
	}
	names, err := tx.userNames(ids)
	if err != nil {
		return err
	}
	for _, m := range kept {
		r.Kept = append(r.Kept, MoveKept{UserGUID: names[m.UserID][0], UserPrincipalName: names[m.UserID][1], Code: m.Code,
			Message: licensing.Message(b.cat, m.Code, r.Product)})
	}
	return nil
}

// directHolders returns the users who hold product pid directly, by id.
func (t *tx) directHolders(pid int64) ([]int64, error) {
	rows, err := t.query(`SELECT user_id FROM license_states WHERE product_id = ? AND source_id = 0 AND state = 'Active' ORDER BY user_id`, pid)
	return collect(rows, err, scanID)
}

// joinGroup makes the users who are not direct members of g members, in
// one statement per 500 users, and records the changes for the delta
// feeds. It returns how many joined.
func (t *tx) joinGroup(tenantID int64, g *allot.Group, users []int64) (int, error) {
	rows, err := t.query(`SELECT member_id FROM memberships WHERE group_id = ? AND member_type = 0`, g.ID)
	members, err := collect(rows, err, scanID)
	if err != nil {
		return 0, err
	}
	in := make(map[int64]bool, len(members))
	for _, m := range members {
		in[m] = true
	}
	var add []int64
	for _, u := range users {
		if !in[u] {
			add = append(add, u)
		}
	}
	if len(add) == 0 {
		return 0, nil
	}
	names, err := t.userNames(add)
	if err != nil {
		return 0, err
	}
	last, err := t.nextSeqs(len(add))
	if err != nil {
		return 0, err
	}
	first := last - int64(len(add)) + 1
	if err := t.insertRows(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id) VALUES `, 5, "", len(add), 500,
		func(i int, a []any) []any { return append(a, g.ID, first+int64(i), 0, add[i], tenantID) }); err != nil {
		return 0, err
	}
	for _, u := range add {
		t.recordChanges(tenantID, DirChange{Kind: ChangeMember, ObjectID: g.ID, Object: g.GUID, MemberID: u, Member: names[u][0]})
	}
	return len(add), nil
}

func scanID(r *sql.Rows) (int64, error) {
	var id int64
	return id, r.Scan(&id)
}

// dropMovedEnds forgets the ends of the direct assignments that moved: the
// group's assignment has its own.
func (t *tx) dropMovedEnds(pid int64, moved []licensing.MoveResult) error {
	var ids []int64
	for _, m := range moved {
		if m.Moved {
			ids = append(ids, m.UserID)
		}
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		if _, err := t.exec(`DELETE FROM direct_ends WHERE product_id = ? AND user_id IN (`+placeholders(len(chunk))+`)`,
			append([]any{pid}, idArgs(chunk)...)...); err != nil {
			return err
		}
	}
	return nil
}
