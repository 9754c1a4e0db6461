// Package web is allot's admin center: server-rendered pages (a-h/templ
// components, *.templ with their generated *_templ.go committed) with htmx
// for partial updates, both embedded in the binary. It signs people in and
// decides what they may see and do through the API server's own functions
// (httpapi: sessions, rate limit, role → permission model), and changes
// data only through the store's methods, so every rule, error message and
// audit event is the API's. Every state change is a POST behind the API
// server's cross-origin protection.
package web

//go:generate go run github.com/a-h/templ/cmd/templ@v0.3.1100 generate

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"allot"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

//go:embed static
var staticFS embed.FS

// PageSize is the number of rows of a list page.
const PageSize = 50

// Server is the admin center.
type Server struct {
	st  *sqlstore.Store
	api *httpapi.Server
	log *slog.Logger
	mux *http.ServeMux
	// PollInterval is how often a group page asks for its processing state
	// while the group is being processed.
	PollInterval time.Duration
	// SeatPollInterval is how often a product page asks for its seat
	// counts (3 seconds when zero).
	SeatPollInterval time.Duration
}

// New returns the admin center on the store, signing people in through api.
func New(st *sqlstore.Store, api *httpapi.Server, log *slog.Logger) *Server {
	s := &Server{st: st, api: api, log: log, mux: http.NewServeMux(), PollInterval: time.Second}
	s.routes()
	return s
}

// Mount serves the admin center at / of the API server (which keeps its
// own routes: /v1.0, /allot/v1, /healthz…).
func Mount(st *sqlstore.Store, api *httpapi.Server, log *slog.Logger) *Server {
	s := New(st, api, log)
	api.Mount("/", s)
	return s
}

