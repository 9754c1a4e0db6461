package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

var benchActor = allot.Actor{Kind: "system", ID: "bench", Name: "allot bench"}

func newBench() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure allot on this machine, each figure next to the engine's floor",
		Long: `Benchmarks that build their own scratch tenant, measure, verify their own result and print the
figures next to the floor: the fastest known way to write the same rows on the same engine in the
same run (sorted multi-row inserts in one transaction on SQLite, COPY on PostgreSQL).

Without --data or --db they use a fresh SQLite store in a temporary directory, removed afterwards;
ALLOT_DB is not read. A --data or --db store that holds a tenant other than a benchmark's own
scratch tenants is refused unless --force: a benchmark writes tenants, users and seats.`,
	}
	cmd.PersistentFlags().String("cpuprofile", "", "write a CPU profile of the measured part to this file")
	cmd.PersistentFlags().Bool("force", false, "run on a --data/--db store even when it holds other tenants")
	cmd.AddCommand(newBenchGroup(), newBenchChurn(), newBenchAssign(), newBenchSCIM(), newBenchDynamic())
	return cmd
}

// startProfile starts a CPU profile when --cpuprofile is set and returns the
// function that stops it (safe to call twice).
func startProfile(cmd *cobra.Command) (func(), error) {
	path, _ := cmd.Flags().GetString("cpuprofile")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }, nil
}

// benchStore opens the store a benchmark runs on: the given one (refused
// when it is in use, see refuseInUse), or a fresh SQLite store in a
// temporary directory.
func benchStore(ctx context.Context, sf storeFlags, cmd *cobra.Command) (*sqlstore.Store, func(), error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if sf.db == "" && !cmd.Flags().Changed("data") {
		dir, err := os.MkdirTemp("", "allot-bench-")
		if err != nil {
			return nil, nil, err
		}
		st, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.WithLogger(log))
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close(); os.RemoveAll(dir) }, nil
	}
	st, err := sf.open(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	force, _ := cmd.Flags().GetBool("force")
	if err := refuseInUse(ctx, st, force); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// benchTenantPrefix starts the names of the scratch tenants benchmarks make.
const benchTenantPrefix = "bench-"

// refuseInUse refuses, unless force, a store that holds a tenant which no
// benchmark made: benchmarks must not write into a production database.
func refuseInUse(ctx context.Context, st *sqlstore.Store, force bool) error {
	if force {
		return nil
	}
	names, err := st.TenantNames(ctx, 1000)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, benchTenantPrefix) {
			return allot.Errorf(allot.EConflict, "This store holds tenant '%s': benchmarks write tenants, users and seats, so they run on a scratch store. Leave out --data/--db for a temporary one, or pass --force.", n)
		}
	}
	return nil
}

func benchTenant(ctx context.Context, st *sqlstore.Store, seats int) (*allot.Tenant, *allot.Product, error) {
	t, err := st.CreateTenant(ctx, fmt.Sprintf("%s%d", benchTenantPrefix, time.Now().UnixNano()), "NAM", "US")
	if err != nil {
		return nil, nil, err
	}
	d, _ := catalog.Lookup("SPE_E3")
	p, err := st.AddProduct(ctx, benchActor, t.ID, d, seats)
	return t, p, err
}

// peakRSS returns the process's peak resident set size in bytes.
// resetPeakRSS returns the peak RSS so far, gives the memory the Go heap
// no longer uses back to the system and starts a new peak (Linux:
// /proc/self/clear_refs), so that a figure measured after the setup of a
// bench is not the setup's.
func resetPeakRSS() int64 {
	peak := peakRSS()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return peak
}

