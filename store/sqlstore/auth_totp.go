package sqlstore

// The optional second factor of local (password) accounts: RFC 6238 TOTP.
// The secret is answered once, when enrolment starts, and never again: it
// stays in user_totp, is never logged nor put in an audit event.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"allot"
	"allot/internal/totp"
)

// Audit activities of the second factor.
const (
	ActTOTPBegin   = "Begin authenticator app registration"
	ActTOTPConfirm = "Register authenticator app"
	ActTOTPDisable = "Remove authenticator app"
)

// ErrTOTPWrong answers a one-time code that is wrong, expired or already used.
var ErrTOTPWrong = allot.Errorf(allot.EInvalid, "The code is wrong, expired or already used: type the current 6-digit code from the authenticator app.")

// BeginTOTP starts (or starts again) the enrolment of the user's
// authenticator app and returns the new base32 secret. The user must have a
// password and no confirmed second factor.
func (s *Store) BeginTOTP(ctx context.Context, a allot.Actor, tenantID int64, userRef string) (string, error) {
	secret, err := totp.NewSecret()
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(tx *tx) error {
		u, err := tx.user(tenantID, userRef)
		if err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM user_credentials WHERE user_id = ?`, u.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return allot.Errorf(allot.EInvalid, "Only an account that signs in with a password can add an authenticator app.")
		}
		on, err := tx.totpConfirmed(u.ID)
		if err != nil {
			return err
		}
		if on {
			return errTOTPOn
		}
		if _, err := tx.exec(`DELETE FROM user_totp WHERE user_id = ?`, u.ID); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO user_totp (user_id, tenant_id, secret, confirmed, last_step, updated_at) VALUES (?, ?, ?, 0, 0, ?)`,
			u.ID, tenantID, secret, tx.now); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catUsers, Activity: ActTOTPBegin, TargetKind: "User",
			TargetID: u.GUID, TargetName: u.UserPrincipalName})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

var errTOTPOn = allot.Errorf(allot.EConflict, "The authenticator app is already on for this account; turn it off first (DELETE /allot/v1/me/totp with a current code).")

func (t *tx) totpConfirmed(userID int64) (bool, error) {
	var c int64
	err := t.queryRow(`SELECT confirmed FROM user_totp WHERE user_id = ?`, userID).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return c == 1, err
}

// ConfirmTOTP turns the second factor on after a correct code from the
// enrolment begun by BeginTOTP.
func (s *Store) ConfirmTOTP(ctx context.Context, a allot.Actor, tenantID int64, userRef, code string, now time.Time) error {
	return s.write(ctx, func(tx *tx) error {
		u, err := tx.user(tenantID, userRef)
		if err != nil {
			return err
		}
		if err := tx.useCode(u.ID, 0, code, now); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE user_totp SET confirmed = 1, updated_at = ? WHERE user_id = ?`, tx.now, u.ID); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catUsers, Activity: ActTOTPConfirm, TargetKind: "User",
			TargetID: u.GUID, TargetName: u.UserPrincipalName})
	})
}

// DisableTOTP turns the second factor off; it needs a current code.
func (s *Store) DisableTOTP(ctx context.Context, a allot.Actor, tenantID int64, userRef, code string, now time.Time) error {
	return s.write(ctx, func(tx *tx) error {
		u, err := tx.user(tenantID, userRef)
		if err != nil {
			return err
		}
		if err := tx.useCode(u.ID, 1, code, now); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM user_totp WHERE user_id = ?`, u.ID); err != nil {
			return err
		}
		return tx.audit(tenantID, a, allot.AuditEvent{Category: catUsers, Activity: ActTOTPDisable, TargetKind: "User",
			TargetID: u.GUID, TargetName: u.UserPrincipalName})
	})
}

// useCode accepts code for the user's second factor in the state confirmed
// (0 pending, 1 on) and records its step, so that it is not accepted again;
// ErrTOTPWrong otherwise.
func (t *tx) useCode(userID, confirmed int64, code string, now time.Time) error {
	var secret string
	var c, last int64
	err := t.queryRow(`SELECT secret, confirmed, last_step FROM user_totp WHERE user_id = ?`, userID).Scan(&secret, &c, &last)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && c != confirmed) {
		if confirmed == 0 {
			return allot.Errorf(allot.EInvalid, "No authenticator app registration is waiting: start one with POST /allot/v1/me/totp.")
		}
		return allot.Errorf(allot.EInvalid, "The authenticator app is not on for this account.")
	}
	if err != nil {
		return err
	}
	step, ok := totp.Match(secret, code, now, last)
	if !ok {
		return ErrTOTPWrong
	}
	// Only one of two requests racing with the same code moves last_step.
	res, err := t.exec(`UPDATE user_totp SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrTOTPWrong
	}
	return nil
}

// TOTPEnabled tells whether the user's sign-in needs a one-time code.
func (s *Store) TOTPEnabled(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM user_totp WHERE user_id = ? AND confirmed = 1`, userID).Scan(&n)
	return n > 0, err
}

// CheckTOTP accepts a sign-in's one-time code for the user (once) or
// returns ErrTOTPWrong.
func (s *Store) CheckTOTP(ctx context.Context, userID int64, code string, now time.Time) error {
	return s.write(ctx, func(tx *tx) error { return tx.useCode(userID, 1, code, now) })
}
