package sqlstore

// Access control in the store: API tokens and API clients, the principals
// they authenticate, and directory role assignments. Passwords are in
// auth_password.go, browser sessions and single sign-on links in
// auth_session.go. The store keeps facts (who holds which role, which scopes
// a client has, who created it); what a role or scope allows is decided by
// the HTTP layer's permission table (httpapi/roles.go).

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"allot"
	"allot/store"
)

// Audit activities of access control, named as Entra names them where it has
// a name.
const (
	ActAddRoleMember    = "Add member to role"
	ActRemoveRoleMember = "Remove member from role"
	ActRevokeToken      = "Revoke API token"
	ActSignIn           = "Sign-in"
	ActSignInFailed     = "Sign-in failed"
	ActSignOut          = "Sign-out"
	ActResetPassword    = "Reset user password"
)

// auditCategory of access-control events.
const (
	catRoles    = "RoleManagement"
	catApps     = "ApplicationManagement"
	catSignIn   = "Authentication"
	catUsers    = "UserManagement"
	operatorID  = "operator"
	lastUseStep = int64(60_000) // last_used_at is refreshed at most once a minute
)

var operatorActor = allot.Actor{Kind: "system", ID: operatorID, Name: "allot operator"}

// roleName returns the display name of a role template id ("" if unknown).
func roleName(id string) string {
	for name, rid := range store.RoleIDs {
		if rid == id {
			return name
		}
	}
	return ""
}

