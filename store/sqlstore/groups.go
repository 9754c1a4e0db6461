package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/store"
)

const groupCols = `g.id, g.tenant_id, g.guid, g.display_name, g.description, g.mail_nickname, g.security_enabled,
	g.mail_enabled, g.processing_state, g.error_count, g.created_at, g.membership_rule, g.rule_state`

func scanGroup(row interface{ Scan(...any) error }) (*allot.Group, error) {
	var g allot.Group
	var sec, mail, errs int
	var created int64
	if err := row.Scan(&g.ID, &g.TenantID, &g.GUID, &g.DisplayName, &g.Description, &g.MailNickname, &sec, &mail,
		&g.ProcessingState, &errs, &created, &g.MembershipRule, &g.RuleState); err != nil {
		return nil, err
	}
	g.SecurityEnabled, g.MailEnabled, g.HasLicenseErrors = sec == 1, mail == 1, errs > 0
	g.CreatedAt = msTime(created)
	return &g, nil
}

// CreateGroup creates a security group in the tenant.
func (s *Store) CreateGroup(ctx context.Context, a allot.Actor, tenantID int64, g *allot.Group) error {
	return s.CreateGroupWithMembers(ctx, a, tenantID, g, nil)
}

// CreateGroupWithMembers creates a security group with its first members
// (user or group GUIDs, Graph's members@odata.bind) in one transaction: when
// a member cannot be added, no group is created.
func (s *Store) CreateGroupWithMembers(ctx context.Context, a allot.Actor, tenantID int64, g *allot.Group, members []string) error {
	g.DisplayName = strings.TrimSpace(g.DisplayName)
	if err := validateGroup(g); err != nil {
		return err
	}
	if g.MailEnabled {
		return allot.Errorf(allot.EInvalid, "allot has security groups only: mailEnabled must be false.")
	}
	g.SecurityEnabled = true
	g.TenantID = tenantID
	g.GUID = uuid.NewString()
	g.ProcessingState = allot.ProcessingComplete
	spec, err := createRuleSpec(g)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *tx) error {
		g.CreatedAt = msTime(tx.now)
		if err := tx.queryRow(`INSERT INTO dir_groups (tenant_id, guid, display_name, description, mail_nickname, security_enabled,
			mail_enabled, processing_state, created_at) VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?) RETURNING id`,
			tenantID, g.GUID, g.DisplayName, g.Description, g.MailNickname, g.ProcessingState, tx.now).Scan(&g.ID); err != nil {
			return err
		}
		tx.recordChanges(tenantID, DirChange{Kind: ChangeGroup, ObjectID: g.ID, Object: g.GUID})
		if err := tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActAddGroup, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "displayName", New: g.DisplayName}}}); err != nil {
			return err
		}
		if _, err := tx.setGroupRule(tenantID, a, g, spec, true); err != nil {
			return err
		}
		for _, ref := range members {
			if err := tx.addMember(tenantID, a, g, ref); err != nil {
				return err
			}
		}
		return nil
	})
}

// validateGroup refuses a group without a displayName or with a string
// property longer than Graph allows (allot.GroupLimits), on create and on
// update alike.
func validateGroup(g *allot.Group) error {
	if strings.TrimSpace(g.DisplayName) == "" {
		return allot.Errorf(allot.EInvalid, "displayName is required and cannot be empty.")
	}
	for _, f := range []struct{ name, v string }{{"displayName", g.DisplayName}, {"description", g.Description}, {"mailNickname", g.MailNickname}} {
		if err := allot.CheckLength("Group", f.name, f.v, allot.GroupLimits[f.name]); err != nil {
			return err
		}
	}
	return nil
}

