package sqlstore

// Search-as-you-type suggestions: the users whose display name or user
// name starts with what was typed, found through their indexes.

import (
	"context"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"allot"
)

// maxCaseVariants bounds the index ranges one suggestion reads for the
// display name: each letter typed doubles them (upper and lower case).
const maxCaseVariants = 32

// SuggestUsers returns up to top of the tenant's users whose display name
// or userPrincipalName starts with text, ignoring case (ASCII case, as the
// users search), ordered by display name. Unlike SearchUsers it never walks
// the tenant: each case variant of the typed prefix is one range of the
// display-name index, and the user name one range of its own, so a rare
// prefix on a million users answers as fast as a common one. It does not
// look at mail, given name or surname.
func (s *Store) SuggestUsers(ctx context.Context, tenantID int64, text string, top int) ([]*allot.User, error) {
	text = strings.TrimSpace(text)
	if text == "" || top <= 0 {
		return nil, nil
	}
	seen := map[int64]bool{}
	var out []*allot.User
	add := func(query string, args ...any) error {
		users, err := s.readUsers(ctx, query, args...)
		for _, u := range users {
			if !seen[u.ID] {
				seen[u.ID] = true
				out = append(out, u)
			}
		}
		return err
	}
	like := likePrefix(strings.ToLower(text))
	op := "LIKE"
	if s.engine == Postgres {
		op = "ILIKE"
	}
	for _, v := range caseVariants(text, maxCaseVariants) {
		if err := add(`SELECT `+userCols+` FROM users u`+s.indexedBy("users_tenant_name")+` WHERE u.tenant_id = ? AND u.display_name >= ? AND u.display_name < ?
			AND u.display_name `+op+` ? ESCAPE '\' ORDER BY u.display_name, u.id LIMIT ?`, tenantID, v, v+prefixEnd, like, top); err != nil {
			return nil, err
		}
	}
	key := allot.NormalizeKey(text)
	if err := add(`SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.upn_key >= ? AND u.upn_key < ? ORDER BY u.upn_key LIMIT ?`,
		tenantID, key, key+prefixEnd, top); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].DisplayName != out[j].DisplayName {
			return out[i].DisplayName < out[j].DisplayName
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(len(out), top)], nil
}

// prefixEnd follows every string that starts with a prefix, in the byte
// (and "C" collation) order: the prefix's range is [p, p+prefixEnd).
const prefixEnd = string(utf8.MaxRune)

// caseVariants returns the prefixes of text that differ only in the ASCII
// case of its letters, as many leading letters as keep them at most max
// (the prefixes end before the next letter, or before a non-ASCII one; the
// LIKE filter checks the rest without regard to case). Fewer letters mean
// wider ranges, never missed users.
func caseVariants(text string, max int) []string {
	runes := []rune(strings.ToLower(text))
	var letters []int
	for i, r := range runes {
		if r >= utf8.RuneSelf && unicode.IsLetter(r) {
			runes = runes[:i] // its case is left to the filter
			break
		}
		if r < utf8.RuneSelf && unicode.IsLetter(r) {
			if 1<<(len(letters)+1) > max {
				// The prefix's fixed part ends before this letter.
				runes = runes[:i]
				break
			}
			letters = append(letters, i)
		}
	}
	out := make([]string, 0, 1<<len(letters))
	for mask := 0; mask < 1<<len(letters); mask++ {
		v := append([]rune(nil), runes...)
		for b, i := range letters {
			if mask&(1<<b) != 0 {
				v[i] = unicode.ToUpper(v[i])
			}
		}
		out = append(out, string(v))
	}
	return out
}
