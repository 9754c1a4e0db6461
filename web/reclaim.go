package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/httpapi"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- Reclamation: rules, dry runs, runs ----

// reclaimNeed is what the Reclamation page needs; creating and running
// rules need products write, as in the API.
const reclaimNeed = httpapi.PermProductsRead

// reclaimModel is the Reclamation page: the rules, the recorded runs, the
// answer of a dry run or run just made, and the new rule's form.
type reclaimModel struct {
	Rules    []*sqlstore.ReclaimRule
	Runs     []*sqlstore.ReclaimRun
	Notices  []*sqlstore.ReclaimNotice
	Products []*allot.Product
	Groups   []*allot.Group
	// Result is the dry run (DryRun set) or run just made, of rule ResultOf.
	Result   *sqlstore.ReclaimRun
	ResultOf string
	DryRun   bool
	Form     reclaimForm
	Err      string
	Done     string
}

// reclaimForm is the new-rule form as typed.
type reclaimForm struct {
	Name, Product, Kind, Days, Notice string
	Exempt                            []string
}

// reclaimKinds are the rule kinds an admin may pick, in words.
var reclaimKinds = []metricChoice{
	{licensing.ReclaimNoActivity, "No activity for (days)"},
	{licensing.ReclaimDisabled, "Account disabled for (days)"},
}

func (s *Server) reclaimPage(q *req) error {
	m, err := s.loadReclaim(q)
	if err != nil {
		return err
	}
	m.Form = reclaimForm{Kind: licensing.ReclaimNoActivity, Days: "90", Notice: "14"}
	switch q.r.URL.Query().Get("done") {
	case "created":
		m.Done = "Reclamation rule created. It runs every few seconds; use Dry run to see what it would do now."
	case "kept":
		m.Done = "Kept: the notice is withdrawn at the rule's next run, and the period starts again."
	}
	return q.render(reclaimView(q.view("Reclamation", "reclamation"), m))
}

func (s *Server) loadReclaim(q *req) (*reclaimModel, error) {
	m := &reclaimModel{}
	var err error
	if m.Rules, err = s.st.ReclaimRules(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	if m.Runs, err = s.st.ReclaimRuns(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	if m.Notices, err = s.st.ReclaimNotices(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	if m.Products, err = s.st.Products(q.ctx(), q.tenant()); err != nil {
		return nil, err
	}
	sortProducts(m.Products)
	if q.perms.Has(httpapi.PermGroupsRead) {
		m.Groups, _, _, err = s.st.ListGroups(q.ctx(), q.tenant(), store.ListOptions{Top: 200, OrderBy: "displayName"})
	}
	return m, err
}

// createReclaimRule creates a rule from the form with the store's checks.
func (s *Server) createReclaimRule(q *req) error {
	f := q.r.PostForm
	form := reclaimForm{Name: f.Get("name"), Product: f.Get("product"), Kind: f.Get("kind"), Days: f.Get("days"), Notice: f.Get("notice"), Exempt: f["exempt"]}
	sp, err := form.spec()
	if err == nil {
		_, err = s.st.CreateReclaimRule(q.ctx(), q.p.Actor(), q.tenant(), sp)
	}
	if err != nil {
		if !isUserError(err) {
			return err
		}
		m, lerr := s.loadReclaim(q)
		if lerr != nil {
			return lerr
		}
		m.Form, m.Err = form, allot.ErrorMessage(err)
		return q.renderStatus(http.StatusUnprocessableEntity, reclaimView(q.view("Reclamation", "reclamation"), m))
	}
	http.Redirect(q.w, q.r, query("/reclamation", "done", "created"), http.StatusSeeOther)
	return nil
}

// spec is the form as a rule; days that do not parse are refused in words.
func (f reclaimForm) spec() (sqlstore.ReclaimSpec, error) {
	sp := sqlstore.ReclaimSpec{Name: f.Name, ProductRef: f.Product, Kind: f.Kind, ExemptGroups: f.Exempt}
	if f.Product == "" {
		return sp, allot.Errorf(allot.EInvalid, "Choose the product the rule takes back.")
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.Days))
	if err != nil || days < 1 || days > 3650 {
		return sp, allot.Errorf(allot.EInvalid, "Enter the period as a number of days from 1 to 3650, such as 90.")
	}
	notice, err := strconv.Atoi(strings.TrimSpace(f.Notice))
	if err != nil || notice < 0 || notice > 365 {
		return sp, allot.Errorf(allot.EInvalid, "Enter the notice as a number of days from 0 to 365, such as 14.")
	}
	sp.Period, sp.Notice = int64(days)*dayMS, int64(notice)*dayMS
	return sp, nil
}

const dayMS = int64(24 * time.Hour / time.Millisecond)

// runReclaimRule runs a rule (Run now) or dry-runs it (Dry run), through
// the API's code, and shows the answer above the rules.
func (s *Server) runReclaimRule(q *req) error {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		return allot.Errorf(allot.ENotFound, "Reclamation rule '%s' does not exist.", q.r.PathValue("id"))
	}
	rule, err := s.st.ReclaimRuleByID(q.ctx(), q.tenant(), id)
	if err != nil {
		return err
	}
	dry := q.r.PostForm.Get("dryRun") == "true"
	run, _, err := s.api.RunReclaim(q.ctx(), q.p, id, dry)
	if err != nil {
		return err
	}
	m, err := s.loadReclaim(q)
	if err != nil {
		return err
	}
	m.Result, m.ResultOf, m.DryRun = run, rule.DisplayName, dry
	return q.render(reclaimView(q.view("Reclamation", "reclamation"), m))
}

// reclaimCondition says what a rule does, in words.
func reclaimCondition(r *sqlstore.ReclaimRule) string {
	what := "Account disabled for " + daysWords(r.DisabledFor)
	if r.Kind == licensing.ReclaimNoActivity {
		what = "No activity for " + daysWords(r.InactiveFor)
	}
	return what + ", then a notice of " + daysWords(r.Notice)
}

// daysWords says a duration in days (or hours, minutes, seconds when
// shorter than a day).
func daysWords(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case ms%dayMS == 0:
		return plural(int(ms/dayMS), "day", "days")
	case d >= time.Hour:
		return plural(int(d/time.Hour), "hour", "hours")
	case d >= time.Minute:
		return plural(int(d/time.Minute), "minute", "minutes")
	}
	return plural(int(d/time.Second), "second", "seconds")
}

