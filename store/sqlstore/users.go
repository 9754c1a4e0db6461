package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"allot"
	"allot/internal/country"
	"allot/licensing"
	"allot/store"
)

const userCols = `u.id, u.tenant_id, u.guid, u.upn, u.display_name, u.given_name, u.surname, u.mail, u.job_title,
	u.department, u.usage_location, u.account_enabled, u.created_at, u.profile`

func scanUser(row interface{ Scan(...any) error }) (*allot.User, error) {
	var u allot.User
	var enabled int
	var created int64
	var profile string
	err := row.Scan(&u.ID, &u.TenantID, &u.GUID, &u.UserPrincipalName, &u.DisplayName, &u.GivenName, &u.Surname,
		&u.Mail, &u.JobTitle, &u.Department, &u.UsageLocation, &enabled, &created, &profile)
	if err != nil {
		return nil, err
	}
	u.AccountEnabled = enabled == 1
	u.CreatedAt = msTime(created)
	if u.Profile, err = decodeProfile(profile); err != nil {
		return nil, fmt.Errorf("user %s: profile: %w", u.GUID, err)
	}
	return &u, nil
}

// encodeProfile stores a profile as one JSON object keyed by Graph name
// (strings and string arrays).
func encodeProfile(p allot.UserProfile) string {
	m := make(map[string]any, len(p.Text)+len(p.Lists))
	for k, v := range p.Text {
		m[k] = v
	}
	for k, v := range p.Lists {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeProfile(s string) (allot.UserProfile, error) {
	p := allot.UserProfile{Text: map[string]string{}, Lists: map[string][]string{}}
	if s == "{}" {
		return p, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return p, err
	}
	for k, raw := range m {
		if len(raw) > 0 && raw[0] == '[' {
			var l []string
			if err := json.Unmarshal(raw, &l); err != nil {
				return p, err
			}
			p.Lists[k] = l
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return p, err
		}
		p.Text[k] = v
	}
	return p, nil
}

// checkUserLengths refuses a user whose string properties are longer than
// Graph allows (allot.UserLimits).
func checkUserLengths(u *allot.User) error {
	for _, f := range []struct{ name, v string }{{"userPrincipalName", u.UserPrincipalName}, {"displayName", u.DisplayName},
		{"givenName", u.GivenName}, {"surname", u.Surname}, {"mail", u.Mail}, {"jobTitle", u.JobTitle},
		{"department", u.Department}} {
		if err := allot.CheckLength("User", f.name, f.v, allot.UserLimits[f.name]); err != nil {
			return err
		}
	}
	if alias, _, _ := strings.Cut(u.UserPrincipalName, "@"); utf8.RuneCountInString(alias) > allot.UPNAliasMax {
		return allot.Errorf(allot.EInvalid, "Invalid value specified for property 'userPrincipalName' of resource 'User': the part before @ has more than %d characters.", allot.UPNAliasMax)
	}
	if err := allot.CheckList("User", "proxyAddresses", u.ProxyAddresses, allot.UserLimits["proxyAddresses"]); err != nil {
		return err
	}
	if u.Profile.Text == nil {
		u.Profile.Text = map[string]string{}
	}
	if u.Profile.Lists == nil {
		u.Profile.Lists = map[string][]string{}
	}
	return u.Profile.Normalize()
}

func validateUser(u *allot.User) error {
	u.UserPrincipalName = strings.TrimSpace(u.UserPrincipalName)
	at := strings.LastIndexByte(u.UserPrincipalName, '@')
	if at <= 0 || at == len(u.UserPrincipalName)-1 || strings.ContainsAny(u.UserPrincipalName, " \t\r\n") {
		return allot.Errorf(allot.EInvalid, "userPrincipalName '%s' must look like an email address (alias@domain).", u.UserPrincipalName)
	}
	if strings.TrimSpace(u.DisplayName) == "" {
		return allot.Errorf(allot.EInvalid, "displayName is required.")
	}
	if err := checkUserLengths(u); err != nil {
		return err
	}
	u.UsageLocation = strings.ToUpper(strings.TrimSpace(u.UsageLocation))
	if u.UsageLocation != "" && !country.Valid(u.UsageLocation) {
		return allot.Errorf(allot.EInvalid, "Usage location must be a two-letter country code such as US: usageLocation '%s' is not an ISO 3166-1 country code.", u.UsageLocation)
	}
	seen := map[string]bool{}
	for _, a := range u.ProxyAddresses {
		k := allot.NormalizeKey(a)
		if k == "" || !strings.Contains(k, "@") {
			return allot.Errorf(allot.EInvalid, "proxyAddresses entry '%s' must be an address such as smtp:alias@domain.", a)
		}
		if seen[k] {
			return allot.Errorf(allot.EInvalid, "proxyAddresses lists '%s' twice.", a)
		}
		seen[k] = true
	}
	return nil
}

// CreateUser creates a user in the tenant and fills in its id and GUID.
func (s *Store) CreateUser(ctx context.Context, a allot.Actor, tenantID int64, u *allot.User) error {
	if err := validateUser(u); err != nil {
		return err
	}
	u.TenantID = tenantID
	u.GUID = uuid.NewString()
	return s.write(ctx, func(tx *tx) error { return tx.createUser(tenantID, a, u) })
}

// createUser inserts a validated user with its GUID set.
//
// The userPrincipalName's uniqueness is checked by the insert itself (the
// unique index on tenant_id, upn_key): a taken name inserts nothing, and
// before is then asked for its own refusal first (SCIM's externalId), so
// that a create that conflicts twice says what it said when the checks ran
// before the insert.
func (tx *tx) createUser(tenantID int64, a allot.Actor, u *allot.User, before ...func() error) error {
	u.CreatedAt = msTime(tx.now)
	// The insert also tells whether the tenant has a rule that is On (most
	// have none): only then are the rules loaded, share-locked, and
	// evaluated for the new user (applyDynamicRules).
	var rules bool
	err := tx.queryRow(`INSERT INTO users (tenant_id, guid, upn, upn_key, display_name, given_name, surname, mail, job_title,
		department, usage_location, account_enabled, created_at, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, upn_key) DO NOTHING
		RETURNING id, EXISTS (SELECT 1 FROM dir_groups WHERE tenant_id = ? AND rule_state = ?)`,
		tenantID, u.GUID, u.UserPrincipalName, allot.NormalizeKey(u.UserPrincipalName), u.DisplayName, u.GivenName, u.Surname,
		u.Mail, u.JobTitle, u.Department, u.UsageLocation, b2i(u.AccountEnabled), tx.now, encodeProfile(u.Profile),
		tenantID, allot.RuleOn).Scan(&u.ID, &rules)
	if errors.Is(err, sql.ErrNoRows) {
		for _, check := range before {
			if err := check(); err != nil {
				return err
			}
		}
		return upnTaken(u.UserPrincipalName)
	}
	if err != nil {
		return err
	}
	if err := tx.addProxyAddresses(tenantID, u.ID, u.ProxyAddresses); err != nil {
		return err
	}
	if rules {
		if err := tx.applyDynamicRules(tenantID, a, []*allot.User{u}, nil); err != nil {
			return err
		}
	}
	tx.recordChanges(tenantID, DirChange{Kind: ChangeUser, ObjectID: u.ID, Object: u.GUID})
	return tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActAddUser, TargetKind: "User", TargetID: u.GUID,
		TargetName: u.UserPrincipalName, Changes: []allot.Change{{Property: "userPrincipalName", New: u.UserPrincipalName},
			{Property: "displayName", New: u.DisplayName}, {Property: "usageLocation", New: u.UsageLocation}}})
}

