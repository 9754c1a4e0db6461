package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"allot"
	"allot/licensing"
)

// WaitEntry is one user in a product's waiting room.
type WaitEntry struct {
	Position    int
	UserGUID    string
	UPN         string
	DisplayName string
	// Since is when the user's waiting state last changed (unix ms): when it
	// started waiting, or when its reason changed.
	Since int64
	VIP   bool
	// Reason says, in an admin's words, why the user waits and where from.
	Reason string
	// Group is the name of the group through which the user waits.
	Group string
	// Fallback is the product the user holds meanwhile through a fallback
	// chain (nil: none).
	Fallback *allot.Product
	// MoveReason is why an admin moved the user up while it waits ("" if
	// not since it started waiting).
	MoveReason string
}

// WaitingRoom is one page of a product's line of waiters.
type WaitingRoom struct {
	Product *allot.Product
	Entries []WaitEntry
	// Total counts every waiter; Next is the offset of the next page (0: none).
	Total, Next int
}

// waiterRow is a user's place in a product's line, from its lowest waiting
// state.
type waiterRow struct {
	user, source, seq, since int64
	code                     allot.Code
}

// line returns a product's waiters in line order (licensing.InLine).
func line(rows *sql.Rows, err error) ([]waiterRow, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []waiterRow
	seen := map[int64]bool{}
	for rows.Next() {
		var w waiterRow
		var code string
		if err := rows.Scan(&w.user, &w.source, &code, &w.seq, &w.since); err != nil {
			return nil, err
		}
		w.code = allot.Code(code)
		if !seen[w.user] {
			seen[w.user] = true
			out = append(out, w)
		}
	}
	return out, rows.Err()
}

const lineQuery = `SELECT user_id, source_id, code, seq, updated_at FROM license_states WHERE product_id = ? AND code IN ` + waitingCodes + ` ORDER BY seq, user_id`

func waiters(ws []waiterRow) []licensing.Waiter {
	out := make([]licensing.Waiter, len(ws))
	for i, w := range ws {
		out[i] = licensing.Waiter{UserID: w.user, Place: w.seq}
	}
	return out
}

// ProductWaitingRoom returns the waiters of product ref from offset on, at
// most top of them, in the order they get seats.
func (s *Store) ProductWaitingRoom(ctx context.Context, tenantID int64, ref string, offset, top int) (*WaitingRoom, error) {
	p, err := s.Product(ctx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	ws, err := line(s.query(ctx, lineQuery, p.ID))
	if err != nil {
		return nil, err
	}
	room := &WaitingRoom{Product: p, Total: len(ws), Entries: []WaitEntry{}}
	if offset >= len(ws) {
		return room, nil
	}
	page := ws[offset:min(len(ws), offset+top)]
	if offset+top < len(ws) {
		room.Next = offset + top
	}
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for i, w := range page {
		e, err := s.waitEntry(ctx, tenantID, products, p, w)
		if err != nil {
			return nil, err
		}
		e.Position = offset + i + 1
		room.Entries = append(room.Entries, e)
	}
	return room, nil
}

// waitEntry describes one waiter (a few small queries; a page has at most
// $top of them).
func (s *Store) waitEntry(ctx context.Context, tenantID int64, products []*allot.Product, p *allot.Product, w waiterRow) (WaitEntry, error) {
	e := WaitEntry{Since: w.since, VIP: licensing.IsVIPPlace(w.seq)}
	if err := s.queryRow(ctx, `SELECT guid, upn, display_name FROM users WHERE id = ?`, w.user).Scan(&e.UserGUID, &e.UPN, &e.DisplayName); err != nil {
		return e, err
	}
	if w.source != allot.DirectSource {
		if err := s.queryRow(ctx, `SELECT display_name FROM dir_groups WHERE id = ?`, w.source).Scan(&e.Group); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return e, err
		}
		var fb int64
		err := s.queryRow(ctx, `SELECT f.fallback_id FROM group_license_fallbacks f JOIN license_states ls ON ls.user_id = ? AND ls.source_id = f.group_id AND ls.product_id = f.fallback_id AND ls.state = 'Active'
			WHERE f.group_id = ? AND f.product_id = ? ORDER BY f.position LIMIT 1`, w.user, w.source, p.ID).Scan(&fb)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return e, err
		}
		e.Fallback = licensing.NewCatalog(products).Product(fb)
	}
	err := s.queryRow(ctx, `SELECT reason FROM waiting_moves WHERE product_id = ? AND user_id = ? AND moved_at >= ?`, p.ID, w.user, w.since).Scan(&e.MoveReason)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return e, err
	}
	e.Reason = licensing.WaitReason(licensing.NewCatalog(products), w.code, p, e.Group, e.Fallback, e.VIP, e.MoveReason)
	return e, nil
}

