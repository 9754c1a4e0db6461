package sqlstore

// What SCIM provisioning (package scim) loads and applies: the directory's
// users and groups with the attributes SCIM keeps beside them (scim_attrs),
// listed by a compiled SCIM filter, and changed in one transaction with
// the caller's precondition (If-Match) checked on the locked row.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"allot"
	"allot/scim/filter"
	"allot/store"
)

// SCIMExt is what SCIM keeps of a user or group that the directory has no
// property for.
type SCIMExt struct {
	ExternalID string
	CostCenter string
	Division   string
	// Manager is the GUID of the user's manager: the directory's manager
	// reference (users.manager_id, Graph's manager), read and written
	// through SCIM's enterprise manager.value.
	Manager string
}

// SCIMUser is a user with its SCIM attributes.
type SCIMUser struct {
	*allot.User
	Ext SCIMExt
}

// SCIMMember is one direct member of a group, as SCIM lists it.
type SCIMMember struct {
	GUID    string
	Display string
	Group   bool
}

// SCIMGroup is a group with its externalId and, when loaded, its direct
// members.
type SCIMGroup struct {
	*allot.Group
	ExternalID string
	Members    []SCIMMember
}

// SCIMQuery selects a page of a SCIM list: a filter, a sort and a
// 0-based offset and limit.
type SCIMQuery struct {
	Filter filter.Expr
	SortBy string
	Desc   bool
	Offset int
	Limit  int
	// Members loads groups' members.
	Members bool
}

// SCIMGroupChange is what a SCIM write does to a group.
type SCIMGroupChange struct {
	DisplayName *string
	ExternalID  *string
	Add, Remove []string // member user ids (GUIDs)
}

// MaxSCIMMembers is the most members one SCIM request may add or remove.
const MaxSCIMMembers = 1000

func parseSCIMTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

const scimUserFrom = ` FROM users u LEFT JOIN scim_attrs sa ON sa.kind = 0 AND sa.target_id = u.id`
const scimExtCols = `, COALESCE(sa.external_id, ''), COALESCE(sa.cost_center, ''), COALESCE(sa.division, ''), ` + scimManagerExpr

// scimManagerExpr is the GUID of user u's manager, or the empty string.
const scimManagerExpr = `COALESCE((SELECT m.guid FROM users m WHERE m.id = u.manager_id), '')`

func scanSCIMUser(row interface{ Scan(...any) error }) (*SCIMUser, error) {
	var x SCIMUser
	var enabled int
	var created int64
	var profile string
	u := &allot.User{}
	err := row.Scan(&u.ID, &u.TenantID, &u.GUID, &u.UserPrincipalName, &u.DisplayName, &u.GivenName, &u.Surname,
		&u.Mail, &u.JobTitle, &u.Department, &u.UsageLocation, &enabled, &created, &profile,
		&x.Ext.ExternalID, &x.Ext.CostCenter, &x.Ext.Division, &x.Ext.Manager)
	if err != nil {
		return nil, err
	}
	u.AccountEnabled = enabled == 1
	u.CreatedAt = msTime(created)
	if u.Profile, err = decodeProfile(profile); err != nil {
		return nil, fmt.Errorf("user %s: profile: %w", u.GUID, err)
	}
	x.User = u
	return &x, nil
}

// scimID checks that id is a GUID, the only id SCIM resources have.
func scimID(what, id string) (string, error) {
	if _, err := uuid.Parse(id); err != nil || strings.Contains(id, "@") {
		return "", notFound(what, id)
	}
	return strings.ToLower(id), nil
}

