package conformance

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// adminToken is the server's ALLOT_ADMIN_TOKEN: a Global Administrator of
// the demo tenant.
const adminToken = "conformance-admin-token-0123456789abcdef0123"

// srv is the allot server every test of the package talks to. Tests use
// names of their own, so they share it.
var srv *server

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "allot-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "allot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/allot")
	build.Dir = ".." // the main module
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ../cmd/allot: %v\n%s", err, out)
		return 1
	}
	srv, err = startServer(bin, filepath.Join(dir, "data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	srv.stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "server log:\n%s", srv.logText())
	}
	return code
}

// server is a running `allot serve --demo`.
type server struct {
	URL string
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

var servingRE = regexp.MustCompile(`at (https?://127\.0\.0\.1:\d+)`)

func startServer(bin, data string) (*server, error) {
	s := &server{}
	s.cmd = exec.Command(bin, "serve", "--demo", "--data", data, "--addr", "127.0.0.1:0")
	s.cmd.Env = append(cleanEnv(), "ALLOT_ADMIN_TOKEN="+adminToken)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil && strings.Contains(line, "allot serving") {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case s.URL = <-found:
		return s, nil
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("allot serve did not start in 60 s:\n%s", s.logText())
	}
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// cleanEnv is the environment without allot's own variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLOT_") {
			env = append(env, kv)
		}
	}
	return env
}

// tokenProvider gives the SDK allot's bearer token for the allowed hosts, as
// an application's own AccessTokenProvider does.
type tokenProvider struct {
	token string
	hosts *authentication.AllowedHostsValidator
}

func (p *tokenProvider) GetAuthorizationToken(_ context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	return p.token, nil
}

func (p *tokenProvider) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	return p.hosts
}

// graph is the SDK's client and request adapter, pointed at allot.
type graph struct {
	*msgraph.GraphServiceClient
	adapter *msgraph.GraphRequestAdapter
}

// newGraph returns Microsoft's Graph client for the server, as a user sets
// it up: the SDK's default HTTP client and middleware (compression and
// retry on), a bearer-token provider for 127.0.0.1 and localhost, and the
// base URL set to allot's /v1.0.
func newGraph(t *testing.T) *graph {
	t.Helper()
	hosts, err := authentication.NewAllowedHostsValidatorErrorCheck([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(&tokenProvider{token: adminToken, hosts: hosts})
	adapter, err := msgraph.NewGraphRequestAdapter(auth)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(srv.URL + "/v1.0")
	return &graph{GraphServiceClient: msgraph.NewGraphServiceClient(adapter), adapter: adapter}
}

// TestSDKPipelineCompressesAndRetries: the client the tests use is the
// SDK's default, whose middleware has the compression and retry handlers;
// the tests do not switch them off.
func TestSDKPipelineCompressesAndRetries(t *testing.T) {
	var compress, retry bool
	for _, m := range msgraphgocore.GetDefaultMiddlewaresWithOptions(&msgraphgocore.GraphClientOptions{}) {
		switch m.(type) {
		case *khttp.CompressionHandler:
			compress = true
		case *khttp.RetryHandler:
			retry = true
		}
	}
	if !compress || !retry {
		t.Fatalf("the SDK's default middleware: compression %v, retry %v", compress, retry)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// uniq returns a name no other test uses.
func uniq(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
}
