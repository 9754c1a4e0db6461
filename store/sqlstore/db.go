// Package sqlstore implements allot's store on database/sql, for the embedded
// SQLite engine and for PostgreSQL. The SQL is written once, with ?
// placeholders, in the subset both engines accept; the few differences live in
// the dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite" // also registers the "sqlite" driver

	"allot"
	"allot/licensing"
)

//go:embed migrations
var migrations embed.FS

// Engine names a database engine.
type Engine string

// The engines allot runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Store is allot's store on one database.
type Store struct {
	engine Engine
	// w is the pool for write transactions (one connection on SQLite, so
	// writers queue in Go instead of spinning on the file lock); r is for reads.
	w, r *sql.DB
	log  *slog.Logger

	qmu    sync.RWMutex
	qcache map[string]string

	// notify is closed and replaced whenever marks are written, to wake workers.
	nmu    sync.Mutex
	notify chan struct{}

	// pg is set on PostgreSQL (postgres.go).
	pg *pgState

	// On SQLite, wconn is the one connection that runs write transactions;
	// wmu serializes them. Statements prepared on it (wstmts) and on the
	// read pool (rstmts) are kept, so hot queries are parsed once.
	wconn  *sql.Conn
	wmu    sync.Mutex
	smu    sync.Mutex
	wstmts map[string]*sql.Stmt
	rstmts map[string]*sql.Stmt

	// retryBudget bounds the time one write spends, retries included
	// (retry.go).
	retryBudget time.Duration
	// vacuumEvery is how often a PostgreSQL store looks for tables to
	// vacuum (pg_vacuum.go).
	vacuumEvery time.Duration
	// beforeDecide, set by tests only, runs in every write transaction on
	// PostgreSQL between loading a snapshot and making its plan exact
	// (decide), so that a test can commit a concurrent change there.
	beforeDecide func()

	// defs caches decoded product definitions by their stored text.
	defs sync.Map
	// rules caches parsed membership rules by their text (dynamic.go).
	rules sync.Map

	// wq feeds SQLite's writer goroutine (groupcommit.go); wdone closes when
	// it has stopped.
	wq    chan *writeReq
	wdone chan struct{}
	// wrolled is set by SQLite's rollback hook on the write connection
	// whenever a transaction ends in a rollback, explicit or automatic (an
	// interrupted or failed statement can roll back the whole transaction);
	// cleared at BEGIN. ROLLBACK TO a savepoint does not set it.
	wrolled atomic.Bool

	// auth caches verified tokens' principals (authcache.go).
	auth authCache
	// clock, when set (WithClock), dates seat history points (history.go).
	clock func() time.Time

	// listCap, when set (tests), replaces listSortCap (userlist.go).
	listCap int

	// fail holds the failpoints armed by FailpointsEnv (failpoint.go); nil
	// when none is.
	fail failpoints
}

// maxStmts bounds each statement cache (and the PostgreSQL rewrite cache);
// queries past it run unprepared (or are rewritten each time).
const maxStmts = 2000

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the store's logger.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// OpenSQLite opens (creating if needed) the SQLite store in directory dir and
// migrates it to the newest schema.
func OpenSQLite(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "allot.db")
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(0)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	// Two connections: one held for write transactions, one for the rare
	// statements outside them (they wait on SQLite's lock, busy_timeout).
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s, err := newStore(SQLite, w, r, opts)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	if err := s.migrate(ctx, w, "migrations/sqlite", goose.DialectSQLite3); err != nil {
		s.Close()
		return nil, err
	}
	if s.wconn, err = w.Conn(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.watchRollbacks(); err != nil {
		s.Close()
		return nil, err
	}
	s.wstmts, s.rstmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	s.startWriter()
	if err := s.backfillOnce(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("seat history backfill: %w", err)
	}
	return s, nil
}

// watchRollbacks registers the rollback hook that sets wrolled on the write
// connection.
func (s *Store) watchRollbacks() error {
	return s.wconn.Raw(func(dc any) error {
		h, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T has no rollback hook", dc)
		}
		h.RegisterRollbackHook(func() { s.wrolled.Store(true) })
		return nil
	})
}

// wstmt returns the write connection's prepared statement for q, or nil
// when the cache is full.
func (s *Store) wstmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return s.cachedStmt(ctx, s.wstmts, q, s.wconn.PrepareContext)
}

func (s *Store) cachedStmt(ctx context.Context, cache map[string]*sql.Stmt, q string, prepare func(context.Context, string) (*sql.Stmt, error)) (*sql.Stmt, error) {
	s.smu.Lock()
	st, ok := cache[q]
	full := len(cache) >= maxStmts
	s.smu.Unlock()
	if ok || full {
		return st, nil
	}
	st, err := prepare(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil, err
	}
	s.smu.Lock()
	if old, ok := cache[q]; ok {
		st.Close()
		st = old
	} else {
		cache[q] = st
	}
	s.smu.Unlock()
	return st, nil
}

