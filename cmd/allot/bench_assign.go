package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"allot/store"
	"allot/store/sqlstore"
)

func newBenchAssign() *cobra.Command {
	var sf storeFlags
	var users, clients int
	cmd := &cobra.Command{
		Use:   "assign",
		Short: "Direct assignLicense requests per second over real HTTP, against the same client on a bare handler",
		Long: `Assigns a product to --users users, one POST /v1.0/users/{id}/assignLicense each, from --clients
concurrent HTTP clients against a real allot server on a loopback port, and verifies the seat
count afterwards. The floor is measured in the same run by the same clients against a minimal
HTTP handler that decodes the same body and runs the bare one-row write transaction (a seat
counter update and one inserted row, through the same write path) for each request; the bare
transactions one after another are printed too.`,
		Example: `  allot bench assign --users 20000 --clients 32`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, done, err := benchStore(ctx, sf, cmd)
			if err != nil {
				return err
			}
			defer done()
			return benchAssign(cmd, st, users, clients)
		},
	}
	sf.addScratch(cmd)
	cmd.Flags().IntVar(&users, "users", 20000, "users to assign (one request each)")
	cmd.Flags().IntVar(&clients, "clients", 32, "concurrent HTTP clients")
	return cmd
}

func benchAssign(cmd *cobra.Command, st *sqlstore.Store, users, clients int) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	bare, err := st.BareTxRate(ctx, users)
	if err != nil {
		return err
	}
	t, p, err := benchTenant(ctx, st, users)
	if err != nil {
		return err
	}
	_, ids, err := st.LoadGroup(ctx, t.ID, "assign bench users", "a", users)
	if err != nil {
		return err
	}
	guids, err := st.UserGUIDs(ctx, ids)
	if err != nil {
		return err
	}
	tok := sqlstore.NewToken()
	if err := st.CreateToken(ctx, t.ID, "bench", store.RoleGlobalAdmin, tok); err != nil {
		return err
	}
	srv, err := startBenchServer(ctx, st, false)
	if err != nil {
		return err
	}
	defer srv.Close()
	base := srv.URL
	body := []byte(`{"addLicenses":[{"skuId":"` + p.SkuID + `","disabledPlans":[]}],"removeLicenses":[]}`)
	load := newLoad(clients)
	stopProfile, err := startProfile(cmd)
	if err != nil {
		return err
	}
	defer stopProfile()
	res := load.run(ctx, len(ids), func(i int) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1.0/users/"+guids[ids[i]]+"/assignLicense", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		return req
	})
	stopProfile()
	pp, err := st.Product(ctx, t.ID, p.SkuID)
	if err != nil {
		return err
	}
	if res.failures > 0 || pp.ConsumedUnits != users {
		return fmt.Errorf("verify: %d failures, consumedUnits %d, want 0 and %d", res.failures, pp.ConsumedUnits, users)
	}
	floor, err := httpFloor(ctx, st, load, users, body)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "engine %s: %d users, %d concurrent HTTP clients\n", st.Engine(), users, clients)
	fmt.Fprintf(out, "verified: %d assignments, consumedUnits %d\n", len(res.lats), pp.ConsumedUnits)
	fmt.Fprintf(out, "assignLicense over HTTP: %s\n", res)
	fmt.Fprintf(out, "HTTP floor (same clients, bare one-row transaction per request): %s\n", floor)
	fmt.Fprintf(out, "bare one-row transactions one after another: %.0f tx/s\n", bare)
	fmt.Fprintf(out, "ratio: %.0f%% of the HTTP floor, %.0f%% of the bare rate\n", 100*res.rate()/floor.rate(), 100*res.rate()/bare)
	return nil
}

// httpFloor drives the same clients against a minimal handler that decodes
// the same body and runs one bare write transaction per request, and checks
// that every request wrote its row.
func httpFloor(ctx context.Context, st *sqlstore.Store, load *load, n int, body []byte) (loadResult, error) {
	bare, err := st.NewBareTx(ctx)
	if err != nil {
		return loadResult{}, err
	}
	defer bare.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /floor/{i}", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			AddLicenses []struct {
				SkuID         string   `json:"skuId"`
				DisabledPlans []string `json:"disabledPlans"`
			} `json:"addLicenses"`
		}
		var i int
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || len(b.AddLicenses) != 1 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if _, err := fmt.Sscan(r.PathValue("i"), &i); err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		if err := bare.Run(r.Context(), i); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": i, "assignedLicenses": []map[string]any{{"skuId": b.AddLicenses[0].SkuID, "disabledPlans": []string{}}}})
	})
	base, stop, err := serveLoopback(mux)
	if err != nil {
		return loadResult{}, err
	}
	defer stop()
	res := load.run(ctx, n, func(i int) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/floor/%d", base, i), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
	rows, consumed, err := bare.Rows(ctx)
	if err != nil {
		return res, err
	}
	if res.failures > 0 || rows != n || consumed != n {
		return res, fmt.Errorf("verify HTTP floor: %d failures, %d rows, counter %d, want 0, %d, %d", res.failures, rows, consumed, n, n)
	}
	return res, nil
}

// serveLoopback serves h on a loopback port and returns its base URL.
func serveLoopback(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// load runs requests from a fixed number of concurrent HTTP clients.
type load struct {
	clients int
	http    *http.Client
}

func newLoad(clients int) *load {
	return &load{clients: clients, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}}
}

// loadResult is what a load run measured.
type loadResult struct {
	lats     []time.Duration
	failures int64
	took     time.Duration
}

func (r loadResult) rate() float64 { return float64(len(r.lats)) / r.took.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", r.rate(), pct(r.lats, 0.5).Round(10*time.Microsecond), pct(r.lats, 0.99).Round(10*time.Microsecond))
}

// run sends requests 0…n-1 (each once, made by req) and counts every
// answer other than 200 as a failure.
func (l *load) run(ctx context.Context, n int, req func(i int) *http.Request) loadResult {
	var next, failures atomic.Int64
	lats := make([][]time.Duration, l.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < l.clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				resp, err := l.http.Do(req(int(i)))
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lats[c] = append(lats[c], time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		}(c)
	}
	wg.Wait()
	res := loadResult{failures: failures.Load(), took: time.Since(start)}
	for _, l := range lats {
		res.lats = append(res.lats, l...)
	}
	return res
}