// SCIMUser returns the user with the id.
func (s *Store) SCIMUser(ctx context.Context, tenantID int64, id string) (*SCIMUser, error) {
	guid, err := scimID("User", id)
	if err != nil {
		return nil, err
	}
	u, err := scanSCIMUser(s.queryRow(ctx, `SELECT `+userCols+scimExtCols+scimUserFrom+` WHERE u.tenant_id = ? AND u.guid = ?`, tenantID, guid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User", id)
	}
	return u, err
}

// SCIMListUsers returns a page of users matching the query and how many match.
func (s *Store) SCIMListUsers(ctx context.Context, tenantID int64, q SCIMQuery) ([]*SCIMUser, int, error) {
	where, args, order, err := scimWhere(q, scimUserCols, false, "u")
	if err != nil {
		return nil, 0, err
	}
	args = append([]any{tenantID}, args...)
	count := func() (int, error) {
		var total int
		err := s.queryRow(ctx, `SELECT COUNT(*)`+scimUserFrom+` WHERE u.tenant_id = ?`+where, args...).Scan(&total)
		return total, err
	}
	if q.Limit == 0 {
		total, err := count()
		return []*SCIMUser{}, total, err
	}
	out, err := s.scimUserPage(ctx, `SELECT `+userCols+scimExtCols+scimUserFrom+` WHERE u.tenant_id = ?`+where+order+` LIMIT ? OFFSET ?`,
		append(slices.Clip(args), q.Limit, q.Offset))
	if err != nil {
		return nil, 0, err
	}
	if total, ok := pageTotal(q, len(out)); ok {
		return out, total, nil // a first page that is not full: no COUNT (Entra's userName eq lookups)
	}
	total, err := count()
	return out, total, err
}

// pageTotal tells the total of a list from its page when the page says it:
// a first page with fewer rows than asked for holds them all.
func pageTotal(q SCIMQuery, n int) (int, bool) {
	if q.Offset == 0 && n < q.Limit {
		return n, true
	}
	return 0, false
}

func (s *Store) scimUserPage(ctx context.Context, query string, args []any) ([]*SCIMUser, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*SCIMUser{}
	for rows.Next() {
		u, err := scanSCIMUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// scimWhere compiles the query's filter and sort for the table alias.
func scimWhere(q SCIMQuery, cols map[string]scimCol, groups bool, alias string) (where string, args []any, order string, err error) {
	if q.Filter != nil {
		c, a, err := compileSCIM(q.Filter, cols, groups)
		if err != nil {
			return "", nil, "", err
		}
		where, args = " AND "+c, a
	}
	o, err := scimOrder(cols, q.SortBy)
	if err != nil {
		return "", nil, "", err
	}
	dir := ""
	if q.Desc {
		dir = " DESC"
	}
	order = " ORDER BY " + alias + ".id" + dir
	if o != "" {
		order = " ORDER BY " + o + dir + ", " + alias + ".id" + dir
	}
	return where, args, order, nil
}

// SCIMCreateUser creates a user with its SCIM attributes and fills in its
// id and GUID.
func (s *Store) SCIMCreateUser(ctx context.Context, a allot.Actor, tenantID int64, u *SCIMUser) error {
	if err := validateUser(u.User); err != nil {
		return err
	}
	u.TenantID = tenantID
	u.GUID = uuid.NewString()
	return s.write(ctx, func(tx *tx) error {
		// The uniqueness checks are the inserts' (no query before them):
		// a taken userPrincipalName inserts no user, a taken externalId no
		// attributes row, and either refuses the whole create.
		ext := func() error { return tx.checkExternalID(tenantID, 0, u.Ext.ExternalID, 0) }
		if err := tx.createUser(tenantID, a, u.User, ext); err != nil {
			return err
		}
		if err := tx.addSCIMExt(tenantID, 0, u.ID, u.Ext); err != nil {
			return err
		}
		return tx.setSCIMManager(tenantID, a, u.User, "", u.Ext.Manager)
	})
}

// addSCIMExt inserts the SCIM attributes of a new resource, unless another
// resource of the kind has its externalId: then it refuses, as
// checkExternalID does, and inserts nothing.
func (tx *tx) addSCIMExt(tenantID int64, kind int, id int64, e SCIMExt) error {
	res, err := tx.exec(`INSERT INTO scim_attrs (kind, target_id, tenant_id, external_id, cost_center, division, manager)
		SELECT ?, ?, ?, ?, ?, ?, '' WHERE ? = '' OR NOT EXISTS (SELECT 1 FROM scim_attrs WHERE tenant_id = ? AND kind = ? AND external_id = ?)`,
		kind, id, tenantID, e.ExternalID, e.CostCenter, e.Division, e.ExternalID, tenantID, kind, e.ExternalID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return externalIDTaken(kind, e.ExternalID)
}

// externalIDTaken is the refusal of an externalId another resource of the
// kind has.
func externalIDTaken(kind int, ext string) error {
	return allot.Errorf(allot.EConflict, "Another %s already has externalId '%s'.", map[int]string{0: "user", 1: "group"}[kind], ext)
}

// checkExternalID refuses an externalId another resource of the kind has.
func (tx *tx) checkExternalID(tenantID int64, kind int, ext string, self int64) error {
	if ext == "" {
		return nil
	}
	var id int64
	err := tx.queryRow(`SELECT target_id FROM scim_attrs WHERE tenant_id = ? AND kind = ? AND external_id = ? AND target_id <> ?`,
		tenantID, kind, ext, self).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err == nil {
		return externalIDTaken(kind, ext)
	}
	return err
}

// setSCIMExt stores what SCIM keeps beside a user or group (the manager
// is the directory's reference: setSCIMManager).
func (tx *tx) setSCIMExt(tenantID int64, kind int, id int64, e SCIMExt) error {
	_, err := tx.exec(`INSERT INTO scim_attrs (kind, target_id, tenant_id, external_id, cost_center, division, manager)
		VALUES (?, ?, ?, ?, ?, ?, '') ON CONFLICT (kind, target_id) DO UPDATE SET external_id = excluded.external_id,
		cost_center = excluded.cost_center, division = excluded.division, manager = ''`,
		kind, id, tenantID, e.ExternalID, e.CostCenter, e.Division)
	return err
}

// setSCIMManager changes u's manager reference from the user old to the
// user want (GUIDs, "" for none), as Graph's manager/$ref does. A manager
// that is not a user of the tenant, or u itself, is an invalid value.
func (tx *tx) setSCIMManager(tenantID int64, a allot.Actor, u *allot.User, old, want string) error {
	if strings.EqualFold(old, want) {
		return nil
	}
	if want == "" {
		return tx.setManager(tenantID, a, u, nil)
	}
	m, err := tx.managerLocked(tenantID, want)
	if allot.ErrorCode(err) == allot.ENotFound {
		return allot.Errorf(allot.EInvalid, "manager.value '%s' is not a user of this tenant: give the id SCIM gave the manager.", want)
	}
	if err != nil {
		return err
	}
	if m.ID == u.ID {
		return allot.Errorf(allot.EInvalid, "A user cannot be its own manager: manager.value is the user's own id.")
	}
	return tx.setManager(tenantID, a, u, m)
}

// SCIMUpdateUser changes a user in one transaction: change gets the user
// as it is (locked), may refuse (a failed If-Match), and returns the user
// as it should be. Only the differences are written and audited.
func (s *Store) SCIMUpdateUser(ctx context.Context, a allot.Actor, tenantID int64, id string, change func(cur *SCIMUser) (*SCIMUser, error)) (*SCIMUser, error) {
	guid, err := scimID("User", id)
	if err != nil {
		return nil, err
	}
	var out *SCIMUser
	err = s.write(ctx, func(tx *tx) error {
		// Locked first (locks.go: UpdateUser's order), then read with
		// what SCIM keeps beside it.
		if _, err := tx.userLocked(tenantID, guid, lockChange); err != nil {
			return err
		}
		cur, err := scanSCIMUser(tx.queryRow(`SELECT `+userCols+scimExtCols+scimUserFrom+` WHERE u.tenant_id = ? AND u.guid = ?`, tenantID, guid))
		if err != nil {
			return err
		}
		want, err := change(cur)
		if err != nil {
			return err
		}
		if err := tx.checkExternalID(tenantID, 0, want.Ext.ExternalID, cur.ID); err != nil {
			return err
		}
		if err := tx.updateUser(tenantID, a, cur.User, userDiff(cur.User, want.User)); err != nil {
			return err
		}
		if err := tx.setSCIMManager(tenantID, a, cur.User, cur.Ext.Manager, want.Ext.Manager); err != nil {
			return err
		}
		if kept := (SCIMExt{want.Ext.ExternalID, want.Ext.CostCenter, want.Ext.Division, cur.Ext.Manager}); kept != cur.Ext {
			if err := tx.setSCIMExt(tenantID, 0, cur.ID, want.Ext); err != nil {
				return err
			}
			if err := tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActUpdateUser, TargetKind: "User", TargetID: cur.GUID,
				TargetName: cur.UserPrincipalName, Changes: extChanges(cur.Ext, kept)}); err != nil {
				return err
			}
		}
		out = &SCIMUser{User: cur.User, Ext: want.Ext}
		return nil
	})
	return out, err
}

func extChanges(o, n SCIMExt) []allot.Change {
	var out []allot.Change
	for _, f := range []struct{ name, o, n string }{{"externalId", o.ExternalID, n.ExternalID},
		{"costCenter", o.CostCenter, n.CostCenter}, {"division", o.Division, n.Division}} {
		if f.o != f.n {
			out = append(out, allot.Change{Property: f.name, Old: f.o, New: f.n})
		}
	}
	return out
}

// userDiff returns the patch that turns o into n.
func userDiff(o, n *allot.User) store.UserPatch {
	var p store.UserPatch
	str := func(dst **string, a, b string) {
		if a != b {
			*dst = &b
		}
	}
	str(&p.UserPrincipalName, o.UserPrincipalName, n.UserPrincipalName)
	str(&p.DisplayName, o.DisplayName, n.DisplayName)
	str(&p.GivenName, o.GivenName, n.GivenName)
	str(&p.Surname, o.Surname, n.Surname)
	str(&p.Mail, o.Mail, n.Mail)
	str(&p.JobTitle, o.JobTitle, n.JobTitle)
	str(&p.Department, o.Department, n.Department)
	str(&p.UsageLocation, o.UsageLocation, n.UsageLocation)
	if o.AccountEnabled != n.AccountEnabled {
		v := n.AccountEnabled
		p.AccountEnabled = &v
	}
	for _, k := range allot.ProfileText {
		if o.Profile.Text[k] != n.Profile.Text[k] {
			if p.ProfileText == nil {
				p.ProfileText = map[string]string{}
			}
			p.ProfileText[k] = n.Profile.Text[k]
		}
	}
	for _, k := range allot.ProfileLists {
		if strings.Join(o.Profile.Lists[k], "\x00") != strings.Join(n.Profile.Lists[k], "\x00") {
			if p.ProfileLists == nil {
				p.ProfileLists = map[string][]string{}
			}
			p.ProfileLists[k] = n.Profile.Lists[k]
		}
	}
	return p
}

const scimGroupFrom = ` FROM dir_groups g LEFT JOIN scim_attrs sa ON sa.kind = 1 AND sa.target_id = g.id`

func scanSCIMGroup(row interface{ Scan(...any) error }) (*SCIMGroup, error) {
	var x SCIMGroup
	var g allot.Group
	var sec, mail int
	var created int64
	err := row.Scan(&g.ID, &g.TenantID, &g.GUID, &g.DisplayName, &g.Description, &g.MailNickname, &sec, &mail,
		&g.ProcessingState, new(int), &created, &g.MembershipRule, &g.RuleState, &x.ExternalID)
	if err != nil {
		return nil, err
	}
	g.SecurityEnabled, g.MailEnabled, g.CreatedAt = sec == 1, mail == 1, msTime(created)
	x.Group = &g
	return &x, nil
}

// SCIMGroup returns the group with the id, with its members when asked.
func (s *Store) SCIMGroup(ctx context.Context, tenantID int64, id string, members bool) (*SCIMGroup, error) {
	guid, err := scimID("Group", id)
	if err != nil {
		return nil, err
	}
	g, err := scanSCIMGroup(s.queryRow(ctx, `SELECT `+groupCols+`, COALESCE(sa.external_id, '')`+scimGroupFrom+
		` WHERE g.tenant_id = ? AND g.guid = ?`, tenantID, guid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Group", id)
	}
	if err != nil {
		return nil, err
	}
	if members {
		err = fillSCIMMembers(s.reader(ctx), []*SCIMGroup{g})
	}
	return g, err
}

// SCIMListGroups returns a page of groups matching the query and how many match.
func (s *Store) SCIMListGroups(ctx context.Context, tenantID int64, q SCIMQuery) ([]*SCIMGroup, int, error) {
	where, args, order, err := scimWhere(q, scimGroupCols, true, "g")
	if err != nil {
		return nil, 0, err
	}
	args = append([]any{tenantID}, args...)
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*)`+scimGroupFrom+` WHERE g.tenant_id = ?`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if q.Limit == 0 || q.Offset >= total {
		return []*SCIMGroup{}, total, nil
	}
	rows, err := s.query(ctx, `SELECT `+groupCols+`, COALESCE(sa.external_id, '')`+scimGroupFrom+` WHERE g.tenant_id = ?`+where+order+
		` LIMIT ? OFFSET ?`, append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	out := []*SCIMGroup{}
	for rows.Next() {
		g, err := scanSCIMGroup(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if q.Members {
		err = fillSCIMMembers(s.reader(ctx), out)
	}
	return out, total, err
}

// fillSCIMMembers loads the direct members of the groups with one query.
func fillSCIMMembers(query func(q string, args ...any) (*sql.Rows, error), groups []*SCIMGroup) error {
	if len(groups) == 0 {
		return nil
	}
	byID := map[int64]*SCIMGroup{}
	ids := make([]int64, len(groups))
	for i, g := range groups {
		byID[g.ID], ids[i] = g, g.ID
		g.Members = []SCIMMember{}
	}
	rows, err := query(`SELECT m.group_id, m.member_type, COALESCE(u.guid, cg.guid), COALESCE(u.display_name, cg.display_name)
		FROM memberships m LEFT JOIN users u ON m.member_type = 0 AND u.id = m.member_id
		LEFT JOIN dir_groups cg ON m.member_type = 1 AND cg.id = m.member_id
		WHERE m.group_id IN (`+placeholders(len(ids))+`) ORDER BY m.group_id, m.seq`, idArgs(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var gid int64
		var typ int
		var m SCIMMember
		if err := rows.Scan(&gid, &typ, &m.GUID, &m.Display); err != nil {
			return err
		}
		m.Group = typ == 1
		byID[gid].Members = append(byID[gid].Members, m)
	}
	return rows.Err()
}

// SCIMCreateGroup creates a security group with its externalId and users as
// members, and fills in its id and GUID.
func (s *Store) SCIMCreateGroup(ctx context.Context, a allot.Actor, tenantID int64, g *SCIMGroup, members []string) error {
	g.SecurityEnabled = true
	if err := validateGroup(g.Group); err != nil {
		return err
	}
	g.TenantID, g.GUID = tenantID, uuid.NewString()
	return s.write(ctx, func(tx *tx) error {
		if err := tx.checkExternalID(tenantID, 1, g.ExternalID, 0); err != nil {
			return err
		}
		g.CreatedAt = msTime(tx.now)
		if err := tx.queryRow(`INSERT INTO dir_groups (tenant_id, guid, display_name, description, mail_nickname, security_enabled, mail_enabled, created_at)
			VALUES (?, ?, ?, ?, ?, 1, 0, ?) RETURNING id`, tenantID, g.GUID, g.DisplayName, g.Description, g.MailNickname, tx.now).Scan(&g.ID); err != nil {
			return err
		}
		tx.recordChanges(tenantID, DirChange{Kind: ChangeGroup, ObjectID: g.ID, Object: g.GUID})
		if err := tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActAddGroup, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "displayName", New: g.DisplayName}}}); err != nil {
			return err
		}
		if err := tx.setSCIMExt(tenantID, 1, g.ID, SCIMExt{ExternalID: g.ExternalID}); err != nil {
			return err
		}
		return tx.changeMembers(tenantID, a, g.Group, members, nil)
	})
}

// SCIMUpdateGroup changes a group in one transaction: change gets the group
// as it is (locked, with its members), may refuse (a failed If-Match), and
// says what to change. Members join and leave in batches, marked for
// reconcile as the Graph membership routes mark them.
func (s *Store) SCIMUpdateGroup(ctx context.Context, a allot.Actor, tenantID int64, id string, change func(cur *SCIMGroup) (*SCIMGroupChange, error)) (*SCIMGroup, error) {
	guid, err := scimID("Group", id)
	if err != nil {
		return nil, err
	}
	var out *SCIMGroup
	err = s.write(ctx, func(tx *tx) error {
		if _, err := tx.groupLocked(tenantID, guid, lockChange); err != nil {
			return err
		}
		cur, err := scanSCIMGroup(tx.queryRow(`SELECT `+groupCols+`, COALESCE(sa.external_id, '')`+scimGroupFrom+
			` WHERE g.tenant_id = ? AND g.guid = ?`, tenantID, guid))
		if err != nil {
			return err
		}
		if err := fillSCIMMembers(tx.query, []*SCIMGroup{cur}); err != nil {
			return err
		}
		c, err := change(cur)
		if err != nil {
			return err
		}
		if err := tx.applyGroupChange(tenantID, a, cur, c); err != nil {
			return err
		}
		out = cur
		return nil
	})
	return out, err
}

func (tx *tx) applyGroupChange(tenantID int64, a allot.Actor, cur *SCIMGroup, c *SCIMGroupChange) error {
	if c.DisplayName != nil && *c.DisplayName != cur.DisplayName {
		old := cur.DisplayName
		cur.DisplayName = *c.DisplayName
		if err := validateGroup(cur.Group); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE dir_groups SET display_name = ? WHERE id = ?`, cur.DisplayName, cur.ID); err != nil {
			return err
		}
		tx.recordChanges(tenantID, DirChange{Kind: ChangeGroup, ObjectID: cur.ID, Object: cur.GUID})
		if err := tx.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActUpdateGroup, TargetKind: "Group",
			TargetID: cur.GUID, TargetName: cur.DisplayName, Changes: []allot.Change{{Property: "displayName", Old: old, New: cur.DisplayName}}}); err != nil {
			return err
		}
	}
	if c.ExternalID != nil && *c.ExternalID != cur.ExternalID {
		if err := tx.checkExternalID(tenantID, 1, *c.ExternalID, cur.ID); err != nil {
			return err
		}
		if err := tx.setSCIMExt(tenantID, 1, cur.ID, SCIMExt{ExternalID: *c.ExternalID}); err != nil {
			return err
		}
		cur.ExternalID = *c.ExternalID
	}
	return tx.changeMembers(tenantID, a, cur.Group, c.Add, c.Remove)
}

