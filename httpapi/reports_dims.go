package httpapi

import (
	"net/http"

	"allot"
	"allot/store"
)

// historyDimension reads seatHistory's groupId=, department= and
// usageLocation= (at most one; department= with no value asks for the users
// without a department).
func historyDimension(r *http.Request, q store.HistoryQuery) (store.HistoryQuery, error) {
	v := r.URL.Query()
	q.Group = v.Get("groupId")
	if v.Has("groupId") && q.Group == "" {
		return q, allot.Errorf(allot.EInvalid, "groupId must name a group (its id).")
	}
	if v.Has("department") {
		d := v.Get("department")
		q.Department = &d
	}
	if v.Has("usageLocation") {
		l := v.Get("usageLocation")
		q.UsageLocation = &l
	}
	n := 0
	for _, set := range []bool{q.Group != "", q.Department != nil, q.UsageLocation != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return q, allot.Errorf(allot.EInvalid, "Ask for the seat history of one group, one department or one usage location at a time, not several.")
	}
	return q, nil
}
