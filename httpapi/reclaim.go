package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// reclaimRoutes serve reclamation rules and their runs (docs/api.md,
// "Reclamation").
func (s *Server) reclaimRoutes() {
	s.handle("GET /allot/v1/reclamationRules", PermProductsRead, s.listReclaimRules)
	s.handle("POST /allot/v1/reclamationRules", PermProductsWrite, s.addReclaimRule)
	s.handle("POST /allot/v1/reclamationRules/{id}/run", PermProductsWrite, s.runReclaimRule)
	s.handle("GET /allot/v1/reclamationRuns", PermProductsRead, s.listReclaimRuns)
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
	return map[string]any{"id": strconv.FormatInt(r.ID, 10), "displayName": r.DisplayName, "skuId": r.SkuID, "skuPartNumber": r.SkuPartNumber,
		"disabledFor": isoOf(r.DisabledFor), "notice": isoOf(r.Notice), "createdDateTime": msTimeOf(r.CreatedAt)}
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
		DisplayName string `json:"displayName"`
		SkuID       string `json:"skuId"`
		DisabledFor string `json:"disabledFor"`
		Notice      string `json:"notice"`
	}
	if err := decodeBody(r, &b, "reclamationRule", "id", "createdDateTime"); err != nil {
		return err
	}
	if b.SkuID == "" || b.DisabledFor == "" || b.Notice == "" {
		return allot.Errorf(allot.EInvalid, "Send skuId, disabledFor and notice: {\"skuId\": \"SPE_E5\", \"disabledFor\": \"P14D\", \"notice\": \"P7D\"}.")
	}
	dis, err := parseDuration("disabledFor", b.DisabledFor)
	if err != nil {
		return err
	}
	notice, err := parseDuration("notice", b.Notice)
	if err != nil {
		return err
	}
	rule, err := s.st.CreateReclaimRule(r.Context(), p.Actor(), p.Tenant.ID, b.DisplayName, b.SkuID, dis, notice)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reclaimRuleJSON(rule))
	return nil
}

func reclaimRunJSON(x *sqlstore.ReclaimRun) map[string]any {
	out := map[string]any{"ruleId": strconv.FormatInt(x.RuleID, 10), "ranDateTime": msTimeOf(x.RanAt), "noticed": x.Noticed,
		"reclaimed": x.Reclaimed, "cancelled": x.Cancelled, "skipped": x.Skipp}
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
	t, a := p.Tenant.ID, p.Actor()
	var run *sqlstore.ReclaimRun
	do := func(ctx context.Context) error {
		var err error
		run, err = s.st.RunReclaimRule(ctx, a, t, id, true)
		return err
	}
	var pv *store.Preview
	if b.Preview {
		pv, err = s.st.Preview(r.Context(), t, do)
	} else {
		err = do(r.Context())
	}
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
