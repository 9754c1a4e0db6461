package egress

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestPublicAddresses(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "52.96.0.1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "100.64.0.1": false, "0.0.0.0": false,
		"::": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "0.1.2.3": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != public {
			t.Errorf("Public(%s) = %v, want %v", addr, got, public)
		}
	}
}

func TestCheckURLAllowsHTTPSToPublicAddressesOnly(t *testing.T) {
	strict, open := Policy{}, Policy{AllowPrivate: true}
	for _, c := range []struct {
		url          string
		strict, open bool // allowed
	}{
		{"https://hooks.contoso.com/allot", true, true},
		{"https://52.96.0.1/hook", true, true},
		{"http://hooks.contoso.com/allot", false, true},
		{"https://127.0.0.1:8443/hook", false, true},
		{"https://[::1]/hook", false, true},
		{"https://169.254.169.254/latest/meta-data", false, true},
		{"https://10.0.0.7/hook", false, true},
		{"https://localhost/hook", false, true},
		{"ftp://hooks.contoso.com/", false, false},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := strict.CheckURL(u) == nil; got != c.strict {
			t.Errorf("default policy, %s: allowed %v, want %v (%v)", c.url, got, c.strict, strict.CheckURL(u))
		}
		if got := open.CheckURL(u) == nil; got != c.open {
			t.Errorf("--webhook-allow-private, %s: allowed %v, want %v", c.url, got, c.open)
		}
	}
}

// TestDialRefusesPrivateAddressesAfterResolution: a host name that
// resolves to a loopback address (localhost here; a DNS name pointing
// inside in an attack) is refused when dialled, not only when checked.
func TestDialRefusesPrivateAddressesAfterResolution(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	target := "http://localhost:" + port + "/"
	res, err := (Policy{}).Client(0).Get(target)
	if err == nil {
		res.Body.Close()
		t.Fatalf("the default policy reached %s", target)
	}
	if !strings.Contains(err.Error(), "not a public address") {
		t.Errorf("refusal: %v", err)
	}
	res, err = (Policy{AllowPrivate: true}).Client(0).Get(target)
	if err != nil {
		t.Fatalf("--webhook-allow-private: %v", err)
	}
	res.Body.Close()
	if _, err := (Policy{}).Dial(context.Background(), "tcp", srv.Listener.Addr().String()); err == nil {
		t.Error("Dial reached a loopback address")
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer srv.Close()
	res, err := (Policy{AllowPrivate: true}).Client(0).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Errorf("status %d: the redirect was followed", res.StatusCode)
	}
}