// MoveUpWaiter moves user userRef to position (1: the head) of product
// ref's waiting room, with the admin's reason (required; audited with it).
// The places handed round are licensing.MoveUp's; the users whose places
// change are locked, and the line is read again under the locks.
func (s *Store) MoveUpWaiter(ctx context.Context, a allot.Actor, tenantID int64, ref, userRef string, position int, reason string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return allot.Errorf(allot.EInvalid, "Say why this user moves up: send {\"position\": 1, \"reason\": \"...\"}; the reason is kept in the audit log.")
	case utf8.RuneCountInString(reason) > 500:
		return allot.Errorf(allot.EInvalid, "The reason is longer than 500 characters.")
	}
	return s.write(ctx, func(t *tx) error {
		w, arg := productWhere(ref)
		p, err := s.scanProduct(t.queryRow(`SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? AND `+w, tenantID, arg))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Product (subscribedSku)", ref)
		}
		if err != nil {
			return err
		}
		u, err := t.user(tenantID, userRef)
		if err != nil {
			return err
		}
		places, from, err := t.moveUpPlaces(p.ID, u.ID, position)
		if err != nil {
			return err
		}
		for uid, place := range places {
			if _, err := t.exec(`UPDATE license_states SET seq = ? WHERE user_id = ? AND product_id = ? AND code IN `+waitingCodes, place, uid, p.ID); err != nil {
				return err
			}
		}
		if _, err := t.exec(`INSERT INTO waiting_moves (product_id, user_id, tenant_id, reason, moved_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (product_id, user_id) DO UPDATE SET reason = excluded.reason, moved_at = excluded.moved_at`, p.ID, u.ID, tenantID, reason, t.now); err != nil {
			return err
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActMoveUpWaiter, TargetKind: "User",
			TargetID: u.GUID, TargetName: u.UserPrincipalName, ResultReason: reason,
			Changes: []allot.Change{{Property: "waitingRoomPosition[" + p.SkuPartNumber + "]", Old: fmt.Sprint(from), New: fmt.Sprint(position)}, {Property: "reason", New: reason}}})
	})
}

// moveUpPlaces decides the move on the product's line, locks the users
// whose places change and decides again under the locks until the same
// users move. It returns the new places and the user's position before.
func (t *tx) moveUpPlaces(pid, uid int64, position int) (map[int64]int64, int, error) {
	locked := map[int64]bool{}
	for {
		ws, err := line(t.query(lineQuery, pid))
		if err != nil {
			return nil, 0, err
		}
		ln := licensing.InLine(waiters(ws))
		places, err := licensing.MoveUp(ln, uid, position)
		if err != nil {
			return nil, 0, err
		}
		var more []int64
		for id := range places {
			if !locked[id] {
				more = append(more, id)
			}
		}
		if len(more) == 0 {
			return places, positionOf(ln, uid), nil
		}
		all := more
		for id := range locked {
			all = append(all, id)
		}
		if err := t.lockUsers(all); err != nil {
			return nil, 0, err
		}
		for _, id := range more {
			locked[id] = true
		}
	}
}

func positionOf(ln []licensing.Waiter, uid int64) int {
	for i, w := range ln {
		if w.UserID == uid {
			return i + 1
		}
	}
	return 0
}