// Group returns the group with the GUID.
func (s *Store) Group(ctx context.Context, tenantID int64, ref string) (*allot.Group, error) {
	g, err := scanGroup(s.queryRow(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.guid = ?`, tenantID, strings.ToLower(ref)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Group", ref)
	}
	return g, err
}

func (t *tx) group(tenantID int64, ref string) (*allot.Group, error) {
	return t.groupLocked(tenantID, ref, "")
}

// groupLocked returns the group with its row locked until the transaction
// ends with the strength mode (lockRows; none when ""), as it is once any
// concurrent change of it has committed.
func (t *tx) groupLocked(tenantID int64, ref, mode string) (*allot.Group, error) {
	lock := ""
	if mode != "" {
		lock = t.lockRows(mode)
	}
	g, err := scanGroup(t.queryRow(`SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.guid = ?`+lock, tenantID, strings.ToLower(ref)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Group", ref)
	}
	return g, err
}

// ListGroups returns a page of the tenant's groups.
func (s *Store) ListGroups(ctx context.Context, tenantID int64, o store.ListOptions) ([]*allot.Group, int64, int, error) {
	where, pageWhere, order, base, pageArgs, err := s.listWhere(groupResource, "g", tenantID, o)
	if err != nil {
		return nil, 0, 0, err
	}
	count := -1
	if o.Count {
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM dir_groups g WHERE `+where, base...).Scan(&count); err != nil {
			return nil, 0, 0, err
		}
	}
	rows, err := s.query(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE `+pageWhere+order+` LIMIT ?`, append(pageArgs, o.Top+1)...)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rows.Close()
	var out []*allot.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, 0, 0, err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, err
	}
	var next int64
	if len(out) > o.Top {
		out = out[:o.Top]
		next = out[len(out)-1].ID
	}
	return out, next, count, nil
}

// UpdateGroup applies a patch to a group.
func (s *Store) UpdateGroup(ctx context.Context, a allot.Actor, tenantID int64, ref string, p store.GroupPatch) (*allot.Group, error) {
	var out *allot.Group
	err := s.write(ctx, func(tx *tx) error {
		// Locked: a concurrent patch of other properties is not undone.
		g, err := tx.groupLocked(tenantID, ref, lockChange)
		if err != nil {
			return err
		}
		var changes []allot.Change
		set := func(name string, dst *string, v *string) {
			if v != nil && *v != *dst {
				changes = append(changes, allot.Change{Property: name, Old: *dst, New: *v})
				*dst = *v
			}
		}
		set("displayName", &g.DisplayName, p.DisplayName)
		set("description", &g.Description, p.Description)
		set("mailNickname", &g.MailNickname, p.MailNickname)
		if err := validateGroup(g); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE dir_groups SET display_name = ?, description = ?, mail_nickname = ? WHERE id = ?`,
			g.DisplayName, g.Description, g.MailNickname, g.ID); err != nil {
			return err
		}
		out = g
		rc, err := tx.setGroupRule(tenantID, a, g, groupRuleSpec(p), p.ConfirmLicenseLoss)
		if err != nil {
			return err
		}
		changes = append(changes, rc...)
		for _, ref := range p.AddMembers {
			if err := tx.addMember(tenantID, a, g, ref); err != nil {
				return err
			}
		}
		if len(changes) == 0 {
			return nil
		}
		tx.recordChanges(tenantID, DirChange{Kind: ChangeGroup, ObjectID: g.ID, Object: g.GUID})
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActUpdateGroup, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: changes})
	})
	return out, err
}

