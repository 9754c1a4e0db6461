package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/alerts"
	"allot/demo"
	"allot/events"
	"allot/httpapi"
	"allot/metrics"
	"allot/reconcile"
	"allot/scim"
	"allot/store"
	"allot/store/sqlstore"
	"allot/web"
)

// serveConfig is what `allot serve` is told by its flags and environment.
type serveConfig struct {
	sf             storeFlags
	addr           string
	demo           bool
	reconcileChunk int
	limits         httpapi.Limits
	logFormat      string
	logLevel       string
	metricsAddr    string
	metricsMax     int
	timeouts       timeouts
	tlsCert        string
	tlsKey         string
	trustedProxies string
	publicURL      string
	retention      retentionFlag
	events         eventsFlags
}

// timeouts bound how long one connection may hold the server.
type timeouts struct {
	readHeader time.Duration // the request line and headers
	read       time.Duration // the whole request, body included
	write      time.Duration // from the end of the headers to the end of the answer
	idle       time.Duration // a kept-alive connection between requests
}

// defaultTimeouts are the server's timeouts unless configured.
var defaultTimeouts = timeouts{readHeader: 10 * time.Second, read: 30 * time.Second, write: 60 * time.Second, idle: 2 * time.Minute}

// newHTTPServer returns the main server of h with the timeouts; its own
// errors (a broken TLS handshake, a refused connection) are logged at INFO:
// clients cause them, not the server.
func newHTTPServer(h http.Handler, t timeouts, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.readHeader, ReadTimeout: t.read, WriteTimeout: t.write,
		IdleTimeout: t.idle, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelInfo)}
}

