package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot"
	"allot/reconcile"
	"allot/store/sqlstore/pgtest"
)

// TestPostgresMixedLoadNo5xx: on PostgreSQL, 16 clients make 2,000 direct
// assignments and removals of one product through the API while group-based
// licensing of the same product runs over and over (a 3,000-member group
// gets the product and loses it again, each time reconciled in one large
// transaction). Every request answers 200: none may fail with a server
// error (a serialization failure or deadlock that reached the client, 500,
// or a retry budget spent, 503), and no group reconcile may fail either.
// Afterwards consumedUnits equals the number of users that hold the product.
func TestPostgresMixedLoadNo5xx(t *testing.T) {
	const (
		clients      = 16
		requests     = 2000
		directUsers  = 160
		groupMembers = 3000
	)
	h := newHarness(t, pgtest.Open)
	ctx := context.Background()
	c := h.newTenant("Mixed", "NAM", "US", nil)
	sku := c.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{
		"skuPartNumber": "CONTOSO_MIXED", "displayName": "Mixed load product", "enabledUnits": 100000,
		"servicePlans": []map[string]any{{"servicePlanName": "MIXED_PLAN"}},
	}).object(t)["skuId"].(string)
	g, _, err := h.st.LoadGroup(ctx, c.Tenant.ID, "Mixed group", "mixed", groupMembers)
	if err != nil {
		t.Fatal(err)
	}
	users := make([]*allot.User, directUsers)
	for i := range users {
		upn := fmt.Sprintf("direct%03d@contoso.com", i)
		users[i] = &allot.User{UserPrincipalName: upn, DisplayName: upn, UsageLocation: "US", AccountEnabled: true}
	}
	if err := h.st.CreateUsersBulk(ctx, allot.SystemActor, c.Tenant.ID, users); err != nil {
		t.Fatal(err)
	}

	// Group-based licensing of the product, over and over, until the
	// clients are done.
	stop := make(chan struct{})
	var rounds atomic.Int64
	var groupErrs []string
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		w := reconcile.New(h.st, slog.New(h.logs))
		for add := true; ; add = !add {
			select {
			case <-stop:
				return
			default:
			}
			body := assignBody([]string{sku}, nil)
			if !add {
				body = assignBody(nil, []string{sku})
			}
			r, err := c.send("POST", "/v1.0/groups/"+g.GUID+"/assignLicense", body)
			if err != nil || r.Status != 202 {
				groupErrs = append(groupErrs, fmt.Sprintf("group assignLicense: %v %v", err, r))
				return
			}
			dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			err = w.Drain(dctx)
			cancel()
			if err != nil {
				groupErrs = append(groupErrs, fmt.Sprintf("group reconcile (code %s): %v", allot.ErrorCode(err), err))
				return
			}
			rounds.Add(1)
		}
	}()

	type outcome struct {
		status int
		code   string
	}
	var mu sync.Mutex
	counts := map[outcome]int{}
	var bad []string
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held := map[int]bool{}
			// Each client owns its users, so it knows what each holds.
			mine := directUsers / clients
			for i := range requests / clients {
				k := w*mine + i%mine
				body := assignBody([]string{sku}, nil)
				if held[k] {
					body = assignBody(nil, []string{sku})
				}
				r, err := c.send("POST", "/v1.0/users/"+users[k].GUID+"/assignLicense", body)
				mu.Lock()
				switch {
				case err != nil:
					bad = append(bad, err.Error())
				default:
					o := outcome{status: r.Status}
					if r.Status != 200 {
						o.code = errorCode(r.Body)
					} else {
						held[k] = !held[k]
					}
					counts[o]++
					if r.Status >= 500 {
						bad = append(bad, r.String())
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	bg.Wait()

	var summary []string
	for o, n := range counts {
		summary = append(summary, fmt.Sprintf("%d %s: %d", o.status, o.code, n))
	}
	sort.Strings(summary)
	t.Logf("%d direct requests by %d clients in %v during %d group reconciles of %d members: %s",
		requests, clients, elapsed.Round(time.Millisecond), rounds.Load(), groupMembers, strings.Join(summary, ", "))
	if len(bad) > 0 {
		t.Errorf("%d requests failed with a server error or no answer; first: %s", len(bad), bad[0])
	}
	for o, n := range counts {
		if o.status != 200 {
			t.Errorf("%d requests answered %d %s, want 200", n, o.status, o.code)
		}
	}
	if len(groupErrs) > 0 {
		t.Errorf("group licensing failed: %s", strings.Join(groupErrs, "; "))
	}
	if rounds.Load() == 0 {
		t.Errorf("no group reconcile finished while the clients ran: the test did not mix anything")
	}
	// Counters agree with the states once everything has settled.
	h.drain()
	holders := len(c.listAll("/v1.0/users?$top=999&$select=id&$filter=assignedLicenses/any(x:x/skuId%20eq%20" + sku + ")"))
	if consumed, _ := c.consumed(sku); consumed != holders {
		t.Errorf("consumedUnits %d, but %d users hold the product", consumed, holders)
	}
}