// DeleteGroup deletes a group that assigns no licenses; its members leave it.
func (s *Store) DeleteGroup(ctx context.Context, a allot.Actor, tenantID int64, ref string, confirm bool) error {
	return s.write(ctx, func(tx *tx) error {
		// Locked before its licenses are counted: a concurrent license
		// assignment to the group (which keeps it, lockKeep) either comes
		// first and is counted, or waits and then finds the group gone.
		g, err := tx.groupLocked(tenantID, ref, lockAll)
		if err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM group_licenses WHERE group_id = ?`, g.ID).Scan(&n); err != nil {
			return err
		}
		// Its members lose whatever it (or, through it, a parent) granted:
		// mark each of them, since the group, its licenses and its
		// memberships go now.
		users, err := tx.groupUsers(g.ID)
		if err != nil {
			return err
		}
		parents, err := tx.ancestors(tenantID, g.ID)
		if err != nil {
			return err
		}
		if err := tx.markUsers(tenantID, users); err != nil {
			return err
		}
		if err := tx.recordRemoval(tenantID, ChangeGroup, g.ID, g.GUID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM memberships WHERE member_type = 1 AND member_id = ?`,
			`DELETE FROM memberships WHERE group_id = ?`,
			`DELETE FROM group_licenses WHERE group_id = ?`,
			`DELETE FROM group_license_fallbacks WHERE group_id = ?`,
			`DELETE FROM scim_attrs WHERE kind = 1 AND target_id = ?`,
			`DELETE FROM dir_groups WHERE id = ?`,
		} {
			if _, err := tx.exec(q, g.ID); err != nil {
				return err
			}
		}
		// Members lose what this group and the licensed groups around it
		// granted through it: a side effect that needs confirm (rule 11).
		if licensed, err := tx.licensedAmong(parents); err != nil {
			return err
		} else if (n > 0 || len(licensed) > 0) && !confirm {
			products, err := tx.products(tenantID)
			if err != nil {
				return err
			}
			if err := tx.checkUsersLoss(tenantID, users, products, fmt.Sprintf("Deleting group '%s'", g.DisplayName)); err != nil {
				return err
			}
			if n > 0 {
				return allot.Errorf(allot.EGroupHasLicenses, "Group '%s' still assigns %d product(s) to its members; remove its licenses first (POST /v1.0/groups/%s/assignLicense with removeLicenses), or delete it with ?confirmLicenseLoss=true.", g.DisplayName, n, g.GUID)
			}
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActDeleteGroup, TargetKind: "Group", TargetID: g.GUID, TargetName: g.DisplayName})
	})
}

// groupGraph loads the tenant's group-in-group edges: child -> parents and
// parent -> children.
func (t *tx) groupGraph(tenantID int64) (parents, children map[int64][]int64, err error) {
	rows, err := t.query(`SELECT group_id, member_id FROM memberships WHERE tenant_id = ? AND member_type = 1 ORDER BY group_id, seq`, tenantID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	parents, children = map[int64][]int64{}, map[int64][]int64{}
	for rows.Next() {
		var p, c int64
		if err := rows.Scan(&p, &c); err != nil {
			return nil, nil, err
		}
		parents[c] = append(parents[c], p)
		children[p] = append(children[p], c)
	}
	return parents, children, rows.Err()
}

// ancestors returns every group that contains g, transitively (not g itself).
func (t *tx) ancestors(tenantID, g int64) ([]int64, error) {
	parents, _, err := t.groupGraph(tenantID)
	if err != nil {
		return nil, err
	}
	return closure(parents, g), nil
}

func closure(edges map[int64][]int64, start int64) []int64 {
	seen := map[int64]bool{start: true}
	var out []int64
	stack := []int64{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, m := range edges[n] {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
				stack = append(stack, m)
			}
		}
	}
	return out
}

// memberRef resolves a directoryObject id to a user or group of the tenant.
func (t *tx) memberRef(tenantID int64, id string) (typ int, mid int64, name string, err error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if _, perr := uuid.Parse(id); perr != nil {
		return 0, 0, "", allot.Errorf(allot.EInvalid, "'%s' is not a valid object id (a GUID).", id)
	}
	err = t.queryRow(`SELECT id, upn FROM users WHERE tenant_id = ? AND guid = ?`, tenantID, id).Scan(&mid, &name)
	if err == nil {
		return 0, mid, name, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, "", err
	}
	err = t.queryRow(`SELECT id, display_name FROM dir_groups WHERE tenant_id = ? AND guid = ?`, tenantID, id).Scan(&mid, &name)
	if err == nil {
		return 1, mid, name, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, "", notFound("Directory object", id)
	}
	return 0, 0, "", err
}

// AddMember adds a user or group (by GUID) to a group. Adding a member that is
// there already is an error as in Graph; a membership that would make a cycle
// is refused.
func (s *Store) AddMember(ctx context.Context, a allot.Actor, tenantID int64, groupRef, memberRef string) error {
	return s.AddMembers(ctx, a, tenantID, groupRef, []string{memberRef})
}

// AddMembers adds users and groups (by GUID) to a group in one transaction:
// all of them or, when one cannot be added, none (Graph's members@odata.bind).
func (s *Store) AddMembers(ctx context.Context, a allot.Actor, tenantID int64, groupRef string, memberRefs []string) error {
	return s.write(ctx, func(tx *tx) error {
		g, err := tx.group(tenantID, groupRef)
		if err != nil {
			return err
		}
		for _, ref := range memberRefs {
			if err := tx.addMember(tenantID, a, g, ref); err != nil {
				return err
			}
		}
		return nil
	})
}