func (t *tx) checkUPNFree(tenantID int64, upn string, self int64) error {
	var id int64
	err := t.queryRow(`SELECT id FROM users WHERE tenant_id = ? AND upn_key = ?`, tenantID, allot.NormalizeKey(upn)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && id == self) {
		return nil
	}
	if err != nil {
		return err
	}
	return upnTaken(upn)
}

// upnTaken is the refusal of a userPrincipalName another user has.
func upnTaken(upn string) error {
	return allot.Errorf(allot.EConflict, "Another object with the same value for property userPrincipalName already exists: '%s'.", upn)
}

func (t *tx) setProxyAddresses(tenantID, userID int64, addrs []string) error {
	if _, err := t.exec(`DELETE FROM proxy_addresses WHERE user_id = ?`, userID); err != nil {
		return err
	}
	return t.addProxyAddresses(tenantID, userID, addrs)
}

// addProxyAddresses gives a user (a new one: it has none) its proxy
// addresses, each unique in the tenant.
func (t *tx) addProxyAddresses(tenantID, userID int64, addrs []string) error {
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		k := allot.NormalizeKey(a)
		var owner int64
		err := t.queryRow(`SELECT user_id FROM proxy_addresses WHERE tenant_id = ? AND addr_key = ?`, tenantID, k).Scan(&owner)
		if err == nil {
			return allot.Errorf(allot.EConflict, "Another user already has the proxy address '%s'; proxy addresses are unique in the tenant.", a)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := t.exec(`INSERT INTO proxy_addresses (tenant_id, addr_key, user_id, address) VALUES (?, ?, ?, ?)`, tenantID, k, userID, a); err != nil {
			return err
		}
	}
	return nil
}

