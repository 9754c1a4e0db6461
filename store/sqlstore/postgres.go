package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"allot"
)

// pgChannel is the LISTEN/NOTIFY channel on which a process that wrote marks
// wakes the workers of every other allot process on the same database.
const pgChannel = "allot_marks"

// pgMaxConns bounds the pool of one allot process on PostgreSQL unless the
// URL sets pool_max_conns. Each process also holds one LISTEN connection and
// up to two for ordering numbers. A few connections per core keep the server
// busy; more only queue inside it, and a default server allows 100 clients
// in all, shared by every allot process.
const pgMaxConns = 16

// pgState is what only the PostgreSQL store has.
type pgState struct {
	// instance names this process in NOTIFY payloads, so the listener can
	// ignore its own notifications (the writer already woke its workers).
	instance string
	// seq runs the ordering-number reservations outside the caller's
	// transaction (see pgNextSeqs).
	seq *sql.DB
	// stop ends the listener and the vacuum loop; done and vdone are
	// closed when they have.
	stop        context.CancelFunc
	done, vdone chan struct{}
	// listening is set while the listener holds a LISTEN connection.
	mu        sync.Mutex
	listening bool
}

// OpenPostgres opens the PostgreSQL store at url (postgres://user@host/db),
// migrates it to the newest schema and starts listening for the wake-ups of
// other allot processes on the same database.
func OpenPostgres(ctx context.Context, url string, opts ...Option) (*Store, error) {
	url, maxConns, err := poolMaxConns(url)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, allot.Errorf(allot.EInvalid, "--db: %v", pgErrText(err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// Plan every statement for its values. The queue (marks) and state
	// tables swing from empty to hundreds of thousands of rows faster than
	// autovacuum re-analyzes them, and a cached generic plan for the long
	// IN (?, ?, ...) lists of the batch queries then filters row by row
	// through an unhashed list: 50x slower than a plan for the values. The
	// URL can override it (…?plan_cache_mode=auto).
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %s", redactURL(cfg), pgErrText(err))
	}
	// Ordering numbers are reserved on connections of their own: a handful
	// is plenty, and it keeps reservations from waiting for the main pool.
	// A reservation need not wait for its WAL flush: the transaction that
	// uses the numbers commits later, and its flush covers the reservation
	// (WAL is flushed in order); one whose user never commits may be lost,
	// which leaves a gap at most.
	scfg := cfg.Copy()
	scfg.RuntimeParams["synchronous_commit"] = "off"
	seq := stdlib.OpenDB(*scfg)
	seq.SetMaxOpenConns(2)
	seq.SetMaxIdleConns(2)
	s, err := newStore(Postgres, db, db, opts)
	if err != nil {
		seq.Close()
		db.Close()
		return nil, err
	}
	s.pg = &pgState{instance: randomHex(8), seq: seq, done: make(chan struct{}), vdone: make(chan struct{})}
	if err := s.migratePostgres(ctx); err != nil {
		s.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	s.pg.stop = stop
	go s.listen(lctx, cfg.Copy())
	go s.vacuumLoop(lctx, s.pg.vdone)
	if err := s.backfillOnce(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("seat history backfill: %w", err)
	}
	return s, nil
}

// migratePostgres applies the PostgreSQL migrations, holding a session
// advisory lock so that processes starting together migrate one at a time.
func (s *Store) migratePostgres(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/postgres")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.w, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate database: %s", pgErrText(err))
	}
	return nil
}

// closePostgres stops the listener and the vacuum loop, and closes the reservation pool.
func (s *Store) closePostgres() error {
	if s.pg == nil {
		return nil
	}
	if s.pg.stop != nil {
		s.pg.stop()
		<-s.pg.done
		<-s.pg.vdone
	}
	return s.pg.seq.Close()
}

// Listening reports whether the store currently receives the wake-ups of
// other processes (PostgreSQL LISTEN); without it workers fall back to polling.
func (s *Store) Listening() bool {
	if s.pg == nil {
		return false
	}
	s.pg.mu.Lock()
	defer s.pg.mu.Unlock()
	return s.pg.listening
}