// reader returns a query function on the store's read connection.
func (s *Store) reader(ctx context.Context) func(q string, args ...any) (*sql.Rows, error) {
	return func(q string, args ...any) (*sql.Rows, error) { return s.query(ctx, q, args...) }
}

// changeMembers adds and removes user members of group g (by GUID) with a
// fixed number of statements: adding a member that is there, or removing
// one that is not, changes nothing (RFC 7644 §3.5.2). The users are
// marked for reconcile as AddMember and RemoveMember mark them, and each
// change gets its audit row.
func (tx *tx) changeMembers(tenantID int64, a allot.Actor, g *allot.Group, add, remove []string) error {
	if len(add)+len(remove) == 0 {
		return nil
	}
	if err := refuseDynamicMembers(g); err != nil {
		return err
	}
	if len(add)+len(remove) > MaxSCIMMembers {
		return allot.Errorf(allot.ETooLarge, "One request may add or remove at most %d members; send the rest in further requests.", MaxSCIMMembers)
	}
	users, err := tx.usersByGUID(tenantID, append(append([]string{}, add...), remove...))
	if err != nil {
		return err
	}
	current, err := tx.memberSet(g.ID, users)
	if err != nil {
		return err
	}
	var ins, del []userKey
	seen := map[int64]bool{}
	for i, ref := range append(append([]string{}, add...), remove...) {
		u := users[strings.ToLower(ref)]
		if seen[u.id] {
			continue
		}
		seen[u.id] = true
		if i < len(add) && !current[u.id] {
			ins = append(ins, u)
		} else if i >= len(add) && current[u.id] {
			del = append(del, u)
		}
	}
	if err := tx.insertMembers(tenantID, g.ID, ins); err != nil {
		return err
	}
	if err := tx.deleteMembers(g.ID, del); err != nil {
		return err
	}
	changed := make([]int64, 0, len(ins)+len(del))
	rows := make([]auditRow, 0, len(ins)+len(del))
	feed := make([]DirChange, 0, len(ins)+len(del))
	for _, u := range ins {
		feed = append(feed, DirChange{Kind: ChangeMember, ObjectID: g.ID, Object: g.GUID, MemberID: u.id, Member: u.guid})
	}
	for _, u := range del {
		feed = append(feed, DirChange{Kind: ChangeMember, ObjectID: g.ID, Object: g.GUID, MemberID: u.id, Member: u.guid, Removed: RemovedDeleted})
	}
	tx.recordChanges(tenantID, feed...)
	for _, u := range ins {
		changed = append(changed, u.id)
		rows = append(rows, memberAudit(a, g, allot.ActAddMember, allot.Change{Property: "member", New: u.upn}))
	}
	for _, u := range del {
		changed = append(changed, u.id)
		rows = append(rows, memberAudit(a, g, allot.ActRemoveMember, allot.Change{Property: "member", Old: u.upn}))
	}
	if err := tx.markMembershipChanges(tenantID, g.ID, changed); err != nil {
		return err
	}
	return tx.auditMany(tenantID, rows)
}

