package sqlstore

// Browser sessions of people, and the links between single sign-on
// identities (OpenID Connect issuer and subject) and users. A session id is
// 256 random bits, sent only in a cookie, stored as its SHA-256.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"allot"
	"allot/store"
)

// SessionPolicy bounds a session's life.
type SessionPolicy struct {
	Lifetime time.Duration // absolute: from sign-in
	Idle     time.Duration // sliding: from the last request
}

// Session is a signed-in person's session.
type Session struct {
	ID        int64
	UserID    int64
	TenantID  int64
	ExpiresAt time.Time // the earlier of the absolute and idle limits
}

func newSessionSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession starts a session for the user after a successful sign-in by
// method ("password" or "oidc") from address, audits the sign-in, and returns
// the raw session secret for the cookie (never stored).
func (s *Store) CreateSession(ctx context.Context, u *allot.User, method, address string, pol SessionPolicy) (string, *Session, error) {
	raw := newSessionSecret()
	sess := &Session{UserID: u.ID, TenantID: u.TenantID}
	err := s.write(ctx, func(tx *tx) error {
		exp := tx.now + pol.Lifetime.Milliseconds()
		idle := min(exp, tx.now+pol.Idle.Milliseconds())
		sess.ExpiresAt = msTime(idle)
		if err := tx.queryRow(`INSERT INTO sessions (hash, tenant_id, user_id, method, created_at, expires_at, idle_until)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, hashToken(raw), u.TenantID, u.ID, method, tx.now, exp, idle).Scan(&sess.ID); err != nil {
			return err
		}
		// Old sessions of the user are of no use any more: drop the ended ones.
		if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = ? AND (revoked_at <> 0 OR expires_at <= ? OR idle_until <= ?)`,
			u.ID, tx.now, tx.now); err != nil {
			return err
		}
		return tx.audit(u.TenantID, allot.Actor{Kind: "user", ID: u.GUID, Name: u.UserPrincipalName}, allot.AuditEvent{
			Category: catSignIn, Activity: ActSignIn, TargetKind: "User", TargetID: u.GUID, TargetName: u.UserPrincipalName,
			Changes: []allot.Change{{Property: "authenticationMethod", New: method}, {Property: "ipAddress", New: address}}})
	})
	if err != nil {
		return "", nil, err
	}
	return raw, sess, nil
}

// SessionPrincipal returns the principal of a raw session secret: an enabled
// user of a live session, with the user's roles. It slides the session's idle
// limit forward (at most once a minute, to keep reads read-only).
func (s *Store) SessionPrincipal(ctx context.Context, raw string, pol SessionPolicy) (*store.Principal, error) {
	bad := allot.Errorf(allot.EUnauthorized, "Your session has ended or is not valid; sign in again.")
	if raw == "" || len(raw) > 128 {
		return nil, bad
	}
	var p store.Principal
	var tenantID, exp, idle int64
	var enabled int
	err := s.queryRow(ctx, `SELECT s.id, s.tenant_id, s.expires_at, s.idle_until, u.id, u.guid, u.upn, u.account_enabled
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
		WHERE s.hash = ? AND s.revoked_at = 0`, hashToken(raw)).
		Scan(&p.SessionID, &tenantID, &exp, &idle, &p.UserID, &p.GUID, &p.Name, &enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	now := nowMS()
	if now >= exp || now >= idle || enabled != 1 {
		return nil, bad
	}
	p.Kind = store.PrincipalUser
	if p.Tenant, err = s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	if p.Roles, err = s.rolesOf(ctx, store.PrincipalUser, p.UserID); err != nil {
		return nil, err
	}
	p.Role = roleNames(p.Roles)
	next := min(exp, now+pol.Idle.Milliseconds())
	if next-idle >= 60_000 {
		if _, err := s.w.ExecContext(ctx, s.q(`UPDATE sessions SET idle_until = ? WHERE id = ? AND idle_until < ?`), next, p.SessionID, next); err != nil && ctx.Err() == nil {
			s.log.Warn("slide session idle limit", "err", err)
		}
	}
	return &p, nil
}

// EndSession revokes a session (sign-out) and audits it.
func (s *Store) EndSession(ctx context.Context, p *store.Principal) error {
	return s.write(ctx, func(tx *tx) error {
		if _, err := tx.exec(`UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, tx.now, p.SessionID); err != nil {
			return err
		}
		return tx.audit(p.Tenant.ID, p.Actor(), allot.AuditEvent{Category: catSignIn, Activity: ActSignOut, TargetKind: "User",
			TargetID: p.GUID, TargetName: p.Name})
	})
}

// UserForIdentity returns the enabled user of the tenant that a single
// sign-on identity (issuer, subject) belongs to. The first sign-in links the
// identity to the user whose userPrincipalName is one of names (the verified
// email or the preferred user name); later sign-ins follow the link, so a
// changed email or userPrincipalName does not move the identity to another
// user.
func (s *Store) UserForIdentity(ctx context.Context, tenantID int64, issuer, subject string, names []string) (*allot.User, error) {
	none := allot.Errorf(allot.EForbidden, "No enabled allot user matches this single sign-on account; ask an administrator to create a user whose userPrincipalName is your email address.")
	var u *allot.User
	err := s.write(ctx, func(tx *tx) error {
		var uid int64
		err := tx.queryRow(`SELECT user_id FROM external_identities WHERE issuer = ? AND subject = ? AND tenant_id = ?`, issuer, subject, tenantID).Scan(&uid)
		if err == nil {
			u, err = scanUser(tx.queryRow(`SELECT `+userCols+` FROM users u WHERE u.id = ? AND u.tenant_id = ?`, uid, tenantID))
			if errors.Is(err, sql.ErrNoRows) {
				return none
			}
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, n := range names {
			n = strings.TrimSpace(n)
			if n == "" || !strings.Contains(n, "@") {
				continue
			}
			u, err = scanUser(tx.queryRow(`SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.upn_key = ?`, tenantID, allot.NormalizeKey(n)))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			// A user is linked to at most one identity of an issuer.
			var linked int
			if err := tx.queryRow(`SELECT COUNT(*) FROM external_identities WHERE issuer = ? AND user_id = ?`, issuer, u.ID).Scan(&linked); err != nil {
				return err
			}
			if linked > 0 {
				u = nil
				return none
			}
			_, err = tx.exec(`INSERT INTO external_identities (issuer, subject, tenant_id, user_id, created_at) VALUES (?, ?, ?, ?, ?)`,
				issuer, subject, tenantID, u.ID, tx.now)
			return err
		}
		return none
	})
	if err != nil {
		return nil, err
	}
	if u == nil || !u.AccountEnabled {
		return nil, none
	}
	return u, nil
}
