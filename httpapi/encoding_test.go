package httpapi

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rawSend sends body with the extra headers through a transport that does
// not decompress answers, so the test sees the bytes on the wire.
func (c *client) rawSend(t *testing.T, method, path string, body []byte, headers map[string]string) *response {
	t.Helper()
	req, err := http.NewRequest(method, c.h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: data}
	if r.Status >= 500 {
		t.Errorf("server error: %s", r)
	}
	return r
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflated(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func userJSON(upn string) []byte {
	b, _ := json.Marshal(map[string]any{"userPrincipalName": upn, "displayName": strings.Split(upn, "@")[0], "accountEnabled": true})
	return b
}

// TestCompressedRequestBodiesAreDecoded: bodies sent with Content-Encoding
// gzip or deflate (zlib or raw, as clients send it) are read as the JSON
// they compress, on every kind of body reader (objects and $ref).
func TestCompressedRequestBodiesAreDecoded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		cases := []struct {
			name, coding string
			encode       func([]byte) []byte
		}{
			{"gzip", "gzip", gzipped},
			{"x-gzip", "x-gzip", gzipped},
			{"deflate as zlib", "deflate", zlibbed},
			{"deflate raw", "deflate", rawDeflated},
			{"identity", "identity", func(b []byte) []byte { return b }},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				upn := fmt.Sprintf("user%d@contoso.com", i)
				r := c.rawSend(t, "POST", "/v1.0/users", tc.encode(userJSON(upn)), map[string]string{"Content-Encoding": tc.coding})
				if r.Status != 201 {
					t.Fatalf("want 201: %s", r)
				}
				id := r.object(t)["id"].(string)
				if got := c.with(t).getJSON("/v1.0/users/" + id)["userPrincipalName"]; got != upn {
					t.Errorf("stored userPrincipalName %v, want %s", got, upn)
				}
			})
		}
		t.Run("gzip $ref body", func(t *testing.T) {
			g, u := c.with(t).createGroup("G"), c.with(t).createUser("member@contoso.com", "US")
			ref, _ := json.Marshal(refBody(u))
			r := c.rawSend(t, "POST", "/v1.0/groups/"+g+"/members/$ref", gzipped(ref), map[string]string{"Content-Encoding": "gzip"})
			if r.Status != 204 {
				t.Fatalf("want 204: %s", r)
			}
			if n := len(c.with(t).getJSON("/v1.0/groups/" + g + "/members")["value"].([]any)); n != 1 {
				t.Errorf("group has %d members, want 1", n)
			}
		})
	})
}

// TestBadCompressedBodiesAreRefused: a body that expands past the body
// limit answers 413, an unknown coding 415, a corrupt one 400, each with the
// Graph error envelope, and nothing changes.
func TestBadCompressedBodiesAreRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		c.createUser("adele@contoso.com", "US")
		before := c.snapshot()
		// 10 MB of JSON that compresses to a few kilobytes.
		bomb := gzipped([]byte(`{"userPrincipalName":"bomb@contoso.com","displayName":"` + strings.Repeat("a", 10<<20) + `"}`))
		valid := gzipped(userJSON("valid@contoso.com"))
		badCRC := bytes.Clone(valid)
		badCRC[len(badCRC)-6] ^= 0xff
		cases := []struct {
			name, coding string
			body         []byte
			status       int
			code         string
		}{
			{"gzip expanding to 10 MB", "gzip", bomb, 413, "Request_EntityTooLarge"},
			{"unknown coding br", "br", userJSON("br@contoso.com"), 415, "UnsupportedMediaType"},
			{"unknown coding in a list", "gzip, compress", valid, 415, "UnsupportedMediaType"},
			{"not gzip at all", "gzip", userJSON("plain@contoso.com"), 400, "Request_BadRequest"},
			{"truncated gzip", "gzip", valid[:len(valid)/2], 400, "Request_BadRequest"},
			{"gzip with a bad checksum", "gzip", badCRC, 400, "Request_BadRequest"},
			{"corrupt deflate", "deflate", []byte{0x78, 0x9c, 0xff, 0xff, 0xff, 0x00}, 400, "Request_BadRequest"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := c.rawSend(t, "POST", "/v1.0/users", tc.body, map[string]string{"Content-Encoding": tc.coding})
				if r.Status != tc.status {
					t.Fatalf("want %d: %s", tc.status, r)
				}
				if e := r.graphError(t); e.Code != tc.code {
					t.Errorf("code %s, want %s: %s", e.Code, tc.code, r)
				}
			})
		}
		c.unchanged(before, "refused compressed bodies")
	})
}

