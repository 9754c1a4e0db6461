package web

import (
	"context"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"allot"
)

// num formats n with thousands separators: 100000 → "100,000".
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// plural returns "1 user" or "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return num(n) + " " + many
}

// pct is the share of part in whole as a whole percentage, clamped to 0..100.
func pct(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	p := part * 100 / whole
	return max(0, min(100, p))
}

// barClass is the bar's class for a product's usage.
func barClass(p *allot.Product) string {
	switch {
	case p.EnabledUnits == 0 || p.ConsumedUnits >= p.EnabledUnits:
		return "bar full"
	case p.ConsumedUnits*10 >= p.EnabledUnits*9:
		return "bar high"
	}
	return "bar"
}

// barWidth is a CSS-free width class (0..100 in steps of 5) so that the
// strict Content-Security-Policy needs no inline style.
func barWidth(p *allot.Product) string {
	w := pct(p.ConsumedUnits, p.EnabledUnits)
	w = (w + 4) / 5 * 5
	if p.ConsumedUnits > 0 && w == 0 {
		w = 5
	}
	return "fill w" + strconv.Itoa(w)
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// query builds "?k=v&…" from pairs, skipping empty values.
func query(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Add(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// stateWords says a processing state in words.
func stateWords(s string) string {
	switch s {
	case allot.ProcessingQueued:
		return "Queued for processing"
	case allot.ProcessingInProgress:
		return "Processing in progress"
	case allot.ProcessingComplete, "":
		return "Processing complete"
	}
	return s
}

// errorWords names a Graph license error kind in words (plural subject).
func errorWords(kind string) string {
	switch kind {
	case allot.LicenseErrCount:
		return "wait for a seat (no seats left)"
	case allot.LicenseErrUsageLocation:
		return "have no or a prohibited usage location"
	case allot.LicenseErrDependency:
		return "lack a prerequisite product"
	case allot.LicenseErrMutuallyExclusive:
		return "hold a product that excludes it"
	case allot.LicenseErrUniqueness:
		return "have a uniqueness conflict"
	}
	return "failed for another reason"
}

// codeWords says a licensing code's effect in words (plural subject).
func codeWords(c string) string {
	switch allot.Code(c) {
	case allot.ENoSeats, allot.ESeatsReduced:
		return "would wait for seats"
	case allot.EUsageLocationNeeded:
		return "have no usage location"
	case allot.EUsageLocationDenied:
		return "are in a usage location the product does not allow"
	case allot.EPrerequisiteMissing:
		return "lack a prerequisite product"
	case allot.EMutuallyExclusive:
		return "hold a product that excludes it"
	case allot.EDataLocation:
		return "are in a data location where the product is not available"
	case allot.EOtherProductFailed:
		return "would fail because another product of the same group failed"
	}
	return "would fail (" + c + ")"
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// breakable renders a user name (or an address) with a line-break
// opportunity (<wbr>) after each "@" and before each ".", so that a narrow
// column wraps it there rather than inside a word.
func breakable(s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var b strings.Builder
		for i, r := range s {
			if r == '.' && i > 0 {
				b.WriteString("<wbr>")
			}
			b.WriteString(templ.EscapeString(string(r)))
			if r == '@' {
				b.WriteString("<wbr>")
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}