// ServeHTTP serves the admin center's pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(sub)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	s.mux.HandleFunc("GET /signin", s.signinPage)
	s.mux.HandleFunc("POST /signin", s.signin)
	s.mux.HandleFunc("POST /signout", s.signout)
	s.page("GET /{$}", 0, s.home)

	s.page("GET /users", httpapi.PermUsersRead, s.users)
	s.page("GET /users/export", httpapi.PermUsersRead, s.usersCSV)
	s.page("GET /users/{id}", httpapi.PermUsersRead, s.user)
	s.page("POST /users/{id}/licenses", httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.saveUserLicenses)
	s.page("POST /users/{id}/usage-location", httpapi.PermUsersRead|httpapi.PermUsageLocation, s.saveUsageLocation)
	s.page("GET /assign-more", httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.assignMore)
	s.page("POST /assign-more", httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.saveAssignMore)
	s.page("GET /bulk-licenses", httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.bulkChoose)
	s.page("POST /bulk-licenses/review", httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.bulkReview)
	s.page("POST /bulk-licenses/apply", httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.bulkApply)

	s.page("GET /licenses", httpapi.PermProductsRead, s.licenses)
	s.page("GET /licenses/{sku}", httpapi.PermProductsRead, s.product)
	s.page("GET /licenses/{sku}/assign", httpapi.PermProductsRead|httpapi.PermLicensesWrite|httpapi.PermUsersRead|httpapi.PermGroupsRead, s.assignPick)
	s.page("GET /licenses/{sku}/assign/picker", httpapi.PermProductsRead|httpapi.PermLicensesWrite|httpapi.PermUsersRead|httpapi.PermGroupsRead, s.assignPicker)
	s.page("GET /licenses/{sku}/assign/options", httpapi.PermProductsRead|httpapi.PermLicensesWrite|httpapi.PermUsersRead|httpapi.PermGroupsRead, s.assignOptions)
	s.page("GET /licenses/{sku}/assign/review", httpapi.PermProductsRead|httpapi.PermLicensesWrite|httpapi.PermUsersRead|httpapi.PermGroupsRead, s.assignReview)
	s.page("POST /licenses/{sku}/assign", httpapi.PermProductsRead|httpapi.PermLicensesWrite|httpapi.PermUsersRead|httpapi.PermGroupsRead, s.assignConfirm)

	s.page("GET /licenses/{sku}/seats/live", httpapi.PermProductsRead, s.seatCounts)
	s.page("GET /licenses/{sku}/seats", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.seatsReview)
	s.page("POST /licenses/{sku}/seats", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.saveSeats)

	s.page("GET /licenses/{sku}/waiting-room", httpapi.PermProductsRead, s.waitingRoom)
	s.page("POST /licenses/{sku}/waiting-room/move", httpapi.PermProductsRead|httpapi.PermLicensesWrite, s.moveUp)
	s.page("POST /licenses/{sku}/policy", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.savePolicy)
	s.page("GET /licenses/{sku}/policy/move", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.moveReview)
	s.page("POST /licenses/{sku}/policy/move", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.moveApply)

	s.page("POST /licenses/{sku}/pools", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.createPool)
	s.page("POST /licenses/{sku}/pools/{id}", httpapi.PermProductsRead|httpapi.PermProductsWrite, s.updatePool)
	s.page("POST /licenses/{sku}/unassign", httpapi.PermProductsRead|httpapi.PermLicensesWrite|httpapi.PermUsersRead, s.unassign)

	s.page("GET /groups", httpapi.PermGroupsRead, s.groups)
	s.page("GET /groups/{id}", httpapi.PermGroupsRead, s.group)
	s.page("POST /groups", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.createGroup)
	s.page("POST /groups/{id}/rename", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.renameGroup)
	s.page("GET /groups/{id}/delete", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.groupChangeReview)
	s.page("POST /groups/{id}/delete", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.groupChangeApply)
	s.page("GET /groups/{id}/members/search", httpapi.PermGroupsRead|httpapi.PermUsersRead|httpapi.PermGroupsWrite, s.memberSearchResults)
	s.page("POST /groups/{id}/members", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.addMember)
	s.page("GET /groups/{id}/members/remove", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.groupChangeReview)
	s.page("POST /groups/{id}/members/remove", httpapi.PermGroupsRead|httpapi.PermGroupsWrite, s.groupChangeApply)
	s.page("POST /groups/{id}/reprocess", httpapi.PermGroupsRead|httpapi.PermLicensesWrite, s.reprocessGroup)
	s.page("GET /groups/{id}/errors.csv", httpapi.PermGroupsRead|httpapi.PermUsersRead, s.groupErrorsCSV)
	s.page("GET /groups/{id}/status", httpapi.PermGroupsRead, s.groupStatus)
	s.page("GET /groups/{id}/rule/preview", httpapi.PermGroupsRead|httpapi.PermUsersRead, s.groupRulePreview)
	s.page("POST /groups/{id}/rule", httpapi.PermGroupsRead|httpapi.PermUsersRead|httpapi.PermGroupsWrite, s.saveGroupRule)
	s.page("GET /groups/{id}/assign", httpapi.PermGroupsRead|httpapi.PermProductsRead|httpapi.PermUsersRead|httpapi.PermLicensesWrite, s.groupAssign)
	s.page("GET /groups/{id}/licenses/remove", httpapi.PermGroupsRead|httpapi.PermLicensesWrite, s.removeGroupLicenseReview)
	s.page("POST /groups/{id}/licenses/remove", httpapi.PermGroupsRead|httpapi.PermLicensesWrite, s.removeGroupLicense)

	s.page("GET /roles", httpapi.PermRolesRead, s.roles)
	s.page("GET /roles/people", httpapi.PermRolesRead|httpapi.PermRolesWrite|httpapi.PermUsersRead, s.rolePeople)
	s.page("POST /roles/assign", httpapi.PermRolesRead|httpapi.PermRolesWrite, s.assignRole)
	s.page("POST /roles/remove", httpapi.PermRolesRead|httpapi.PermRolesWrite, s.removeRole)

	s.page("GET /reports", httpapi.PermReportsRead|httpapi.PermProductsRead, s.reports)
	s.page("GET /reports/charts/{file}", httpapi.PermReportsRead|httpapi.PermProductsRead, s.chartDownload)
	s.page("POST /reports/exports", httpapi.PermReportsRead, s.createExport)
	s.page("GET /reports/exports/{id}", httpapi.PermReportsRead, s.exportStatus)

	s.page("GET /audit", httpapi.PermAuditRead, s.audit)

	s.pageAny("GET /clients", clientsNeed, s.clients)

	s.page("GET /alerts", alertsNeed, s.alertsPage)
	s.page("POST /alerts", alertsNeed|httpapi.PermProductsWrite, s.createAlert)
	s.page("POST /alerts/{id}/delete", alertsNeed|httpapi.PermProductsWrite, s.deleteAlert)
	s.page("GET /schedules", schedulesNeed, s.schedules)
	s.page("GET /reclamation", reclaimNeed, s.reclaimPage)
	s.page("POST /reclamation", reclaimNeed|httpapi.PermProductsWrite, s.createReclaimRule)
	s.page("POST /reclamation/{id}/run", reclaimNeed|httpapi.PermProductsWrite, s.runReclaimRule)
	s.page("POST /reclamation/{id}/keep", reclaimNeed|httpapi.PermProductsWrite, s.keepLicense)
	s.page("GET /webhooks", webhooksNeed, s.webhooks)
	s.page("GET /webhooks/{id}", webhooksNeed, s.webhook)
	s.page("GET /webhooks/{id}/log", webhooksNeed, s.webhookLog)
	s.page("POST /webhooks/{id}/test", webhooksNeed|httpapi.PermProductsWrite, s.sendWebhookTest)

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, _ := s.api.SessionPrincipal(r)
		s.fail(w, r, p, allot.Errorf(allot.ENotFound, "There is no page at %s.", r.URL.Path))
	})
}