// userRef resolves an id (GUID) or userPrincipalName to a user of the tenant.
func userWhere(ref string) (string, any) {
	if _, err := uuid.Parse(ref); err == nil && !strings.Contains(ref, "@") {
		return "u.guid = ?", strings.ToLower(ref)
	}
	return "u.upn_key = ?", allot.NormalizeKey(ref)
}

// User returns the user with the GUID or userPrincipalName.
func (s *Store) User(ctx context.Context, tenantID int64, ref string) (*allot.User, error) {
	w, arg := userWhere(ref)
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND `+w, tenantID, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User", ref)
	}
	if err != nil {
		return nil, err
	}
	if err := s.fillProxyAddresses(ctx, []*allot.User{u}); err != nil {
		return nil, err
	}
	return u, nil
}

func (t *tx) user(tenantID int64, ref string) (*allot.User, error) {
	return t.userLocked(tenantID, ref, "")
}

// userLocked returns the user with its row locked until the transaction
// ends with the strength mode (lockRows; none when ""), as it is once any
// concurrent change of it has committed. A locked user is also locked for
// license changes (lockUsers) first.
func (t *tx) userLocked(tenantID int64, ref, mode string) (*allot.User, error) {
	lock := ""
	w, arg := userWhere(ref)
	if mode != "" {
		lock = t.lockRows(mode)
		if err := t.lockUserRef(tenantID, w, arg); err != nil {
			return nil, err
		}
	}
	u, err := scanUser(t.queryRow(`SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND `+w+lock, tenantID, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User", ref)
	}
	return u, err
}

// lockUserRef locks the user that the condition w on arg finds for license
// changes (lockUsers), when there is one (PostgreSQL).
func (t *tx) lockUserRef(tenantID int64, w string, arg any) error {
	if t.s.engine != Postgres {
		return nil
	}
	var id int64
	err := t.queryRow(`SELECT u.id FROM users u WHERE u.tenant_id = ? AND `+w, tenantID, arg).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return t.lockUsers([]int64{id})
}

func (s *Store) fillProxyAddresses(ctx context.Context, users []*allot.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[int64]*allot.User, len(users))
	args := make([]any, 0, len(users))
	for _, u := range users {
		byID[u.ID] = u
		u.ProxyAddresses = []string{}
		args = append(args, u.ID)
	}
	rows, err := s.query(ctx, `SELECT user_id, address FROM proxy_addresses WHERE user_id IN (`+placeholders(len(args))+`) ORDER BY user_id, address`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a string
		if err := rows.Scan(&id, &a); err != nil {
			return err
		}
		byID[id].ProxyAddresses = append(byID[id].ProxyAddresses, a)
	}
	return rows.Err()
}

// ListUsers returns a page of the tenant's users ordered by creation, the
// cursor of the next page (0 at the end), and the total count when asked.
func (s *Store) ListUsers(ctx context.Context, tenantID int64, o store.ListOptions) ([]*allot.User, int64, int, error) {
	where, pageWhere, order, base, pageArgs, err := s.listWhere(userResource, "u", tenantID, o)
	if err != nil {
		return nil, 0, 0, err
	}
	count := -1
	if o.Count {
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM users u WHERE `+where, base...).Scan(&count); err != nil {
			return nil, 0, 0, err
		}
	}
	if o.Filter == nil && o.Search == nil && o.OrderBy == "" {
		// Unfiltered: walk the users in id order and stop after a page, not
		// through the tenant's name index and a sort of every user (the
		// unary + hides tenant_id from SQLite's index choice).
		pageWhere = "+" + pageWhere
	}
	q := `SELECT ` + userCols + ` FROM users u WHERE ` + pageWhere + order + ` LIMIT ?`
	rows, err := s.query(ctx, q, append(pageArgs, o.Top+1)...)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rows.Close()
	var out []*allot.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, 0, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, err
	}
	var next int64
	if len(out) > o.Top {
		out = out[:o.Top]
		next = out[len(out)-1].ID
	}
	if err := s.fillProxyAddresses(ctx, out); err != nil {
		return nil, 0, 0, err
	}
	return out, next, count, nil
}

