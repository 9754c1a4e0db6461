package main

import (
	"context"
	"crypto/rand"
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
	"allot/demo"
	"allot/httpapi"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
	"allot/web"
)

func newServe() *cobra.Command {
	var sf storeFlags
	var addr string
	var withDemo bool
	var reconcileChunk int
	limits := httpapi.DefaultLimits
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the allot server",
		Long: `Run the allot server: the Graph-compatible API under /v1.0, the admin API under /allot/v1,
and group-based licensing in the background.

An empty store gets one default tenant on first start (with --demo: Contoso, seeded with
products, about 250 users, groups and some assignments). Set ALLOT_ADMIN_TOKEN (32+ characters)
to make that value a Global Administrator token of the default tenant.`,
		Example: `  allot serve --demo
  ALLOT_ADMIN_TOKEN=$(openssl rand -hex 24) allot serve --addr 127.0.0.1:8080 --data /var/lib/allot`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), sf, addr, withDemo, reconcileChunk, limits)
		},
	}
	sf.add(cmd)
	serveAuth.add(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&withDemo, "demo", false, "seed the Contoso demo tenant (idempotent)")
	cmd.Flags().IntVar(&reconcileChunk, "reconcile-chunk", 0, "group members per reconcile transaction (tests use small chunks)")
	cmd.Flags().Float64Var(&limits.RatePerSecond, "rate-limit", limits.RatePerSecond, "requests per second per token or session (0: no limit)")
	cmd.Flags().MarkHidden("reconcile-chunk")
	return cmd
}

func serve(ctx context.Context, sf storeFlags, addr string, withDemo bool, reconcileChunk int, limits httpapi.Limits) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
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

	w := reconcile.New(st, log)
	if reconcileChunk > 0 {
		w.GroupChunk = reconcileChunk
	}
	wctx, cancelWorker := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(wctx)
	}()

	api := httpapi.New(st, log, limits)
	web.Mount(st, api, log) // the admin center at /
	if err := serveAuth.configure(api); err != nil {
		cancelWorker()
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cancelWorker()
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(os.Stderr, "allot serving tenant %q (%s) at %s\n", t.DisplayName, t.GUID, url)
	fmt.Fprintf(os.Stderr, "Admin center: %s/\n", url)
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	cancelWorker()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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
