package httpapi

import (
	"allot/internal/egress"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"allot/alerts"
)

// smtpServer is a minimal SMTP server on net/textproto (RFC 5321's
// commands net/smtp's client sends without authentication), keeping each
// message it accepts.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []smtpMessage
}

type smtpMessage struct {
	from string
	to   []string
	data string
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) session(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 test.local ESMTP")
	var m smtpMessage
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch cmd {
		case "EHLO", "HELO":
			tp.PrintfLine("250-test.local\r\n250 8BITMIME")
		case "MAIL":
			m = smtpMessage{from: angle(line)}
			tp.PrintfLine("250 OK")
		case "RCPT":
			m.to = append(m.to, angle(line))
			tp.PrintfLine("250 OK")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m.data = string(data)
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			tp.PrintfLine("250 OK queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 OK")
		}
	}
}

// angle returns the address between < and > of a MAIL or RCPT line.
func angle(line string) string {
	i, j := strings.IndexByte(line, '<'), strings.IndexByte(line, '>')
	if i < 0 || j < i {
		return ""
	}
	return line[i+1 : j]
}

func (s *smtpServer) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.msgs...)
}

// webhookSink records the JSON bodies POSTed to it.
type webhookSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []alerts.Event
}

func newWebhookSink(t *testing.T) *webhookSink {
	k := &webhookSink{}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev alerts.Event
		if err := json.NewDecoder(bufio.NewReader(r.Body)).Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		k.mu.Lock()
		k.got = append(k.got, ev)
		k.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *webhookSink) events() []alerts.Event {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]alerts.Event(nil), k.got...)
}

func TestInsightsAlertFiresOnceAt90PercentAndResolvesWhenSeatsAreBought(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		hook := newWebhookSink(t)
		smtpd := newSMTPServer(t)
		rule := c.must(201, "POST", "/allot/v1/alertRules", map[string]any{"displayName": "Insights ≥ 90% used",
			"product": "WORKPLACE_ANALYTICS_INSIGHTS", "metric": "utilization", "threshold": 90,
			"webhookUrl": hook.srv.URL, "emails": []string{"licensing@contoso.com"}}).object(t)
		w := alerts.NewWatcher(h.st, slog.New(h.logs), alerts.Config{SMTP: alerts.SMTP{Addr: smtpd.ln.Addr().String(), From: "allot@contoso.com"},
			Webhooks: egress.Policy{AllowPrivate: true}})
		check := func() {
			t.Helper()
			if err := w.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Deliver(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		e3, insights := c.sku("SPE_E3"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
		for i := 1; i <= 24; i++ {
			u := c.createUser(fmt.Sprintf("i%d@contoso.com", i), "US")
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3, insights}, nil))
			check()
			want := 0
			if i >= 23 {
				want = 1
			}
			if n := len(hook.events()); n != want {
				t.Fatalf("after seat %d of 25: %d webhook events, want %d", i, n, want)
			}
		}
		ev := hook.events()[0]
		if ev.Status != "firing" || ev.RuleID != rule["id"] || ev.ConsumedUnits != 23 || ev.EnabledUnits != 25 || ev.SkuPartNumber != "WORKPLACE_ANALYTICS_INSIGHTS" {
			t.Errorf("firing event = %+v", ev)
		}
		if got := c.must(200, "GET", "/allot/v1/alertRules", nil).values(t); got[0]["status"] != "firing" {
			t.Errorf("rule status = %v, want firing", got[0]["status"])
		}
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+insights, map[string]any{"enabledUnits": 30})
		check()
		check()
		evs := hook.events()
		if len(evs) != 2 || evs[1].Status != "resolved" || evs[1].EnabledUnits != 30 {
			t.Fatalf("after buying seats: %+v", evs)
		}
		msgs := smtpd.messages()
		if len(msgs) != 2 {
			t.Fatalf("%d e-mails, want 2 (firing, resolved)", len(msgs))
		}
		for i, want := range []string{"FIRING", "RESOLVED"} {
			m := msgs[i]
			msg, err := mail.ReadMessage(strings.NewReader(m.data))
			if err != nil {
				t.Fatalf("e-mail %d does not parse: %v", i, err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || m.from != "allot@contoso.com" || len(m.to) != 1 || m.to[0] != "licensing@contoso.com" ||
				subject != "[allot] "+want+": Insights ≥ 90% used" {
				t.Errorf("e-mail %d: subject %q, %+v", i, subject, m)
			}
			checkAlertMailParts(t, msg, "Insights ≥ 90% used", "/licenses/"+insights)
		}
	})
}

// checkAlertMailParts checks that an alert e-mail has a plain-text and an
// HTML part, both naming the rule and linking the page.
func checkAlertMailParts(t *testing.T, msg *mail.Message, rule, link string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		typ, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, typ)
		text := string(body)
		if typ == "text/html" {
			text = html.UnescapeString(text)
			if !strings.Contains(text, `href="`+link+`"`) {
				t.Errorf("HTML part has no link to %s: %s", link, text)
			}
		}
		if !strings.Contains(text, rule) || !strings.Contains(text, link) {
			t.Errorf("%s part does not name %q and %s: %s", typ, rule, link, text)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v, want text/plain then text/html", types)
	}
}

func TestAlertRulesRefuseBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		for name, body := range map[string]map[string]any{
			"unknown metric":   {"displayName": "x", "metric": "temperature", "threshold": 1, "webhookUrl": "http://127.0.0.1:1/"},
			"percent over 100": {"displayName": "x", "metric": "utilization", "threshold": 120, "webhookUrl": "http://127.0.0.1:1/"},
			"nowhere to send":  {"displayName": "x", "metric": "waitingList", "threshold": 0},
			"not an e-mail":    {"displayName": "x", "metric": "waitingList", "threshold": 0, "emails": []string{"nobody"}},
			"no threshold":     {"displayName": "x", "metric": "waitingList", "emails": []string{"a@b.com"}},
		} {
			c.expectError(400, "Request_BadRequest", "POST", "/allot/v1/alertRules", body)
			_ = name
		}
		c.expectError(404, "Request_ResourceNotFound", "POST", "/allot/v1/alertRules",
			map[string]any{"displayName": "x", "product": "NO_SUCH_SKU", "metric": "waitingList", "threshold": 0, "emails": []string{"a@b.com"}})
		if n := len(c.must(200, "GET", "/allot/v1/alertRules", nil).values(t)); n != 0 {
			t.Errorf("%d rules after refusals", n)
		}
	})
}