// UpdateUser applies a patch to a user and returns the updated user.
func (s *Store) UpdateUser(ctx context.Context, a allot.Actor, tenantID int64, ref string, p store.UserPatch) (*allot.User, error) {
	var out *allot.User
	err := s.write(ctx, func(tx *tx) error {
		// Locked: the patch is applied to the user as it is now, and a
		// concurrent patch of other properties is not undone.
		u, err := tx.userLocked(tenantID, ref, lockChange)
		if err != nil {
			return err
		}
		out = u
		return tx.updateUser(tenantID, a, u, p)
	})
	if err != nil {
		return nil, err
	}
	if err := s.fillProxyAddresses(ctx, []*allot.User{out}); err != nil {
		return nil, err
	}
	return out, nil
}

// updateUser applies a patch to a user locked by the transaction.
func (tx *tx) updateUser(tenantID int64, a allot.Actor, u *allot.User, p store.UserPatch) error {
	old := *u
	var changes []allot.Change
	set := func(name string, dst *string, v *string) {
		if v != nil && *v != *dst {
			changes = append(changes, allot.Change{Property: name, Old: *dst, New: *v})
			*dst = *v
		}
	}
	set("userPrincipalName", &u.UserPrincipalName, p.UserPrincipalName)
	set("displayName", &u.DisplayName, p.DisplayName)
	set("givenName", &u.GivenName, p.GivenName)
	set("surname", &u.Surname, p.Surname)
	set("mail", &u.Mail, p.Mail)
	set("jobTitle", &u.JobTitle, p.JobTitle)
	set("department", &u.Department, p.Department)
	if p.UsageLocation != nil {
		v := strings.ToUpper(strings.TrimSpace(*p.UsageLocation))
		set("usageLocation", &u.UsageLocation, &v)
	}
	if p.AccountEnabled != nil && *p.AccountEnabled != u.AccountEnabled {
		changes = append(changes, allot.Change{Property: "accountEnabled", Old: fmt.Sprint(u.AccountEnabled), New: fmt.Sprint(*p.AccountEnabled)})
		u.AccountEnabled = *p.AccountEnabled
	}
	if p.ProxyAddresses != nil {
		u.ProxyAddresses = *p.ProxyAddresses
	}
	pc, err := patchProfile(&u.Profile, p)
	if err != nil {
		return err
	}
	changes = append(changes, pc...)
	if err := validateUser(u); err != nil {
		return err
	}
	if u.UserPrincipalName != old.UserPrincipalName {
		if err := tx.checkUPNFree(tenantID, u.UserPrincipalName, u.ID); err != nil {
			return err
		}
	}
	if _, err := tx.exec(`UPDATE users SET upn = ?, upn_key = ?, display_name = ?, given_name = ?, surname = ?, mail = ?,
		job_title = ?, department = ?, usage_location = ?, account_enabled = ?, profile = ?,
		disabled_since = CASE WHEN ? = 1 THEN 0 WHEN account_enabled = 1 THEN ? ELSE disabled_since END WHERE id = ?`,
		u.UserPrincipalName, allot.NormalizeKey(u.UserPrincipalName), u.DisplayName, u.GivenName, u.Surname, u.Mail,
		u.JobTitle, u.Department, u.UsageLocation, b2i(u.AccountEnabled), encodeProfile(u.Profile),
		b2i(u.AccountEnabled), tx.now, u.ID); err != nil {
		return err
	}
	if err := tx.moveUserDims(tenantID, u.ID, old.Department, old.UsageLocation, u.Department, u.UsageLocation); err != nil {
		return err
	}
	if u.AccountEnabled != old.AccountEnabled {
		tx.authDirty = true // the clients this user created lose or regain rights
	}
	if p.LastSignIn != nil {
		c, err := tx.setSignIn(u.ID, *p.LastSignIn)
		if err != nil {
			return err
		}
		changes = append(changes, c...)
	}
	if p.ProxyAddresses != nil {
		if err := tx.setProxyAddresses(tenantID, u.ID, u.ProxyAddresses); err != nil {
			return err
		}
		changes = append(changes, allot.Change{Property: "proxyAddresses", New: strings.Join(u.ProxyAddresses, ",")})
	}
	if err := tx.applyDynamicRules(tenantID, a, []*allot.User{u}, changedProps(changes)); err != nil {
		return err
	}
	if u.UsageLocation != old.UsageLocation || tx.poolScopeMoved(tenantID, &old, u) {
		// Usage location decides which licenses the user may hold; the
		// department, which license pool it draws from.
		if err := tx.markUsers(tenantID, []int64{u.ID}); err != nil {
			return err
		}
	}
	if len(changes) == 0 {
		return nil
	}
	tx.recordChanges(tenantID, DirChange{Kind: ChangeUser, ObjectID: u.ID, Object: u.GUID})
	return tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActUpdateUser, TargetKind: "User", TargetID: u.GUID,
		TargetName: u.UserPrincipalName, Changes: changes})
}

