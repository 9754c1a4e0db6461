package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"allot"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlstore"
)

// reclaimRoutes serve reclamation rules and their runs (docs/api.md,
// "Reclamation").
func (s *Server) reclaimRoutes() {
	s.handle("GET /allot/v1/reclamationRules", PermProductsRead, s.listReclaimRules)
	s.handle("POST /allot/v1/reclamationRules", PermProductsWrite, s.addReclaimRule)
	s.handle("POST /allot/v1/reclamationRules/{id}/run", PermProductsWrite, s.runReclaimRule)
	s.handle("POST /allot/v1/reclamationRules/{id}/keep", PermProductsWrite, s.keepReclaimLicense)
	s.handle("GET /allot/v1/reclamationRuns", PermProductsRead, s.listReclaimRuns)
	s.handle("GET /allot/v1/reclamationNotices", PermProductsRead, s.listReclaimNotices)
	s.handle("POST /allot/v1/activityReports", PermUsersWrite, s.importActivity)
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseDuration reads an ISO 8601 duration of days, hours, minutes and
// seconds (P14D, PT12H, P1DT30M, PT3S).
func parseDuration(field, v string) (int64, error) {
	m := isoDuration.FindStringSubmatch(v)
	if m == nil || v == "P" || v == "PT" {
		return 0, allot.Errorf(allot.EInvalid, "%s '%s' is not a duration such as P14D, PT12H or PT30S.", field, v)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil || n > 100000 {
				return 0, allot.Errorf(allot.EInvalid, "%s '%s' is too long.", field, v)
			}
			d += time.Duration(n) * unit
		}
	}
	return d.Milliseconds(), nil
}

func isoOf(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	days, rest := int64(d/(24*time.Hour)), d%(24*time.Hour)
	out := "P"
	if days > 0 {
		out += strconv.FormatInt(days, 10) + "D"
	}
	if rest > 0 || days == 0 {
		out += "T" + strconv.FormatInt(int64(rest/time.Second), 10) + "S"
	}
	return out
}

func reclaimRuleJSON(r *sqlstore.ReclaimRule) map[string]any {
	out := map[string]any{"id": strconv.FormatInt(r.ID, 10), "displayName": r.DisplayName, "skuId": r.SkuID, "skuPartNumber": r.SkuPartNumber,
		"productName": r.ProductName, "kind": r.Kind, "notice": isoOf(r.Notice), "createdDateTime": msTimeOf(r.CreatedAt)}
	if r.Kind == licensing.ReclaimNoActivity {
		out["inactiveFor"] = isoOf(r.InactiveFor)
	} else {
		out["disabledFor"] = isoOf(r.DisabledFor)
	}
	exempt := make([]map[string]any, 0, len(r.Exempt))
	for _, g := range r.Exempt {
		exempt = append(exempt, map[string]any{"id": g.GUID, "displayName": g.DisplayName})
	}
	out["exemptGroups"] = exempt
	return out
}