// exemptWords names a rule's exempt groups.
func exemptWords(r *sqlstore.ReclaimRule) string {
	if len(r.Exempt) == 0 {
		return "None"
	}
	names := make([]string, len(r.Exempt))
	for i, g := range r.Exempt {
		names[i] = g.DisplayName
	}
	return strings.Join(names, ", ")
}

// savedWords is what a run saved a month, in words.
func savedWords(x *sqlstore.ReclaimRun) string {
	if x.Currency == "" {
		return "No price set"
	}
	if x.Reclaimed == 0 {
		return "Nothing"
	}
	return money(x.Saved, x.Currency) + " a month"
}

// resultWords sums up a dry run or run.
func resultWords(m *reclaimModel) string {
	x := m.Result
	verb := map[bool][3]string{true: {"would give", "would take back", "would withdraw"}, false: {"gave", "took back", "withdrew"}}[m.DryRun]
	head := "Run of “" + m.ResultOf + "”: "
	if m.DryRun {
		head = "Dry run of “" + m.ResultOf + "” (nothing changed): "
	}
	out := head + verb[0] + " " + plural(x.Noticed, "notice", "notices") + ", " + verb[1] + " " + plural(x.Reclaimed, "license", "licenses") +
		", " + verb[2] + " " + plural(x.Cancelled, "notice", "notices")
	if x.Skipp > 0 {
		out += "; " + plural(x.Skipp, "user keeps", "users keep") + " it for an add-on that needs it"
	}
	if x.Currency != "" && x.Reclaimed > 0 {
		out += "; saves " + money(x.Saved, x.Currency) + " a month"
	}
	return out + "."
}

// msWhen is when for unix milliseconds.
func msWhen(ms int64) string { return when(time.UnixMilli(ms)) }

// reclaimActionWords names the users of a run's action.
func reclaimActionWords(action string, dry bool) string {
	words := map[string][2]string{"noticed": {"Noticed", "Would be noticed"}, "reclaimed": {"Taken back from", "Would be taken back from"},
		"cancelled": {"Notice withdrawn", "Notice would be withdrawn"}, "skipped": {"Kept (an add-on needs it)", "Would keep it (an add-on needs it)"}}[action]
	if dry {
		return words[1]
	}
	return words[0]
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// keepLicense records a "keep" answer for the user of a notice.
func (s *Server) keepLicense(q *req) error {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		return allot.Errorf(allot.ENotFound, "Reclamation rule '%s' does not exist.", q.r.PathValue("id"))
	}
	if err := s.st.KeepLicense(q.ctx(), q.p.Actor(), q.tenant(), id, q.r.PostForm.Get("user")); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/reclamation", "done", "kept"), http.StatusSeeOther)
	return nil
}
