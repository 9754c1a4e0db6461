package httpapi

// signInActivity as provisioned: a directory sync tool may write the
// user's last sign-in (Graph: signInActivity.lastSignInDateTime, read with
// $select=signInActivity), which no-activity reclamation reads.

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"allot"
)

// signInBody is Graph's signInActivity as a request body sets it; the
// other properties of the resource are accepted and ignored.
type signInBody struct {
	LastSignInDateTime *string `json:"lastSignInDateTime"`
}

// lastSignIn reads the body's signInActivity: nil when absent, 0 to clear.
func lastSignIn(raw json.RawMessage) (*int64, error) {
	if raw == nil {
		return nil, nil
	}
	var zero int64
	if string(raw) == "null" {
		return &zero, nil
	}
	var b signInBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, allot.Errorf(allot.EInvalid, `signInActivity must be an object such as {"lastSignInDateTime": "2026-09-01T08:00:00Z"}.`)
	}
	if b.LastSignInDateTime == nil || *b.LastSignInDateTime == "" {
		return &zero, nil
	}
	t, err := time.Parse(time.RFC3339, *b.LastSignInDateTime)
	if err != nil {
		return nil, allot.Errorf(allot.EInvalid, "signInActivity.lastSignInDateTime '%s' is not a date and time such as 2026-09-01T08:00:00Z.", *b.LastSignInDateTime)
	}
	if t.After(time.Now().Add(24 * time.Hour)) {
		return nil, allot.Errorf(allot.EInvalid, "signInActivity.lastSignInDateTime '%s' is in the future.", *b.LastSignInDateTime)
	}
	ms := t.UnixMilli()
	return &ms, nil
}

// selectsSignIn tells whether $select names signInActivity (Graph returns
// it only then).
func selectsSignIn(r *http.Request) bool {
	for _, f := range strings.Split(r.URL.Query().Get("$select"), ",") {
		if strings.EqualFold(strings.TrimSpace(f), "signInActivity") {
			return true
		}
	}
	return false
}

// addSignIns renders signInActivity into users asked for it.
func (s *Server) addSignIns(r *http.Request, users []*allot.User, out []map[string]any) error {
	if !selectsSignIn(r) {
		return nil
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	at, err := s.st.SignIns(r.Context(), ids)
	if err != nil {
		return err
	}
	for i, u := range users {
		var last any
		if ms, ok := at[u.ID]; ok {
			last = time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05Z")
		}
		out[i]["signInActivity"] = map[string]any{"@odata.type": "#microsoft.graph.signInActivity", "lastSignInDateTime": last}
	}
	return nil
}