// addMember adds one user or group to group g.
func (t *tx) addMember(tenantID int64, a allot.Actor, g *allot.Group, memberRef string) error {
	if err := refuseDynamicMembers(g); err != nil {
		return err
	}
	typ, mid, name, err := t.memberRef(tenantID, memberRef)
	if err != nil {
		return err
	}
	var one int
	err = t.queryRow(`SELECT 1 FROM memberships WHERE member_type = ? AND member_id = ? AND group_id = ?`, typ, mid, g.ID).Scan(&one)
	if err == nil {
		return allot.Errorf(allot.EConflict, "One or more added object references already exist for the following modified properties: 'members'.")
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if typ == 1 {
		if err := t.refuseCycle(tenantID, g, mid, name); err != nil {
			return err
		}
	}
	seq, err := t.nextSeqs(1)
	if err != nil {
		return err
	}
	if _, err := t.exec(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id) VALUES (?, ?, ?, ?, ?)`,
		g.ID, seq, typ, mid, tenantID); err != nil {
		return err
	}
	if err := t.markMembershipChange(tenantID, g.ID, typ, mid); err != nil {
		return err
	}
	t.recordChanges(tenantID, DirChange{Kind: ChangeMember, ObjectID: g.ID, Object: g.GUID, MemberID: mid, Member: memberRef, MemberType: typ})
	return t.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActAddMember, TargetKind: "Group",
		TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "member", New: name}}})
}

// refuseCycle refuses to add group mid (named name) to g when g is mid or
// inside it.
func (t *tx) refuseCycle(tenantID int64, g *allot.Group, mid int64, name string) error {
	if mid == g.ID {
		return allot.Errorf(allot.EMembershipCycle, "A group cannot be a member of itself.")
	}
	// Group-in-group additions of a tenant take turns: two opposite
	// additions would each check a graph without the other's edge and
	// together make a cycle. The later one reads the graph once the
	// earlier one has committed (locks.go).
	if err := t.lockGroupGraph(tenantID); err != nil {
		return err
	}
	_, children, err := t.groupGraph(tenantID)
	if err != nil {
		return err
	}
	for _, d := range closure(children, mid) {
		if d == g.ID {
			return allot.Errorf(allot.EMembershipCycle, "Adding group '%s' to '%s' would make a cycle: '%s' already contains '%s'.", name, g.DisplayName, name, g.DisplayName)
		}
	}
	return nil
}

// RemoveMember removes a direct member from a group.
func (s *Store) RemoveMember(ctx context.Context, a allot.Actor, tenantID int64, groupRef, memberRef string, confirm bool) error {
	return s.write(ctx, func(tx *tx) error {
		g, err := tx.group(tenantID, groupRef)
		if err != nil {
			return err
		}
		if err := refuseDynamicMembers(g); err != nil {
			return err
		}
		typ, mid, name, err := tx.memberRef(tenantID, memberRef)
		if err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM memberships WHERE member_type = ? AND member_id = ? AND group_id = ?`, typ, mid, g.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return allot.Errorf(allot.ENotFound, "'%s' is not a direct member of group '%s'.", memberRef, g.DisplayName)
		}
		// What the member had through this group (and the groups around it)
		// goes on purpose.
		parents, err := tx.ancestors(tenantID, g.ID)
		if err != nil {
			return err
		}
		for _, src := range append(parents, g.ID) {
			tx.remove(src, 0)
		}
		if !confirm {
			if err := tx.checkMemberLoss(tenantID, g, typ, mid); err != nil {
				return err
			}
		}
		if err := tx.markMembershipChange(tenantID, g.ID, typ, mid); err != nil {
			return err
		}
		tx.recordChanges(tenantID, DirChange{Kind: ChangeMember, ObjectID: g.ID, Object: g.GUID, MemberID: mid, Member: memberRef, MemberType: typ, Removed: RemovedDeleted})
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActRemoveMember, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "member", Old: name}}})
	})
}

