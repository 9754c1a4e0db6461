package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"allot"
	"allot/licensing"
	"allot/store"
)

// RestoreUser brings a deleted user back from deleted items under its id:
// its profile, proxy addresses, SCIM attributes, the memberships of groups
// that still exist and its direct licenses. Licenses are decided like any
// grant (licensing.Restore): without a free seat the user waits in line and
// nobody else loses one. A userPrincipalName taken meanwhile is refused
// with Graph's conflict error unless o names a new one.
func (s *Store) RestoreUser(ctx context.Context, a allot.Actor, tenantID int64, ref string, o store.RestoreOptions) (*allot.User, error) {
	guid, err := deletedGUID(ref)
	if err != nil {
		return nil, err
	}
	var out *allot.User
	err = s.write(ctx, func(tx *tx) error {
		// Claimed by deleting it: a concurrent restore or purge sees it gone.
		d, err := scanDeleted(tx.queryRow(`DELETE FROM deleted_users WHERE tenant_id = ? AND guid = ? RETURNING `+strings.ReplaceAll(deletedCols, "d.", ""), tenantID, guid))
		if errors.Is(err, sql.ErrNoRows) {
			return deletedNotFound(ref)
		}
		if err != nil {
			return err
		}
		out = d.u
		return tx.restoreUser(tenantID, a, d, o)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) restoreUser(tenantID int64, a allot.Actor, d *deletedRow, o store.RestoreOptions) error {
	u := d.u
	if upn := strings.TrimSpace(o.NewUserPrincipalName); upn != "" {
		u.UserPrincipalName = upn
	}
	if err := validateUser(u); err != nil {
		return err
	}
	if err := t.checkUPNFree(tenantID, u.UserPrincipalName, 0); err != nil {
		return allot.Errorf(allot.EConflict, "The user cannot be restored: %s Restore it with a newUserPrincipalName, or rename the other user first.", allot.ErrorMessage(err))
	}
	if err := t.insertRestored(tenantID, u); err != nil {
		return err
	}
	if err := t.restoreProxies(tenantID, u, o.AutoReconcileProxyConflict); err != nil {
		return err
	}
	if err := t.restoreSCIM(tenantID, u.ID, d.mem.SCIM); err != nil {
		return err
	}
	groups, err := t.restoreMemberships(tenantID, u.ID, u.GUID, d.mem.Groups)
	if err != nil {
		return err
	}
	t.recordChanges(tenantID, DirChange{Kind: ChangeUser, ObjectID: u.ID, Object: u.GUID})
	// Dynamic groups follow their rules, not the memberships remembered:
	// the restored user is evaluated against every rule, as a new user is.
	if err := t.applyDynamicRules(tenantID, a, []*allot.User{u}, nil); err != nil {
		return err
	}
	lic, err := t.restoreLicenses(tenantID, a, u.ID, d.mem.Licenses)
	if err != nil {
		return err
	}
	changes := []allot.Change{{Property: "userPrincipalName", New: u.UserPrincipalName}}
	if len(groups) > 0 {
		changes = append(changes, allot.Change{Property: "memberOf", New: strings.Join(groups, ",")})
	}
	if lic != "" {
		changes = append(changes, allot.Change{Property: "AssignedLicense", New: lic})
	}
	return t.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActRestoreUser, TargetKind: "User", TargetID: u.GUID,
		TargetName: u.UserPrincipalName, Changes: changes})
}

