package odata

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// skipTokenVersion is the first byte of every encoded skip token.
const skipTokenVersion = 1

// skipTokenSumLen is how many bytes of SHA-256 guard a skip token.
const skipTokenSumLen = 8

// maxSkipTokenLen bounds the length of a token DecodeSkipToken will look at.
const maxSkipTokenLen = 64 << 10

// errSkipToken is the error for every token that cannot be decoded.
var errSkipToken = &Error{Message: "$skiptoken: the skip token is not valid; follow the @odata.nextLink of the previous response as is, or start again from the first page"}

// EncodeSkipToken turns an opaque keyset cursor, such as the sort key and id
// of the last row of a page, into a URL-safe token for $skiptoken. The token
// carries a checksum so that DecodeSkipToken detects garbled or edited tokens;
// it is not encrypted or signed, so it must not carry secrets, and callers that
// serve several listings should put something identifying the listing among
// the keys.
func EncodeSkipToken(keys ...string) string {
	buf := []byte{skipTokenVersion}
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
	}
	sum := sha256.Sum256(buf)
	buf = append(buf, sum[:skipTokenSumLen]...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// DecodeSkipToken returns the keys that EncodeSkipToken put into tok. A token
// that is empty, garbled, truncated or edited gives an *Error telling the
// caller to restart from the first page.
func DecodeSkipToken(tok string) ([]string, error) {
	if tok == "" || len(tok) > maxSkipTokenLen || strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return nil, errSkipToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < 1+skipTokenSumLen {
		return nil, errSkipToken
	}
	body, sum := raw[:len(raw)-skipTokenSumLen], raw[len(raw)-skipTokenSumLen:]
	want := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(sum, want[:skipTokenSumLen]) != 1 || body[0] != skipTokenVersion {
		return nil, errSkipToken
	}
	rest := body[1:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || n > uint64(len(rest)) {
		return nil, errSkipToken
	}
	rest = rest[w:]
	keys := make([]string, 0, n)
	for i := uint64(0); i < n; i++ {
		l, w := binary.Uvarint(rest)
		if w <= 0 || l > uint64(len(rest)-w) {
			return nil, errSkipToken
		}
		keys = append(keys, string(rest[w:w+int(l)]))
		rest = rest[w+int(l):]
	}
	if len(rest) != 0 {
		return nil, errSkipToken
	}
	return keys, nil
}
