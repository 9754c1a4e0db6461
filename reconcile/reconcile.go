// Package reconcile runs group-based licensing: workers claim durable "to
// recompute" marks with a lease, recompute the marked users' licenses from
// all their sources in batches, and complete the marks in the same
// transaction as the result. A crash at any point loses nothing (the marks
// stay) and counts nothing twice (each batch is one transaction).
package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"allot/store"
	"allot/store/sqlstore"
)

// Worker processes marks until its context ends.
type Worker struct {
	st  *sqlstore.Store
	log *slog.Logger
	id  string
	seq atomic.Int64

	// UserBatch is how many user marks one transaction handles.
	UserBatch int
	// GroupChunk is how many members of a group one transaction handles.
	GroupChunk int
	// Lease is how long a claim is held before another worker may take it.
	Lease time.Duration
	// Poll is how often the worker looks for marks written by other
	// processes; marks of its own process wake it at once.
	Poll time.Duration
	// FullPass is how often every licensed group is recomputed; 0 disables it.
	FullPass time.Duration
	// DuePoll is how often the worker takes away assignments whose end
	// has come (ExpireDue; their seats go to the waiters) and makes those
	// whose start has come (StartDue).
	DuePoll time.Duration
	nextDue time.Time

	// processed counts users recomputed, for tests and benchmarks.
	processed atomic.Int64
	hooks     Hooks
}

// Hooks hear of a worker's work, for metrics; nil fields are skipped.
type Hooks struct {
	// Batch hears of each reconcile transaction: the kind of the marks it
	// served ("user" or "group"), the users it recomputed and its duration.
	Batch func(kind string, users int, took time.Duration)
}

// Option configures a worker made by New.
type Option func(*Worker)

// WithHooks makes the worker call the hooks.
func WithHooks(h Hooks) Option { return func(w *Worker) { w.hooks = h } }

// New returns a worker on the store.
func New(st *sqlstore.Store, log *slog.Logger, opts ...Option) *Worker {
	b := make([]byte, 6)
	rand.Read(b)
	w := &Worker{st: st, log: log, id: hex.EncodeToString(b), UserBatch: 5000, GroupChunk: 25000,
		Lease: 30 * time.Second, Poll: 500 * time.Millisecond, FullPass: time.Hour, DuePoll: time.Second}
	for _, o := range opts {
		o(w)
	}
	return w
}

// batchDone tells the hooks of a reconcile transaction that started at t0.
func (w *Worker) batchDone(kind string, users int, t0 time.Time) {
	if w.hooks.Batch != nil {
		w.hooks.Batch(kind, users, time.Since(t0))
	}
}

// Processed returns how many users this worker recomputed.
func (w *Worker) Processed() int64 { return w.processed.Load() }

// release frees the leases of this worker's claims.
func (w *Worker) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := w.st.ReleaseLeasesOf(ctx, w.id+"-")
	if err != nil {
		w.log.Warn("stopping: could not release the reconcile leases; other workers take the marks when they expire", "err", err, "lease", w.Lease)
		return
	}
	if n > 0 {
		w.log.Info("stopping: released reconcile leases", "marks", n)
	}
}

func (w *Worker) owner() string {
	return w.id + "-" + itoa(w.seq.Add(1))
}

// Run processes marks until ctx ends. It then releases the leases it
// holds, so that another worker (another replica) takes over its marks at
// once rather than after Lease.
func (w *Worker) Run(ctx context.Context) error {
	defer w.release()
	nextFull := time.Now().Add(w.FullPass)
	for ctx.Err() == nil {
		changed := w.st.Changed()
		did, err := w.Step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.Error("reconcile step failed; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if w.FullPass > 0 && time.Now().After(nextFull) {
			nextFull = time.Now().Add(w.FullPass)
			if err := w.st.MarkAll(ctx); err != nil {
				w.log.Error("full reconcile pass failed", "err", err)
			}
			// The delta feeds keep DeltaRetention of changes.
			if err := w.st.PruneChanges(ctx, time.Now().Add(-sqlstore.DeltaRetention)); err != nil {
				w.log.Error("pruning the delta feeds failed", "err", err)
			}
			// Seat history keeps seconds and hours for a while, days for ever.
			if err := w.st.PruneSeatHistory(ctx, time.Now()); err != nil {
				w.log.Error("pruning the seat history failed", "err", err)
			}
		}
		if did {
			continue
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-time.After(w.Poll):
		}
	}
	return nil
}