// watchHeap samples the Go runtime's memory every 20 ms until the returned
// function is called, which returns the largest samples: the bytes of heap
// objects and all the memory the runtime holds from the system.
func watchHeap() func() (objects, held int64) {
	stop := make(chan struct{})
	peak := make(chan [2]int64)
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		var top [2]int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			top[0] = max(top[0], int64(sample[0].Value.Uint64()))
			top[1] = max(top[1], int64(sample[1].Value.Uint64()-sample[2].Value.Uint64()))
			select {
			case <-stop:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int64, int64) { close(stop); m := <-peak; return m[0], m[1] }
}

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func newBenchGroup() *cobra.Command {
	var sf storeFlags
	var members, seats, chunk int
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Time a group assignment of N members to ProcessingComplete, against the floor",
		Example: `  allot bench group --members 100000 --seats 100000
  allot bench group --members 1000000 --seats 800000
  allot bench group --members 100000 --seats 100000 --db postgres://postgres@127.0.0.1/allot_bench`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if seats < 0 {
				seats = members
			}
			st, done, err := benchStore(ctx, sf, cmd)
			if err != nil {
				return err
			}
			defer done()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "engine %s, %d members, %d seats\n", st.Engine(), members, seats)
			floor, floorCPU, err := bestFloor(ctx, st, members)
			if err != nil {
				return err
			}
			t, p, err := benchTenant(ctx, st, seats)
			if err != nil {
				return err
			}
			setup := time.Now()
			g, _, err := st.LoadGroup(ctx, t.ID, "bench group", "m", members)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "setup: %d users and memberships loaded in %s\n", members, time.Since(setup).Round(time.Millisecond))
			w := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if chunk > 0 {
				w.GroupChunk = chunk
			}
			stopProfile, err := startProfile(cmd)
			if err != nil {
				return err
			}
			defer stopProfile()
			setupRSS := resetPeakRSS()
			heap := watchHeap()
			cpu0 := cpuTime()
			start := time.Now()
			if _, err := st.AssignGroupLicenses(ctx, benchActor, t.ID, g.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil, false); err != nil {
				return err
			}
			if err := w.Drain(ctx); err != nil {
				return err
			}
			took := time.Since(start)
			cpu := time.Duration((cpuTime() - cpu0) * float64(time.Second))
			heapObjects, heapHeld := heap()
			convergeRSS := peakRSS()
			stopProfile()
			// Verify the result before printing any figure.
			gg, err := st.Group(ctx, t.ID, g.GUID)
			if err != nil {
				return err
			}
			want := min(members, seats)
			pp, err := st.Product(ctx, t.ID, p.SkuID)
			if err != nil {
				return err
			}
			holders, err := st.CountHolders(ctx, t.ID)
			if err != nil {
				return err
			}
			sum, err := st.GroupLicenseSummary(ctx, t.ID, g.GUID)
			if err != nil {
				return err
			}
			switch {
			case gg.ProcessingState != allot.ProcessingComplete:
				return fmt.Errorf("verify: group state %s, want ProcessingComplete", gg.ProcessingState)
			case pp.ConsumedUnits != want || holders[p.ID] != want:
				return fmt.Errorf("verify: consumedUnits %d, holders %d, want %d", pp.ConsumedUnits, holders[p.ID], want)
			case sum.Licensed != want || sum.NotLicensed != members-want:
				return fmt.Errorf("verify: summary %d licensed / %d not, want %d / %d", sum.Licensed, sum.NotLicensed, want, members-want)
			}
			fmt.Fprintf(out, "verified: ProcessingComplete, consumedUnits %d = users licensed %d, %d waiting with CountViolation\n", pp.ConsumedUnits, holders[p.ID], sum.NotLicensed)
			fmt.Fprintf(out, "converge: %s (%.0f rows/s), CPU %s\n", took.Round(time.Millisecond), float64(members)/took.Seconds(), cpu.Round(time.Millisecond))
			fmt.Fprintf(out, "floor:    %s (%.0f rows/s), CPU %s — %d rows, sorted multi-row inserts in one transaction (COPY on PostgreSQL), best of 3\n",
				floor.Round(time.Millisecond), float64(members)/floor.Seconds(), floorCPU.Round(time.Millisecond), members)
			fmt.Fprintf(out, "ratio:    %.2fx the floor (wall), %.2fx (CPU of this process)\n", took.Seconds()/floor.Seconds(), cpu.Seconds()/floorCPU.Seconds())
			fmt.Fprintf(out, "peak RSS: %s while converging (Go runtime at most %s, of it heap objects %s; the rest is SQLite's or the driver's); %s during setup\n",
				mib(convergeRSS), mib(heapHeld), mib(heapObjects), mib(setupRSS))
			return nil
		},
	}
	sf.addScratch(cmd)
	cmd.Flags().IntVar(&members, "members", 100000, "members of the group")
	cmd.Flags().IntVar(&seats, "seats", -1, "seats of the product (default: as many as members)")
	cmd.Flags().IntVar(&chunk, "chunk", 0, "members per reconcile transaction (default: the worker's)")
	return cmd
}

