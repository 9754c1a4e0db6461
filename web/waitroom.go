package web

import (
	"net/http"
	"strconv"
	"strings"

	"allot"
	"allot/store/sqlstore"
)

// ---- Waiting room: who waits for a product's seats, and moving someone up ----

// waitroomModel is a product's waiting room page: one page of its line
// and, for those who may change licenses, the Move up form (Form keeps
// what was typed when it was refused).
type waitroomModel struct {
	Room      *sqlstore.WaitingRoom
	After     int
	Form      moveForm
	Err, Done string
}

// moveForm is the Move up form as typed.
type moveForm struct{ User, Position, Reason string }

func (s *Server) waitingRoom(q *req) error {
	m, err := s.loadWaitingRoom(q)
	if err != nil {
		return err
	}
	m.Form.Position = "1"
	if q.r.URL.Query().Get("done") == "moved" {
		m.Done = "Moved up. The new order is below; the next free seat goes to position 1."
	}
	return q.render(waitroomView(q.view("Waiting room: "+m.Room.Product.DisplayName, "licenses"), m))
}

func (s *Server) loadWaitingRoom(q *req) (*waitroomModel, error) {
	p, err := s.productOf(q)
	if err != nil {
		return nil, err
	}
	after, _ := strconv.Atoi(q.r.URL.Query().Get("after"))
	room, err := s.st.ProductWaitingRoom(q.ctx(), q.tenant(), p.SkuID, max(after, 0), PageSize)
	if err != nil {
		return nil, err
	}
	return &waitroomModel{Room: room, After: max(after, 0)}, nil
}

// moveUp moves a waiter up with the store's checks (reason required).
func (s *Server) moveUp(q *req) error {
	f := q.r.PostForm
	form := moveForm{User: f.Get("user"), Position: strings.TrimSpace(f.Get("position")), Reason: f.Get("reason")}
	pos, err := strconv.Atoi(form.Position)
	if err != nil {
		err = allot.Errorf(allot.EInvalid, "Enter the position as a number; 1 is the head of the line.")
	} else if form.User == "" {
		err = allot.Errorf(allot.EInvalid, "Choose who moves up.")
	} else {
		err = s.st.MoveUpWaiter(q.ctx(), q.p.Actor(), q.tenant(), q.r.PathValue("sku"), form.User, pos, form.Reason)
	}
	if err != nil {
		if !isUserError(err) {
			return err
		}
		m, lerr := s.loadWaitingRoom(q)
		if lerr != nil {
			return lerr
		}
		m.Form, m.Err = form, allot.ErrorMessage(err)
		return q.renderStatus(http.StatusUnprocessableEntity, waitroomView(q.view("Waiting room: "+m.Room.Product.DisplayName, "licenses"), m))
	}
	http.Redirect(q.w, q.r, query("/licenses/"+q.r.PathValue("sku")+"/waiting-room", "done", "moved"), http.StatusSeeOther)
	return nil
}
