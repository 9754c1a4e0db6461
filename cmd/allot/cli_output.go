package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

// Output formats of listings.
const (
	outTable = "table"
	outJSON  = "json"
	outCSV   = "csv"
)

// addOutput registers --output/-o on a command.
func addOutput(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "output", "o", outTable, "output format: table, json or csv")
	cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{outTable, outJSON, outCSV}, cobra.ShellCompDirectiveNoFileComp
	})
}

func checkOutput(f string) error {
	switch f {
	case outTable, outJSON, outCSV:
		return nil
	}
	return allot.Errorf(allot.EInvalid, "--output must be table, json or csv, not '%s'.", f)
}

// table is a listing: column headers and rows of cells.
type table struct {
	head []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// render writes a listing in the chosen format; v is what json shows.
func render(w io.Writer, format string, t *table, v any) error {
	switch format {
	case outJSON:
		return writeJSONOut(w, v)
	case outCSV:
		cw := csv.NewWriter(w)
		head := make([]string, len(t.head))
		for i, h := range t.head {
			head[i] = csvHeader(h)
		}
		cw.Write(head)
		for _, r := range t.rows {
			cw.Write(r)
		}
		cw.Flush()
		return cw.Error()
	}
	writeTable(w, t)
	return nil
}

// csvHeader turns "USAGE LOCATION" into "usageLocation".
func csvHeader(h string) string {
	parts := strings.Fields(strings.ToLower(h))
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

func writeTable(w io.Writer, t *table) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if t.head != nil {
		fmt.Fprintln(tw, strings.Join(t.head, "\t"))
	}
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// kv writes aligned "key: value" lines.
func kv(w io.Writer, pairs ...string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], pairs[i+1])
	}
	tw.Flush()
}

// cliError turns a client error into an allot error whose code decides the
// exit status; the message keeps the server's words and code.
func cliError(err error) error {
	if err == nil {
		return nil
	}
	var ae *allot.Error
	if errors.As(err, &ae) {
		return err
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		if errors.Is(err, context.Canceled) {
			return allot.Errorf("interrupted", "Interrupted; what was done before stays done.")
		}
		return &allot.Error{Code: allot.EUnavailable, Message: err.Error()}
	}
	msg := ce.Message
	if c := shownCode(ce); c != "" {
		msg += " (" + c + ")"
	}
	var code allot.Code
	switch {
	case ce.Status == 0:
		code = allot.EUnavailable
	case ce.Status == http.StatusUnauthorized:
		code = allot.EUnauthorized
		msg += " Sign in again with 'allot login'."
	case ce.Status == http.StatusForbidden:
		code = allot.EForbidden
	case ce.Status == http.StatusNotFound:
		code = allot.ENotFound
	case ce.Code == client.CodeLicenseLoss:
		code = allot.ELicenseLoss
	case ce.Status == http.StatusConflict:
		code = allot.EConflict
	case ce.Status == http.StatusRequestEntityTooLarge:
		code = allot.ETooLarge
	case ce.Status == http.StatusTooManyRequests:
		code = allot.ETooManyRequests
	case ce.Status >= 500:
		code = allot.EUnavailable
		if ce.RequestID != "" {
			msg += " [request-id " + ce.RequestID + "]"
		}
	case preciseRule(ce.Code):
		code = allot.Code(ce.Code) // a licensing code such as noSeatsAvailable
	default:
		code = allot.EInvalid
	}
	return &allot.Error{Code: code, Message: msg}
}

// preciseRule tells whether c, allot's precise code of a server error
// (error.details[0].code), names a rule of its own, such as a licensing
// code, rather than a general kind of bad request (invalid,
// unsupportedQuery, ...) or a Graph code of a server without details.
func preciseRule(c string) bool {
	switch allot.Code(c) {
	case "", allot.EInvalid, allot.ENotFound, allot.EConflict, allot.EUnauthorized, allot.EForbidden,
		allot.ETooLarge, allot.EUnsupportedMedia, allot.EUnknownSegment, allot.EMethodNotAllowed,
		allot.ETooManyRequests, allot.EUnavailable, allot.EInternal, allot.EUnsupportedQuery:
		return false
	}
	return !strings.HasPrefix(c, "Request_") && c != "BadRequest"
}

// shownCode is the code the CLI prints after a server's message: allot's
// precise code when it names a rule (noSeatsAvailable), otherwise Graph's
// top-level code (Request_BadRequest, InvalidAuthenticationToken), which
// scripts and Microsoft's docs know.
func shownCode(ce *client.Error) string {
	if preciseRule(ce.Code) || ce.GraphCode == "" {
		return ce.Code
	}
	return ce.GraphCode
}

// run wraps a command's function so that its errors carry exit codes, and
// checks the flags that markRequired names.
func run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if req := cmd.Annotations["allot:required"]; req != "" {
			for _, name := range strings.Split(req, ",") {
				if !cmd.Flags().Changed(name) {
					return allot.Errorf(allot.EInvalid, "--%s is required. See '%s --help'.", name, cmd.CommandPath())
				}
			}
		}
		return cliError(fn(cmd, args))
	}
}

// markRequired names flags that must be given. Unlike cobra's
// MarkFlagRequired, a missing one is an invalid-usage error (exit 2).
func markRequired(cmd *cobra.Command, names ...string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations["allot:required"] = strings.Join(names, ",")
}

// isTerminal tells whether f is a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a progress bar on a terminal (and nothing elsewhere).
type progress struct {
	w     io.Writer
	on    bool
	label string
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, label string) *progress {
	f, ok := w.(*os.File)
	on := ok && isTerminal(f) && os.Getenv("TERM") != "dumb"
	return &progress{w: w, on: on, label: label, start: time.Now()}
}

// set draws done of total (total 0: unknown); extra is shown after the counts.
func (p *progress) set(done, total int, extra string) {
	if !p.on {
		return
	}
	now := time.Now()
	if p.drawn && now.Sub(p.last) < 80*time.Millisecond && done != total {
		return
	}
	p.last = now
	p.drawn = true
	const width = 30
	bar := ""
	if total > 0 {
		n := done * width / total
		bar = "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "] "
	} else {
		spin := `|/-\`
		bar = "[" + string(spin[int(now.Sub(p.start)/(150*time.Millisecond))%4]) + "] "
	}
	line := fmt.Sprintf("\r%s %s%s", p.label, bar, countOf(done, total))
	if extra != "" {
		line += "  " + extra
	}
	fmt.Fprintf(p.w, "%s\x1b[K", line)
}

func (p *progress) done() {
	if p.on && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func countOf(done, total int) string {
	if total <= 0 {
		return thousands(done)
	}
	return thousands(done) + "/" + thousands(total)
}

// thousands formats n with thousands separators: 100000 → 100,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// prefixError puts words in front of an error's message, keeping its code.
func prefixError(prefix string, err error) error {
	var ae *allot.Error
	if errors.As(cliError(err), &ae) {
		return &allot.Error{Code: ae.Code, Message: prefix + ": " + allot.ErrorMessage(ae)}
	}
	return err
}