// bestFloor measures the floor three times and keeps the fastest wall time
// and the least CPU time: the floor is the best the engine does, and one run
// on a busy machine can be slow.
func bestFloor(ctx context.Context, st *sqlstore.Store, rows int) (wall, cpu time.Duration, err error) {
	for i := 0; i < 3; i++ {
		c0 := cpuTime()
		d, err := st.Floor(ctx, rows)
		if err != nil {
			return 0, 0, fmt.Errorf("floor: %w", err)
		}
		c := time.Duration((cpuTime() - c0) * float64(time.Second))
		if wall == 0 || d < wall {
			wall = d
		}
		if cpu == 0 || c < cpu {
			cpu = c
		}
	}
	return wall, cpu, nil
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

func newBenchChurn() *cobra.Command {
	var sf storeFlags
	var members, rate int
	var dur time.Duration
	cmd := &cobra.Command{
		Use:     "churn",
		Short:   "Change memberships of a licensed group at a steady rate; report commit-to-visible latency",
		Example: `  allot bench churn --members 100000 --rate 200 --duration 20s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, done, err := benchStore(ctx, sf, cmd)
			if err != nil {
				return err
			}
			defer done()
			out := cmd.OutOrStdout()
			changes := int(dur.Seconds() * float64(rate))
			t, p, err := benchTenant(ctx, st, members+changes)
			if err != nil {
				return err
			}
			g, ids, err := st.LoadGroup(ctx, t.ID, "churn group", "c", members)
			if err != nil {
				return err
			}
			// Users outside the group, to add.
			og, outside, err := st.LoadGroup(ctx, t.ID, "outsiders", "o", changes/2+1)
			if err != nil {
				return err
			}
			_ = og
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			w := reconcile.New(st, log)
			if _, err := st.AssignGroupLicenses(ctx, benchActor, t.ID, g.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil, false); err != nil {
				return err
			}
			if err := w.Drain(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "engine %s: %d-member group licensed; churning %d changes at %d/s\n", st.Engine(), members, changes, rate)
			wctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(wctx) }()

			guids, err := userGUIDs(ctx, st, t.ID, append(append([]int64{}, ids[:changes/2+1]...), outside...))
			if err != nil {
				stop()
				return err
			}
			type pending struct {
				user   int64
				want   bool
				commit time.Time
			}
			var mu sync.Mutex
			var waiting []pending
			var lat []time.Duration
			var failed atomic.Int64
			// Checker: polls pending changes in one query per round.
			checkDone := make(chan struct{})
			go func() {
				defer close(checkDone)
				for {
					mu.Lock()
					cur := append([]pending(nil), waiting...)
					mu.Unlock()
					if len(cur) == 0 {
						select {
						case <-wctx.Done():
							return
						case <-time.After(2 * time.Millisecond):
						}
						continue
					}
					uids := make([]int64, len(cur))
					for i, c := range cur {
						uids[i] = c.user
					}
					lic, err := st.UserLicenses(ctx, t.ID, uids)
					if err != nil {
						failed.Add(1)
						continue
					}
					now := time.Now()
					mu.Lock()
					var keep []pending
					for _, c := range waiting {
						has := false
						for _, v := range lic[c.user] {
							if v.State == allot.StateActive && v.ProductID == p.ID {
								has = true
							}
						}
						if _, seen := lic[c.user]; !seen && c.want {
							has = false
						}
						if has == c.want && contains(uids, c.user) {
							lat = append(lat, now.Sub(c.commit))
						} else {
							keep = append(keep, c)
						}
					}
					waiting = keep
					mu.Unlock()
					time.Sleep(time.Millisecond)
				}
			}()
			// A ticker hands out changes at the rate; several senders carry
			// them out, so one slow commit does not slow the rate down.
			tick := time.NewTicker(time.Second / time.Duration(rate))
			start := time.Now()
			jobs := make(chan int)
			var sendErr atomic.Value
			var senders sync.WaitGroup
			for k := 0; k < 8; k++ {
				senders.Add(1)
				go func() {
					defer senders.Done()
					for i := range jobs {
						var err error
						var pd pending
						if i%2 == 0 {
							u := outside[i/2]
							err = st.AddMember(ctx, benchActor, t.ID, g.GUID, guids[u])
							pd = pending{user: u, want: true}
						} else {
							u := ids[i/2]
							err = st.RemoveMember(ctx, benchActor, t.ID, g.GUID, guids[u], false)
							pd = pending{user: u, want: false}
						}
						if err != nil {
							sendErr.Store(err)
							continue
						}
						pd.commit = time.Now()
						mu.Lock()
						waiting = append(waiting, pd)
						mu.Unlock()
					}
				}()
			}
			for i := 0; i < changes; i++ {
				<-tick.C
				jobs <- i
			}
			close(jobs)
			senders.Wait()
			if err, ok := sendErr.Load().(error); ok {
				stop()
				return err
			}
			tick.Stop()
			sent := time.Since(start)
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(waiting)
				mu.Unlock()
				if n == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			<-checkDone
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(waiting) > 0 {
				return fmt.Errorf("verify: %d changes not visible after 30 s", len(waiting))
			}
			fmt.Fprintf(out, "verified: all %d changes visible\n", len(lat))
			fmt.Fprintf(out, "rate:     %.0f changes/s sent\n", float64(changes)/sent.Seconds())
			fmt.Fprintf(out, "latency commit → license visible: p50 %s, p99 %s, max %s\n",
				pct(lat, 0.50).Round(time.Millisecond), pct(lat, 0.99).Round(time.Millisecond), pct(lat, 1).Round(time.Millisecond))
			fmt.Fprintf(out, "peak RSS: %s\n", mib(peakRSS()))
			return nil
		},
	}
	sf.addScratch(cmd)
	cmd.Flags().IntVar(&members, "members", 100000, "members of the licensed group")
	cmd.Flags().IntVar(&rate, "rate", 200, "membership changes per second")
	cmd.Flags().DurationVar(&dur, "duration", 10*time.Second, "how long to churn")
	return cmd
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func userGUIDs(ctx context.Context, st *sqlstore.Store, tenantID int64, ids []int64) (map[int64]string, error) {
	lic, err := st.UserGUIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	return lic, nil
}
