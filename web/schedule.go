package web

import (
	"time"

	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- Schedules: upcoming starts and ends of time-bound assignments, with previews ----

// schedulesNeed is what the Schedules page needs.
const schedulesNeed = httpapi.PermProductsRead | httpapi.PermUsersRead

// scheduleEntry is an upcoming end with what it does when it comes.
type scheduleEntry struct {
	E       *sqlstore.UpcomingEnd
	Preview *store.Preview
	// Lose and Gain count the users who lose the product and the waiting
	// users who get it then.
	Lose, Gain int
}

// maxScheduleEntries is how many upcoming ends the page previews.
const maxScheduleEntries = 20

func (s *Server) schedules(q *req) error {
	ends, err := s.st.UpcomingEnds(q.ctx(), q.tenant(), time.Now().UnixMilli(), maxScheduleEntries)
	if err != nil {
		return err
	}
	out := make([]scheduleEntry, 0, len(ends))
	for _, e := range ends {
		pv, err := s.st.PreviewEnd(q.ctx(), q.tenant(), e)
		if err != nil {
			return err
		}
		x := scheduleEntry{E: e, Preview: pv}
		for _, p := range pv.Products {
			if p.SkuID == e.ProductSkuID {
				x.Lose, x.Gain = p.Lose, p.Gain
			}
		}
		out = append(out, x)
	}
	return q.render(schedulesView(q.view("Schedules", "schedules"), out))
}

// scheduleWords says what an end does, in an admin's words: "On 1 March
// 2027 at 09:00 UTC, 40 users lose Office 365 E3; 12 waiting people get it."
func scheduleWords(x scheduleEntry) string {
	at := time.UnixMilli(x.E.At).UTC().Format("2 January 2006 at 15:04 UTC")
	if x.E.Starts {
		return startWords(x, at)
	}
	who := plural(x.Lose, "user loses", "users lose")
	if x.E.Group != nil {
		who = "group " + x.E.Group.DisplayName + "'s assignment ends: " + who
	}
	out := "On " + at + ", " + who + " " + x.E.ProductName
	if x.Gain > 0 {
		out += "; " + plural(x.Gain, "waiting person gets", "waiting people get") + " it"
	}
	return out + "."
}

// startWords says what a start does: "On 1 March 2027 at 09:00 UTC, 40
// users get Microsoft 365 E5." (its preview's new holders).
func startWords(x scheduleEntry, at string) string {
	who := plural(x.Gain, "user gets", "users get")
	if x.E.Group != nil {
		who = "group " + x.E.Group.DisplayName + "'s assignment starts: " + plural(x.Gain, "member gets", "members get")
	}
	out := "On " + at + ", " + who + " " + x.E.ProductName
	if x.Lose > 0 {
		out += "; " + plural(x.Lose, "user loses", "users lose") + " it"
	}
	return out + "."
}