// TestAnswersAreGzippedWhenAccepted: a client that sends Accept-Encoding
// gzip gets a long answer gzip-compressed (and valid once decompressed); a
// short answer, or a client that does not accept gzip (or refuses it with
// q=0), gets it uncompressed.
func TestAnswersAreGzippedWhenAccepted(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		for i := 0; i < 20; i++ {
			c.createUser(fmt.Sprintf("user%02d@contoso.com", i), "US")
		}
		cases := []struct {
			name, path, accept string
			gzipped            bool
		}{
			{"long answer, gzip accepted", "/v1.0/users", "gzip, deflate, br", true},
			{"long answer, gzip with q", "/v1.0/users", "br;q=1.0, gzip;q=0.5", true},
			{"long answer, gzip refused with q=0", "/v1.0/users", "gzip;q=0", false},
			{"long answer, no Accept-Encoding", "/v1.0/users", "", false},
			{"short answer", "/v1.0/users?$top=1&$select=id", "gzip", false},
			{"short error", "/v1.0/users/00000000-0000-4000-8000-00000000beef", "gzip", false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := map[string]string{}
				if tc.accept != "" {
					h["Accept-Encoding"] = tc.accept
				}
				r := c.rawSend(t, "GET", tc.path, nil, h)
				got := r.Header.Get("Content-Encoding") == "gzip"
				if got != tc.gzipped {
					t.Fatalf("Content-Encoding %q, want gzipped=%v (%d bytes)", r.Header.Get("Content-Encoding"), tc.gzipped, len(r.Body))
				}
				body := r.Body
				if got {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatalf("decompress: %v", err)
					}
				}
				if !json.Valid(body) {
					t.Errorf("answer is not JSON: %.200q", body)
				}
				if tc.accept != "" && !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
					t.Errorf("no Vary: Accept-Encoding on %s", tc.path)
				}
			})
		}
	})
}

// TestGzippedAnswerKeepsItsSniffedType: a handler that leaves Content-Type
// to net/http's sniffing (as an HTML page written after WriteHeader does)
// gets the type of its plain bytes, not of the gzip stream: a browser shown
// application/x-gzip or text/plain would show the page's source.
func TestGzippedAnswerKeepsItsSniffedType(t *testing.T) {
	page := "<!doctype html><html><body>" + strings.Repeat("<p>seat</p>", 200) + "</body></html>"
	h := (&Server{}).encoding(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, page)
	}))
	req := httptest.NewRequest("GET", "/users", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, Content-Encoding %q: want a gzipped 403", rec.Code, rec.Header().Get("Content-Encoding"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html sniffed from the page", ct)
	}
}

// TestPooledGzipWritersKeepAnswersApart: answers compressed at once by
// writers that come from and go back to one pool each decode to their own
// body, whole.
func TestPooledGzipWritersKeepAnswersApart(t *testing.T) {
	h := (&Server{}).encoding(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat(r.URL.Query().Get("n")+",", 2000))
	}))
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := strconv.Itoa(i)
			req := httptest.NewRequest("GET", "/users?n="+n, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Errorf("answer %d: %v", i, err)
				return
			}
			body, err := io.ReadAll(zr)
			if want := strings.Repeat(n+",", 2000); err != nil || string(body) != want {
				t.Errorf("answer %d: %d bytes, err %v; want its own %d bytes", i, len(body), err, len(want))
			}
		}()
	}
	wg.Wait()
}
