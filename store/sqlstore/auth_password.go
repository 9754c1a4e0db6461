package sqlstore

// People's passwords: Argon2id with OWASP's parameters, stored as PHC strings
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>), never in plain text.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"allot"
)

// Argon2id parameters: OWASP Password Storage Cheat Sheet, first option
// (m=19 MiB, t=2, p=1), 16-byte salt, 32-byte key.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Password length bounds (NIST SP 800-63B: at least 8, allow long ones).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// HashPassword returns the Argon2id PHC string of a password.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// verifyPassword tells whether pw matches the PHC string, in constant time.
func verifyPassword(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when the account does not exist, so that a
// failed sign-in takes as long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("allot-dummy-password-for-timing")
	return h
})

// ValidatePassword checks a new password's length.
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return allot.Errorf(allot.EInvalid, "The password is too short: use at least %d characters.", MinPasswordLen)
	}
	if n > MaxPasswordLen || len(pw) > 4*MaxPasswordLen {
		return allot.Errorf(allot.EInvalid, "The password is too long: use at most %d characters.", MaxPasswordLen)
	}
	if strings.TrimSpace(pw) == "" {
		return allot.Errorf(allot.EInvalid, "The password must not be blank.")
	}
	return nil
}

// SetPassword sets a user's password (the user by id or userPrincipalName)
// and ends the user's sessions. The audit event never contains the password.
func (s *Store) SetPassword(ctx context.Context, a allot.Actor, tenantID int64, userRef, pw string) error {
	if err := ValidatePassword(pw); err != nil {
		return err
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *tx) error {
		u, err := tx.user(tenantID, userRef)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM user_credentials WHERE user_id = ?`, u.ID); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO user_credentials (user_id, tenant_id, password_hash, updated_at) VALUES (?, ?, ?, ?)`,
			u.ID, tenantID, hash, tx.now); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`, tx.now, u.ID); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catUsers, Activity: ActResetPassword, TargetKind: "User",
			TargetID: u.GUID, TargetName: u.UserPrincipalName})
	})
}

// HasPassword tells whether the user has a password set.
func (s *Store) HasPassword(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM user_credentials WHERE user_id = ?`, userID).Scan(&n)
	return n > 0, err
}

// ErrBadCredentials is the one answer to every failed password check, so
// that it does not tell whether the account exists.
var ErrBadCredentials = allot.Errorf(allot.EUnauthorized, "The user name or password is incorrect.")

// CheckPassword returns the enabled user of the tenant whose
// userPrincipalName and password match, or ErrBadCredentials. It does the
// same Argon2id work whether or not the account exists.
func (s *Store) CheckPassword(ctx context.Context, tenantID int64, userName, pw string) (*allot.User, error) {
	if len(pw) > 4*MaxPasswordLen || len(userName) > 256 {
		return nil, ErrBadCredentials
	}
	var hash string
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.upn_key = ?`,
		tenantID, allot.NormalizeKey(userName)))
	if err == nil {
		err = s.queryRow(ctx, `SELECT password_hash FROM user_credentials WHERE user_id = ?`, u.ID).Scan(&hash)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if hash == "" {
		verifyPassword(dummyHash(), pw)
		return nil, ErrBadCredentials
	}
	if !verifyPassword(hash, pw) || !u.AccountEnabled {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// RecordSignInFailure writes the audit event of a failed sign-in. userName is
// what was typed (cut to 113 characters); the password is never recorded.
func (s *Store) RecordSignInFailure(ctx context.Context, tenantID int64, userName, method, address, reason string) error {
	if len(userName) > 113 {
		userName = userName[:113]
	}
	return s.write(ctx, func(tx *tx) error {
		return tx.audit(tenantID, allot.Actor{Kind: "user", ID: "", Name: userName}, allot.AuditEvent{Category: catSignIn,
			Activity: ActSignInFailed, Result: "failure", ResultReason: reason, TargetKind: "User", TargetName: userName,
			Changes: []allot.Change{{Property: "authenticationMethod", New: method}, {Property: "ipAddress", New: address}}})
	})
}

// PasswordTenants returns the ids of at most limit tenants, oldest first,
// that have an account with the userPrincipalName and a password: where a
// sign-in that names no tenant belongs. It reads one index entry per
// tenant.
func (s *Store) PasswordTenants(ctx context.Context, userName string, limit int) ([]int64, error) {
	if len(userName) > 256 {
		return nil, nil
	}
	rows, err := s.query(ctx, `SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM users u JOIN user_credentials c ON c.user_id = u.id
		WHERE u.tenant_id = t.id AND u.upn_key = ?) ORDER BY t.id LIMIT ?`, allot.NormalizeKey(userName), limit)
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
