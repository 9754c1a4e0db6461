package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/catalog"
	"allot/client"
	"allot/csvimport"
	"allot/httpapi"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

// benchImportResult is what `allot bench import` measures.
type benchImportResult struct {
	Rows            int     `json:"rows"`
	Users           int     `json:"users"`
	BatchSize       int     `json:"batchSize"`
	SeedSeconds     float64 `json:"seedSeconds"`
	ImportSeconds   float64 `json:"importSeconds"`
	ImportRowsPerS  float64 `json:"importRowsPerSecond"`
	ImportCPU       float64 `json:"importCpuSeconds"`
	RerunSeconds    float64 `json:"rerunSeconds"`
	RerunRowsPerS   float64 `json:"rerunRowsPerSecond"`
	DryRunSeconds   float64 `json:"dryRunSeconds"`
	FloorSeconds    float64 `json:"floorSeconds"`
	FloorRowsPerS   float64 `json:"floorRowsPerSecond"`
	RatioToFloor    float64 `json:"ratioToFloor"`
	FloorCPU        float64 `json:"floorCpuSeconds"`
	RatioToFloorCPU float64 `json:"ratioToFloorCpu"`
	Licensed        int     `json:"licensed"`
	AlreadyLicensed int     `json:"alreadyLicensed"`
	NotFound        int     `json:"notFound"`
	Failed          int     `json:"failed"`
	ByProxy         int     `json:"matchedByProxyAddress"`
	CPUs            int     `json:"cpus"`
	GOOS            string  `json:"goos"`
	GOARCH          string  `json:"goarch"`
	LoadAverage     string  `json:"loadAverage"`
}

func newBenchImport() *cobra.Command {
	var rows, batch int
	var data, out, cpuprofile string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Measure `allot import` of a large CSV file (rows/s) against its storage floor",
		Long: `Measure a CSV import end to end: a fresh SQLite store in a temporary directory gets --rows users
(created in bulk), an allot server runs in this process on a loopback port, and the import code of
'allot import' parses a --rows-row CSV (addresses in random order: 80% userPrincipalNames in mixed
case, 19% proxy addresses, 1% unknown) and licenses SPE_E5 over HTTP in batches. It then imports
the same file again (every row already licensed) and runs a dry run.

The floor is the fastest known write of the same license rows on the same engine in the same run:
the rows sorted by key in multi-row INSERTs in one transaction (docs/benchmarks.md). The ratio
import/floor says how far the whole path (HTTP, matching, rules, audit) is from raw storage.`,
		Example: `  allot bench import
  allot bench import --rows 20000 --batch-size 2000 -o json`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if out != outTable && out != outJSON {
				return allot.Errorf(allot.EInvalid, "--output must be table or json.")
			}
			if rows < 100 || rows > csvimport.DefaultMaxRows {
				return allot.Errorf(allot.EInvalid, "--rows must be between 100 and %d.", csvimport.DefaultMaxRows)
			}
			force, _ := cmd.Flags().GetBool("force")
			res, err := benchImport(cmd.Context(), cmd.ErrOrStderr(), rows, batch, data, cpuprofile, force)
			if err != nil {
				return err
			}
			if out == outJSON {
				return writeJSONOut(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "CSV import of %s rows (%d CPUs, %s/%s, SQLite, batches of %d users, load average %s)\n", thousands(res.Rows), res.CPUs, res.GOOS, res.GOARCH, res.BatchSize, res.LoadAverage)
			kv(w,
				"first import", fmt.Sprintf("%.2f s  %s rows/s  (%.2f s CPU, client and server; licensed %s, not found %s, failed %s; %s matched by proxy address)",
					res.ImportSeconds, thousands(int(res.ImportRowsPerS)), res.ImportCPU, thousands(res.Licensed), thousands(res.NotFound), thousands(res.Failed), thousands(res.ByProxy)),
				"same file again", fmt.Sprintf("%.2f s  %s rows/s  (already licensed %s)", res.RerunSeconds, thousands(int(res.RerunRowsPerS)), thousands(res.AlreadyLicensed)),
				"dry run", fmt.Sprintf("%.2f s", res.DryRunSeconds),
				"floor", fmt.Sprintf("%.2f s  %s rows/s  (sorted multi-row INSERTs of the same %s license rows, one transaction)", res.FloorSeconds, thousands(int(res.FloorRowsPerS)), thousands(res.Licensed)),
				"import / floor", fmt.Sprintf("%.1fx wall time, %.1fx CPU time (floor %.2f s CPU)", res.RatioToFloor, res.RatioToFloorCPU, res.FloorCPU),
				"seeding users", fmt.Sprintf("%.2f s (not part of the import)", res.SeedSeconds))
			return nil
		}),
	}
	cmd.Flags().IntVar(&rows, "rows", 100_000, "CSV rows (and users)")
	cmd.Flags().IntVar(&batch, "batch-size", 2000, "users per bulk request")
	cmd.Flags().StringVar(&data, "data", "", "directory for the scratch store (default: a temporary directory, removed afterwards)")
	cmd.Flags().StringVarP(&out, "output", "o", outTable, "output format: table or json")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the first import to this file")
	return cmd
}