// req is one request of a signed-in person.
type req struct {
	w     http.ResponseWriter
	r     *http.Request
	p     *store.Principal
	perms httpapi.Perm
}

func (q *req) ctx() context.Context { return q.r.Context() }
func (q *req) tenant() int64        { return q.p.Tenant.ID }

// htmx tells whether the request comes from htmx (a partial update).
func (q *req) htmx() bool { return q.r.Header.Get("HX-Request") == "true" }

// page registers a handler for signed-in people who hold every permission
// of need; others are sent to sign in, or told they may not.
func (s *Server) page(pattern string, need httpapi.Perm, h func(q *req) error) {
	s.guard(pattern, func(p httpapi.Perm) bool { return p.Has(need) }, h)
}

// pageAny is page for people who hold any one permission of anyOf (as the
// API's routes need).
func (s *Server) pageAny(pattern string, anyOf httpapi.Perm, h func(q *req) error) {
	s.guard(pattern, func(p httpapi.Perm) bool { return p&anyOf != 0 }, h)
}

// guard registers a handler for signed-in people whose permissions allow
// says yes to.
func (s *Server) guard(pattern string, allow func(httpapi.Perm) bool, h func(q *req) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.api.SessionPrincipal(r)
		if err != nil {
			if allot.ErrorCode(err) == allot.EUnauthorized {
				s.toSignin(w, r)
				return
			}
			s.fail(w, r, nil, err)
			return
		}
		perms := httpapi.Perms(p)
		if !allow(perms) {
			s.fail(w, r, p, allot.Errorf(allot.EForbidden, "Your roles do not allow this page. Ask a Global Administrator for a role that does."))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, p, allot.Errorf(allot.EInvalid, "The form could not be read."))
				return
			}
		}
		ctx := sqlstore.WithCorrelationID(r.Context(), w.Header().Get("request-id"))
		q := &req{w: w, r: r.WithContext(ctx), p: p, perms: perms}
		if err := h(q); err != nil {
			if errors.Is(err, errWritten) || r.Context().Err() != nil {
				return // the person went away; nothing to tell them
			}
			s.fail(w, q.r, p, err)
		}
	})
}