// Step claims and processes one group mark or one batch of user marks. It
// reports whether it found work.
func (w *Worker) Step(ctx context.Context) (bool, error) {
	if now := time.Now(); !now.Before(w.nextDue) {
		w.nextDue = now.Add(w.DuePoll)
		n, err := w.st.ExpireDue(ctx, 1000)
		if err != nil {
			return false, err
		}
		started, err := w.st.StartDue(ctx, 1000)
		if err != nil {
			return false, err
		}
		n += started
		r, err := w.st.RunDueReclaims(ctx)
		if err != nil {
			return false, err
		}
		n += r
		if n > 0 {
			w.nextDue = time.Time{} // more may be due
			w.log.Info("assignments ended or started", "count", n)
			return true, nil
		}
	}
	users, err := w.st.ClaimMarks(ctx, store.MarkUser, w.owner(), w.UserBatch, w.Lease)
	if err != nil {
		return false, err
	}
	if len(users) > 0 {
		return true, w.users(ctx, users)
	}
	groups, err := w.st.ClaimMarks(ctx, store.MarkGroup, w.owner(), 1, w.Lease)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if err := w.group(ctx, g); err != nil {
			return true, err
		}
	}
	return len(groups) > 0, nil
}

// Drain processes marks until none is left or ctx ends.
func (w *Worker) Drain(ctx context.Context) error {
	w.nextDue = time.Time{}
	for {
		did, err := w.Step(ctx)
		if err != nil {
			return err
		}
		if !did {
			n, err := w.st.PendingMarks(ctx)
			if err != nil || n == 0 {
				return err
			}
			// Marks held by another worker's lease: wait for it.
			if !sleep(ctx, 20*time.Millisecond) {
				return ctx.Err()
			}
		}
	}
}

func (w *Worker) users(ctx context.Context, marks []store.Mark) error {
	byTenant := map[int64][]store.Mark{}
	var order []int64
	for _, m := range marks {
		if _, ok := byTenant[m.TenantID]; !ok {
			order = append(order, m.TenantID)
		}
		byTenant[m.TenantID] = append(byTenant[m.TenantID], m)
	}
	for _, t := range order {
		ms := byTenant[t]
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.TargetID
		}
		t0 := time.Now()
		st, err := w.st.ReconcileUsers(ctx, t, ids, ms)
		if err != nil {
			return err
		}
		w.processed.Add(int64(st.Users))
		w.batchDone("user", st.Users, t0)
	}
	return nil
}

func (w *Worker) group(ctx context.Context, m store.Mark) error {
	if err := w.st.StartGroupProcessing(ctx, m.TenantID, m.TargetID); err != nil {
		return err
	}
	ids, err := w.st.ExpandGroupUsers(ctx, m.TargetID)
	if err != nil {
		return err
	}
	if err := w.st.ReportGroupProgress(ctx, m, 0, len(ids)); err != nil {
		return err
	}
	start := time.Now()
	var ok, failed int
	for s := 0; s < len(ids); s += w.GroupChunk {
		chunk := ids[s:min(s+w.GroupChunk, len(ids))]
		t0 := time.Now()
		st, err := w.st.ReconcileUsers(ctx, m.TenantID, chunk, nil)
		if err != nil {
			return err
		}
		w.processed.Add(int64(st.Users))
		w.batchDone("group", st.Users, t0)
		ok += st.Succeeded[m.TargetID]
		failed += st.Failed[m.TargetID]
		if err := w.st.ExtendLease(ctx, m, w.Lease); err != nil {
			return err
		}
		if err := w.st.ReportGroupProgress(ctx, m, s+len(chunk), len(ids)); err != nil {
			return err
		}
	}
	if err := w.st.FinishGroup(ctx, m.TenantID, m, ok, failed); err != nil {
		return err
	}
	w.log.Info("group licenses applied", "group", m.TargetID, "members", len(ids), "licensed", ok, "failed", failed, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
