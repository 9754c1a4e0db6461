package httpapi

import (
	"allot"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

var ctx = context.Background()

// forEachSigninCounter runs fn on each way of counting failed sign-ins: in
// this process, and in the database of each engine (what replicas on
// PostgreSQL share; the store's SQL is the same on SQLite).
func forEachSigninCounter(t *testing.T, fn func(t *testing.T, g signinCounter)) {
	t.Run("process", func(t *testing.T) { fn(t, newLocalSignins()) })
	for _, e := range engines {
		t.Run("shared-"+e.name, func(t *testing.T) {
			st := e.open(t)
			fn(t, &sharedSignins{st: st, pruner: &limitPruner{st: st, log: discardLog(), idle: signinWindow}})
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustWait(t *testing.T, g signinCounter, account, address string, now time.Time) time.Duration {
	t.Helper()
	w, err := g.wait(ctx, account, address, now)
	mustDo(t, err)
	return w
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestReplicasShareOneRateLimit: two servers, each on its own store (its own
// connection pool) on one PostgreSQL database, as two replicas are, allow
// one credential what one server allows: the burst plus the rate over the
// time, not twice that; each answers the excess with 429 and Retry-After.
func TestReplicasShareOneRateLimit(t *testing.T) {
	l := DefaultLimits
	l.RatePerSecond, l.RateBurst = 20, 40
	replicas, st, ten := twoReplicas(t, l)
	tok := sqlstore.NewToken()
	mustDo(t, st.CreateToken(ctx, ten.ID, "shared", store.RoleGlobalReader, tok))

	var mu sync.Mutex
	ok, limited := map[int]int{}, map[int]int{}
	start := time.Now()
	var wg sync.WaitGroup
	for i, srv := range replicas {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < 2*time.Second {
					code, ra := getWithToken(t, srv.URL+"/v1.0/users?$top=1", tok)
					mu.Lock()
					switch {
					case code == 200:
						ok[i]++
					case code == 429 && ra >= 1:
						limited[i]++
					default:
						t.Errorf("replica %d: %d Retry-After %d, want 200, or 429 with Retry-After ≥ 1", i, code, ra)
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	allowed := ok[0] + ok[1]
	most := l.RateBurst + int(l.RatePerSecond*elapsed) + 1
	t.Logf("in %.2fs: allowed %v, limited %v (one limit allows at most %d)", elapsed, ok, limited, most)
	if allowed > most {
		t.Errorf("two replicas allowed %d requests in %.2fs, one limit allows at most %d", allowed, elapsed, most)
	}
	if allowed < l.RateBurst {
		t.Errorf("two replicas allowed %d requests, fewer than the burst %d", allowed, l.RateBurst)
	}
	for i := range replicas {
		if ok[i] == 0 || limited[i] == 0 {
			t.Errorf("replica %d: %d allowed, %d limited; want some of each", i, ok[i], limited[i])
		}
	}
}

// twoReplicas starts two servers with limits l, each on its own store (its
// own pool) on one new PostgreSQL database, and makes a tenant.
func twoReplicas(t *testing.T, l Limits) ([]*httptest.Server, *sqlstore.Store, *allot.Tenant) {
	pgtest.Require(t)
	dbURL := pgtest.NewDatabase(t)
	var replicas []*httptest.Server
	var st *sqlstore.Store
	for range 2 {
		s, err := sqlstore.OpenPostgres(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
		srv := httptest.NewServer(New(s, discardLog(), l).Handler())
		t.Cleanup(srv.Close)
		replicas = append(replicas, srv)
	}
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	mustDo(t, err)
	return replicas, st, ten
}

// TestReplicasShareSignInCounts: failed sign-ins of one account spread over
// two replicas on one PostgreSQL database add up: after 3 on one and 2 on
// the other (5, the free failures of an account), even the right password
// waits (429 with Retry-After) on both; per-process counts would have let
// it in.
func TestReplicasShareSignInCounts(t *testing.T) {
	replicas, st, ten := twoReplicas(t, DefaultLimits)
	u := &allot.User{UserPrincipalName: "megan@contoso.com", DisplayName: "Megan", UsageLocation: "US", AccountEnabled: true}
	actor := allot.Actor{Kind: "system", ID: "test", Name: "test"}
	mustDo(t, st.CreateUser(ctx, actor, ten.ID, u))
	pw := remember("the right password 42")
	mustDo(t, st.SetPassword(ctx, actor, ten.ID, u.GUID, pw))
	signin := func(srv *httptest.Server, password string) (int, string) {
		b, _ := json.Marshal(map[string]string{"userName": u.UserPrincipalName, "password": password, "tenantId": ten.GUID})
		resp, err := http.Post(srv.URL+"/allot/v1/signin", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i := range signinFreePerAccount {
		if code, _ := signin(replicas[i%2], "wrong "+strconv.Itoa(i)); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i, code)
		}
	}
	for i, srv := range replicas {
		if code, ra := signin(srv, pw); code != 429 || ra == "" {
			t.Errorf("replica %d after %d failures over both: %d Retry-After %q, want 429 with Retry-After", i, signinFreePerAccount, code, ra)
		}
	}
}

func getWithToken(t *testing.T, url, tok string) (int, int) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, ra
}

// TestSharedRateCost measures what the shared bucket adds to a request on
// PostgreSQL: the mean time of allow with the default limits (blocks of
// sharedBlock tokens), next to one take from the database.
func TestSharedRateCost(t *testing.T) {
	pgtest.Require(t)
	st := pgtest.Open(t)
	l := newSharedRate(st, discardLog(), DefaultRatePerSecond, DefaultRateBurst, &limitPruner{st: st, log: discardLog(), idle: time.Hour})
	const n = 2000
	start := time.Now()
	for i := range n {
		if _, ok := l.allow(ctx, "cost", time.Now()); !ok {
			t.Fatalf("request %d of a burst of %d refused", i, DefaultRateBurst)
		}
	}
	perRequest := time.Since(start) / n
	start = time.Now()
	for range 100 {
		if _, _, err := st.TakeTokens(ctx, "one", 1, DefaultRatePerSecond, DefaultRateBurst, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("shared rate limit on PostgreSQL: %v per request (one database take of %d tokens every %d requests; one take: %v)",
		perRequest, sharedBlock(DefaultRatePerSecond), sharedBlock(DefaultRatePerSecond), time.Since(start)/100)
}

// TestSharedBucketRefills: the bucket in the database (on each engine; the
// SQL is the same) gives a new key its burst, refuses the next request with
// the real wait, refills at the rate, and never above the burst.
func TestSharedBucketRefills(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		st := open(t)
		l := newSharedRate(st, discardLog(), 1, 3, &limitPruner{st: st, log: discardLog(), idle: time.Hour})
		now := time.Now().Truncate(time.Millisecond)
		for i := range 3 {
			if _, ok := l.allow(ctx, "k", now); !ok {
				t.Fatalf("request %d of a burst of 3 refused", i+1)
			}
		}
		if wait, ok := l.allow(ctx, "k", now); ok || wait != time.Second {
			t.Fatalf("4th request: allowed %v, wait %v; want refused, 1s", ok, wait)
		}
		if _, ok := l.allow(ctx, "other", now); !ok {
			t.Error("another key is limited")
		}
		later := now.Add(time.Second)
		if _, ok := l.allow(ctx, "k", later); !ok {
			t.Error("refused after the 1 s wait")
		}
		if _, ok := l.allow(ctx, "k", later); ok {
			t.Error("two tokens after 1 s at 1 per second")
		}
		muchLater := now.Add(time.Hour)
		allowed := 0
		for range 5 {
			if _, ok := l.allow(ctx, "k", muchLater); ok {
				allowed++
			}
		}
		if allowed != 3 {
			t.Errorf("after an hour idle: %d allowed, want the burst (3)", allowed)
		}
	})
}
