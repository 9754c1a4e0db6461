// Package egress decides where allot may send webhooks (change
// notifications, their validation handshake, lifecycle events, alerts): by
// default only https to public addresses, so that a tenant's admin cannot
// make the server call into its own network (a database, a cloud metadata
// service). An operator who runs receivers on a private network allows
// plain http and private, loopback and link-local addresses
// (`allot serve --webhook-allow-private`).
package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Policy is where webhooks may go.
type Policy struct {
	// AllowPrivate allows plain http and addresses that are not public.
	AllowPrivate bool
}

// shared is 100.64.0.0/10 (carrier-grade NAT), which netip does not count
// as private.
var shared = netip.MustParsePrefix("100.64.0.0/10")

// Public tells whether ip is a public unicast address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() &&
		!ip.IsInterfaceLocalMulticast() && !ip.IsMulticast() && !ip.IsUnspecified() && !shared.Contains(ip) &&
		!(ip.Is4() && ip.As4()[0] == 0)
}

// CheckURL says why a webhook may not go to u, in an admin's words, or
// returns nil. A host name is checked again when it is dialled (Dial), with
// the address it resolved to.
func (p Policy) CheckURL(u *url.URL) error {
	if u.Scheme != "https" && !(p.AllowPrivate && u.Scheme == "http") {
		if u.Scheme == "http" {
			return fmt.Errorf("plain http is not allowed; use https (the operator may allow http with --webhook-allow-private)")
		}
		return fmt.Errorf("use an https URL")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !p.AllowPrivate && !Public(ip) {
		return fmt.Errorf("%s is not a public address (the operator may allow private, loopback and link-local addresses with --webhook-allow-private)", ip)
	}
	if u.Hostname() == "localhost" && !p.AllowPrivate {
		return fmt.Errorf("localhost is not a public address (the operator may allow it with --webhook-allow-private)")
	}
	return nil
}

// Dial connects like net.Dialer, refusing, unless AllowPrivate, an address
// that is not public after name resolution.
func (p Policy) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !p.AllowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !Public(ap.Addr()) {
				return fmt.Errorf("webhooks may not go to %s: not a public address (the operator may allow it with --webhook-allow-private)", address)
			}
			return nil
		}
	}
	return d.DialContext(ctx, network, addr)
}

// Transport is http.DefaultTransport's settings with the policy's dialler
// and no proxy (a proxy would dial for it).
func (p Policy) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = p.Dial
	return tr
}

// Client is an HTTP client on Transport that does not follow redirects (a
// redirect could lead anywhere) and gives up after timeout.
func (p Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: p.Transport(), Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
