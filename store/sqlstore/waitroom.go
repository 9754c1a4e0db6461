package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"allot"
	"allot/licensing"
)

// Fallback chains and the waiting room (docs/design.md, rules 16 and 17;
// docs/api.md, "Fallback chains" and "Waiting room"). The decisions are
// licensing's (fallback.go, waitroom.go); this file stores chains, VIP
// marks and moves, and loads them into snapshots.

const waitingCodes = `('noSeatsAvailable', 'seatsReducedBelowConsumption')`

// loadWaitroom adds the tenant's fallback chains (of group assignments that
// exist) and VIP groups to a snapshot.
func (t *tx) loadWaitroom(b *batch, tenantID int64) error {
	rows, err := t.query(`SELECT f.group_id, f.product_id, f.fallback_id FROM group_license_fallbacks f
		JOIN group_licenses gl ON gl.group_id = f.group_id AND gl.product_id = f.product_id
		WHERE f.tenant_id = ? ORDER BY f.group_id, f.product_id, f.position`, tenantID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var g, p, f int64
		if err := rows.Scan(&g, &p, &f); err != nil {
			rows.Close()
			return err
		}
		if b.snap.Fallbacks == nil {
			b.snap.Fallbacks = map[[2]int64][]int64{}
		}
		b.snap.Fallbacks[[2]int64{g, p}] = append(b.snap.Fallbacks[[2]int64{g, p}], f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	vip, err := t.vipGroups(tenantID)
	if len(vip) > 0 {
		b.snap.VIP = vip
	}
	return err
}

func (t *tx) vipGroups(tenantID int64) (map[int64]bool, error) {
	rows, err := t.query(`SELECT id FROM dir_groups WHERE tenant_id = ? AND waiting_vip = 1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// dropFallbacks deletes the chain of a group assignment that goes away;
// what its members held through the chain goes with it, on purpose.
func (t *tx) dropFallbacks(groupID, productID int64) error {
	chains, err := t.groupChains(groupID)
	if err != nil {
		return err
	}
	for _, f := range chains[productID] {
		t.remove(groupID, f)
	}
	_, err = t.exec(`DELETE FROM group_license_fallbacks WHERE group_id = ? AND product_id = ?`, groupID, productID)
	return err
}

// productByRef returns the tenant's product with the skuId or
// skuPartNumber ref, or nil.
func productByRef(products []*allot.Product, ref string) *allot.Product {
	ref = strings.TrimSpace(ref)
	for _, p := range products {
		if strings.EqualFold(p.SkuID, ref) || strings.EqualFold(p.SkuPartNumber, ref) {
			return p
		}
	}
	return nil
}

// Fallbacks is a group assignment's fallback chain.
type Fallbacks struct {
	Group     *allot.Group
	Product   *allot.Product
	Fallbacks []*allot.Product
}

// GroupLicenseFallbacks returns the fallback chain of the group's
// assignment of product sku (an empty chain when it has none).
func (s *Store) GroupLicenseFallbacks(ctx context.Context, tenantID int64, groupRef, sku string) (*Fallbacks, error) {
	g, err := s.Group(ctx, tenantID, groupRef)
	if err != nil {
		return nil, err
	}
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	p := productByRef(products, sku)
	if p == nil {
		return nil, notFound("Product (subscribedSku)", sku)
	}
	rows, err := s.query(ctx, `SELECT fallback_id FROM group_license_fallbacks WHERE group_id = ? AND product_id = ? ORDER BY position`, g.ID, p.ID)
	ids, err := collect(rows, err, scanID)
	if err != nil {
		return nil, err
	}
	return chainOf(g, p, products, ids), nil
}

func chainOf(g *allot.Group, p *allot.Product, products []*allot.Product, ids []int64) *Fallbacks {
	out := &Fallbacks{Group: g, Product: p, Fallbacks: []*allot.Product{}}
	cat := licensing.NewCatalog(products)
	for _, id := range ids {
		if q := cat.Product(id); q != nil {
			out.Fallbacks = append(out.Fallbacks, q)
		}
	}
	return out
}

// fallbacks loads a group assignment's chain, the group row locked.
func (t *tx) fallbacks(tenantID int64, groupRef, sku string) (*Fallbacks, []*allot.Product, error) {
	g, err := t.groupLocked(tenantID, groupRef, lockChange)
	if err != nil {
		return nil, nil, err
	}
	products, err := t.products(tenantID)
	if err != nil {
		return nil, nil, err
	}
	p := productByRef(products, sku)
	if p == nil {
		return nil, nil, notFound("Product (subscribedSku)", sku)
	}
	chains, err := t.groupChains(g.ID)
	if err != nil {
		return nil, nil, err
	}
	return chainOf(g, p, products, chains[p.ID]), products, nil
}

// groupChains returns every fallback chain of the group, by product.
func (t *tx) groupChains(groupID int64) (map[int64][]int64, error) {
	rows, err := t.query(`SELECT product_id, fallback_id FROM group_license_fallbacks WHERE group_id = ? ORDER BY product_id, position`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var p, f int64
		if err := rows.Scan(&p, &f); err != nil {
			return nil, err
		}
		out[p] = append(out[p], f)
	}
	return out, rows.Err()
}

func (t *tx) groupProducts(groupID int64) ([]int64, error) {
	rows, err := t.query(`SELECT product_id FROM group_licenses WHERE group_id = ? ORDER BY product_id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SetGroupLicenseFallbacks replaces the fallback chain of the group's
// assignment of product sku (audited) and marks the group, so its members
// are recomputed. A product the tenant does not own, the product itself, a
// product listed twice, one the group assigns itself and one in another
// chain of the group are refused (licensing.FallbackProblem).
func (s *Store) SetGroupLicenseFallbacks(ctx context.Context, a allot.Actor, tenantID int64, groupRef, sku string, refs []string) (*Fallbacks, error) {
	err := s.write(ctx, func(t *tx) error {
		cur, products, err := t.fallbacks(tenantID, groupRef, sku)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(refs))
		for _, r := range refs {
			q := productByRef(products, r)
			if q == nil {
				return allot.Errorf(allot.EInvalid, "The organization does not subscribe to '%s', so it cannot be a fallback.", r)
			}
			ids = append(ids, q.ID)
		}
		assigned, err := t.groupProducts(cur.Group.ID)
		if err != nil {
			return err
		}
		others, err := t.groupChains(cur.Group.ID)
		if err != nil {
			return err
		}
		if err := licensing.FallbackProblem(licensing.NewCatalog(products), cur.Product.ID, ids, assigned, others); err != nil {
			return err
		}
		old := productParts(cur.Fallbacks)
		next := make([]*allot.Product, 0, len(ids))
		cat := licensing.NewCatalog(products)
		for _, id := range ids {
			next = append(next, cat.Product(id))
		}
		if old == productParts(next) {
			return nil
		}
		return t.writeFallbacks(tenantID, a, cur, ids, old, productParts(next))
	})
	if err != nil {
		return nil, err
	}
	return s.GroupLicenseFallbacks(ctx, tenantID, groupRef, sku)
}

func (t *tx) writeFallbacks(tenantID int64, a allot.Actor, cur *Fallbacks, ids []int64, old, next string) error {
	if err := t.dropFallbacks(cur.Group.ID, cur.Product.ID); err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := t.exec(`INSERT INTO group_license_fallbacks (group_id, product_id, position, fallback_id, tenant_id) VALUES (?, ?, ?, ?, ?)`,
			cur.Group.ID, cur.Product.ID, i, id, tenantID); err != nil {
			return err
		}
	}
	if err := t.markGroups(tenantID, []int64{cur.Group.ID}); err != nil {
		return err
	}
	if err := t.setProcessing([]int64{cur.Group.ID}, allot.ProcessingQueued); err != nil {
		return err
	}
	return t.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActSetFallbacks, TargetKind: "Group",
		TargetID: cur.Group.GUID, TargetName: cur.Group.DisplayName,
		Changes: []allot.Change{{Property: "licenseFallbacks[" + cur.Product.SkuPartNumber + "]", Old: old, New: next}}})
}