func (s *Server) listReclaimRules(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	rules, err := s.st.ReclaimRules(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(rules))
	for _, x := range rules {
		out = append(out, reclaimRuleJSON(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (s *Server) addReclaimRule(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		DisplayName  string   `json:"displayName"`
		SkuID        string   `json:"skuId"`
		Kind         string   `json:"kind"`
		DisabledFor  string   `json:"disabledFor"`
		InactiveFor  string   `json:"inactiveFor"`
		Notice       string   `json:"notice"`
		ExemptGroups []string `json:"exemptGroups"`
	}
	if err := decodeBody(r, &b, "reclamationRule", "id", "createdDateTime", "skuPartNumber", "productName"); err != nil {
		return err
	}
	field, period := "disabledFor", b.DisabledFor
	if b.Kind == licensing.ReclaimNoActivity {
		field, period = "inactiveFor", b.InactiveFor
	}
	if b.SkuID == "" || period == "" || b.Notice == "" {
		return allot.Errorf(allot.EInvalid, "Send skuId, %s and notice: {\"skuId\": \"SPE_E5\", \"%s\": \"P14D\", \"notice\": \"P7D\"}.", field, field)
	}
	if b.Kind == licensing.ReclaimNoActivity && b.DisabledFor != "" || b.Kind != licensing.ReclaimNoActivity && b.InactiveFor != "" {
		return allot.Errorf(allot.EInvalid, "A rule of kind '%s' takes %s, not both disabledFor and inactiveFor.", b.Kind, field)
	}
	dur, err := parseDuration(field, period)
	if err != nil {
		return err
	}
	notice, err := parseDuration("notice", b.Notice)
	if err != nil {
		return err
	}
	rule, err := s.st.CreateReclaimRule(r.Context(), p.Actor(), p.Tenant.ID, sqlstore.ReclaimSpec{Name: b.DisplayName, ProductRef: b.SkuID,
		Kind: b.Kind, Period: dur, Notice: notice, ExemptGroups: b.ExemptGroups})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reclaimRuleJSON(rule))
	return nil
}

// keepReclaimLicense records a user's "keep" answer to a rule's notice.
func (s *Server) keepReclaimLicense(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		UserID string `json:"userId"`
	}
	if err := decodeBody(r, &b, "reclamationKeep"); err != nil {
		return err
	}
	if b.UserID == "" {
		return allot.Errorf(allot.EInvalid, "Send the user who keeps the license: {\"userId\": \"adele@contoso.com\"}.")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return allot.Errorf(allot.ENotFound, "Reclamation rule '%s' does not exist.", r.PathValue("id"))
	}
	if err := s.st.KeepLicense(r.Context(), p.Actor(), p.Tenant.ID, id, b.UserID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func reclaimRunJSON(x *sqlstore.ReclaimRun) map[string]any {
	out := map[string]any{"ruleId": strconv.FormatInt(x.RuleID, 10), "ranDateTime": msTimeOf(x.RanAt), "noticed": x.Noticed,
		"reclaimed": x.Reclaimed, "cancelled": x.Cancelled, "skipped": x.Skipp, "ruleName": x.RuleName, "productName": x.ProductName,
		"reclaimedUsers": nonNil(x.ReclaimedUsers)}
	if x.Currency != "" {
		out["savedPerMonth"] = map[string]any{"amount": float64(x.Saved) / 100, "currency": x.Currency}
	}
	if x.ID != 0 {
		out["id"] = strconv.FormatInt(x.ID, 10)
	}
	if x.Users != nil {
		users := map[string]any{}
		for k, v := range x.Users {
			users[k] = v
		}
		out["users"] = users
	}
	return out
}

// runReclaimRule runs a rule now, or with {"preview": true} says what it
// would do and changes nothing.
func (s *Server) runReclaimRule(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		Preview bool `json:"preview"`
	}
	if err := decodeBody(r, &b, "reclamationRun"); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return allot.Errorf(allot.ENotFound, "Reclamation rule '%s' does not exist.", r.PathValue("id"))
	}
	run, pv, err := s.RunReclaim(r.Context(), p, id, b.Preview)
	if err != nil {
		return err
	}
	out := reclaimRunJSON(run)
	out["preview"] = pv != nil
	if pv != nil {
		delete(out, "id")
		out["licenseChanges"] = pv
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// RunReclaim runs a reclamation rule now for the principal, or with
// preview set (the dry run) says what it would do, with the preview of the
// license changes, and changes nothing. The admin center's buttons use it.
func (s *Server) RunReclaim(ctx context.Context, p *store.Principal, id int64, preview bool) (*sqlstore.ReclaimRun, *store.Preview, error) {
	t, a := p.Tenant.ID, p.Actor()
	var run *sqlstore.ReclaimRun
	do := func(ctx context.Context) error {
		var err error
		run, err = s.st.RunReclaimRule(ctx, a, t, id, true)
		return err
	}
	if !preview {
		return run, nil, do(ctx)
	}
	pv, err := s.st.Preview(ctx, t, do)
	return run, pv, err
}

func (s *Server) listReclaimRuns(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	runs, err := s.st.ReclaimRuns(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(runs))
	for _, x := range runs {
		out = append(out, reclaimRunJSON(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// listReclaimNotices lists the users under a notice, soonest first.
func (s *Server) listReclaimNotices(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	ns, err := s.st.ReclaimNotices(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ns))
	for _, n := range ns {
		m := map[string]any{"ruleId": strconv.FormatInt(n.RuleID, 10), "ruleName": n.RuleName, "productName": n.ProductName,
			"userId": n.UserGUID, "userPrincipalName": n.UPN, "noticedDateTime": msTimeOf(n.NoticedAt), "reclaimDateTime": msTimeOf(n.ReclaimAt), "keptDateTime": nil}
		if n.KeptAt != 0 {
			m["keptDateTime"] = msTimeOf(n.KeptAt)
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}