// markMembershipChange marks what a membership change of member (typ, mid) in
// group g affects, when g or a group containing it assigns licenses.
func (t *tx) markMembershipChange(tenantID, g int64, typ int, mid int64) error {
	if typ == 0 {
		return t.markMembershipChanges(tenantID, g, []int64{mid})
	}
	parents, _, err := t.groupGraph(tenantID)
	if err != nil {
		return err
	}
	licensed, err := t.licensedAmong(append([]int64{g}, closure(parents, g)...))
	if err != nil {
		return err
	}
	if err := t.markGroups(tenantID, []int64{mid}); err != nil {
		return err
	}
	return t.setProcessing(licensed, allot.ProcessingQueued)
}

// markMembershipChanges marks the users who joined or left group g, with a
// fixed number of queries for any number of users.
func (t *tx) markMembershipChanges(tenantID, g int64, users []int64) error {
	if len(users) == 0 {
		return nil
	}
	parents, _, err := t.groupGraph(tenantID)
	if err != nil {
		return err
	}
	licensed, err := t.licensedAmong(append([]int64{g}, closure(parents, g)...))
	if err != nil {
		return err
	}
	if len(licensed) > 0 {
		return t.markUsers(tenantID, users)
	}
	// Also when no group in scope assigns licenses (any more): a user may
	// hold states from a group whose change is not processed yet, and a
	// pending group mark only reaches the group's current members.
	list, arg := t.idList(users)
	rows, err := t.query(`SELECT DISTINCT user_id FROM license_states WHERE source_id <> 0 AND user_id IN (SELECT x.m FROM `+list+`)`, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	var held []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		held = append(held, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return t.markUsers(tenantID, held)
}

// licensedAmong returns the groups of ids that assign at least one product.
func (t *tx) licensedAmong(ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.query(`SELECT DISTINCT group_id FROM group_licenses WHERE group_id IN (`+placeholders(len(ids))+`)`, args...)
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

// setProcessing sets the groups' licenseProcessingState. A preview reports
// no processing state and sets none: the group row it updated would stay
// locked until its rollback, ahead of the users it then locks, the reverse
// of a batch's order (locks.go).
func (t *tx) setProcessing(groups []int64, state string) error {
	if len(groups) == 0 || t.preview {
		return nil
	}
	args := []any{state}
	for _, g := range groups {
		args = append(args, g)
	}
	_, err := t.exec(`UPDATE dir_groups SET processing_state = ? WHERE id IN (`+placeholders(len(groups))+`)`, args...)
	return err
}

// Members returns a page of a group's direct members in the order they were added.
func (s *Store) Members(ctx context.Context, tenantID int64, groupRef string, after int64, top int) ([]store.Member, int64, error) {
	g, err := s.Group(ctx, tenantID, groupRef)
	if err != nil {
		return nil, 0, err
	}
	return s.membersPage(ctx, `SELECT seq, member_type, member_id FROM memberships WHERE group_id = ? AND seq > ? ORDER BY seq LIMIT ?`, top, g.ID, after, top+1)
}

// membersPage loads the members that query (seq, member_type, member_id
// rows, at most top+1) selects, users and groups in one batch each.
func (s *Store) membersPage(ctx context.Context, query string, top int, args ...any) ([]store.Member, int64, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	type ref struct {
		seq int64
		typ int
		id  int64
	}
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.seq, &r.typ, &r.id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		refs = append(refs, r)
	}
	rows.Close()
	var next int64
	if len(refs) > top {
		refs = refs[:top]
		next = refs[len(refs)-1].seq
	}
	var uids, gids []int64
	for _, r := range refs {
		if r.typ == 0 {
			uids = append(uids, r.id)
		} else {
			gids = append(gids, r.id)
		}
	}
	users, err := s.usersByID(ctx, uids)
	if err != nil {
		return nil, 0, err
	}
	groups, err := s.groupsByID(ctx, gids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]store.Member, 0, len(refs))
	for _, r := range refs {
		m := store.Member{Seq: r.seq}
		if r.typ == 0 {
			m.User = users[r.id]
		} else {
			m.Group = groups[r.id]
		}
		if m.User != nil || m.Group != nil {
			out = append(out, m)
		}
	}
	return out, next, nil
}

// TransitiveMembers returns a page of every user and group inside a group,
// through nested groups, in membership order; after is an offset.
func (s *Store) TransitiveMembers(ctx context.Context, tenantID int64, groupRef string, after int64, top int) ([]store.Member, int64, error) {
	g, err := s.Group(ctx, tenantID, groupRef)
	if err != nil {
		return nil, 0, err
	}
	var users, groups []int64
	var order []store.Member
	err = s.expand(ctx, s.r, g.ID, func(typ int, id int64) {
		if typ == 0 {
			users = append(users, id)
		} else {
			groups = append(groups, id)
		}
		order = append(order, store.Member{Seq: int64(typ)<<62 | id})
	})
	if err != nil {
		return nil, 0, err
	}
	end := min(int(after)+top, len(order))
	if int(after) > len(order) {
		after = int64(len(order))
	}
	page := order[after:end]
	var uids, gids []int64
	for _, m := range page {
		if m.Seq>>62 == 0 {
			uids = append(uids, m.Seq)
		} else {
			gids = append(gids, m.Seq&(1<<62-1))
		}
	}
	um, err := s.usersByID(ctx, uids)
	if err != nil {
		return nil, 0, err
	}
	gm, err := s.groupsByID(ctx, gids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]store.Member, 0, len(page))
	for _, m := range page {
		if m.Seq>>62 == 0 {
			out = append(out, store.Member{User: um[m.Seq]})
		} else {
			out = append(out, store.Member{Group: gm[m.Seq&(1<<62-1)]})
		}
	}
	var next int64
	if end < len(order) {
		next = int64(end)
	}
	return out, next, nil
}