func newServe() *cobra.Command {
	cfg := serveConfig{limits: httpapi.DefaultLimits, timeouts: defaultTimeouts}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the allot server",
		Long: `Run the allot server: the Graph-compatible API under /v1.0, the admin API under /allot/v1,
and group-based licensing in the background.

An empty store gets one default tenant on first start (with --demo: Contoso, seeded with
products, about 250 users, groups and some assignments). Set ALLOT_ADMIN_TOKEN (32+ characters)
to make that value a Global Administrator token of the default tenant.

Logs go to standard error, one line per request at info. Prometheus metrics: --metrics-addr
(their own listener), or ALLOT_METRICS_TOKEN (32+ characters) for /metrics on the main listener to
callers that send it as a bearer token. docs/operations.md lists every flag, its environment
variable, the log fields and the metrics.`,
		Example: `  allot serve --demo
  ALLOT_ADMIN_TOKEN=$(openssl rand -hex 24) allot serve --addr 127.0.0.1:8080 --data /var/lib/allot
  allot serve --log-format json --log-level warn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), cfg)
		},
	}
	cfg.sf.add(cmd)
	serveAuth.add(cmd)
	f := cmd.Flags()
	f.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.BoolVar(&cfg.demo, "demo", false, "seed the Contoso demo tenant (idempotent)")
	f.IntVar(&cfg.reconcileChunk, "reconcile-chunk", 0, "group members per reconcile transaction (tests use small chunks)")
	f.Float64Var(&cfg.limits.RatePerSecond, "rate-limit", cfg.limits.RatePerSecond, "requests per second per token or session (0: no limit)")
	f.StringVar(&cfg.logFormat, "log-format", envOr("ALLOT_LOG_FORMAT", "text"), "log format: text or json (env ALLOT_LOG_FORMAT)")
	f.StringVar(&cfg.logLevel, "log-level", envOr("ALLOT_LOG_LEVEL", "info"), "least level logged: debug, info, warn or error (env ALLOT_LOG_LEVEL)")
	f.StringVar(&cfg.metricsAddr, "metrics-addr", os.Getenv("ALLOT_METRICS_ADDR"), "serve /metrics (Prometheus) on its own listener at this address, without authentication (env ALLOT_METRICS_ADDR; default: off)")
	f.IntVar(&cfg.metricsMax, "metrics-max-products", metrics.DefaultMaxSeatSeries, "most products whose seats one scrape of /metrics reports")
	f.DurationVar(&cfg.timeouts.readHeader, "read-header-timeout", defaultTimeouts.readHeader, "longest time to read a request's line and headers")
	f.DurationVar(&cfg.timeouts.read, "read-timeout", defaultTimeouts.read, "longest time to read a whole request, body included (slower bodies are cut off)")
	f.DurationVar(&cfg.timeouts.write, "write-timeout", defaultTimeouts.write, "longest time from a request's headers to the end of its answer (a client that does not read is cut off)")
	f.DurationVar(&cfg.timeouts.idle, "idle-timeout", defaultTimeouts.idle, "longest time a kept-alive connection waits for its next request")
	f.StringVar(&cfg.tlsCert, "tls-cert", os.Getenv("ALLOT_TLS_CERT"), "serve HTTPS (and HTTP/2) with this PEM certificate chain; reloaded on SIGHUP (env ALLOT_TLS_CERT)")
	f.StringVar(&cfg.tlsKey, "tls-key", os.Getenv("ALLOT_TLS_KEY"), "the PEM private key of --tls-cert (env ALLOT_TLS_KEY)")
	f.StringVar(&cfg.trustedProxies, "trusted-proxies", os.Getenv("ALLOT_TRUSTED_PROXIES"), "comma-separated CIDR prefixes or addresses of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (env ALLOT_TRUSTED_PROXIES)")
	f.StringVar(&cfg.publicURL, "public-url", os.Getenv("ALLOT_PUBLIC_URL"), "the URL clients use (https://allot.example.com): the base of every link in answers (env ALLOT_PUBLIC_URL)")
	cfg.retention.add(cmd)
	cfg.events.add(cmd)
	f.MarkHidden("reconcile-chunk")
	return cmd
}

func serve(ctx context.Context, cfg serveConfig) error {
	sf, withDemo := cfg.sf, cfg.demo
	log, err := newLogger(os.Stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	network, err := cfg.network()
	if err != nil {
		return err
	}
	certs, err := loadCerts(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return err
	}
	adminToken := os.Getenv("ALLOT_ADMIN_TOKEN")
	if adminToken != "" && len(adminToken) < 32 {
		return allot.Errorf(allot.EInvalid, "ALLOT_ADMIN_TOKEN must be at least 32 characters long (for example: openssl rand -hex 24).")
	}
	st, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Engine() == sqlstore.SQLite {
		if err := st.ReleaseLeases(ctx); err != nil {
			return err
		}
	}
	// Processes sharing a PostgreSQL database start one at a time, so the
	// default tenant, the demo seed and the admin token are made once.
	unlock, err := st.StartupLock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	var demoPassword string
	t, fresh, err := ensureDefaultTenant(ctx, st, withDemo)
	if err != nil {
		return err
	}
	if withDemo {
		if t.DisplayName != demo.TenantName {
			if t, err = st.TenantByName(ctx, demo.TenantName); err != nil {
				return allot.Errorf(allot.EInvalid, "This store's default tenant is '%s', not the demo tenant; use an empty --data directory for --demo.", "?")
			}
		}
		log.Info("seeding the demo tenant", "tenant", t.DisplayName)
		if err := demo.Seed(ctx, st, t); err != nil {
			return err
		}
		// The admin center's demo sign-in: ALLOT_DEMO_PASSWORD, or a new random password at each start.
		if demoPassword = os.Getenv("ALLOT_DEMO_PASSWORD"); demoPassword == "" {
			demoPassword = randomPassword()
		}
		if err := demo.SeedAdmin(ctx, st, t, demoPassword); err != nil {
			return err
		}
	}
	var printed string
	if adminToken != "" {
		if err := st.CreateToken(ctx, t.ID, "ALLOT_ADMIN_TOKEN", store.RoleGlobalAdmin, adminToken); err != nil {
			return err
		}
	} else if fresh {
		printed = sqlstore.NewToken()
		if err := st.CreateToken(ctx, t.ID, "first start", store.RoleGlobalAdmin, printed); err != nil {
			return err
		}
	}
	unlock()

	m := metrics.New(st, log, metrics.Options{MaxSeatSeries: cfg.metricsMax})
	w := reconcile.New(st, log, reconcile.WithHooks(m.ReconcileHooks()))
	if cfg.reconcileChunk > 0 {
		w.GroupChunk = cfg.reconcileChunk
	}
	wctx, cancelWorker := context.WithCancel(ctx)
	purged, err := cfg.retention.start(wctx, st, log)
	if err != nil {
		cancelWorker()
		return err
	}
	evcfg, err := cfg.events.config()
	if err != nil {
		cancelWorker()
		return err
	}
	dispatcher := events.NewDispatcher(st, log, evcfg, m.EventsObserver())
	acfg := cfg.events.alertsConfig()
	if network.PublicURL != nil {
		acfg.BaseURL = network.PublicURL.String()
	}
	watcher := alerts.NewWatcher(st, log, acfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		dispatched := make(chan struct{})
		go func() { dispatcher.Run(wctx); close(dispatched) }()
		watched := make(chan struct{})
		go func() { watcher.Run(wctx); close(watched) }()
		defer func() { <-watched }()
		w.Run(wctx)
		<-purged
		<-dispatched
	}()

	cfg.limits.Webhooks = cfg.events.webhooks()
	api := httpapi.New(st, log, cfg.limits)
	api.SetNetwork(network)
	api.MountSCIM(scim.Prefix, scim.New(st, log))
	go api.RunExports(wctx) // report exports as jobs
	api.Observe(func(d httpapi.RequestDone) { m.Request(d.Method, d.Route, d.Status, d.Bytes, d.Elapsed) })
	if err := mountMetrics(api, m); err != nil {
		cancelWorker()
		return err
	}
	web.Mount(st, api, log) // the admin center at /
	if err := serveAuth.configure(api); err != nil {
		cancelWorker()
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		cancelWorker()
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	msrv, mln, err := metricsServer(cfg.metricsAddr, m)
	if err != nil {
		ln.Close()
		cancelWorker()
		<-done
		return err
	}
	srv := newHTTPServer(api.Handler(), cfg.timeouts, log)
	url := "http://" + ln.Addr().String()
	if certs != nil {
		url = "https://" + ln.Addr().String()
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
		go certs.reloadOn(ctx, log)
	}
	if mln != nil {
		fmt.Fprintf(os.Stderr, "Metrics: http://%s/metrics\n", mln.Addr())
	}
	fmt.Fprintf(os.Stderr, "allot serving tenant %q (%s) at %s\n", t.DisplayName, t.GUID, url)
	fmt.Fprintf(os.Stderr, "Admin center: %s/\n", url)
	if network.PublicURL != nil {
		fmt.Fprintf(os.Stderr, "Public URL (links in answers): %s\n", network.PublicURL)
	}
	if demoPassword != "" {
		fmt.Fprintf(os.Stderr, "Demo sign-in: %s, password %s\n", demo.AdminUPN, demoPassword)
	}
	switch {
	case printed != "":
		fmt.Fprintf(os.Stderr, "Global Administrator token (shown once, store it now):\n  %s\nTry: curl -H 'Authorization: Bearer %s' %s/v1.0/subscribedSkus\n", printed, printed, url)
	case adminToken != "":
		fmt.Fprintf(os.Stderr, "Authenticate with the ALLOT_ADMIN_TOKEN value: curl -H \"Authorization: Bearer $ALLOT_ADMIN_TOKEN\" %s/v1.0/subscribedSkus\n", url)
	default:
		fmt.Fprintf(os.Stderr, "Authenticate with a token: set ALLOT_ADMIN_TOKEN before starting, or run 'allot token create --data %s'.\n", sf.data)
	}
	errc := make(chan error, 2)
	go func() {
		if certs != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	if msrv != nil {
		go func() { errc <- msrv.Serve(mln) }()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if msrv != nil {
		msrv.Close()
	}
	cancelWorker()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// metricsServer listens on addr for /metrics alone (nil, nil without addr).
func metricsServer(addr string, m *metrics.Metrics) (*http.Server, net.Listener, error) {
	if addr == "" {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s (--metrics-addr): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}, ln, nil
}

// mountMetrics serves /metrics on the main listener when ALLOT_METRICS_TOKEN
// is set (32+ characters), to callers that send it as a bearer token.
func mountMetrics(api *httpapi.Server, m *metrics.Metrics) error {
	token := os.Getenv("ALLOT_METRICS_TOKEN")
	if token == "" {
		return nil
	}
	if len(token) < 32 {
		return allot.Errorf(allot.EInvalid, "ALLOT_METRICS_TOKEN must be at least 32 characters long (for example: openssl rand -hex 24).")
	}
	api.Mount("GET /metrics", metrics.Protect(m.Handler(), token))
	return nil
}

// ensureDefaultTenant returns the default tenant, creating it in an empty
// store; fresh tells whether it was created now.
func ensureDefaultTenant(ctx context.Context, st *sqlstore.Store, withDemo bool) (*allot.Tenant, bool, error) {
	t, err := st.DefaultTenant(ctx)
	if err == nil {
		return t, false, nil
	}
	if allot.ErrorCode(err) != allot.ENotFound {
		return nil, false, err
	}
	name := "Default Directory"
	if withDemo {
		name = demo.TenantName
	}
	t, err = st.CreateTenant(ctx, name, "NAM", "US")
	return t, true, err
}

// randomPassword returns a new 16-character password for the demo sign-in.
func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
