package csvimport

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"allot/client"
)

// Results of a row, as the report names them.
const (
	Licensed        = client.ResultLicensed
	AlreadyLicensed = client.ResultAlreadyLicensed
	NotFound        = client.ResultNotFound
	Failed          = client.ResultFailed
)

// Row error codes the importer gives without asking the server.
const (
	CodeEmptyAddress   = "emptyAddress"
	CodeInvalidAddress = "invalidAddress"
)

// Outcome is what happened to one row.
type Outcome struct {
	Line              int    `json:"line"`
	Email             string `json:"email"`
	Result            string `json:"result"`
	UserID            string `json:"userId,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	MatchedBy         string `json:"matchedBy,omitempty"`
	Code              string `json:"code,omitempty"`
	Message           string `json:"message,omitempty"`
}

// Report is the result of an import.
type Report struct {
	SkuID           string        `json:"skuId"`
	SkuPartNumber   string        `json:"skuPartNumber"`
	DryRun          bool          `json:"dryRun"`
	Rows            int           `json:"rows"`
	Licensed        int           `json:"licensed"`
	AlreadyLicensed int           `json:"alreadyLicensed"`
	NotFound        int           `json:"notFound"`
	Failed          int           `json:"failed"`
	SeatsAvailable  int           `json:"seatsAvailable"`
	Duration        time.Duration `json:"-"`
	Seconds         float64       `json:"seconds"`
	Outcomes        []Outcome     `json:"outcomes"`
}

// OK tells whether every row ended licensed or already licensed.
func (r *Report) OK() bool { return r.Failed == 0 && r.NotFound == 0 }

// Importer licenses the users a CSV file names.
type Importer struct {
	Client        *client.Client
	SkuID         string
	DisabledPlans []string
	DryRun        bool
	// BatchSize is the number of users per bulk request (one server
	// transaction); 0 means 2000.
	BatchSize int
	// Progress, when set, is called after each batch with the rows done.
	Progress func(done, total int)
}

// Run imports the rows: it matches each address to a user (by
// userPrincipalName, then by proxy address), licenses the matched users in
// batches, and reports every row's outcome. An error means the import
// stopped; the report then covers the rows done so far.
func (im *Importer) Run(ctx context.Context, rows []Row) (*Report, error) {
	start := time.Now()
	bs := im.BatchSize
	if bs <= 0 {
		bs = 2000
	}
	bs = min(bs, client.MaxBulk)
	rep := &Report{SkuID: im.SkuID, DryRun: im.DryRun, Rows: len(rows), Outcomes: make([]Outcome, len(rows))}
	// firstOf maps a normalized address, then a user id, to the first row
	// that has it; later rows are duplicates of that row.
	firstAddr := map[string]int{}
	dupOf := map[int]int{}
	var work []int
	for i, r := range rows {
		o := &rep.Outcomes[i]
		o.Line, o.Email = r.Line, r.Email
		switch {
		case r.Email == "":
			o.Result, o.Code, o.Message = Failed, CodeEmptyAddress, "The Email cell is empty."
			continue
		case !looksLikeAddress(r.Email):
			o.Result, o.Code, o.Message = Failed, CodeInvalidAddress, fmt.Sprintf("'%s' is not an email address (alias@domain).", r.Email)
			continue
		}
		k := strings.ToLower(r.Email)
		if j, ok := firstAddr[k]; ok {
			dupOf[i] = j
			continue
		}
		firstAddr[k] = i
		work = append(work, i)
	}
	done := len(rows) - len(work) - len(dupOf)
	report := func() {
		if im.Progress != nil {
			im.Progress(min(done, len(rows)), len(rows))
		}
	}
	report()

	runErr := im.byAddress(ctx, rows, rep, work, dupOf, bs, &done, report)
	// Duplicates share the outcome of the first row with the same address
	// or user; a user licensed by the first row is already licensed here.
	for i, j := range dupOf {
		o, f := &rep.Outcomes[i], rep.Outcomes[j]
		if f.Result == "" {
			continue // the import stopped before the first row was done
		}
		o.UserID, o.UserPrincipalName = f.UserID, f.UserPrincipalName
		if o.MatchedBy == "" {
			o.MatchedBy = f.MatchedBy
		}
		switch f.Result {
		case Licensed, AlreadyLicensed:
			o.Result, o.Code = AlreadyLicensed, ""
			o.Message = fmt.Sprintf("Duplicate of line %d (same user).", f.Line)
		default:
			o.Result, o.Code = f.Result, f.Code
			o.Message = fmt.Sprintf("Duplicate of line %d: %s", f.Line, f.Message)
		}
		done++
	}
	report()
	for _, o := range rep.Outcomes {
		switch o.Result {
		case Licensed:
			rep.Licensed++
		case AlreadyLicensed:
			rep.AlreadyLicensed++
		case NotFound:
			rep.NotFound++
		case Failed:
			rep.Failed++
		}
	}
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	return rep, runErr
}

// looksLikeAddress accepts alias@domain without spaces or control characters.
func looksLikeAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == ',' || r == ';' || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// WriteCSV writes every row's outcome as CSV.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"line", "email", "result", "userId", "userPrincipalName", "matchedBy", "code", "message"})
	for _, o := range r.Outcomes {
		res := o.Result
		if res == "" {
			res = "notProcessed"
		}
		cw.Write([]string{fmt.Sprint(o.Line), safeCell(o.Email), res, o.UserID, safeCell(o.UserPrincipalName), o.MatchedBy, o.Code, safeCell(o.Message)})
	}
	cw.Flush()
	return cw.Error()
}

// safeCell keeps spreadsheets from reading a cell as a formula.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// byAddress licenses the rows in batches of addresses: the server matches
// each address and licenses the users in one transaction per batch. Rows
// are served in file order, so batches go one after the other.
//
// A dry run rolls every batch back, so each batch is told how many seats the
// earlier ones would take (reservedUnits). A user met again under another
// address would take a seat twice in that count: such a batch is sent again
// without those rows, which keeps the preview exact.
func (im *Importer) byAddress(ctx context.Context, rows []Row, rep *Report, work []int, dupOf map[int]int, bs int, done *int, report func()) error {
	firstUser := map[string]int{}
	reserved := 0
	for s := 0; s < len(work); s += bs {
		batch := work[s:min(s+bs, len(work))]
		var res *client.BulkAssignResponse
		for {
			addrs := make([]string, len(batch))
			for k, i := range batch {
				addrs[k] = rows[i].Email
			}
			var err error
			res, err = im.Client.BulkAssign(ctx, client.BulkAssignRequest{SkuID: im.SkuID, DisabledPlans: im.DisabledPlans,
				Addresses: addrs, DryRun: im.DryRun, ReservedUnits: reserved})
			if err == nil && len(res.Value) != len(addrs) {
				err = fmt.Errorf("the server answered %d results for %d addresses", len(res.Value), len(addrs))
			}
			if err != nil {
				return err
			}
			if !im.DryRun {
				break
			}
			// Users an earlier batch would license already, evaluated again.
			again := false
			kept := batch[:0:0]
			for k, r := range res.Value {
				if j, seen := firstUser[r.UserID]; seen && r.UserID != "" && r.Result == Licensed {
					o := &rep.Outcomes[batch[k]]
					o.UserID, o.UserPrincipalName, o.MatchedBy = r.UserID, r.UserPrincipalName, r.MatchedBy
					dupOf[batch[k]], again = j, true
					continue
				}
				kept = append(kept, batch[k])
			}
			if !again {
				break
			}
			if batch = kept; len(batch) == 0 {
				res = &client.BulkAssignResponse{SkuPartNumber: res.SkuPartNumber, SeatsAvailable: res.SeatsAvailable}
				break
			}
		}
		rep.SkuPartNumber, rep.SeatsAvailable = res.SkuPartNumber, res.SeatsAvailable
		inBatch := map[string]bool{}
		for k, r := range res.Value {
			i := batch[k]
			o := &rep.Outcomes[i]
			if r.Result == NotFound {
				o.Result, o.Code, o.Message = NotFound, "userNotFound", r.Message
				*done++
				continue
			}
			o.UserID, o.UserPrincipalName, o.MatchedBy = r.UserID, r.UserPrincipalName, r.MatchedBy
			// The same user under another address: in this batch the server
			// repeats the first outcome; from an earlier batch the user is
			// already licensed now, unless this very call licensed them.
			if j, ok := firstUser[r.UserID]; ok && (inBatch[r.UserID] || r.Result != Licensed) {
				dupOf[i] = j
				continue
			}
			firstUser[r.UserID], inBatch[r.UserID] = i, true
			o.Result, o.Code, o.Message = r.Result, r.Code, r.Message
			if r.Result == Licensed && im.DryRun {
				reserved++
			}
			*done++
		}
		report()
	}
	return nil
}
