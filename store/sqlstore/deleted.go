package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"allot"
	"allot/licensing"
	"allot/store"
)

// Deleted users (Graph's directory/deletedItems). DeleteUser gives back a
// user's seats and memberships at once, as before, and keeps the user in
// deleted_users with what a restore gives back (remembered). A restore is
// an ordinary licensing decision (licensing.Restore) applied by the usual
// plan and apply path; deleted users are purged after the retention period
// (PurgeDeletedUsers, run by reconcile.Purger).

// remembered is what a deleted user's row keeps for its restore.
type remembered struct {
	Licenses []rememberedLicense `json:"licenses,omitempty"`
	Groups   []string            `json:"groups,omitempty"` // GUIDs, in the order joined
	Proxy    []string            `json:"proxyAddresses,omitempty"`
	SCIM     SCIMExt             `json:"scim"`
}

type rememberedLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans,omitempty"`
}

const deletedCols = `d.user_id, d.tenant_id, d.guid, d.upn, d.display_name, d.given_name, d.surname, d.mail, d.job_title,
	d.department, d.usage_location, d.account_enabled, d.created_at, d.profile, d.deleted_at, d.remembered, d.id`

// deletedUserResource is what $filter runs over in deleted items: the
// user's own properties and deletedDateTime (no lambdas: a deleted user
// holds no license and has no proxy address of its own any more).
var deletedUserResource = resource{
	name: "User",
	fields: fieldsOf(
		field{"d.guid", fGUID, "id"},
		field{"d.upn_key", fKey, "userPrincipalName"},
		field{"d.display_name", fString, "displayName"},
		field{"d.given_name", fString, "givenName"},
		field{"d.surname", fString, "surname"},
		field{"d.mail", fString, "mail"},
		field{"d.job_title", fString, "jobTitle"},
		field{"d.department", fString, "department"},
		field{"d.usage_location", fString, "usageLocation"},
		field{"d.account_enabled", fBool, "accountEnabled"},
		field{"d.created_at", fTime, "createdDateTime"},
		field{"d.deleted_at", fTime, "deletedDateTime"},
	),
}

// deletedRow is a scanned deleted_users row.
type deletedRow struct {
	u     *allot.User
	at    int64
	mem   remembered
	rowID int64
}

func scanDeleted(row interface{ Scan(...any) error }) (*deletedRow, error) {
	var d deletedRow
	var u allot.User
	var enabled int
	var created int64
	var profile, mem string
	if err := row.Scan(&u.ID, &u.TenantID, &u.GUID, &u.UserPrincipalName, &u.DisplayName, &u.GivenName, &u.Surname,
		&u.Mail, &u.JobTitle, &u.Department, &u.UsageLocation, &enabled, &created, &profile, &d.at, &mem, &d.rowID); err != nil {
		return nil, err
	}
	u.AccountEnabled = enabled == 1
	u.CreatedAt = msTime(created)
	var err error
	if u.Profile, err = decodeProfile(profile); err != nil {
		return nil, fmt.Errorf("deleted user %s: profile: %w", u.GUID, err)
	}
	if err := json.Unmarshal([]byte(mem), &d.mem); err != nil {
		return nil, fmt.Errorf("deleted user %s: remembered: %w", u.GUID, err)
	}
	u.ProxyAddresses = append([]string{}, d.mem.Proxy...)
	d.u = &u
	return &d, nil
}

// view is the deleted user as adapters see it.
func (d *deletedRow) view() *store.DeletedUser {
	u := *d.u
	u.ID = 0
	out := &store.DeletedUser{User: &u, DeletedAt: msTime(d.at), Licenses: []store.LicenseRequest{}, Groups: append([]string{}, d.mem.Groups...)}
	for _, l := range d.mem.Licenses {
		out.Licenses = append(out.Licenses, store.LicenseRequest{SkuID: l.SkuID, DisabledPlans: append([]string{}, l.DisabledPlans...)})
	}
	return out
}