// toSignin sends a person who is not signed in to the sign-in page, and
// back here afterwards.
func (s *Server) toSignin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = "/"
	}
	if r.Header.Get("HX-Request") == "true" {
		if cur, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && cur.Path != "" {
			next = cur.RequestURI()
		}
		w.Header().Set("HX-Redirect", "/signin?next="+url.QueryEscape(next))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// fail answers with an error page (or, for htmx, an error fragment).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, p *store.Principal, err error) {
	code := allot.ErrorCode(err)
	if code == allot.EInternal && httpapi.ClientGone(r, err) {
		s.log.Debug("client went away", "path", r.URL.Path, "err", err)
		w.WriteHeader(httpapi.StatusClientClosed)
		return
	}
	status := http.StatusBadRequest
	switch code {
	case allot.ENotFound:
		status = http.StatusNotFound
	case allot.EForbidden:
		status = http.StatusForbidden
	case allot.EUnauthorized:
		status = http.StatusUnauthorized
	case allot.ETooManyRequests:
		status = http.StatusTooManyRequests
	case allot.EConflict:
		status = http.StatusConflict
	case allot.EUnavailable:
		status = http.StatusServiceUnavailable
	case allot.EInternal:
		status = http.StatusInternalServerError
		s.log.Error("admin center request failed", "path", r.URL.Path, "err", err)
	}
	msg := allot.ErrorMessage(err)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Header.Get("HX-Request") == "true" {
		// htmx swaps only 2xx answers by default: show the message in place.
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		w.WriteHeader(http.StatusOK)
		alert(msg).Render(r.Context(), w)
		return
	}
	w.WriteHeader(status)
	v := &view{Title: "Error", P: p}
	if p != nil {
		v.Perms = httpapi.Perms(p)
	}
	errorPage(v, status, msg).Render(r.Context(), w)
}

// render writes a component as the answer. It renders into a buffer
// first, so that a failure half-way answers with an error page, not half a
// page.
func (q *req) render(c templ.Component) error { return q.renderStatus(http.StatusOK, c) }

// renderStatus is render with another HTTP status than 200.
func (q *req) renderStatus(status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(q.ctx(), &buf); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	q.w.WriteHeader(status)
	_, err := q.w.Write(buf.Bytes())
	if err != nil {
		return errWritten
	}
	return nil
}

// errWritten reports that the answer was sent (or the client went away):
// nothing more to write.
var errWritten = errors.New("answer already written")

// view is what every full page knows about the person and the page.
type view struct {
	Title string
	Nav   string // the active navigation item
	P     *store.Principal
	Perms httpapi.Perm
	SSO   bool
}

func (q *req) view(title, nav string) *view {
	return &view{Title: title, Nav: nav, P: q.p, Perms: q.perms}
}

// can tells whether the page's person holds every permission of need.
func (v *view) can(need httpapi.Perm) bool { return v.P != nil && v.Perms.Has(need) }

// canChangeSeats tells whether the person may change products' seats.
func (v *view) canChangeSeats() bool { return v.can(httpapi.PermProductsWrite) }

// canWriteLicenses tells whether the person may assign and remove licenses.
func (v *view) canWriteLicenses() bool { return v.can(httpapi.PermLicensesWrite) }

// home sends a person to the first page their roles allow.
func (s *Server) home(q *req) error {
	for _, c := range navItems {
		if c.allowed(q.perms) {
			http.Redirect(q.w, q.r, c.Path, http.StatusSeeOther)
			return nil
		}
	}
	return q.render(noAccessPage(q.view("No access", "")))
}