// insertRestored writes the user's row back, under the internal id it had
// when that id is free (a new one otherwise).
func (t *tx) insertRestored(tenantID int64, u *allot.User) error {
	var one int
	err := t.queryRow(`SELECT 1 FROM users WHERE id = ?`, u.ID).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	cols, vals, args := "", "", []any{}
	if errors.Is(err, sql.ErrNoRows) {
		cols, vals, args = "id, ", "?, ", []any{u.ID}
	}
	args = append(args, tenantID, u.GUID, u.UserPrincipalName, allot.NormalizeKey(u.UserPrincipalName), u.DisplayName, u.GivenName,
		u.Surname, u.Mail, u.JobTitle, u.Department, u.UsageLocation, b2i(u.AccountEnabled), u.CreatedAt.UnixMilli(), encodeProfile(u.Profile))
	return t.queryRow(`INSERT INTO users (`+cols+`tenant_id, guid, upn, upn_key, display_name, given_name, surname, mail, job_title,
		department, usage_location, account_enabled, created_at, profile) VALUES (`+vals+`?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		args...).Scan(&u.ID)
}

// restoreProxies gives the user its proxy addresses back; one another user
// took meanwhile refuses the restore, or is dropped with autoReconcile.
func (t *tx) restoreProxies(tenantID int64, u *allot.User, autoReconcile bool) error {
	if autoReconcile && len(u.ProxyAddresses) > 0 {
		keys := make([]any, 0, len(u.ProxyAddresses)+1)
		keys = append(keys, tenantID)
		for _, p := range u.ProxyAddresses {
			keys = append(keys, allot.NormalizeKey(p))
		}
		taken, err := t.stringsOf(`SELECT addr_key FROM proxy_addresses WHERE tenant_id = ? AND addr_key IN (`+placeholders(len(keys)-1)+`)`, keys...)
		if err != nil {
			return err
		}
		kept := u.ProxyAddresses[:0]
		for _, p := range u.ProxyAddresses {
			if !containsKey(taken, allot.NormalizeKey(p)) {
				kept = append(kept, p)
			}
		}
		u.ProxyAddresses = kept
	}
	if err := t.setProxyAddresses(tenantID, u.ID, u.ProxyAddresses); err != nil {
		if allot.ErrorCode(err) == allot.EConflict {
			return allot.Errorf(allot.EConflict, "The user cannot be restored: %s Send autoReconcileProxyConflict: true to restore it without the addresses in use.", allot.ErrorMessage(err))
		}
		return err
	}
	return nil
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// restoreSCIM gives back the SCIM attributes; an externalId another user
// has taken meanwhile (the identity provider provisioned a new one) is
// left to that user.
func (t *tx) restoreSCIM(tenantID, userID int64, e SCIMExt) error {
	if e == (SCIMExt{}) {
		return nil
	}
	if err := t.checkExternalID(tenantID, 0, e.ExternalID, userID); err != nil {
		if allot.ErrorCode(err) != allot.EConflict {
			return err
		}
		e.ExternalID = ""
	}
	return t.setSCIMExt(tenantID, 0, userID, e)
}

// restoreMemberships puts the user back into the groups of guids that
// still exist, in the order it had joined them, and returns their names.
// The groups are kept from deletion until the commit (lockKeep).
func (t *tx) restoreMemberships(tenantID, userID int64, userGUID string, guids []string) ([]string, error) {
	if len(guids) == 0 {
		return nil, nil
	}
	args := append([]any{tenantID}, anyStrings(guids)...)
	rows, err := t.query(`SELECT id, guid, display_name FROM dir_groups WHERE tenant_id = ? AND guid IN (`+placeholders(len(guids))+
		`) ORDER BY id`+t.lockRows(lockKeep), args...)
	if err != nil {
		return nil, err
	}
	type grp struct {
		id   int64
		name string
	}
	found := map[string]grp{}
	for rows.Next() {
		var g grp
		var guid string
		if err := rows.Scan(&g.id, &guid, &g.name); err != nil {
			rows.Close()
			return nil, err
		}
		found[guid] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []int64
	var names []string
	for _, guid := range guids {
		if g, ok := found[guid]; ok {
			ids, names = append(ids, g.id), append(names, g.name)
			t.recordChanges(tenantID, DirChange{Kind: ChangeMember, ObjectID: g.id, Object: guid, MemberID: userID, Member: userGUID})
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	last, err := t.nextSeqs(len(ids))
	if err != nil {
		return nil, err
	}
	first := last - int64(len(ids)) + 1
	err = t.insertRows(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id) VALUES `, 5, "", len(ids), 500,
		func(i int, a []any) []any { return append(a, ids[i], first+int64(i), 0, userID, tenantID) })
	return names, err
}

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// restoreLicenses decides and applies the restored user's licenses: its
// group grants (the memberships are back) and its remembered direct ones.
// It returns the direct products given back, for the audit.
func (t *tx) restoreLicenses(tenantID int64, a allot.Actor, userID int64, lic []rememberedLicense) (string, error) {
	products, err := t.products(tenantID)
	if err != nil {
		return "", err
	}
	bySku := map[string]*allot.Product{}
	for _, p := range products {
		bySku[p.SkuID] = p
	}
	var direct []licensing.Grant
	var names []string
	for _, l := range lic {
		if p := bySku[l.SkuID]; p != nil { // a product unsubscribed meanwhile is not given back
			direct = append(direct, licensing.Grant{Source: allot.DirectSource, ProductID: p.ID, DisabledPlans: l.DisabledPlans})
			names = append(names, p.SkuPartNumber)
		}
	}
	b, err := t.loadBatch(tenantID, []int64{userID}, products, lockRows)
	if err != nil {
		return "", err
	}
	if err := t.prepare(b, true); err != nil {
		return "", err
	}
	plan, err := t.decide(b, func(s *licensing.Snapshot) (*licensing.Plan, error) { return licensing.Restore(s, direct) })
	if err != nil {
		return "", err
	}
	return strings.Join(names, ","), t.apply(b, plan, a, &batchResult{})
}