// rememberDeleted keeps user u, about to be deleted, in deleted items with
// its direct licenses, memberships, proxy addresses and SCIM attributes.
func (t *tx) rememberDeleted(tenantID int64, u *allot.User, products []*allot.Product) error {
	var m remembered
	var err error
	if m.Licenses, err = t.directLicenses(u.ID, products); err != nil {
		return err
	}
	if m.Groups, err = t.stringsOf(`SELECT g.guid FROM memberships m JOIN dir_groups g ON g.id = m.group_id
		WHERE m.member_type = 0 AND m.member_id = ? ORDER BY m.seq`, u.ID); err != nil {
		return err
	}
	if m.Proxy, err = t.stringsOf(`SELECT address FROM proxy_addresses WHERE user_id = ? ORDER BY address`, u.ID); err != nil {
		return err
	}
	err = t.queryRow(`SELECT external_id, cost_center, division, manager FROM scim_attrs WHERE kind = 0 AND target_id = ?`, u.ID).
		Scan(&m.SCIM.ExternalID, &m.SCIM.CostCenter, &m.SCIM.Division, &m.SCIM.Manager)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	mem, _ := json.Marshal(m)
	_, err = t.exec(`INSERT INTO deleted_users (tenant_id, user_id, guid, upn, upn_key, display_name, given_name, surname, mail,
		job_title, department, usage_location, account_enabled, created_at, profile, deleted_at, remembered)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, u.ID, u.GUID, u.UserPrincipalName, allot.NormalizeKey(u.UserPrincipalName), u.DisplayName, u.GivenName, u.Surname,
		u.Mail, u.JobTitle, u.Department, u.UsageLocation, b2i(u.AccountEnabled), u.CreatedAt.UnixMilli(), encodeProfile(u.Profile),
		t.now, string(mem))
	return err
}

// directLicenses returns a user's direct grants (whatever their state) by
// skuId, with their disabled plans.
func (t *tx) directLicenses(userID int64, products []*allot.Product) ([]rememberedLicense, error) {
	rows, err := t.query(`SELECT product_id, disabled_plans FROM license_states WHERE user_id = ? AND source_id = 0 ORDER BY product_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cat := licensing.NewCatalog(products)
	var out []rememberedLicense
	for rows.Next() {
		var pid int64
		var dis string
		if err := rows.Scan(&pid, &dis); err != nil {
			return nil, err
		}
		if p := cat.Product(pid); p != nil {
			out = append(out, rememberedLicense{SkuID: p.SkuID, DisabledPlans: decodePlans(dis)})
		}
	}
	return out, rows.Err()
}

// stringsOf returns the one text column of a query's rows.
func (t *tx) stringsOf(q string, args ...any) ([]string, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// deletedGUID checks a deleted item's id: deleted items are named by GUID.
func deletedGUID(ref string) (string, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	if _, err := uuid.Parse(ref); err != nil || len(ref) != 36 {
		return "", allot.Errorf(allot.EInvalid, "Invalid object identifier '%s'; a deleted item is named by its id (a GUID).", ref)
	}
	return ref, nil
}

func deletedNotFound(ref string) error {
	return allot.Errorf(allot.ENotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", ref)
}

// ListDeletedUsers returns a page of the tenant's deleted users ordered by
// deletion, the cursor of the next page (0 at the end), and the total count
// when asked.
func (s *Store) ListDeletedUsers(ctx context.Context, tenantID int64, o store.ListOptions) ([]*store.DeletedUser, int64, int, error) {
	o.OrderBy, o.Search = "", nil
	where, pageWhere, order, base, pageArgs, err := s.listWhere(deletedUserResource, "d", tenantID, o)
	if err != nil {
		return nil, 0, 0, err
	}
	count := -1
	if o.Count {
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM deleted_users d WHERE `+where, base...).Scan(&count); err != nil {
			return nil, 0, 0, err
		}
	}
	rows, err := s.query(ctx, `SELECT `+deletedCols+` FROM deleted_users d WHERE `+pageWhere+order+` LIMIT ?`, append(pageArgs, o.Top+1)...)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rows.Close()
	var got []*deletedRow
	for rows.Next() {
		d, err := scanDeleted(rows)
		if err != nil {
			return nil, 0, 0, err
		}
		got = append(got, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, err
	}
	var next int64
	if len(got) > o.Top {
		got = got[:o.Top]
		next = got[len(got)-1].rowID
	}
	out := make([]*store.DeletedUser, len(got))
	for i, d := range got {
		out[i] = d.view()
	}
	return out, next, count, nil
}

// DeletedUser returns the deleted user with the GUID.
func (s *Store) DeletedUser(ctx context.Context, tenantID int64, ref string) (*store.DeletedUser, error) {
	guid, err := deletedGUID(ref)
	if err != nil {
		return nil, err
	}
	d, err := scanDeleted(s.queryRow(ctx, `SELECT `+deletedCols+` FROM deleted_users d WHERE d.tenant_id = ? AND d.guid = ?`, tenantID, guid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, deletedNotFound(ref)
	}
	if err != nil {
		return nil, err
	}
	return d.view(), nil
}

// PurgeDeletedUser deletes a deleted user for good (its seats were given
// back when it was deleted).
func (s *Store) PurgeDeletedUser(ctx context.Context, a allot.Actor, tenantID int64, ref string) error {
	guid, err := deletedGUID(ref)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *tx) error {
		var upn string
		err := tx.queryRow(`DELETE FROM deleted_users WHERE tenant_id = ? AND guid = ? RETURNING upn`, tenantID, guid).Scan(&upn)
		if errors.Is(err, sql.ErrNoRows) {
			return deletedNotFound(ref)
		}
		if err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActHardDeleteUser, TargetKind: "User", TargetID: guid, TargetName: upn})
	})
}

// purgeBatch bounds the deleted users one purge transaction removes.
const purgeBatch = 500

// PurgeDeletedUsers deletes for good, in every tenant, the users deleted
// before cutoff, each with an audit event of RetentionActor; it returns how
// many it deleted.
func (s *Store) PurgeDeletedUsers(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := s.write(ctx, func(tx *tx) error {
			rows, err := tx.query(`DELETE FROM deleted_users WHERE id IN (SELECT id FROM deleted_users WHERE deleted_at < ? ORDER BY id LIMIT ?)
				RETURNING tenant_id, guid, upn`, cutoff.UnixMilli(), purgeBatch)
			if err != nil {
				return err
			}
			type gone struct {
				tenant    int64
				guid, upn string
			}
			var purged []gone
			for rows.Next() {
				var g gone
				if err := rows.Scan(&g.tenant, &g.guid, &g.upn); err != nil {
					rows.Close()
					return err
				}
				purged = append(purged, g)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			slices.SortFunc(purged, func(a, b gone) int { return cmp.Or(cmp.Compare(a.tenant, b.tenant), strings.Compare(a.guid, b.guid)) })
			byTenant := map[int64][]auditRow{}
			for _, g := range purged {
				byTenant[g.tenant] = append(byTenant[g.tenant], auditRow{actor: allot.RetentionActor, ev: allot.AuditEvent{
					Activity: allot.ActHardDeleteUser, TargetKind: "User", TargetID: g.guid, TargetName: g.upn,
					ResultReason: "The deleted items retention period ended."}})
			}
			for _, ten := range sortedIDs(byTenant) {
				if err := tx.auditMany(ten, byTenant[ten]); err != nil {
					return err
				}
			}
			n = len(purged)
			return nil
		})
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}
