// Package pgtest gives tests a fresh PostgreSQL database each.
//
// The server is ALLOT_TEST_PG (default DefaultURL), a URL of a role that may
// create databases. Each call makes a database allot_t_<random> on it and
// drops it when the test ends. When the server cannot be reached the test is
// skipped, except under CI=true, where a missing PostgreSQL is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"allot/store/sqlstore"
)

// DefaultURL is the server the tests use unless ALLOT_TEST_PG names another.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the URL of the test server (ALLOT_TEST_PG or DefaultURL).
func ServerURL() string {
	if u := os.Getenv("ALLOT_TEST_PG"); u != "" {
		return u
	}
	return DefaultURL
}

var (
	reachOnce sync.Once
	reachErr  error
)

// Available reports why the test server cannot be used, or nil.
func Available() error {
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			reachErr = err
			return
		}
		c.Close(ctx)
	})
	return reachErr
}

// Require skips the test (fails it under CI=true) when PostgreSQL is not
// reachable.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		msg := fmt.Sprintf("PostgreSQL at %s is not reachable (set ALLOT_TEST_PG or start a server): %v", redact(ServerURL()), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// NewDatabase creates a database for the test with allot's schema, dropped
// (with any connection still open to it) when the test ends, and returns its
// URL. It is a copy of a template database migrated once per schema version
// (allot_tpl_<hash of the migrations>), which is much cheaper than migrating
// every test's database.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tpl, err := template(ctx, c)
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	return createFrom(ctx, t, c, tpl)
}

// CopyDatabase creates a database for the test that is a copy of the one at
// srcURL (on the test server; nothing may be connected to it), dropped when
// the test ends, and returns its URL. Tests use it to run the same scenario
// several times from the same start.
func CopyDatabase(t testing.TB, srcURL string) string {
	t.Helper()
	Require(t)
	u, err := url.Parse(srcURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	return createFrom(ctx, t, c, strings.TrimPrefix(u.Path, "/"))
}

// createFrom creates a database allot_t_<random> as a copy of tpl, to be
// dropped when the test ends, and returns its URL. A store closed just
// before may leave a connection to tpl for a moment (CREATE DATABASE then
// fails with 55006): it is tried again for a few seconds.
func createFrom(ctx context.Context, t testing.TB, c *pgx.Conn, tpl string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "allot_t_" + hex.EncodeToString(b)
	for attempt := 0; ; attempt++ {
		_, err := c.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+pgx.Identifier{tpl}.Sanitize())
		if err == nil {
			break
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55006" && attempt < 50 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// template returns the name of the migrated template database of the
// current schema, creating it if needed. Test processes running at once
// (one per package) agree through an advisory lock; a template appears
// under its final name only once it is complete.
func template(ctx context.Context, c *pgx.Conn) (string, error) {
	name := "allot_tpl_" + sqlstore.PostgresSchemaID()
	const lockKey = 0x616c6c6f74 // "allot"
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return "", err
	}
	defer c.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey)
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	tmp := "allot_tplnew_" + hex.EncodeToString(b)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+tmp); err != nil {
		return "", err
	}
	u, err := url.Parse(ServerURL())
	if err != nil {
		return "", err
	}
	u.Path = "/" + tmp
	st, err := sqlstore.OpenPostgres(ctx, u.String())
	if err == nil {
		err = st.Close()
	}
	if err == nil {
		_, err = c.Exec(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name)
	}
	if err != nil {
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+tmp+" WITH (FORCE)")
		return "", err
	}
	return name, nil
}

// Open returns a fresh, migrated store on a new database; it is closed and
// the database dropped when the test ends. It is the PostgreSQL constructor
// of the store contract suite.
func Open(t *testing.T) *sqlstore.Store {
	t.Helper()
	return OpenTB(t)
}

// OpenTB is Open for any testing.TB (benchmarks too).
func OpenTB(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	dbURL := NewDatabase(t)
	st, err := sqlstore.OpenPostgres(context.Background(), dbURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
