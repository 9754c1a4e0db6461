package httpapi

// Where a request really comes from and which URL the caller used: the
// connection's peer, or, when that peer is a trusted reverse proxy, what
// the proxy says in X-Forwarded-For, -Proto and -Host. Links in answers
// (@odata.context, @odata.nextLink, Location) are built from the public URL
// when one is configured, else from the caller's scheme and host.

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"allot"
)

// Network tells the server how it is reached.
type Network struct {
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-* headers are believed; from any other peer they are
	// ignored.
	TrustedProxies []netip.Prefix
	// PublicURL, when set, is the base of every link the server writes
	// (scheme, host and an optional path prefix).
	PublicURL *url.URL
}

// SetNetwork configures proxies and the public URL. Call it before serving.
func (s *Server) SetNetwork(n Network) { s.network = n }

// ParseProxies parses a comma-separated list of CIDR prefixes or single
// addresses (--trusted-proxies).
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, allot.Errorf(allot.EInvalid, "--trusted-proxies: '%s' is neither an address nor a CIDR prefix (such as 10.0.0.0/8).", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ParsePublicURL checks a --public-url: an absolute http or https URL
// without query or fragment; a trailing slash is dropped.
func ParsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, allot.Errorf(allot.EInvalid, "--public-url must be an http or https URL such as https://allot.example.com, not '%s'.", raw)
	}
	return u, nil
}

// peer is where a request comes from and how it was addressed.
type peer struct {
	addr   string // the client's IP address
	scheme string // "http" or "https", as the client used it
	host   string // the host the client addressed
}

type peerKey struct{}

// forwarded finds the request's peer (see peer) before anything else runs.
func (s *Server) forwarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), peerKey{}, s.peerOf(r))))
	})
}

func (s *Server) peerOf(r *http.Request) peer {
	p := peer{addr: remoteIP(r), scheme: "http", host: r.Host}
	if r.TLS != nil {
		p.scheme = "https"
	}
	if !s.trusted(p.addr) {
		return p
	}
	// The client is the last address not of a trusted proxy, reading
	// X-Forwarded-For from the right (each proxy appends its peer).
	hops := forwardedList(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		p.addr = a.Unmap().String()
		if !s.trusted(p.addr) {
			break
		}
	}
	if v := lastOf(r.Header.Values("X-Forwarded-Proto")); v == "http" || v == "https" {
		p.scheme = v
	}
	if v := lastOf(r.Header.Values("X-Forwarded-Host")); validHost(v) {
		p.host = v
	}
	return p
}

func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.network.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func forwardedList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func lastOf(vals []string) string {
	l := forwardedList(vals)
	if len(l) == 0 {
		return ""
	}
	return strings.ToLower(l[len(l)-1])
}

// validHost accepts a host name or address with an optional port, nothing
// that could change a link's meaning (no slash, @, space or query).
func validHost(h string) bool {
	if h == "" || len(h) > 255 || strings.ContainsAny(h, "/@?#\\ \t") {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

func peerOfRequest(r *http.Request) (peer, bool) {
	p, ok := r.Context().Value(peerKey{}).(peer)
	return p, ok
}

// clientAddress is the caller's IP address: the connection's peer, or the
// client a trusted proxy names.
func clientAddress(r *http.Request) string {
	if p, ok := peerOfRequest(r); ok {
		return p.addr
	}
	return remoteIP(r)
}

// requestScheme is "https" when the caller used TLS (directly, or to a
// trusted proxy that says so).
func requestScheme(r *http.Request) string {
	if p, ok := peerOfRequest(r); ok {
		return p.scheme
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// baseURL is the base of the links in answers: the public URL, else the
// scheme and host the caller used.
func (s *Server) baseURL(r *http.Request) string {
	if u := s.network.PublicURL; u != nil {
		return u.String()
	}
	if p, ok := peerOfRequest(r); ok {
		return p.scheme + "://" + p.host
	}
	return requestScheme(r) + "://" + r.Host
}
