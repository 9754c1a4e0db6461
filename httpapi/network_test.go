package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot"
)

// sendAs sends a request with the token and extra headers.
func (e *opsEnv) sendAs(method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestLinksFollowPublicURLAndTrustedProxies: @odata.context,
// @odata.nextLink and Location use --public-url when set; else the scheme
// and host a trusted proxy forwards; else, whatever X-Forwarded-* says,
// the connection's own scheme and Host.
func TestLinksFollowPublicURLAndTrustedProxies(t *testing.T) {
	forwarded := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "allot.example.com", "X-Forwarded-For": "203.0.113.9"}
	for _, tc := range []struct {
		name    string
		network Network
		hdr     map[string]string
		want    string // "" for the test server's own URL
	}{
		{"no proxy trusted: forwarded headers ignored", Network{}, forwarded, ""},
		{"trusted proxy: its scheme and host", Network{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, forwarded, "https://allot.example.com"},
		{"trusted proxy with a host that is no host: ignored", Network{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
			map[string]string{"X-Forwarded-Host": "evil.example/x?", "X-Forwarded-Proto": "gopher"}, ""},
		{"proxy trusted for other addresses only", Network{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, forwarded, ""},
		{"public URL wins", Network{PublicURL: mustURL(t, "https://public.example.com/allot"), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, forwarded, "https://public.example.com/allot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOpsEnv(t, func(s *Server) { s.SetNetwork(tc.network) })
			want := tc.want
			if want == "" {
				want = e.srv.URL
			}
			for i := range 2 {
				resp, body := e.sendAs("POST", "/v1.0/users", fmt.Sprintf(`{"accountEnabled":true,"displayName":"U","userPrincipalName":"u%d@contoso.com"}`, i), tc.hdr)
				if resp.StatusCode != 201 {
					t.Fatalf("create user: %d %s", resp.StatusCode, body)
				}
				id := jsonField(t, body, "id")
				if loc := resp.Header.Get("Location"); loc != want+"/v1.0/users/"+id {
					t.Errorf("Location %q, want %q", loc, want+"/v1.0/users/"+id)
				}
				if ctx := jsonField(t, body, "@odata.context"); !strings.HasPrefix(ctx, want+"/v1.0/$metadata#") {
					t.Errorf("@odata.context %q, want it under %s", ctx, want)
				}
			}
			_, body := e.sendAs("GET", "/v1.0/users?$top=1", "", tc.hdr)
			if next := jsonField(t, body, "@odata.nextLink"); !strings.HasPrefix(next, want+"/v1.0/users?") {
				t.Errorf("@odata.nextLink %q, want it under %s", next, want)
			}
		})
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	u, err := ParsePublicURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSignInThrottleUsesTheRealClient: behind a trusted proxy, failed
// sign-ins slow down the client address the proxy names, not everyone
// behind the proxy; a sender that is not trusted cannot pick its address
// with X-Forwarded-For. In both cases 22 failures on random accounts from
// one address leave a correct sign-in of another account from that address
// possible after at most the address delay (never a lock-out).
func TestSignInThrottleUsesTheRealClient(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run("trusted proxy "+strconv.FormatBool(trusted), func(t *testing.T) {
			e := newOpsEnv(t, func(s *Server) {
				if trusted {
					s.SetNetwork(Network{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
				}
			})
			ctx := context.Background()
			status, _, body := e.do("POST", "/v1.0/users", `{"accountEnabled":true,"displayName":"Megan","userPrincipalName":"megan@contoso.com"}`)
			if status != 201 {
				t.Fatalf("create user: %d %s", status, body)
			}
			pw := "a long right password 42"
			ten, _ := e.st.DefaultTenant(ctx)
			if err := e.st.SetPassword(ctx, allot.SystemActor, ten.ID, jsonField(t, body, "id"), pw); err != nil {
				t.Fatal(err)
			}
			signin := func(user, password, from string) *http.Response {
				b, _ := json.Marshal(map[string]string{"userName": user, "password": password})
				req, _ := http.NewRequest("POST", e.srv.URL+"/allot/v1/signin", strings.NewReader(string(b)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", from)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			failed := 0
			for i := 0; failed < signinFreePerAddress+2 && i < 200; i++ {
				resp := signin(fmt.Sprintf("nobody%d@contoso.com", i), "Winter2026!", "203.0.113.7")
				switch resp.StatusCode {
				case 401:
					failed++
				case 429:
					ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
					if ra > int(signinAddressMaxDelay/time.Second) {
						t.Fatalf("the spraying address waits %d s, more than the address cap", ra)
					}
					time.Sleep(time.Duration(ra) * time.Second)
				default:
					t.Fatalf("failed sign-in: %d", resp.StatusCode)
				}
			}
			if trusted {
				// Another client behind the same proxy is not slowed at all.
				if resp := signin("megan@contoso.com", pw, "203.0.113.8"); resp.StatusCode != 200 {
					t.Fatalf("correct sign-in from another client behind the proxy: %d", resp.StatusCode)
				}
			}
			// From the spraying address itself: at most the address delay.
			start := time.Now()
			for n := 0; ; n++ {
				from := "203.0.113.7"
				if !trusted { // a forged address each time: ignored
					from = "198.51.100." + strconv.Itoa(n+1)
				}
				resp := signin("megan@contoso.com", pw, from)
				if resp.StatusCode == 200 {
					break
				}
				ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
				if resp.StatusCode != 429 || ra > int(signinAddressMaxDelay/time.Second) || time.Since(start) > 10*time.Second {
					t.Fatalf("correct sign-in of another account from the spraying address: %d Retry-After %d after %s", resp.StatusCode, ra, time.Since(start))
				}
				time.Sleep(time.Duration(ra) * time.Second)
			}
			if !trusted && time.Since(start) < 500*time.Millisecond {
				t.Errorf("without a trusted proxy a forged X-Forwarded-For escaped the address throttle")
			}
		})
	}
}

// TestOneAddressCannotLockEveryAccount: 1,000 failed sign-ins from one
// address on random accounts delay that address by at most
// signinAddressMaxDelay, and no other account; an account's own failures
// still lock it from every address.
func TestOneAddressCannotLockEveryAccount(t *testing.T) {
	forEachSigninCounter(t, func(t *testing.T, g signinCounter) {
		now := time.Now().Truncate(time.Millisecond)
		for i := range 1000 {
			mustDo(t, g.fail(ctx, fmt.Sprintf("1:random%d@contoso.com", i), "203.0.113.7", now))
		}
		if w := mustWait(t, g, "1:megan@contoso.com", "203.0.113.7", now); w <= 0 || w > signinAddressMaxDelay {
			t.Errorf("another account from the spraying address waits %v, want (0, %v]", w, signinAddressMaxDelay)
		}
		if w := mustWait(t, g, "1:megan@contoso.com", "203.0.113.8", now); w != 0 {
			t.Errorf("another account from another address waits %v, want 0", w)
		}
		for range signinFreePerAccount + 3 {
			mustDo(t, g.fail(ctx, "1:megan@contoso.com", "198.51.100.1", now))
		}
		if w := mustWait(t, g, "1:megan@contoso.com", "203.0.113.8", now); w != 8*time.Second {
			t.Errorf("an account that failed %d times waits %v from another address, want 8s", signinFreePerAccount+3, w)
		}
	})
}

// TestParseNetworkFlags: --trusted-proxies takes CIDR prefixes and single
// addresses; --public-url takes an absolute http(s) URL; anything else is
// EInvalid.
func TestParseNetworkFlags(t *testing.T) {
	ps, err := ParseProxies(" 10.0.0.0/8, 192.0.2.7 ,::1")
	if err != nil || len(ps) != 3 || ps[1].String() != "192.0.2.7/32" || ps[2].String() != "::1/128" {
		t.Errorf("ParseProxies: %v %v", ps, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "10.0.0"} {
		if _, err := ParseProxies(bad); allot.ErrorCode(err) != allot.EInvalid {
			t.Errorf("ParseProxies(%q): %v, want EInvalid", bad, err)
		}
	}
	if u, err := ParsePublicURL("https://allot.example.com/"); err != nil || u.String() != "https://allot.example.com" {
		t.Errorf("ParsePublicURL: %v %v", u, err)
	}
	for _, bad := range []string{"allot.example.com", "ftp://x", "https://", "https://x/?a=1", "https://u:p@x"} {
		if _, err := ParsePublicURL(bad); allot.ErrorCode(err) != allot.EInvalid {
			t.Errorf("ParsePublicURL(%q): %v, want EInvalid", bad, err)
		}
	}
}