func memberAudit(a allot.Actor, g *allot.Group, act string, c allot.Change) auditRow {
	return auditRow{actor: a, ev: allot.AuditEvent{Category: "GroupManagement", Activity: act, TargetKind: "Group",
		TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{c}}}
}

// usersByGUID resolves user GUIDs of the tenant with one query; an unknown
// one is an error that names it.
func (tx *tx) usersByGUID(tenantID int64, guids []string) (map[string]userKey, error) {
	args := []any{tenantID}
	for _, g := range guids {
		args = append(args, strings.ToLower(strings.TrimSpace(g)))
	}
	rows, err := tx.query(`SELECT id, guid, upn FROM users WHERE tenant_id = ? AND guid IN (`+placeholders(len(guids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]userKey{}
	for rows.Next() {
		var u userKey
		var guid string
		if err := rows.Scan(&u.id, &guid, &u.upn); err != nil {
			return nil, err
		}
		u.guid = guid
		out[guid] = u
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, g := range guids {
		if _, ok := out[strings.ToLower(strings.TrimSpace(g))]; !ok {
			return nil, allot.Errorf(allot.EInvalid, "No user has the id '%s'; members are users, named by the id SCIM gave them.", g)
		}
	}
	return out, nil
}

// memberSet tells which of the users are direct members of group g.
func (tx *tx) memberSet(g int64, users map[string]userKey) (map[int64]bool, error) {
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.id)
	}
	rows, err := tx.query(`SELECT member_id FROM memberships WHERE group_id = ? AND member_type = 0 AND member_id IN (`+
		placeholders(len(ids))+`)`, append([]any{g}, idArgs(ids)...)...)
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

func (tx *tx) insertMembers(tenantID, g int64, users []userKey) error {
	if len(users) == 0 {
		return nil
	}
	last, err := tx.nextSeqs(len(users))
	if err != nil {
		return err
	}
	first := last - int64(len(users)) + 1
	return tx.insertRows(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id) VALUES `, 5, "", len(users), 500,
		func(i int, args []any) []any { return append(args, g, first+int64(i), 0, users[i].id, tenantID) })
}

func (tx *tx) deleteMembers(g int64, users []userKey) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.id
	}
	_, err := tx.exec(`DELETE FROM memberships WHERE group_id = ? AND member_type = 0 AND member_id IN (`+placeholders(len(ids))+`)`,
		append([]any{g}, idArgs(ids)...)...)
	return err
}

// SCIMReplaceMembers lists, for a replace of a group's members, the users
// to add and to remove.
func SCIMReplaceMembers(cur []SCIMMember, want []string) (add, remove []string) {
	keep := map[string]bool{}
	for _, w := range want {
		keep[strings.ToLower(w)] = true
	}
	have := map[string]bool{}
	for _, m := range cur {
		have[m.GUID] = true
		if !keep[m.GUID] && !m.Group {
			remove = append(remove, m.GUID)
		}
	}
	for _, w := range want {
		if !have[strings.ToLower(w)] {
			add = append(add, w)
		}
	}
	return add, remove
}