// queryer is what expand needs from a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// expand walks a group's members depth-first in membership order, calling fn
// once per distinct user and nested group.
func (s *Store) expand(ctx context.Context, db queryer, groupID int64, fn func(typ int, id int64)) error {
	seenG := map[int64]bool{groupID: true}
	seenU := map[int64]bool{}
	var walk func(g int64) error
	walk = func(g int64) error {
		rows, err := db.QueryContext(ctx, s.q(`SELECT member_type, member_id FROM memberships WHERE group_id = ? ORDER BY seq`), g)
		if err != nil {
			return err
		}
		type ref struct {
			typ int
			id  int64
		}
		var refs []ref
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.typ, &r.id); err != nil {
				rows.Close()
				return err
			}
			refs = append(refs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Nested members come at the place their subgroup was added.
		for _, r := range refs {
			if r.typ == 0 {
				if !seenU[r.id] {
					seenU[r.id] = true
					fn(0, r.id)
				}
				continue
			}
			if seenG[r.id] {
				continue
			}
			seenG[r.id] = true
			fn(1, r.id)
			if err := walk(r.id); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(groupID)
}

// MemberOf returns the groups the user or group is a direct member of.
func (s *Store) MemberOf(ctx context.Context, tenantID int64, ref string) ([]*allot.Group, error) {
	var typ int
	var id int64
	if u, err := s.User(ctx, tenantID, ref); err == nil {
		id = u.ID
	} else if g, gerr := s.Group(ctx, tenantID, ref); gerr == nil {
		typ, id = 1, g.ID
	} else {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+groupCols+` FROM memberships m JOIN dir_groups g ON g.id = m.group_id
		WHERE m.member_type = ? AND m.member_id = ? ORDER BY g.id`, typ, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*allot.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func idArgs(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

func (s *Store) usersByID(ctx context.Context, ids []int64) (map[int64]*allot.User, error) {
	out := make(map[int64]*allot.User, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.query(ctx, `SELECT `+userCols+` FROM users u WHERE u.id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[u.ID] = u
		}
		rows.Close()
	}
	return out, nil
}

func (s *Store) groupsByID(ctx context.Context, ids []int64) (map[int64]*allot.Group, error) {
	out := make(map[int64]*allot.Group, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.query(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[g.ID] = g
		}
		rows.Close()
	}
	return out, nil
}

// GroupsByID returns the groups with the internal ids.
func (s *Store) GroupsByID(ctx context.Context, ids []int64) (map[int64]*allot.Group, error) {
	return s.groupsByID(ctx, ids)
}