func productParts(ps []*allot.Product) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, p.SkuPartNumber)
	}
	return strings.Join(parts, ", ")
}

// GroupWaitingVIP tells whether the group's members wait ahead of others.
func (s *Store) GroupWaitingVIP(ctx context.Context, tenantID int64, ref string) (*allot.Group, bool, error) {
	g, err := s.Group(ctx, tenantID, ref)
	if err != nil {
		return nil, false, err
	}
	var vip int
	err = s.queryRow(ctx, `SELECT waiting_vip FROM dir_groups WHERE id = ?`, g.ID).Scan(&vip)
	return g, vip == 1, err
}

// SetGroupWaitingVIP marks the group VIP or not (audited): the waiting
// states its members have through it move ahead of (or back behind) the
// ordinary places (licensing.Replace). Nobody gains or loses a license:
// nobody waits while a seat is free.
func (s *Store) SetGroupWaitingVIP(ctx context.Context, a allot.Actor, tenantID int64, ref string, vip bool) error {
	return s.write(ctx, func(t *tx) error {
		// Lock order: the members first (replaceWaiters), then the group row
		// (the UPDATE), as every licensing write.
		g, err := t.group(tenantID, ref)
		if err != nil {
			return err
		}
		var cur int
		if err := t.queryRow(`SELECT waiting_vip FROM dir_groups WHERE id = ?`, g.ID).Scan(&cur); err != nil {
			return err
		}
		if (cur == 1) == vip {
			return nil
		}
		flag := 0
		if vip {
			flag = 1
		}
		if err := t.replaceWaiters(g.ID, vip); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE dir_groups SET waiting_vip = ? WHERE id = ?`, flag, g.ID); err != nil {
			return err
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActSetWaitingVIP, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "waitingRoomVip", Old: fmt.Sprint(cur == 1), New: fmt.Sprint(vip)}}})
	})
}

// replaceWaiters moves the places of the waiting states through group g:
// it finds their users, locks them, and reads the states again under the
// locks before it writes.
func (t *tx) replaceWaiters(groupID int64, vip bool) error {
	rs, err := t.groupWaiters(groupID)
	if err != nil {
		return err
	}
	users := make([]int64, 0, len(rs))
	for _, r := range rs {
		users = append(users, r[0])
	}
	if err := t.lockUsers(slices.Compact(users)); err != nil {
		return err
	}
	if rs, err = t.groupWaiters(groupID); err != nil {
		return err
	}
	for _, r := range rs {
		if _, err := t.exec(`UPDATE license_states SET seq = ? WHERE user_id = ? AND product_id = ? AND source_id = ?`,
			licensing.Replace(r[2], vip), r[0], r[1], groupID); err != nil {
			return err
		}
	}
	return nil
}

// groupWaiters returns (user, product, seq) of the waiting states through
// the group, by user.
func (t *tx) groupWaiters(groupID int64) ([][3]int64, error) {
	rows, err := t.query(`SELECT user_id, product_id, seq FROM license_states WHERE source_id = ? AND code IN `+waitingCodes+` ORDER BY user_id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][3]int64
	for rows.Next() {
		var r [3]int64
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