// roleNames joins the display names of role ids, in a stable order.
func roleNames(ids []string) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		if n := roleName(id); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// CreateToken stores the hash of raw as an operator API token of the tenant
// holding the role (a display name such as "Global Administrator"), with no
// scope limit. Creating a token whose hash exists already is a no-op, so
// start-up can ensure a configured token idempotently.
func (s *Store) CreateToken(ctx context.Context, tenantID int64, name, role, raw string) error {
	if len(raw) < 32 {
		return allot.Errorf(allot.EInvalid, "An API token must be at least 32 characters long.")
	}
	roleID, ok := store.RoleIDs[role]
	if !ok {
		return allot.Errorf(allot.EInvalid, "'%s' is not a role; use one of Global Administrator, License Administrator, User Administrator, Global Reader, Insights Administrator, Insights Business Leader.", role)
	}
	return s.write(ctx, func(tx *tx) error {
		var exists int
		err := tx.queryRow(`SELECT COUNT(*) FROM tokens WHERE hash = ?`, hashToken(raw)).Scan(&exists)
		if err != nil || exists > 0 {
			return err
		}
		guid := uuid.NewString()
		var id int64
		if err := tx.queryRow(`INSERT INTO tokens (tenant_id, hash, name, role, created_at, guid) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			tenantID, hashToken(raw), name, role, tx.now, guid).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO role_assignments (guid, tenant_id, principal_kind, principal_id, role_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, uuid.NewString(), tenantID, store.PrincipalClient, id, roleID, tx.now); err != nil {
			return err
		}
		return tx.audit(tenantID, operatorActor, allot.AuditEvent{
			Category: catApps, Activity: allot.ActCreateToken, TargetKind: "ApiClient", TargetID: guid, TargetName: name,
			Changes: []allot.Change{{Property: "role", New: role}},
		})
	})
}

// Authenticate returns the principal of a raw API token: its tenant, its own
// roles, its scopes and the roles of whoever created it. Revoked and expired
// tokens, and tokens of another shape, answer EUnauthorized. A verified
// principal is reused for up to AuthCacheTTL (authcache.go says when a
// change holds), and the token's last use is written at most once a minute.
func (s *Store) Authenticate(ctx context.Context, raw string) (*store.Principal, error) {
	if len(raw) > 512 {
		return nil, badToken()
	}
	hash := hashToken(raw)
	now := nowMS()
	if e := s.auth.get(hash, now); e != nil {
		s.touchToken(ctx, e.p.TokenID, &e.lastUsed, now)
		return copyPrincipal(e.p), nil
	}
	gen := s.auth.gen.Load()
	p, expires, lastUsed, err := s.loadPrincipal(ctx, hash, now)
	if err != nil {
		return nil, err
	}
	e := &authEntry{p: p, gen: gen, until: now + s.auth.life(), expires: expires}
	e.lastUsed.Store(lastUsed)
	s.auth.put(hash, e)
	s.touchToken(ctx, p.TokenID, &e.lastUsed, now)
	return copyPrincipal(p), nil
}

func badToken() error {
	return allot.Errorf(allot.EUnauthorized, "The access token is not valid (unknown, revoked or expired). Create one with POST /allot/v1/apiClients or 'allot token create'.")
}

// loadPrincipal reads the principal of a token hash from the database; it
// returns the token's expiry and last use (unix ms) too.
func (s *Store) loadPrincipal(ctx context.Context, hash string, now int64) (_ *store.Principal, expires, lastUsed int64, err error) {
	var p store.Principal
	var tenantID, ownerID int64
	var scopes, ownerKind string
	err = s.queryRow(ctx, `SELECT id, guid, tenant_id, name, scopes, owner_kind, owner_id, expires_at, last_used_at
		FROM tokens WHERE hash = ? AND revoked_at = 0`, hash).
		Scan(&p.TokenID, &p.GUID, &tenantID, &p.Name, &scopes, &ownerKind, &ownerID, &expires, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires > 0 && expires <= now) {
		return nil, 0, 0, badToken()
	}
	if err != nil {
		return nil, 0, 0, err
	}
	p.Kind = store.PrincipalClient
	if scopes != "" {
		p.Scopes = strings.Fields(scopes)
	}
	if p.Tenant, err = s.Tenant(ctx, tenantID); err != nil {
		return nil, 0, 0, err
	}
	if p.Roles, err = s.rolesOf(ctx, store.PrincipalClient, p.TokenID); err != nil {
		return nil, 0, 0, err
	}
	if p.Owners, err = s.ownerChain(ctx, tenantID, ownerKind, ownerID); err != nil {
		return nil, 0, 0, err
	}
	p.Role = roleNames(p.Roles)
	return &p, expires, lastUsed, nil
}

// touchToken refreshes the token's last-used time when the one known is a
// minute old or more; of concurrent requests, one writes.
func (s *Store) touchToken(ctx context.Context, id int64, lastUsed *atomic.Int64, now int64) {
	old := lastUsed.Load()
	if now-old < lastUseStep || !lastUsed.CompareAndSwap(old, now) {
		return
	}
	// Best effort: a failed refresh of the last-used time must not fail
	// the request.
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`),
		now, id, now-lastUseStep+1); err != nil && ctx.Err() == nil {
		s.log.Warn("refresh token last-used time", "err", err)
	}
}

// ownerChain returns the role sets that cap an API client created by
// (kind, id): the creator's roles, then its creator's, and so on. A creator
// that no longer exists, is disabled or revoked caps to nothing (an empty set).
// A client creator without roles of its own adds no set: it is capped by its
// own creator, next in the chain.
func (s *Store) ownerChain(ctx context.Context, tenantID int64, kind string, id int64) ([][]string, error) {
	var out [][]string
	for depth := 0; kind != "" && depth < 8; depth++ {
		switch kind {
		case store.PrincipalUser:
			var enabled int
			err := s.queryRow(ctx, `SELECT account_enabled FROM users WHERE id = ? AND tenant_id = ?`, id, tenantID).Scan(&enabled)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && enabled != 1) {
				return append(out, []string{}), nil
			}
			if err != nil {
				return nil, err
			}
			roles, err := s.rolesOf(ctx, store.PrincipalUser, id)
			if err != nil {
				return nil, err
			}
			return append(out, nonNilRoles(roles)), nil
		case store.PrincipalClient:
			var revoked, expires, next int64
			var nextKind string
			err := s.queryRow(ctx, `SELECT revoked_at, expires_at, owner_kind, owner_id FROM tokens WHERE id = ? AND tenant_id = ?`, id, tenantID).
				Scan(&revoked, &expires, &nextKind, &next)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && (revoked != 0 || (expires > 0 && expires <= nowMS()))) {
				return append(out, []string{}), nil
			}
			if err != nil {
				return nil, err
			}
			roles, err := s.rolesOf(ctx, store.PrincipalClient, id)
			if err != nil {
				return nil, err
			}
			if len(roles) > 0 {
				out = append(out, roles)
			}
			kind, id = nextKind, next
		default:
			return append(out, []string{}), nil
		}
	}
	if kind != "" {
		return append(out, []string{}), nil // too deep: no rights
	}
	return out, nil
}

