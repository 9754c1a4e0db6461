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
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// NewDatabase creates an empty database for the test, dropped (with any
// connection still open to it) when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Require(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "allot_t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
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
