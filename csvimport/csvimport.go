// Package csvimport reads the CSV files that admins feed to `allot import`:
// a header row with an Email column (other columns are ignored), UTF-8 with
// or without a byte-order mark, comma-, semicolon- or tab-separated. Parse
// never panics: malformed input gives an *Error that names the line and says
// what to fix.
package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits of what Parse accepts.
const (
	DefaultMaxRows  = 1_000_000
	DefaultMaxBytes = 256 << 20
	// MaxAddressLen is the longest address accepted (RFC 5321: 254 for a path;
	// userPrincipalNames are shorter still).
	MaxAddressLen = 320
)

// Options tune Parse; the zero value means the defaults.
type Options struct {
	// Column is the header of the address column; "" means "Email". It is
	// matched case-insensitively, ignoring spaces, dashes and underscores
	// ("E-mail", "email_address" do not match "Email": only the name itself).
	Column   string
	MaxRows  int   // 0: DefaultMaxRows
	MaxBytes int64 // 0: DefaultMaxBytes
}

// Row is one data row: its line in the file and its address, trimmed.
type Row struct {
	Line  int
	Email string
}

// File is a parsed CSV file.
type File struct {
	Header    []string
	Column    int  // index of the address column in Header
	Delimiter rune // ',', ';' or '\t'
	Rows      []Row
}

// Error is a problem with the file: where and what.
type Error struct {
	Line int // 0 when the problem is the whole file
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func errorf(line int, format string, args ...any) *Error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse reads a CSV file with a header row.
func Parse(r io.Reader, o Options) (*File, error) {
	if o.Column == "" {
		o.Column = "Email"
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	lr := &limitReader{r: r, left: o.MaxBytes}
	br := bufio.NewReaderSize(lr, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		br.Discard(len(utf8BOM))
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, errorf(0, "the file is UTF-16 (Excel's \"Unicode Text\"); save it as \"CSV UTF-8\" and try again")
	}
	if len(head) == 0 {
		if lr.err != nil {
			return nil, errorf(0, "reading the file failed: %v", lr.err)
		}
		return nil, errorf(0, "the file is empty; it needs a header row with a%s %s column", an(o.Column), o.Column)
	}
	delim := sniffDelimiter(br)
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	f := &File{Delimiter: delim, Column: -1}

	header, err := cr.Read()
	if err != nil {
		return nil, readErr(err, lr, 1, o.Column)
	}
	f.Header = make([]string, len(header))
	for i, h := range header {
		f.Header[i] = strings.TrimSpace(h)
	}
	want := normHeader(o.Column)
	for i, h := range f.Header {
		if normHeader(h) != want {
			continue
		}
		if f.Column >= 0 {
			return nil, errorf(1, "two columns are named %q (columns %d and %d); keep one", o.Column, f.Column+1, i+1)
		}
		f.Column = i
	}
	if f.Column < 0 {
		return nil, errorf(1, "there is no %s column; the header has %s. Name the column with the addresses %q (or choose it with --column)",
			o.Column, describeColumns(f.Header), o.Column)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readErr(err, lr, 0, o.Column)
		}
		if len(rec) == 0 {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(f.Rows) >= o.MaxRows {
			return nil, errorf(line, "the file has more than %d rows; split it into smaller files", o.MaxRows)
		}
		email := ""
		if f.Column < len(rec) {
			line, _ = cr.FieldPos(f.Column)
			email = strings.TrimSpace(rec[f.Column])
		} else if allBlank(rec) {
			continue // a row of empty cells, as spreadsheets write at the end
		}
		if email == "" && allBlank(rec) {
			continue
		}
		if !utf8.ValidString(email) {
			return nil, errorf(line, "the %s value is not valid UTF-8; save the file as \"CSV UTF-8\"", o.Column)
		}
		if len(email) > MaxAddressLen {
			return nil, errorf(line, "the %s value is %d characters long; an address has at most %d", o.Column, len(email), MaxAddressLen)
		}
		f.Rows = append(f.Rows, Row{Line: line, Email: email})
	}
	return f, nil
}

func an(s string) string {
	if s != "" && strings.ContainsRune("AEIOUaeiou", rune(s[0])) {
		return "n"
	}
	return ""
}

func allBlank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// normHeader compares headers case-insensitively and ignores surrounding
// quotes and spaces.
func normHeader(h string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(h), "\"' "))
}

func describeColumns(h []string) string {
	if len(h) == 0 || (len(h) == 1 && h[0] == "") {
		return "no column names"
	}
	var q []string
	for i, c := range h {
		if i == 10 {
			q = append(q, fmt.Sprintf("and %d more", len(h)-10))
			break
		}
		if len(c) > 40 {
			c = c[:40] + "…"
		}
		q = append(q, fmt.Sprintf("%q", c))
	}
	return plural(len(h), "column", "columns") + " " + strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// sniffDelimiter looks at the header line: semicolons or tabs and no commas
// mean a semicolon- or tab-separated file (as Excel writes in many locales).
func sniffDelimiter(br *bufio.Reader) rune {
	peek, _ := br.Peek(br.Size())
	if i := bytes.IndexAny(peek, "\r\n"); i >= 0 {
		peek = peek[:i]
	}
	c, s, t := bytes.Count(peek, []byte{','}), bytes.Count(peek, []byte{';'}), bytes.Count(peek, []byte{'\t'})
	switch {
	case c == 0 && s > 0 && s >= t:
		return ';'
	case c == 0 && t > 0:
		return '\t'
	}
	return ','
}

func readErr(err error, lr *limitReader, line int, col string) error {
	if lr.over {
		return errorf(0, "the file is larger than %d MiB; split it into smaller files", lr.max()>>20)
	}
	if lr.err != nil {
		return errorf(0, "reading the file failed: %v", lr.err)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			msg = "a quote (\") in a field that is not enclosed in quotes; enclose the field in quotes and double the quote (\"\")"
		case errors.Is(pe.Err, csv.ErrBareQuote):
			msg = "a bare quote (\") in a field that is not enclosed in quotes; enclose the field in quotes and double the quote (\"\")"
		case errors.Is(pe.Err, csv.ErrFieldCount):
			msg = "wrong number of fields"
		}
		l := pe.Line
		if l == 0 {
			l = line
		}
		if pe.StartLine != 0 && pe.StartLine != pe.Line && errors.Is(pe.Err, csv.ErrQuote) {
			return errorf(pe.StartLine, "a quoted field starting here is never closed (reached line %d); check the quotes", pe.Line)
		}
		return errorf(l, "%s (column %d)", msg, pe.Column)
	}
	if err == io.EOF {
		return errorf(0, "the file is empty; it needs a header row with a%s %s column", an(col), col)
	}
	return errorf(line, "%v", err)
}

// limitReader fails once more than left bytes were read.
type limitReader struct {
	r    io.Reader
	left int64
	read int64
	over bool
	err  error
}

func (l *limitReader) max() int64 { return l.read + l.left }

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells whether the file is longer than allowed.
		var one [1]byte
		n, _ := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, errors.New("file too large")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}