// newStore returns the store on the pools w and r, with the failpoints that
// FailpointsEnv arms.
func newStore(e Engine, w, r *sql.DB, opts []Option) (*Store, error) {
	fail, err := parseFailpoints(os.Getenv(FailpointsEnv))
	if err != nil {
		return nil, err
	}
	s := &Store{engine: e, w: w, r: r, log: slog.Default(), qcache: map[string]string{}, notify: make(chan struct{}), fail: fail,
		retryBudget: defaultRetryBudget, vacuumEvery: vacuumEvery}
	for _, o := range opts {
		o(s)
	}
	if fail != nil {
		s.log.Warn("failpoints armed: this process kills itself inside write transactions", "env", FailpointsEnv, "value", os.Getenv(FailpointsEnv))
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context, db *sql.DB, dir string, d goose.Dialect) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(d, db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// Engine returns the store's engine.
func (s *Store) Engine() Engine { return s.engine }

// Close closes the store's connections.
func (s *Store) Close() error {
	s.stopWriter()
	s.smu.Lock()
	for _, m := range []map[string]*sql.Stmt{s.wstmts, s.rstmts} {
		for _, st := range m {
			st.Close()
		}
	}
	s.wstmts, s.rstmts = nil, nil
	s.smu.Unlock()
	if s.wconn != nil {
		s.wconn.Close()
	}
	err0 := s.closePostgres()
	err1 := s.w.Close()
	var err2 error
	if s.r != s.w {
		err2 = s.r.Close()
	}
	return errors.Join(err0, err1, err2)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// Changed returns a channel that is closed the next time marks are written.
func (s *Store) Changed() <-chan struct{} {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	return s.notify
}

func (s *Store) wake() {
	s.nmu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.nmu.Unlock()
}

// q rewrites a query written with ? placeholders for the store's engine.
// Rewrites are kept for up to maxStmts query texts: $filter lets clients
// make new texts, which must not grow the cache without bound.
func (s *Store) q(query string) string {
	if s.engine != Postgres {
		return query
	}
	s.qmu.RLock()
	out, ok := s.qcache[query]
	s.qmu.RUnlock()
	if ok {
		return out
	}
	out = rebind(query)
	s.qmu.Lock()
	if len(s.qcache) < maxStmts {
		s.qcache[query] = out
	}
	s.qmu.Unlock()
	return out
}

func rebind(query string) string {
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// txCtxKey marks a context whose writes join an open transaction.
type txCtxKey struct{}

// tx is a write transaction with engine-aware helpers.
// previewMark is a mark a preview made: its kind and target.
type previewMark struct {
	kind int
	id   int64
}

type tx struct {
	s  *Store
	tx *sql.Tx
	// ctx is the context statements run with. In a shared SQLite
	// transaction it is the request's context without its cancellation
	// (a statement cancelled while it runs rolls back the whole
	// transaction, everyone's writes); req is then the request's own
	// context, checked before each statement.
	ctx context.Context
	req context.Context
	// woke records that marks were written, so workers are woken after commit.
	woke bool
	// authDirty records a change to what tokens may do (tokens, role
	// assignments, users' enabled state): the principal cache is emptied
	// after commit.
	authDirty bool
	now       int64
	// onApply, when set (by a preview), sees every plan before it is applied.
	onApply func(b *batch, plan *licensing.Plan)
	// removed records the (source, product) grants this transaction took
	// away on purpose (product 0: all of the source's), so that losses
	// through them count as explicit.
	removed licensing.Removed
	// preview marks a transaction that will be rolled back: it locks the
	// users whose states it writes, as every write does, but keeps seat
	// counter changes in deltas instead of the products rows, so that it
	// never holds a product row that real writes wait for.
	preview bool
	deltas  map[int64][2]int // per product: consumed, waiting
	// previewMarks are the marks a preview's writes made, in order, kept
	// here instead of in the marks table (mark).
	previewMarks []previewMark
	// ruleDiffs are the rule evaluations a preview made (recomputeRule).
	ruleDiffs []ruleDiff
	// stmts caches prepared multi-row statements for the transaction.
	stmts map[string]*sql.Stmt
	// release ends the transaction's hold on the write connection.
	release func()
	// conn is the transaction's connection on PostgreSQL.
	conn *sql.Conn
	// xid is the PostgreSQL transaction's id, read with the write gate.
	xid int64
	// feed holds the directory changes the write recorded for the delta
	// feeds until it ends (delta.go).
	feed *changeBuf
	// seats are the products whose counters the transaction changed, for
	// the seat history written before it commits (history.go).
	seats map[int64]bool
	// dims are the series per group, department and usage location whose
	// counts the transaction changed (history_dims.go).
	dims map[dimKey]bool
}

// commit commits the transaction and releases the write connection.
func (t *tx) commit() error {
	defer t.done()
	return t.tx.Commit()
}

// rollback rolls the transaction back and releases the write connection.
func (t *tx) rollback() {
	defer t.done()
	t.tx.Rollback()
}

func (t *tx) done() {
	if t.release != nil {
		t.release()
		t.release = nil
	}
}

// stmt returns a cached statement for query on SQLite's write connection
// (it runs inside the open transaction, on the same connection), or nil.
func (t *tx) stmt(query string) *sql.Stmt {
	if t.s.wconn == nil {
		return nil
	}
	st, err := t.s.wstmt(t.ctx, query)
	if err != nil {
		return nil // let the plain call report the error
	}
	return st
}

// errTxDead is the error of a statement refused because SQLite rolled back
// the transaction it belongs to: run outside it, the statement would be
// committed on its own.
var errTxDead = errors.New("the write transaction was rolled back")

// check tells whether the transaction may run another statement: not once
// the request has been cancelled, nor after SQLite rolled the transaction
// back.
func (t *tx) check() error {
	if t.req != nil {
		if err := t.req.Err(); err != nil {
			return err
		}
	}
	if t.s.wconn != nil && t.s.wrolled.Load() {
		return errTxDead
	}
	return nil
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if st := t.stmt(query); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if err := t.check(); err != nil {
		return t.refusedRow()
	}
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.s.q(query), args...)
}

// refusedRow returns a Row whose Scan fails without running anything: Tx
// answers a done context with the context's error before it touches the
// connection. The error is the request's when it was cancelled.
func (t *tx) refusedRow() *sql.Row {
	done := t.req
	if done == nil || done.Err() == nil {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		done = c
	}
	return t.tx.QueryRowContext(done, `SELECT 1`)
}

// write runs fn in a write transaction, committing when fn returns nil. A
// transient failure (retry.go) runs fn again in a new transaction: fn must
// start from scratch each time.
func (s *Store) write(ctx context.Context, fn func(t *tx) error) error {
	// Inside a preview every write joins the preview's transaction, which is
	// rolled back at the end. A transient failure is the preview's: its
	// error goes up unchanged, and Preview runs the whole preview again.
	if t, ok := ctx.Value(txCtxKey{}).(*tx); ok {
		return fn(t)
	}
	if s.wq != nil {
		return s.retry(ctx, func(ctx context.Context) error { return s.submit(ctx, fn) })
	}
	return s.retry(ctx, func(ctx context.Context) error { return s.writeOnce(ctx, fn) })
}

// writeOnce runs fn in a transaction of its own and commits it.
func (s *Store) writeOnce(ctx context.Context, fn func(t *tx) error) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	err = fn(t)
	if err == nil {
		err = t.flushChanges()
	}
	if err == nil && t.woke && s.pg != nil {
		err = t.pgNotify()
	}
	if err == nil {
		err = t.writeSeatHistory(t.seats)
	}
	if err != nil {
		t.rollback()
		return err
	}
	if err := t.commit(); err != nil {
		return err
	}
	if t.authDirty {
		s.auth.invalidate()
	}
	if t.woke {
		s.wake()
	}
	return nil
}

func (s *Store) begin(ctx context.Context) (*tx, error) {
	var opts *sql.TxOptions
	if s.engine == Postgres {
		// READ COMMITTED with explicit locks (locks.go).
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	if s.wconn != nil {
		s.wmu.Lock()
		t, err := s.wconn.BeginTx(ctx, nil)
		if err != nil {
			s.wmu.Unlock()
			return nil, fmt.Errorf("begin: %w", err)
		}
		s.wrolled.Store(false)
		return &tx{s: s, tx: t, ctx: ctx, now: nowMS(), release: s.wmu.Unlock}, nil
	}
	// On PostgreSQL the transaction keeps its connection at hand, so that
	// new rows can be sent with COPY inside it (copyRows).
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	t, err := conn.BeginTx(ctx, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin: %w", err)
	}
	wt := &tx{s: s, tx: t, ctx: ctx, now: nowMS(), conn: conn, release: func() { conn.Close() }}
	if err := wt.enterGate(runsAlone(ctx)); err != nil {
		wt.rollback()
		return nil, fmt.Errorf("begin: %w", err)
	}
	return wt, nil
}

// read runs a query on the read pool.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.rstmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, s.q(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.rstmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, s.q(query), args...)
}

// rstmt returns the read pool's cached statement for query on SQLite, or nil.
func (s *Store) rstmt(ctx context.Context, query string) *sql.Stmt {
	if s.rstmts == nil {
		return nil
	}
	st, err := s.cachedStmt(ctx, s.rstmts, query, s.r.PrepareContext)
	if err != nil {
		return nil
	}
	return st
}

func nowMS() int64 { return time.Now().UnixMilli() }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func notFound(what, id string) error {
	e := allot.Errorf(allot.ENotFound, "%s '%s' does not exist or is not in this tenant.", what, id)
	e.Target = id
	return e
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// placeholders returns "?,?,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// collect reads every row of rows with scan and closes rows; err is the
// query's (rows, err := t.query(…); collect(rows, err, scan)).
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanInt64 scans a row of one integer column.
func scanInt64(rows *sql.Rows) (int64, error) {
	var v int64
	err := rows.Scan(&v)
	return v, err
}
