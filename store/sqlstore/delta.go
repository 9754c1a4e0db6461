package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"allot"
)

// The change feeds behind Graph's users/delta and groups/delta
// (docs/design.md, "Change feed"). Every write transaction that changes a
// user, a group, a membership or a user's license states records what it
// changed with recordChanges (or recordUsers, for the users of a licensing
// plan); the records are written when the write ends, in one multi-row
// statement per kind, into directory_changes: one row per object or
// membership, overwritten by its next change, with the position (seq) of
// that change. A delta token is a position; a delta answers the rows from
// the token's position up to a watermark below which every writer is done.

// Change kinds.
const (
	ChangeUser   = 0 // a user changed or was deleted
	ChangeGroup  = 1 // a group changed or was deleted
	ChangeMember = 2 // a member joined or left a group
)

// Feeds: users/delta reads FeedUsers, groups/delta FeedGroups (groups and
// their memberships).
const (
	FeedUsers  = 0
	FeedGroups = 1
)

// DeltaRetention is how long the feed keeps a change; a delta token older
// than the changes pruned since answers syncStateNotFound.
const DeltaRetention = 30 * 24 * time.Hour

// Removal reasons of a change, as Graph's @removed reason says them.
const (
	Present        = 0 // the object (or membership) exists
	RemovedDeleted = 1 // "deleted": gone for good
	RemovedChanged = 2 // "changed": deleted but restorable (soft-deleted)
)

// DirChange is one recorded change: a user or group (ObjectID, its internal
// id, and Object, its GUID), or a membership (the group as Object, the
// member as Member, MemberType 0 user, 1 group). Removed is Present or a
// removal reason.
type DirChange struct {
	Kind       int
	ObjectID   int64
	Object     string
	MemberID   int64
	Member     string
	MemberType int
	Removed    int
	Seq        int64
}

// FeedCursor is the position of a feed row in a delta's order.
type FeedCursor struct {
	Seq                int64
	Kind               int
	ObjectID, MemberID int64
	Object, Member     string
}

// Cursor returns the position of c.
func (c DirChange) Cursor() FeedCursor {
	return FeedCursor{Seq: c.Seq, Kind: c.Kind, ObjectID: c.ObjectID, MemberID: c.MemberID, Object: c.Object, Member: c.Member}
}

type changeKey struct {
	kind           int
	onum, mnum     int64
	object, member string
}

type changeVal struct {
	memberType int
	removed    int
}

// changeBuf collects a write's changes until it ends: per tenant, the
// changes by GUID, and the users (internal ids) whose license states a plan
// changed, resolved to GUIDs when written.
type changeBuf struct {
	byGUID map[int64]map[changeKey]changeVal
	users  map[int64]map[int64]bool
	// lists are the user members that joined or left a group, by tenant,
	// written with their GUIDs read in the same statement.
	lists map[int64][]memberList
}

// memberList is users that joined (removed Present) or left a group.
type memberList struct {
	group   *allot.Group
	ids     []int64
	removed int
}

func feedOf(kind int) int {
	if kind == ChangeUser {
		return FeedUsers
	}
	return FeedGroups
}

// recordChanges records changes of the tenant's directory for the delta
// feeds; they are written when the write ends. A later record of the same
// object in the same write replaces an earlier one. Previews record nothing.
func (t *tx) recordChanges(tenantID int64, cs ...DirChange) {
	if t.preview || len(cs) == 0 {
		return
	}
	if t.feed == nil {
		t.feed = &changeBuf{}
	}
	if t.feed.byGUID == nil {
		t.feed.byGUID = map[int64]map[changeKey]changeVal{}
	}
	m := t.feed.byGUID[tenantID]
	if m == nil {
		m = map[changeKey]changeVal{}
		t.feed.byGUID[tenantID] = m
	}
	for _, c := range cs {
		k := changeKey{c.Kind, c.ObjectID, c.MemberID, strings.ToLower(strings.TrimSpace(c.Object)), strings.ToLower(strings.TrimSpace(c.Member))}
		m[k] = changeVal{c.MemberType, c.Removed}
	}
}

// recordMemberList records that the users ids joined g (removed Present)
// or left it (RemovedDeleted), for the groups delta feed.
func (t *tx) recordMemberList(tenantID int64, g *allot.Group, ids []int64, removed int) {
	if t.preview || len(ids) == 0 {
		return
	}
	if t.feed == nil {
		t.feed = &changeBuf{}
	}
	if t.feed.lists == nil {
		t.feed.lists = map[int64][]memberList{}
	}
	t.feed.lists[tenantID] = append(t.feed.lists[tenantID], memberList{g, ids, removed})
}