func (s *Store) setListening(v bool) {
	s.pg.mu.Lock()
	s.pg.listening = v
	s.pg.mu.Unlock()
}

// listen holds a dedicated connection that LISTENs on pgChannel and wakes
// this process's workers whenever another process commits marks. A lost
// connection is re-established with backoff; after each (re)connect the
// workers are woken once, since notifications may have been missed.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	defer close(s.pg.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg)
		s.setListening(false)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("PostgreSQL LISTEN connection lost; workers poll until it is back", "err", pgErrText(err), "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgChannel); err != nil {
		return err
	}
	s.setListening(true)
	s.wake()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != s.pg.instance {
			s.wake()
		}
	}
}

// pgNotify tells the other processes on the database that marks were
// written. It runs inside the writing transaction: PostgreSQL delivers the
// notification when (and only if) the transaction commits.
func (t *tx) pgNotify() error {
	_, err := t.exec(`SELECT pg_notify('`+pgChannel+`', ?)`, t.s.pg.instance)
	return err
}

// pgNextSeqs reserves n ordering numbers in a statement of its own, outside
// the caller's transaction. The counter row is the hottest row of the
// database: updated inside the caller's transaction it would hold the row
// lock until the caller commits, making every pair of concurrent writers take
// turns for their whole length. Outside, the lock lasts one statement; a
// rolled back caller leaves a gap, which ordering numbers allow. Transient
// failures are retried under the store's retry policy (retry.go).
func (s *Store) pgNextSeqs(ctx context.Context, n int) (int64, error) {
	var v int64
	err := s.retry(ctx, func(context.Context) error {
		return s.pg.seq.QueryRowContext(ctx, `UPDATE sequences SET value = value + $1 WHERE name = 'order' RETURNING value`, n).Scan(&v)
	})
	return v, err
}

// pgErrText describes a connection or server error without the password.
func pgErrText(err error) string {
	if err == nil {
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Detail != "" {
			msg += " (" + pe.Detail + ")"
		}
		return msg + " [SQLSTATE " + pe.Code + "]"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return err.Error() + " (is PostgreSQL running and reachable?)"
	}
	return err.Error()
}

func redactURL(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, host, cfg.Port, cfg.Database)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// DB returns the store's write pool, for tests and benchmarks that need
// raw SQL (counting rows, installing test triggers). The store's own code
// never goes through it.
func (s *Store) DB() *sql.DB { return s.w }

// PostgresSchemaID names the PostgreSQL migration set: a hash of its files,
// so that tests can keep one migrated template database per schema version.
func PostgresSchemaID() string {
	h := sha256.New()
	fs.WalkDir(migrations, "migrations/postgres", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// pgStartupLockKey is the advisory lock that serializes start-ups.
const pgStartupLockKey = 0x616c6c6f7401 // "allot" 1

// StartupLock serializes the start-up work of allot processes that share one
// database (creating the default tenant, seeding the demo tenant, ensuring
// the configured admin token), which would otherwise be done twice when
// several processes start at once. On PostgreSQL it holds a session advisory
// lock until unlock is called (unlock may be called more than once); the
// embedded store serves one process and needs no lock.
func (s *Store) StartupLock(ctx context.Context) (unlock func(), err error) {
	if s.pg == nil {
		return func() {}, nil
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(pgStartupLockKey)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start-up lock: %s", pgErrText(err))
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(pgStartupLockKey))
			conn.Close()
		})
	}, nil
}

// poolMaxConns takes allot's own pool_max_conns parameter (as pgxpool names
// it) out of a postgres:// URL and returns the URL without it and the pool
// size (pgMaxConns when absent).
func poolMaxConns(dbURL string) (string, int, error) {
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		return dbURL, pgMaxConns, nil
	}
	u, err := neturl.Parse(dbURL)
	if err != nil {
		return "", 0, allot.Errorf(allot.EInvalid, "--db: the URL does not parse: %v", err)
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return dbURL, pgMaxConns, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return "", 0, allot.Errorf(allot.EInvalid, "--db: pool_max_conns must be a number from 1 to 1000, not '%s'.", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}
