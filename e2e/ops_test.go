package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var metricsRE = regexp.MustCompile(`Metrics: (http://\S+/metrics)`)

// TestServeMetricsAndJSONLogs: `allot serve --metrics-addr … --log-format
// json` serves /metrics on its own listener (no token there), counts the
// requests of the main listener by route, and logs one JSON access line per
// request.
func TestServeMetricsAndJSONLogs(t *testing.T) {
	t.Parallel()
	srv := startServerWith(t, nil, "--metrics-addr", "127.0.0.1:0", "--log-format", "json")
	m := metricsRE.FindStringSubmatch(srv.logText())
	if m == nil {
		t.Fatalf("no 'Metrics:' line in the server's output:\n%s", srv.logText())
	}
	for range 2 {
		req, _ := http.NewRequest("GET", srv.URL+"/v1.0/subscribedSkus", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("subscribedSkus: %d", resp.StatusCode)
		}
	}
	// A request is counted once its answer is written, which the client
	// may see first: scrape until it shows (or 5 s).
	want := `allot_http_request_duration_seconds_count{method="GET",route="GET /v1.0/subscribedSkus",status="200"} 2`
	for start := time.Now(); ; {
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(body), want) {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("GET %s: %d; want a line %q in:\n%.2000s", m[1], resp.StatusCode, want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r, err := http.Get(srv.URL + "/metrics"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Errorf("/metrics is served on the main listener without ALLOT_METRICS_TOKEN")
		}
	}
	n := 0
	for start := time.Now(); n < 2 && time.Since(start) < 5*time.Second; time.Sleep(20 * time.Millisecond) {
		n = 0
		for _, line := range strings.Split(srv.logText(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" && rec["route"] == "GET /v1.0/subscribedSkus" {
				n++
			}
		}
	}
	if n != 2 {
		t.Errorf("%d JSON access lines for the 2 requests, want 2:\n%s", n, srv.logText())
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: `allot serve --tls-cert --tls-key` answers over HTTPS with
// HTTP/2, its links say https, and SIGHUP reloads a renewed certificate
// from the same files without a restart.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "first")
	srv := startServerWith(t, nil, "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("serving at %s, want https://", srv.URL)
	}
	get := func(pool *x509.CertPool) (*http.Response, map[string]any, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("GET", srv.URL+"/v1.0/subscribedSkus", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m, nil
	}
	resp, m, err := get(pool)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.TLS.PeerCertificates[0].Subject.CommonName != "first" {
		t.Fatalf("over TLS: %d %s, certificate %q; want 200 over HTTP/2 with the first certificate", resp.StatusCode, resp.Proto, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
	if ctx, _ := m["@odata.context"].(string); !strings.HasPrefix(ctx, "https://127.0.0.1:") {
		t.Errorf("@odata.context %q, want an https link", ctx)
	}
	_, _, pool2 := selfSigned(t, dir, "renewed")
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _, err := get(pool2)
		if err == nil && resp.TLS.PeerCertificates[0].Subject.CommonName == "renewed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate is not served 10 s after SIGHUP (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
