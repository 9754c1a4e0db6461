package sqlstore

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
)

// License changes reach the users feed in two steps. A write records the
// users whose license states it changed as one row of
// directory_change_batches (writeUserChanges), whatever their number: a
// group batch of 25,000 members writes one small row, not 25,000 feed rows.
// A delta reader, before it reads the users feed, expands the rows below its
// watermark into directory_changes under the position they were written
// with (expandUserBatches), so that tokens and the feed's order are as if
// the rows had been written by the write itself. The members a write adds
// to a group (a rule evaluated over the tenant: up to every user) are kept
// the same way, one row per group, and expanded into the groups feed.

// encodeIDs encodes sorted ids as unsigned varint differences.
func encodeIDs(ids []int64) []byte {
	out := make([]byte, 0, len(ids)*3)
	prev := int64(0)
	for _, id := range ids {
		out = binary.AppendUvarint(out, uint64(id-prev))
		prev = id
	}
	return out
}

// errBadBatch is a directory_change_batches row that does not decode.
var errBadBatch = errors.New("sqlstore: a change batch does not decode")

// decodeIDs decodes what encodeIDs wrote.
func decodeIDs(b []byte) ([]int64, error) {
	var out []int64
	prev := int64(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errBadBatch
		}
		prev += int64(d)
		out = append(out, prev)
		b = b[n:]
	}
	return out, nil
}

// writeUserChanges records that the users changed at position seq, as one
// change batch row.
func (t *tx) writeUserChanges(tenantID, seq int64, users map[int64]bool) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	_, err := t.exec(`INSERT INTO directory_change_batches (tenant_id, seq, at, users) VALUES (?, ?, ?, ?)`,
		tenantID, seq, t.now, encodeIDs(ids))
	return err
}

// changeBatch is one directory_change_batches row.
type changeBatch struct {
	id, seq, at int64
	users       []int64
	// group is the group the users joined (0: their license states
	// changed), groupGUID its GUID.
	group     int64
	groupGUID string
}

// expandUserBatches expands the tenant's change batches with positions
// below to into users feed rows, and deletes them. A feed row of a later
// change (a deletion, a later license change) is kept: a batch row only
// raises a row's position. Two readers expanding at once take turns on the
// batch rows (PostgreSQL: FOR UPDATE), and the second finds them gone.
func (s *Store) expandUserBatches(ctx context.Context, tenantID, to int64) error {
	var pending int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM directory_change_batches WHERE tenant_id = ? AND seq < ?`, tenantID, to).Scan(&pending); err != nil {
		return err
	}
	if pending == 0 {
		return nil
	}
	return s.write(ctx, func(t *tx) error {
		bs, err := t.changeBatches(tenantID, to)
		if err != nil {
			return err
		}
		for _, b := range bs {
			if err := t.expandBatch(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// changeBatches returns (and locks, on PostgreSQL) the tenant's change
// batches below position to, in position order.
func (t *tx) changeBatches(tenantID, to int64) ([]changeBatch, error) {
	rows, err := t.query(`SELECT id, seq, at, users, group_id, group_guid FROM directory_change_batches WHERE tenant_id = ? AND seq < ? ORDER BY seq, id`+
		t.lockRows(lockAll), tenantID, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []changeBatch
	for rows.Next() {
		var b changeBatch
		var raw []byte
		if err := rows.Scan(&b.id, &b.seq, &b.at, &raw, &b.group, &b.groupGUID); err != nil {
			return nil, err
		}
		if b.users, err = decodeIDs(raw); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// expandBatch writes the feed rows of one change batch, 500 users a
// statement, and deletes the batch. Users since deleted have no row to
// write: their deletion is in the feed already.
func (t *tx) expandBatch(b changeBatch) error {
	if b.group != 0 {
		return t.expandMemberBatch(b)
	}
	for start := 0; start < len(b.users); start += 500 {
		chunk := b.users[start:min(start+500, len(b.users))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, b.seq, b.at)
		for _, id := range chunk {
			args = append(args, id)
		}
		// By primary key only: with tenant_id in the condition SQLite walks
		// the tenant's users for every statement. In id order, the rows go
		// in key order.
		if _, err := t.exec(`INSERT INTO directory_changes (tenant_id, feed, kind, object_num, member_num, object_id, member_id, member_type, removed, seq, at)
			SELECT tenant_id, 0, 0, id, 0, guid, '', 0, 0, ?, ? FROM users WHERE id IN (`+placeholders(len(chunk))+`) ORDER BY id`+
			` ON CONFLICT (tenant_id, kind, object_num, member_num, object_id, member_id) DO UPDATE SET member_type = excluded.member_type,
	removed = excluded.removed, seq = excluded.seq, at = excluded.at WHERE directory_changes.seq < excluded.seq`, args...); err != nil {
			return err
		}
	}
	_, err := t.exec(`DELETE FROM directory_change_batches WHERE id = ?`, b.id)
	return err
}

// expandMemberBatch writes the groups feed rows of the users who joined
// b.group, in one statement, and deletes the batch. Only users who are
// members still get a row: one who left since has a later row that says so,
// and a user deleted since may have left its id to another user, who is no
// member (or joined later, with a later row).
func (t *tx) expandMemberBatch(b changeBatch) error {
	list, arg := t.idList(b.users)
	if _, err := t.exec(`INSERT INTO directory_changes (tenant_id, feed, kind, object_num, member_num, object_id, member_id, member_type, removed, seq, at)
		SELECT u.tenant_id, ?, ?, ?, u.id, ?, lower(u.guid), 0, 0, ?, ? FROM `+list+` JOIN users u ON u.id = x.m
		JOIN memberships m ON m.group_id = ? AND m.member_type = 0 AND m.member_id = u.id WHERE true
		ON CONFLICT (tenant_id, kind, object_num, member_num, object_id, member_id) DO UPDATE SET member_type = excluded.member_type,
		removed = excluded.removed, seq = excluded.seq, at = excluded.at WHERE directory_changes.seq < excluded.seq`,
		FeedGroups, ChangeMember, b.group, b.groupGUID, b.seq, b.at, arg, b.group); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM directory_change_batches WHERE id = ?`, b.id)
	return err
}

// expandOldBatches expands the change batches written before cut (Unix
// milliseconds), so that pruning sees their rows; each tenant's up to its
// watermark.
func (s *Store) expandOldBatches(ctx context.Context, cut int64) error {
	rows, err := s.query(ctx, `SELECT DISTINCT tenant_id FROM directory_change_batches WHERE at < ?`, cut)
	tenants, err := collect(rows, err, scanInt64)
	if err != nil {
		return err
	}
	for _, tenantID := range tenants {
		to, err := s.DeltaWatermark(ctx, tenantID)
		if err != nil {
			return err
		}
		if err := s.expandUserBatches(ctx, tenantID, to); err != nil {
			return err
		}
	}
	return nil
}