// recordUsers records that the users (internal ids) changed: their license
// states, which Graph shows as assignedLicenses and licenseAssignmentStates.
func (t *tx) recordUsers(tenantID int64, ids []int64) {
	if t.preview || len(ids) == 0 {
		return
	}
	if t.feed == nil {
		t.feed = &changeBuf{}
	}
	if t.feed.users == nil {
		t.feed.users = map[int64]map[int64]bool{}
	}
	m := t.feed.users[tenantID]
	if m == nil {
		m = make(map[int64]bool, len(ids))
		t.feed.users[tenantID] = m
	}
	for _, id := range ids {
		m[id] = true
	}
}

// recordRemoval records that the user or group (kind ChangeUser or
// ChangeGroup; internal id and GUID) is deleted, and that it leaves the
// groups it is a direct member of. Call it before its memberships go.
func (t *tx) recordRemoval(tenantID int64, kind int, id int64, guid string) error {
	if t.preview {
		return nil
	}
	typ := 0
	if kind == ChangeGroup {
		typ = 1
	}
	rows, err := t.query(`SELECT g.id, g.guid FROM memberships m JOIN dir_groups g ON g.id = m.group_id
		WHERE m.member_type = ? AND m.member_id = ?`, typ, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	cs := []DirChange{{Kind: kind, ObjectID: id, Object: guid, Removed: RemovedDeleted}}
	for rows.Next() {
		var gid int64
		var g string
		if err := rows.Scan(&gid, &g); err != nil {
			return err
		}
		cs = append(cs, DirChange{Kind: ChangeMember, ObjectID: gid, Object: g, MemberID: id, Member: guid, MemberType: typ, Removed: RemovedDeleted})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	t.recordChanges(tenantID, cs...)
	return nil
}

// flushChanges writes the changes the write recorded, per tenant in id
// order: the users of licensing plans as one change batch (delta_batches.go),
// then the changes by GUID (multi-row).
func (t *tx) flushChanges() error {
	f := t.feed
	t.feed = nil
	if f == nil {
		return nil
	}
	tenants := map[int64]bool{}
	for id := range f.byGUID {
		tenants[id] = true
	}
	for id := range f.users {
		tenants[id] = true
	}
	for id := range f.lists {
		tenants[id] = true
	}
	ids := make([]int64, 0, len(tenants))
	for id := range tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, tenantID := range ids {
		seq, err := t.changeSeq(tenantID)
		if err != nil {
			return err
		}
		if err := t.writeUserChanges(tenantID, seq, f.users[tenantID]); err != nil {
			return err
		}
		if err := t.writeMemberLists(tenantID, seq, f.lists[tenantID]); err != nil {
			return err
		}
		if err := t.writeGUIDChanges(tenantID, seq, f.byGUID[tenantID]); err != nil {
			return err
		}
	}
	return nil
}

const changeUpsert = ` ON CONFLICT (tenant_id, kind, object_num, member_num, object_id, member_id) DO UPDATE SET member_type = excluded.member_type,
	removed = excluded.removed, seq = excluded.seq, at = excluded.at`

// changeSeq returns the position of this write's changes in the tenant's
// feed. SQLite runs one write transaction at a time: a counter per tenant,
// bumped here, orders them. PostgreSQL runs them side by side: the
// transaction's own id orders them, and readers stop below the oldest
// transaction still running (deltaWatermark), so a change is never read
// before every change below it has committed.
func (t *tx) changeSeq(tenantID int64) (int64, error) {
	var seq int64
	if t.s.engine == Postgres {
		if t.xid != 0 {
			// Read with the write gate (enterGate): the id is the
			// transaction's from its first statement, so the oldest running
			// transaction bounds the watermark a little earlier, never later.
			return t.xid, nil
		}
		err := t.queryRow(`SELECT pg_current_xact_id()::text::bigint`).Scan(&seq)
		return seq, err
	}
	err := t.queryRow(`INSERT INTO delta_state (tenant_id, seq) VALUES (?, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET seq = delta_state.seq + 1 RETURNING seq`, tenantID).Scan(&seq)
	return seq, err
}

// writeMemberLists writes member lists: the members who joined a group as
// one change batch row (expanded when the groups feed is read,
// delta_batches.go), those who left as feed rows at once, each list in one
// statement that reads the members' GUIDs. (A leaver's row cannot wait: the
// user may be deleted before a reader comes, and SQLite may give its id to
// another user.)
func (t *tx) writeMemberLists(tenantID, seq int64, lists []memberList) error {
	for _, l := range lists {
		if l.removed == Present {
			ids := slices.Clone(l.ids)
			slices.Sort(ids)
			if _, err := t.exec(`INSERT INTO directory_change_batches (tenant_id, seq, at, users, group_id, group_guid) VALUES (?, ?, ?, ?, ?, ?)`,
				tenantID, seq, t.now, encodeIDs(slices.Compact(ids)), l.group.ID, strings.ToLower(strings.TrimSpace(l.group.GUID))); err != nil {
				return err
			}
			continue
		}
		list, arg := t.idList(l.ids)
		if _, err := t.exec(`INSERT INTO directory_changes (tenant_id, feed, kind, object_num, member_num, object_id, member_id, member_type, removed, seq, at)
			SELECT ?, ?, ?, ?, u.id, ?, lower(u.guid), 0, ?, ?, ? FROM `+list+` JOIN users u ON u.id = x.m WHERE true`+changeUpsert,
			tenantID, FeedGroups, ChangeMember, l.group.ID, strings.ToLower(strings.TrimSpace(l.group.GUID)), l.removed, seq, t.now, arg); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) writeGUIDChanges(tenantID, seq int64, m map[changeKey]changeVal) error {
	if len(m) == 0 {
		return nil
	}
	keys := make([]changeKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b changeKey) int {
		if a.kind != b.kind {
			return a.kind - b.kind
		}
		if a.onum != b.onum {
			return cmp.Compare(a.onum, b.onum)
		}
		if a.mnum != b.mnum {
			return cmp.Compare(a.mnum, b.mnum)
		}
		if c := strings.Compare(a.object, b.object); c != 0 {
			return c
		}
		return strings.Compare(a.member, b.member)
	})
	return t.insertRows(`INSERT INTO directory_changes (tenant_id, feed, kind, object_num, member_num, object_id, member_id, member_type, removed, seq, at) VALUES `, 11,
		changeUpsert, len(keys), 500, func(i int, args []any) []any {
			k := keys[i]
			v := m[k]
			return append(args, tenantID, feedOf(k.kind), k.kind, k.onum, k.mnum, k.object, k.member, v.memberType, v.removed, seq, t.now)
		})
}

// DeltaWatermark returns the tenant's feed position below which every change
// has committed and is visible: a delta reads up to it (exclusive), and a
// delta token holds it. Call it before reading what the token covers.
//
// On PostgreSQL it is the smallest of the next transaction id and the ids of
// the transactions of this database still running. The running ones are
// read after the snapshot that gives the next id, in the same statement: a
// transaction with an id below that next id either shows as running (and
// bounds the watermark) or has ended before the read, so that any later
// statement sees its changes.
func (s *Store) DeltaWatermark(ctx context.Context, tenantID int64) (int64, error) {
	if s.engine != Postgres {
		var seq int64
		err := s.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM delta_state WHERE tenant_id = ?`, tenantID).Scan(&seq)
		return seq + 1, err
	}
	var next int64
	var running string
	err := s.queryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
		COALESCE((SELECT string_agg(backend_xid::text, ',') FROM pg_stat_activity
			WHERE datname = current_database() AND backend_xid IS NOT NULL), '')`).Scan(&next, &running)
	if err != nil {
		return 0, err
	}
	return pgWatermark(next, running), nil
}

// pgWatermark widens the 32-bit ids of running transactions to the 64-bit
// ids of pg_current_xact_id (relative to next, within 2^31 of it) and
// returns the smallest of them and next.
func pgWatermark(next int64, running string) int64 {
	w := next
	for _, f := range strings.Split(running, ",") {
		x, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil {
			continue
		}
		full := next + int64(int32(uint32(x)-uint32(next)))
		w = min(w, full)
	}
	return w
}

// DeltaFloor returns the oldest feed position a delta token may hold: the
// changes before it were pruned.
func (s *Store) DeltaFloor(ctx context.Context, tenantID int64) (int64, error) {
	var floor int64
	err := s.queryRow(ctx, `SELECT COALESCE(MAX(floor), 0) FROM delta_state WHERE tenant_id = ?`, tenantID).Scan(&floor)
	return floor, err
}

// FeedChanges returns up to limit rows of the tenant's feed with positions
// in [from, to), after the cursor (nil: from the start), in feed order.
func (s *Store) FeedChanges(ctx context.Context, tenantID int64, feed int, from, to int64, after *FeedCursor, limit int) ([]DirChange, error) {
	if err := s.expandUserBatches(ctx, tenantID, to); err != nil {
		return nil, err
	}
	args := []any{tenantID, feed, from, to}
	cond := ""
	if after != nil {
		cond = ` AND (seq, kind, object_num, member_num, object_id, member_id) > (?, ?, ?, ?, ?, ?)`
		args = append(args, after.Seq, after.Kind, after.ObjectID, after.MemberID, after.Object, after.Member)
	}
	rows, err := s.query(ctx, `SELECT kind, object_num, member_num, object_id, member_id, member_type, removed, seq FROM directory_changes
		WHERE tenant_id = ? AND feed = ? AND seq >= ? AND seq < ?`+cond+`
		ORDER BY seq, kind, object_num, member_num, object_id, member_id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DirChange
	for rows.Next() {
		var c DirChange
		if err := rows.Scan(&c.Kind, &c.ObjectID, &c.MemberID, &c.Object, &c.Member, &c.MemberType, &c.Removed, &c.Seq); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MemberRef is one membership as a delta lists it: the group (internal id),
// the member's place in it, its type (0 user, 1 group) and GUID.
type MemberRef struct {
	GroupID int64
	Seq     int64
	Type    int
	GUID    string
}

// MemberRefs returns up to limit memberships of the groups (internal ids),
// in (group, seq) order after (afterGroup, afterSeq).
func (s *Store) MemberRefs(ctx context.Context, groupIDs []int64, afterGroup, afterSeq int64, limit int) ([]MemberRef, error) {
	if len(groupIDs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(groupIDs)+3)
	for _, id := range groupIDs {
		args = append(args, id)
	}
	args = append(args, afterGroup, afterSeq, limit)
	rows, err := s.query(ctx, `SELECT m.group_id, m.seq, m.member_type, COALESCE(u.guid, g.guid, '') FROM memberships m
		LEFT JOIN users u ON m.member_type = 0 AND u.id = m.member_id
		LEFT JOIN dir_groups g ON m.member_type = 1 AND g.id = m.member_id
		WHERE m.group_id IN (`+placeholders(len(groupIDs))+`) AND (m.group_id, m.seq) > (?, ?)
		ORDER BY m.group_id, m.seq LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MemberRef
	for rows.Next() {
		var m MemberRef
		if err := rows.Scan(&m.GroupID, &m.Seq, &m.Type, &m.GUID); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UsersByGUID returns the tenant's users with the GUIDs (those that exist),
// by GUID.
func (s *Store) UsersByGUID(ctx context.Context, tenantID int64, guids []string) (map[string]*allot.User, error) {
	out := map[string]*allot.User{}
	for start := 0; start < len(guids); start += 500 {
		chunk := guids[start:min(start+500, len(guids))]
		args := []any{tenantID}
		for _, g := range chunk {
			args = append(args, g)
		}
		rows, err := s.query(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.guid IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		var page []*allot.User
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			page = append(page, u)
			out[u.GUID] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if err := s.fillProxyAddresses(ctx, page); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GroupsByGUID returns the tenant's groups with the GUIDs (those that
// exist), by GUID.
func (s *Store) GroupsByGUID(ctx context.Context, tenantID int64, guids []string) (map[string]*allot.Group, error) {
	out := map[string]*allot.Group{}
	for start := 0; start < len(guids); start += 500 {
		chunk := guids[start:min(start+500, len(guids))]
		args := []any{tenantID}
		for _, g := range chunk {
			args = append(args, g)
		}
		rows, err := s.query(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.guid IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[g.GUID] = g
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PruneChanges forgets the feed rows written before before and raises each
// tenant's floor past them: a delta token from before the floor answers
// syncStateNotFound, since a deletion it would need is gone.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) error {
	cut := before.UnixMilli()
	if err := s.expandOldBatches(ctx, cut); err != nil {
		return err
	}
	type top struct{ tenant, seq int64 }
	var tops []top
	rows, err := s.query(ctx, `SELECT tenant_id, MAX(seq) FROM directory_changes WHERE at < ? GROUP BY tenant_id`, cut)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t top
		if err := rows.Scan(&t.tenant, &t.seq); err != nil {
			rows.Close()
			return err
		}
		tops = append(tops, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, tp := range tops {
		err := s.write(ctx, func(t *tx) error {
			if _, err := t.exec(`DELETE FROM directory_changes WHERE tenant_id = ? AND at < ? AND seq <= ?`, tp.tenant, cut, tp.seq); err != nil {
				return err
			}
			_, err := t.exec(`INSERT INTO delta_state (tenant_id, floor) VALUES (?, ?) ON CONFLICT (tenant_id)
				DO UPDATE SET floor = CASE WHEN delta_state.floor > excluded.floor THEN delta_state.floor ELSE excluded.floor END`, tp.tenant, tp.seq+1)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
