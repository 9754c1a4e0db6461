// Package totp computes time-based one-time passwords (RFC 6238: HMAC-SHA-1,
// 30-second steps) for the optional second factor of password sign-in.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Period is the length of one step; Digits the length of a code.
const (
	Period = 30 * time.Second
	Digits = 6
)

// secretLen is the secret's size in bytes (RFC 4226 recommends 160 bits).
const secretLen = 20

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a fresh random secret, base32 without padding as
// authenticator apps read it.
func NewSecret() (string, error) {
	k := make([]byte, secretLen)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	return b32.EncodeToString(k), nil
}

// Step is the RFC 6238 time counter of t.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code is the HOTP value (RFC 4226) of key at counter, digits long.
func Code(key []byte, counter int64, digits int) string {
	m := hmac.New(sha1.New, key)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(counter))
	m.Write(c[:])
	h := m.Sum(nil)
	off := h[len(h)-1] & 0x0f
	v := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// Match returns the step (now's, the one before or the one after) whose
// 6-digit code of the base32 secret is code, and whether one is. Steps at
// or before last are refused, so that a code is used once.
func Match(secret, code string, now time.Time, last int64) (int64, bool) {
	key, err := b32.DecodeString(strings.ToUpper(secret))
	code = strings.TrimSpace(code)
	if err != nil || len(code) != Digits {
		return 0, false
	}
	cur := Step(now)
	for _, st := range []int64{cur - 1, cur, cur + 1} {
		if st > last && subtle.ConstantTimeCompare([]byte(Code(key, st, Digits)), []byte(code)) == 1 {
			return st, true
		}
	}
	return 0, false
}