// navItem is one entry of the navigation, for people who hold every
// permission of Need and, when AnyOf is set, one of AnyOf.
type navItem struct {
	Key, Label, Path string
	Need             httpapi.Perm
	AnyOf            httpapi.Perm
}

// allowed tells whether the permissions open the item's page.
func (n navItem) allowed(p httpapi.Perm) bool {
	return p.Has(n.Need) && (n.AnyOf == 0 || p&n.AnyOf != 0)
}

var navItems = []navItem{
	{Key: "users", Label: "Active users", Path: "/users", Need: httpapi.PermUsersRead},
	{Key: "licenses", Label: "Licenses", Path: "/licenses", Need: httpapi.PermProductsRead},
	{Key: "groups", Label: "Groups", Path: "/groups", Need: httpapi.PermGroupsRead},
	{Key: "roles", Label: "Roles", Path: "/roles", Need: httpapi.PermRolesRead},
	{Key: "reports", Label: "Reports", Path: "/reports", Need: httpapi.PermReportsRead | httpapi.PermProductsRead},
	{Key: "audit", Label: "Audit log", Path: "/audit", Need: httpapi.PermAuditRead},
	{Key: "clients", Label: "API clients", Path: "/clients", AnyOf: clientsNeed},
	{Key: "alerts", Label: "Alerts", Path: "/alerts", Need: alertsNeed},
	{Key: "webhooks", Label: "Webhooks", Path: "/webhooks", Need: webhooksNeed},
	{Key: "schedules", Label: "Schedules", Path: "/schedules", Need: schedulesNeed},
	{Key: "reclamation", Label: "Reclamation", Path: "/reclamation", Need: reclaimNeed},
}

// ---- sign in and out ----

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if p, err := s.api.SessionPrincipal(r); err == nil && p != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	signinPage(&view{Title: "Sign in", SSO: s.api.SSOEnabled()}, signinForm{Next: next}).Render(r.Context(), w)
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	ctx := sqlstore.WithCorrelationID(r.Context(), w.Header().Get("request-id"))
	r = r.WithContext(ctx)
	f := signinForm{Name: strings.TrimSpace(r.PostForm.Get("userName")), Next: safeNext(r.PostForm.Get("next")),
		Org: strings.TrimSpace(r.PostForm.Get("organization"))}
	f.OrgOpen = f.Org != ""
	_, err := s.api.PasswordSignIn(w, r, f.Name, r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("code")), f.Org)
	if err != nil {
		status := http.StatusUnauthorized
		f.Msg = allot.ErrorMessage(err)
		switch allot.ErrorCode(err) {
		case allot.EUnauthorized:
			// The same words and the organization field open for a wrong
			// password and for a user name that several organizations have:
			// the form tells nobody which user names exist where.
			f.Msg = "The user name or password is incorrect, or the account is disabled. If your user name is in more than one organization, enter your organization too."
			if f.Org != "" {
				f.Msg = "The organization, user name or password is incorrect, or the account is disabled."
			}
			f.OrgOpen = true
		case allot.ETooManyRequests:
			status = http.StatusTooManyRequests
		case allot.EInvalid:
			status = http.StatusBadRequest
			f.Msg = "Enter your user name and password."
		case allot.EInternal:
			status = http.StatusInternalServerError
			if httpapi.ClientGone(r, err) {
				s.log.Debug("client went away during sign-in", "err", err)
				w.WriteHeader(httpapi.StatusClientClosed)
				return
			}
			s.log.Error("sign-in failed", "err", err)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		signinPage(&view{Title: "Sign in", SSO: s.api.SSOEnabled()}, f).Render(r.Context(), w)
		return
	}
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// signinForm is what the sign-in page shows again after a refusal.
type signinForm struct {
	Next, Name, Org, Msg string
	// OrgOpen shows the organization field (it is folded away otherwise).
	OrgOpen bool
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if err := s.api.SignOut(w, r); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps a redirect on this site: a path, never another host.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