// patchProfile applies the patch's profile properties to p and returns
// the changes for the audit log.
// Values are checked and normalized first, so an equal value spelled
// differently is no change.
func patchProfile(p *allot.UserProfile, patch store.UserPatch) ([]allot.Change, error) {
	in := allot.UserProfile{Text: map[string]string{}, Lists: map[string][]string{}}
	for k, v := range patch.ProfileText {
		in.Text[k] = v
	}
	for k, v := range patch.ProfileLists {
		in.Lists[k] = v
	}
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	*p = p.Clone()
	var changes []allot.Change
	for k := range patch.ProfileText {
		if v := in.Text[k]; v != p.Text[k] {
			changes = append(changes, allot.Change{Property: k, Old: p.Text[k], New: v})
			p.Text[k] = v
		}
	}
	for k := range patch.ProfileLists {
		if v := in.Lists[k]; !slices.Equal(v, p.Lists[k]) {
			changes = append(changes, allot.Change{Property: k, Old: strings.Join(p.Lists[k], ","), New: strings.Join(v, ",")})
			p.Lists[k] = v
		}
	}
	slices.SortFunc(changes, func(a, b allot.Change) int { return strings.Compare(a.Property, b.Property) })
	return changes, nil
}

// DeleteUser deletes a user, gives back the seats it held and leaves its
// groups; the user waits in deleted items (deleted.go) to be restored.
func (s *Store) DeleteUser(ctx context.Context, a allot.Actor, tenantID int64, ref string) error {
	return s.write(ctx, func(tx *tx) error {
		// Locked before its states are read (locks.go): no concurrent
		// assignment changes them, and a concurrent deletion is seen.
		u, err := tx.userLocked(tenantID, ref, lockAll)
		if err != nil {
			return err
		}
		// Give back what the user's states count: seats, places in waiting
		// lines and group error counts.
		products, err := tx.products(tenantID)
		if err != nil {
			return err
		}
		b, err := tx.loadBatch(tenantID, []int64{u.ID}, products, lockRows)
		if err != nil {
			return err
		}
		if err := tx.prepare(b, false); err != nil {
			return err
		}
		// Without sources the user would hold nothing: the plan's counters
		// are what the user gives back; the states go with the user.
		b.snap.Users[0].Grants = nil
		plan := licensing.Recompute(b.snap)
		held, err := tx.applyCounters(plan)
		if err != nil {
			return err
		}
		if err := tx.applyDimCounts(b, plan); err != nil {
			return err
		}
		if err := tx.rememberDeleted(tenantID, u, products); err != nil {
			return err
		}
		if err := tx.recordRemoval(tenantID, ChangeUser, u.ID, u.GUID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM license_states WHERE user_id = ?`,
			`DELETE FROM waiting_moves WHERE user_id = ?`,
			`DELETE FROM direct_ends WHERE user_id = ?`,
			`DELETE FROM reclaim_notices WHERE user_id = ?`,
			`DELETE FROM reclaim_keeps WHERE user_id = ?`,
			`DELETE FROM activity_reports WHERE user_id = ?`,
			`DELETE FROM memberships WHERE member_type = 0 AND member_id = ?`,
			`DELETE FROM proxy_addresses WHERE user_id = ?`,
			`DELETE FROM marks WHERE kind = 0 AND target_id = ?`,
			`DELETE FROM scim_attrs WHERE kind = 0 AND target_id = ?`,
			`DELETE FROM users WHERE id = ?`,
			// The reports lose their manager (after the row is gone, so a
			// SetManager that kept it has committed); a restore does not
			// give it back.
			`UPDATE users SET manager_id = NULL WHERE manager_id = ?`,
		} {
			if _, err := tx.exec(q, u.ID); err != nil {
				return err
			}
		}
		if err := tx.deleteUserAuth(u.ID); err != nil {
			return err
		}
		if err := tx.markWaiters(tenantID, held); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActDeleteUser, TargetKind: "User", TargetID: u.GUID, TargetName: u.UserPrincipalName})
	})
}

// mergeKeys returns the set of keys of a and b.
func mergeKeys(a, b map[int64]int) map[int64]bool {
	out := make(map[int64]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// heldOf returns the products that states hold a seat of.
func heldOf(states []allot.LicenseState) []int64 {
	var out []int64
	for _, st := range states {
		if st.State == allot.StateActive && !slices.Contains(out, st.ProductID) {
			out = append(out, st.ProductID)
		}
	}
	slices.Sort(out)
	return out
}
