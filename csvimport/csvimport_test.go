package csvimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func parse(t *testing.T, in string, o Options) (*File, error) {
	t.Helper()
	return Parse(strings.NewReader(in), o)
}

func emails(f *File) []string {
	var out []string
	for _, r := range f.Rows {
		out = append(out, r.Email)
	}
	return out
}

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		opt   Options
		want  []string
		lines []int
		delim rune
	}{
		{"plain", "Email\na@x.com\nb@x.com\n", Options{}, []string{"a@x.com", "b@x.com"}, []int{2, 3}, ','},
		{"bom and other columns", "\xef\xbb\xbfName,Email,Dept\nA, a@x.com ,S\r\nB,b@x.com,T", Options{}, []string{"a@x.com", "b@x.com"}, []int{2, 3}, ','},
		{"header case and spaces", " EMAIL ,x\na@x.com,1\n", Options{}, []string{"a@x.com"}, []int{2}, ','},
		{"semicolons", "Name;Email\nA;a@x.com\n", Options{}, []string{"a@x.com"}, []int{2}, ';'},
		{"tabs", "Name\tEmail\nA\ta@x.com\n", Options{}, []string{"a@x.com"}, []int{2}, '\t'},
		{"quoted with newline before", "Note,Email\n\"multi\nline\",a@x.com\nz,b@x.com\n", Options{}, []string{"a@x.com", "b@x.com"}, []int{3, 4}, ','},
		{"blank rows skipped", "Email,N\n,\n\na@x.com,1\n , \n", Options{}, []string{"a@x.com"}, []int{4}, ','},
		{"short row keeps empty email", "Name,Email\nA\nB,b@x.com\n", Options{}, []string{"", "b@x.com"}, []int{2, 3}, ','},
		{"other column", "mail\na@x.com\n", Options{Column: "Mail"}, []string{"a@x.com"}, []int{2}, ','},
		{"header only", "Email\n", Options{}, nil, nil, ','},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parse(t, c.in, c.opt)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := emails(f); strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("emails = %q, want %q", got, c.want)
			}
			for i, r := range f.Rows {
				if r.Line != c.lines[i] {
					t.Errorf("row %d line = %d, want %d", i, r.Line, c.lines[i])
				}
			}
			if f.Delimiter != c.delim {
				t.Errorf("delimiter %q, want %q", f.Delimiter, c.delim)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		opt  Options
		line int
		want string
	}{
		{"empty", "", Options{}, 0, "the file is empty"},
		{"missing column names the columns", "Name,Mail,Dept\nA,a@x.com,S\n", Options{}, 1, `there is no Email column; the header has 3 columns "Name", "Mail", "Dept"`},
		{"two email columns", "Email,email\na,b\n", Options{}, 1, "two columns are named"},
		{"bare quote", "Email\na\"b@x.com\n", Options{}, 2, "bare quote"},
		{"unclosed quote", "Email\n\"a@x.com\nb@x.com\n", Options{}, 2, "never closed"},
		{"utf16", "\xff\xfeE\x00m\x00", Options{}, 0, "UTF-16"},
		{"too many rows", "Email\na@x\nb@x\nc@x\n", Options{MaxRows: 2}, 4, "more than 2 rows"},
		{"too large", "Email\n" + strings.Repeat("a@x.com\n", 100), Options{MaxBytes: 64}, 0, "larger than"},
		{"huge field", "Email\n" + strings.Repeat("a", 400) + "@x.com\n", Options{}, 2, "characters long"},
		{"invalid utf8", "Email\n\xff\xfe@x.com\n", Options{}, 2, "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.in, c.opt)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
			if pe.Line != c.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, c.line, err)
			}
		})
	}
}

// TestRoundTrip writes random addresses with encoding/csv (which quotes as
// needed) and reads them back.
func TestRoundTrip(t *testing.T) {
	want := []string{"a@x.com", "with,comma@x.com", "with\"quote@x.com", "ünïcødé@x.com", "trailing@x.com"}
	for _, delim := range []rune{',', ';', '\t'} {
		var buf bytes.Buffer
		buf.Write(utf8BOM)
		w := csv.NewWriter(&buf)
		w.Comma = delim
		w.Write([]string{"Other", "Email"})
		for i, e := range want {
			w.Write([]string{strings.Repeat("x", i), e})
		}
		w.Flush()
		f, err := Parse(&buf, Options{})
		if err != nil {
			t.Fatalf("delim %q: %v", delim, err)
		}
		if got := emails(f); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("delim %q: got %q", delim, got)
		}
	}
}

// FuzzParse: whatever the bytes, Parse returns a result or an *Error with a
// message, never panics, and a result only holds trimmed, valid, bounded
// addresses on increasing lines.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"Email\na@x.com\n",
		"\xef\xbb\xbfName,Email\nA,a@x.com\r\n",
		"Name;Email\nA;\"a@x.com\"\n",
		"Email\n\"unterminated\n",
		"Email\na\"b\n",
		"\xff\xfeE\x00",
		"",
		"\n\n\n",
		"Email,Email\n",
		"Name\tEmail\nA\t b@x.com \n",
		"Email\n" + strings.Repeat("a", 1000) + "\n",
		"\"Em\"\"ail\",x\n1,2\n",
		"Email\n\"a\nb\",c\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(bytes.NewReader(data), Options{MaxRows: 1000, MaxBytes: 1 << 20})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("error %v (%T) is not a clear *Error", err, err)
			}
			return
		}
		if file.Column < 0 || file.Column >= len(file.Header) {
			t.Fatalf("column %d outside header %q", file.Column, file.Header)
		}
		last := 1
		for _, r := range file.Rows {
			if r.Line <= last {
				t.Fatalf("row line %d after %d", r.Line, last)
			}
			last = r.Line
			if r.Email != strings.TrimSpace(r.Email) || len(r.Email) > MaxAddressLen || !utf8.ValidString(r.Email) {
				t.Fatalf("bad email %q", r.Email)
			}
		}
	})
}