func benchImport(ctx context.Context, logw io.Writer, rows, batch int, data, cpuprofile string, force bool) (*benchImportResult, error) {
	if data == "" {
		d, err := os.MkdirTemp("", "allot-bench-import-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		data = d
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(data, "store"), sqlstore.WithLogger(log))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := refuseInUse(ctx, st, force); err != nil {
		return nil, err
	}
	ten, err := st.CreateTenant(ctx, benchTenantPrefix+"import", "NAM", "US")
	if err != nil {
		return nil, err
	}
	tok := sqlstore.NewToken()
	if err := st.CreateToken(ctx, ten.ID, "bench", store.RoleGlobalAdmin, tok); err != nil {
		return nil, err
	}
	actor := allot.Actor{Kind: "system", ID: "bench", Name: "allot bench import"}
	e5, _ := catalog.Lookup("SPE_E5")
	if _, err := st.AddProduct(ctx, actor, ten.ID, e5, rows+1000); err != nil {
		return nil, err
	}
	res := &benchImportResult{Rows: rows, Users: rows, BatchSize: batch, CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	users := make([]*allot.User, rows)
	for i := range users {
		upn := fmt.Sprintf("user%07d@bench.example.com", i)
		users[i] = &allot.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("User %d", i), UsageLocation: "US", AccountEnabled: true,
			Mail: upn, ProxyAddresses: []string{"SMTP:" + upn, fmt.Sprintf("smtp:u%07d@bench.onmicrosoft.com", i)}}
	}
	fmt.Fprintf(logw, "creating %s users…\n", thousands(rows))
	t0 := time.Now()
	if err := st.CreateUsersBulk(ctx, actor, ten.ID, users); err != nil {
		return nil, err
	}
	res.SeedSeconds = time.Since(t0).Seconds()

	// The server, in this process, on a loopback port.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := reconcile.New(st, log)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: httpapi.New(st, log, httpapi.DefaultLimits).Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	c := client.New("http://"+ln.Addr().String(), tok)

	// The CSV: addresses in random order.
	var buf bytes.Buffer
	buf.Write([]byte{0xEF, 0xBB, 0xBF})
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"Name", "Email", "Department"})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, i := range rng.Perm(rows) {
		var addr string
		switch r := i % 100; {
		case r == 99:
			addr = fmt.Sprintf("nobody%07d@bench.example.com", i)
		case r >= 80:
			addr = fmt.Sprintf("u%07d@bench.onmicrosoft.com", i)
		case r%2 == 0:
			addr = strings.ToUpper(users[i].UserPrincipalName[:1]) + users[i].UserPrincipalName[1:]
		default:
			addr = users[i].UserPrincipalName
		}
		cw.Write([]string{users[i].DisplayName, addr, "Bench"})
	}
	cw.Flush()
	csvData := buf.Bytes()
	var lastCPU float64

	runOnce := func(dry bool) (*csvimport.Report, time.Duration, error) {
		t := time.Now()
		cpu0 := cpuTime()
		f, err := csvimport.Parse(bytes.NewReader(csvData), csvimport.Options{})
		if err != nil {
			return nil, 0, err
		}
		p := newProgress(logw, "import")
		im := &csvimport.Importer{Client: c, SkuID: e5.SkuID, BatchSize: batch, DryRun: dry,
			Progress: func(d, n int) { p.set(d, n, "rows") }}
		rep, err := im.Run(ctx, f.Rows)
		p.done()
		lastCPU = cpuTime() - cpu0
		return rep, time.Since(t), err
	}
	fmt.Fprintf(logw, "importing %s rows…\n", thousands(rows))
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	rep, d, err := runOnce(false)
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	res.ImportSeconds, res.ImportRowsPerS, res.ImportCPU = d.Seconds(), float64(rows)/d.Seconds(), lastCPU
	res.Licensed, res.NotFound, res.Failed = rep.Licensed, rep.NotFound, rep.Failed
	for _, o := range rep.Outcomes {
		if o.MatchedBy == "proxyAddresses" {
			res.ByProxy++
		}
	}
	sku, err := c.Sku(ctx, e5.SkuID)
	if err != nil {
		return nil, err
	}
	if sku.ConsumedUnits != rep.Licensed {
		return nil, fmt.Errorf("bench: %d seats consumed but %d rows licensed", sku.ConsumedUnits, rep.Licensed)
	}
	fmt.Fprintln(logw, "importing the same file again…")
	rep2, d, err := runOnce(false)
	if err != nil {
		return nil, err
	}
	res.RerunSeconds, res.RerunRowsPerS, res.AlreadyLicensed = d.Seconds(), float64(rows)/d.Seconds(), rep2.AlreadyLicensed
	fmt.Fprintln(logw, "dry run…")
	if _, d, err = runOnce(true); err != nil {
		return nil, err
	}
	res.DryRunSeconds = d.Seconds()

	fmt.Fprintln(logw, "measuring the floor…")
	cpu0 := cpuTime()
	fd, err := st.Floor(ctx, rep.Licensed)
	res.FloorCPU = cpuTime() - cpu0
	if err != nil {
		return nil, err
	}
	res.FloorSeconds = fd.Seconds()
	res.FloorRowsPerS = float64(rep.Licensed) / fd.Seconds()
	res.RatioToFloor = res.ImportSeconds / res.FloorSeconds
	if res.FloorCPU > 0 {
		res.RatioToFloorCPU = res.ImportCPU / res.FloorCPU
	}
	res.LoadAverage = loadAverage()
	return res, nil
}