func nonNilRoles(r []string) []string {
	if r == nil {
		return []string{}
	}
	return r
}

// rolesOf returns the role ids assigned to a principal.
func (s *Store) rolesOf(ctx context.Context, kind string, id int64) ([]string, error) {
	rows, err := s.query(ctx, `SELECT role_id FROM role_assignments WHERE principal_kind = ? AND principal_id = ? ORDER BY role_id`, kind, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- API clients ----

// APIClient is an API client: a named token with scopes. Its secret is shown
// once when it is created and never stored.
type APIClient struct {
	ID          int64
	GUID        string
	DisplayName string
	Scopes      []string // nil: an operator token, limited by its roles only
	Roles       []string // role ids assigned to the client itself
	OwnerKind   string   // store.PrincipalUser, store.PrincipalClient or "" (operator)
	OwnerGUID   string
	OwnerName   string
	CreatedAt   time.Time
	LastUsedAt  time.Time // zero: never used
	ExpiresAt   time.Time // zero: does not expire
	RevokedAt   time.Time // zero: active
}

// NewAPIClient describes an API client to create.
type NewAPIClient struct {
	DisplayName string
	Scopes      []string
	ExpiresAt   time.Time // zero: does not expire
}

// CreateAPIClient creates an API client owned by the principal p (the
// client's rights never exceed p's: the HTTP layer checks the scopes against
// p's rights, and every use re-checks p's roles) and returns it with its raw
// token, which is never stored.
func (s *Store) CreateAPIClient(ctx context.Context, p *store.Principal, n NewAPIClient) (*APIClient, string, error) {
	n.DisplayName = strings.TrimSpace(n.DisplayName)
	if n.DisplayName == "" || len(n.DisplayName) > 256 {
		return nil, "", allot.Errorf(allot.EInvalid, "displayName is required (at most 256 characters).")
	}
	if len(n.Scopes) == 0 {
		return nil, "", allot.Errorf(allot.EInvalid, "scopes is required: the Graph permissions the client needs, such as LicenseAssignment.ReadWrite.All.")
	}
	raw := NewToken()
	c := &APIClient{GUID: uuid.NewString(), DisplayName: n.DisplayName, Scopes: n.Scopes, ExpiresAt: n.ExpiresAt,
		OwnerKind: p.Kind, OwnerGUID: p.GUID, OwnerName: p.Name}
	ownerID := p.UserID
	if p.Kind == store.PrincipalClient {
		ownerID = p.TokenID
	}
	var exp int64
	if !n.ExpiresAt.IsZero() {
		exp = n.ExpiresAt.UnixMilli()
	}
	err := s.write(ctx, func(tx *tx) error {
		c.CreatedAt = msTime(tx.now)
		if err := tx.queryRow(`INSERT INTO tokens (tenant_id, hash, name, role, created_at, guid, scopes, owner_kind, owner_id, expires_at)
			VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?) RETURNING id`, p.Tenant.ID, hashToken(raw), c.DisplayName, tx.now, c.GUID,
			strings.Join(n.Scopes, " "), p.Kind, ownerID, exp).Scan(&c.ID); err != nil {
			return err
		}
		changes := []allot.Change{{Property: "scopes", New: strings.Join(n.Scopes, " ")}}
		if exp > 0 {
			changes = append(changes, allot.Change{Property: "expiresDateTime", New: n.ExpiresAt.UTC().Format(time.RFC3339)})
		}
		return tx.audit(p.Tenant.ID, p.Actor(), allot.AuditEvent{Category: catApps, Activity: allot.ActCreateToken,
			TargetKind: "ApiClient", TargetID: c.GUID, TargetName: c.DisplayName, Changes: changes})
	})
	if err != nil {
		return nil, "", err
	}
	return c, raw, nil
}

const clientCols = `t.id, t.guid, t.name, t.scopes, t.owner_kind, t.owner_id, t.created_at, t.last_used_at, t.expires_at, t.revoked_at`

// APIClients lists the tenant's API clients, oldest first. With owner set
// (a person or client principal), only the clients it created.
func (s *Store) APIClients(ctx context.Context, tenantID int64, owner *store.Principal) ([]*APIClient, error) {
	q := `SELECT ` + clientCols + ` FROM tokens t WHERE t.tenant_id = ?`
	args := []any{tenantID}
	if owner != nil {
		id := owner.UserID
		if owner.Kind == store.PrincipalClient {
			id = owner.TokenID
		}
		q += ` AND t.owner_kind = ? AND t.owner_id = ?`
		args = append(args, owner.Kind, id)
	}
	rows, err := s.query(ctx, q+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, err
	}
	out, err := s.scanClients(ctx, rows)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// APIClientByGUID returns one API client of the tenant.
func (s *Store) APIClientByGUID(ctx context.Context, tenantID int64, guid string) (*APIClient, error) {
	rows, err := s.query(ctx, `SELECT `+clientCols+` FROM tokens t WHERE t.tenant_id = ? AND t.guid = ?`, tenantID, strings.ToLower(guid))
	if err != nil {
		return nil, err
	}
	out, err := s.scanClients(ctx, rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound("API client", guid)
	}
	return out[0], nil
}

type ownerRef struct {
	kind string
	id   int64
}

func (s *Store) scanClients(ctx context.Context, rows *sql.Rows) ([]*APIClient, error) {
	defer rows.Close()
	var out []*APIClient
	owners := map[*APIClient]ownerRef{}
	for rows.Next() {
		var c APIClient
		var scopes string
		var ownerID, created, used, exp, revoked int64
		if err := rows.Scan(&c.ID, &c.GUID, &c.DisplayName, &scopes, &c.OwnerKind, &ownerID, &created, &used, &exp, &revoked); err != nil {
			return nil, err
		}
		if scopes != "" {
			c.Scopes = strings.Fields(scopes)
		}
		c.CreatedAt = msTime(created)
		if used > 0 {
			c.LastUsedAt = msTime(used)
		}
		if exp > 0 {
			c.ExpiresAt = msTime(exp)
		}
		if revoked > 0 {
			c.RevokedAt = msTime(revoked)
		}
		owners[&c] = ownerRef{c.OwnerKind, ownerID}
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for _, c := range out {
		var err error
		if c.Roles, err = s.rolesOf(ctx, store.PrincipalClient, c.ID); err != nil {
			return nil, err
		}
		o := owners[c]
		switch o.kind {
		case store.PrincipalUser:
			err = s.queryRow(ctx, `SELECT guid, upn FROM users WHERE id = ?`, o.id).Scan(&c.OwnerGUID, &c.OwnerName)
		case store.PrincipalClient:
			err = s.queryRow(ctx, `SELECT guid, name FROM tokens WHERE id = ?`, o.id).Scan(&c.OwnerGUID, &c.OwnerName)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return out, nil
}

// RevokeAPIClient revokes an API client: its token stops working at once.
// Revoking the tenant's last Global Administrator is refused.
func (s *Store) RevokeAPIClient(ctx context.Context, a allot.Actor, tenantID int64, guid string) error {
	return s.write(ctx, func(tx *tx) error {
		var id, revoked int64
		var name string
		err := tx.queryRow(`SELECT id, name, revoked_at FROM tokens WHERE tenant_id = ? AND guid = ?`, tenantID, strings.ToLower(guid)).
			Scan(&id, &name, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("API client", guid)
		}
		if err != nil {
			return err
		}
		if revoked != 0 {
			return nil
		}
		if err := tx.refuseLastGlobalAdmin(tenantID, store.PrincipalClient, id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE tokens SET revoked_at = ? WHERE id = ?`, tx.now, id); err != nil {
			return err
		}
		tx.authDirty = true
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catApps, Activity: ActRevokeToken, TargetKind: "ApiClient",
			TargetID: guid, TargetName: name})
	})
}

// ---- role assignments ----

// RoleAssignment is one directory role held by a user or an API client.
type RoleAssignment struct {
	ID            int64
	GUID          string
	PrincipalKind string
	PrincipalID   int64
	PrincipalGUID string
	PrincipalName string
	RoleID        string
	CreatedAt     time.Time
}

// RoleAssignmentFilter selects role assignments; empty fields match all.
type RoleAssignmentFilter struct {
	PrincipalGUID string
	RoleID        string
}

const raSelect = `SELECT r.id, r.guid, r.principal_kind, r.principal_id, r.role_id, r.created_at,
	COALESCE(u.guid, t.guid, ''), COALESCE(u.upn, t.name, '')
	FROM role_assignments r
	LEFT JOIN users u ON r.principal_kind = 'user' AND u.id = r.principal_id
	LEFT JOIN tokens t ON r.principal_kind = 'client' AND t.id = r.principal_id
	WHERE r.tenant_id = ? AND (u.id IS NOT NULL OR (t.id IS NOT NULL AND t.revoked_at = 0))`

func scanRoleAssignments(rows *sql.Rows) ([]*RoleAssignment, error) {
	defer rows.Close()
	var out []*RoleAssignment
	for rows.Next() {
		var ra RoleAssignment
		var created int64
		if err := rows.Scan(&ra.ID, &ra.GUID, &ra.PrincipalKind, &ra.PrincipalID, &ra.RoleID, &created, &ra.PrincipalGUID, &ra.PrincipalName); err != nil {
			return nil, err
		}
		ra.CreatedAt = msTime(created)
		out = append(out, &ra)
	}
	return out, rows.Err()
}

// RoleAssignments lists the tenant's role assignments of existing users and
// active API clients, oldest first.
func (s *Store) RoleAssignments(ctx context.Context, tenantID int64, f RoleAssignmentFilter) ([]*RoleAssignment, error) {
	q := raSelect
	args := []any{tenantID}
	if f.RoleID != "" {
		q += ` AND r.role_id = ?`
		args = append(args, strings.ToLower(f.RoleID))
	}
	if f.PrincipalGUID != "" {
		q += ` AND (u.guid = ? OR t.guid = ?)`
		args = append(args, strings.ToLower(f.PrincipalGUID), strings.ToLower(f.PrincipalGUID))
	}
	rows, err := s.query(ctx, q+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, err
	}
	return scanRoleAssignments(rows)
}

// RoleAssignmentByGUID returns one role assignment of the tenant.
func (s *Store) RoleAssignmentByGUID(ctx context.Context, tenantID int64, guid string) (*RoleAssignment, error) {
	rows, err := s.query(ctx, raSelect+` AND r.guid = ?`, tenantID, strings.ToLower(guid))
	if err != nil {
		return nil, err
	}
	out, err := scanRoleAssignments(rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound("Role assignment", guid)
	}
	return out[0], nil
}

// PrincipalRef is a user or an API client of a tenant, found by id.
type PrincipalRef struct {
	Kind  string
	ID    int64
	GUID  string
	Name  string
	Roles []string
	// Enabled is false for a disabled user or a revoked or expired client.
	Enabled bool
}

// FindPrincipal resolves the id (GUID) of a user or API client of the tenant,
// or a userPrincipalName, with its roles.
func (s *Store) FindPrincipal(ctx context.Context, tenantID int64, ref string) (*PrincipalRef, error) {
	var pr PrincipalRef
	w, arg := userWhere(ref)
	var enabled int
	err := s.queryRow(ctx, `SELECT u.id, u.guid, u.upn, u.account_enabled FROM users u WHERE u.tenant_id = ? AND `+w, tenantID, arg).
		Scan(&pr.ID, &pr.GUID, &pr.Name, &enabled)
	if err == nil {
		pr.Kind, pr.Enabled = store.PrincipalUser, enabled == 1
	} else if errors.Is(err, sql.ErrNoRows) {
		var revoked, exp int64
		err = s.queryRow(ctx, `SELECT id, guid, name, revoked_at, expires_at FROM tokens WHERE tenant_id = ? AND guid = ?`, tenantID, strings.ToLower(ref)).
			Scan(&pr.ID, &pr.GUID, &pr.Name, &revoked, &exp)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && revoked != 0) {
			return nil, allot.Errorf(allot.ENotFound, "No user or API client '%s' in this tenant.", ref)
		}
		pr.Kind, pr.Enabled = store.PrincipalClient, exp == 0 || exp > nowMS()
	}
	if err != nil {
		return nil, err
	}
	if pr.Roles, err = s.rolesOf(ctx, pr.Kind, pr.ID); err != nil {
		return nil, err
	}
	return &pr, nil
}

// AddRoleAssignment gives the role (a template id) to the principal (a user
// or API client id, or a userPrincipalName). Only the HTTP layer knows who
// may grant what; the store refuses duplicates and unknown roles.
func (s *Store) AddRoleAssignment(ctx context.Context, a allot.Actor, tenantID int64, principalRef, roleID string) (*RoleAssignment, error) {
	roleID = strings.ToLower(strings.TrimSpace(roleID))
	if roleName(roleID) == "" {
		return nil, allot.Errorf(allot.EInvalid, "roleDefinitionId '%s' is not a role; GET /v1.0/roleManagement/directory/roleDefinitions lists them.", roleID)
	}
	pr, err := s.FindPrincipal(ctx, tenantID, principalRef)
	if err != nil {
		return nil, err
	}
	ra := &RoleAssignment{GUID: uuid.NewString(), PrincipalKind: pr.Kind, PrincipalID: pr.ID, PrincipalGUID: pr.GUID,
		PrincipalName: pr.Name, RoleID: roleID}
	err = s.write(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM role_assignments WHERE tenant_id = ? AND principal_kind = ? AND principal_id = ? AND role_id = ?`,
			tenantID, pr.Kind, pr.ID, roleID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return allot.Errorf(allot.EConflict, "'%s' already holds the role %s.", pr.Name, roleName(roleID))
		}
		ra.CreatedAt = msTime(tx.now)
		if err := tx.queryRow(`INSERT INTO role_assignments (guid, tenant_id, principal_kind, principal_id, role_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, ra.GUID, tenantID, pr.Kind, pr.ID, roleID, tx.now).Scan(&ra.ID); err != nil {
			return err
		}
		tx.authDirty = true
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catRoles, Activity: ActAddRoleMember, TargetKind: principalKind(pr.Kind),
			TargetID: pr.GUID, TargetName: pr.Name, Changes: []allot.Change{
				{Property: "Role.DisplayName", New: roleName(roleID)}, {Property: "Role.TemplateId", New: roleID}}})
	})
	if err != nil {
		return nil, err
	}
	return ra, nil
}

func principalKind(k string) string {
	if k == store.PrincipalUser {
		return "User"
	}
	return "ApiClient"
}

// RemoveRoleAssignment removes a role assignment. Removing the tenant's last
// Global Administrator is refused.
func (s *Store) RemoveRoleAssignment(ctx context.Context, a allot.Actor, tenantID int64, guid string) error {
	ra, err := s.RoleAssignmentByGUID(ctx, tenantID, guid)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *tx) error {
		if ra.RoleID == store.RoleIDGlobalAdmin {
			if err := tx.refuseLastGlobalAdmin(tenantID, ra.PrincipalKind, ra.PrincipalID); err != nil {
				return err
			}
		}
		res, err := tx.exec(`DELETE FROM role_assignments WHERE id = ? AND tenant_id = ?`, ra.ID, tenantID)
		if err != nil {
			return err
		}
		tx.authDirty = true
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Role assignment", guid)
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catRoles, Activity: ActRemoveRoleMember, TargetKind: principalKind(ra.PrincipalKind),
			TargetID: ra.PrincipalGUID, TargetName: ra.PrincipalName, Changes: []allot.Change{
				{Property: "Role.DisplayName", Old: roleName(ra.RoleID)}, {Property: "Role.TemplateId", Old: ra.RoleID}}})
	})
}

// IsLastGlobalAdmin tells whether the principal is the only active Global
// Administrator of the tenant (so it must not be removed, disabled, deleted
// or revoked).
func (s *Store) IsLastGlobalAdmin(ctx context.Context, tenantID int64, kind string, id int64) (bool, error) {
	var last bool
	err := s.write(ctx, func(tx *tx) error {
		err := tx.refuseLastGlobalAdmin(tenantID, kind, id)
		if allot.ErrorCode(err) == allot.EConflict {
			last = true
			return nil
		}
		return err
	})
	return last, err
}

// refuseLastGlobalAdmin answers EConflict when (kind, id) is the tenant's
// only active Global Administrator: an enabled user, or an operator API
// client that is neither revoked nor expired (clients created by a person
// count through that person). It first writes the tenant's row, so that on
// PostgreSQL two transactions removing two different Global Administrators
// conflict and one retries instead of both succeeding.
func (t *tx) refuseLastGlobalAdmin(tenantID int64, kind string, id int64) error {
	if _, err := t.exec(`UPDATE tenants SET display_name = display_name WHERE id = ?`, tenantID); err != nil {
		return err
	}
	var held, others int
	if err := t.queryRow(`SELECT COUNT(*) FROM role_assignments WHERE tenant_id = ? AND role_id = ? AND principal_kind = ? AND principal_id = ?`,
		tenantID, store.RoleIDGlobalAdmin, kind, id).Scan(&held); err != nil {
		return err
	}
	if held == 0 {
		return nil
	}
	if err := t.queryRow(`SELECT COUNT(*) FROM role_assignments r
		LEFT JOIN users u ON r.principal_kind = 'user' AND u.id = r.principal_id AND u.account_enabled = 1
		LEFT JOIN tokens k ON r.principal_kind = 'client' AND k.id = r.principal_id AND k.revoked_at = 0
			AND k.owner_kind = '' AND (k.expires_at = 0 OR k.expires_at > ?)
		WHERE r.tenant_id = ? AND r.role_id = ? AND NOT (r.principal_kind = ? AND r.principal_id = ?)
			AND (u.id IS NOT NULL OR k.id IS NOT NULL)`,
		t.now, tenantID, store.RoleIDGlobalAdmin, kind, id).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return allot.Errorf(allot.EConflict, "This is the tenant's last Global Administrator; assign the role to someone else first.")
	}
	return nil
}

// deleteUserAuth removes what access control keeps of a deleted user: role
// assignments, password, second factor, sessions and single sign-on links.
func (t *tx) deleteUserAuth(userID int64) error {
	t.authDirty = true
	for _, q := range []string{
		`DELETE FROM role_assignments WHERE principal_kind = 'user' AND principal_id = ?`,
		`DELETE FROM user_credentials WHERE user_id = ?`,
		`DELETE FROM user_totp WHERE user_id = ?`,
		`DELETE FROM sessions WHERE user_id = ?`,
		`DELETE FROM external_identities WHERE user_id = ?`,
	} {
		if _, err := t.exec(q, userID); err != nil {
			return err
		}
	}
	return nil
}
