package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// newCachedClient makes a tenant with an operator Global Administrator
// token and an API client it created; it returns both raw tokens and the
// client's id.
func newCachedClient(t *testing.T, st *sqlstore.Store) (ten *allot.Tenant, ga, client, clientID string) {
	t.Helper()
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "Cache", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	ga = sqlstore.TokenPrefix + "cache-ga-0123456789abcdef0123456789"
	if err := st.CreateToken(ctx, ten.ID, "ga", store.RoleGlobalAdmin, ga); err != nil {
		t.Fatal(err)
	}
	p, err := st.Authenticate(ctx, ga)
	if err != nil {
		t.Fatal(err)
	}
	c, raw, err := st.CreateAPIClient(ctx, p, sqlstore.NewAPIClient{DisplayName: "provisioning", Scopes: []string{"SCIM.Provisioning"}})
	if err != nil {
		t.Fatal(err)
	}
	return ten, ga, raw, c.GUID
}

func isUnauthorized(err error) bool {
	return err != nil && allot.ErrorCode(err) == allot.EUnauthorized
}

// TestAuthCacheRevokeHoldsAtOnce: a client revoked through the store stops
// authenticating from the next request on, although its principal was
// cached a moment before.
func TestAuthCacheRevokeHoldsAtOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ten, _, raw, id := newCachedClient(t, st)
		for range 3 {
			if _, err := st.Authenticate(ctx, raw); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.RevokeAPIClient(ctx, allot.SystemActor, ten.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, raw); !isUnauthorized(err) {
			t.Fatalf("a revoked client still authenticates: %v", err)
		}
	})
}

// TestAuthCacheOwnerRoleRemovedHoldsAtOnce: removing the creator's role
// cuts the client's rights (its owner chain) on the next request.
func TestAuthCacheOwnerRoleRemovedHoldsAtOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ten, ga, raw, _ := newCachedClient(t, st)
		if p, err := st.Authenticate(ctx, raw); err != nil || len(p.Owners) != 1 || len(p.Owners[0]) != 1 {
			t.Fatalf("owners %v, %v", p, err)
		}
		// A second Global Administrator, so that the first one's role may go.
		ga2 := sqlstore.TokenPrefix + "cache-ga2-0123456789abcdef012345678"
		if err := st.CreateToken(ctx, ten.ID, "ga2", store.RoleGlobalAdmin, ga2); err != nil {
			t.Fatal(err)
		}
		gp, _ := st.Authenticate(ctx, ga)
		ras, err := st.RoleAssignments(ctx, ten.ID, sqlstore.RoleAssignmentFilter{PrincipalGUID: gp.GUID})
		if err != nil || len(ras) != 1 {
			t.Fatalf("role assignments %v, %v", ras, err)
		}
		if err := st.RemoveRoleAssignment(ctx, allot.SystemActor, ten.ID, ras[0].GUID); err != nil {
			t.Fatal(err)
		}
		p, err := st.Authenticate(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range p.Owners {
			if len(set) > 0 {
				t.Fatalf("after the creator lost its role, the client is still capped by %v (cached)", p.Owners)
			}
		}
	})
}

// TestAuthCacheOutsideChangeHoldsWithinTTL: a revocation the cache is not
// told about (another process on the same database) holds once the entry's
// time is up, and not later.
func TestAuthCacheOutsideChangeHoldsWithinTTL(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		const ttl = 300 * time.Millisecond
		st.SetAuthCacheTTL(ttl)
		_, _, raw, id := newCachedClient(t, st)
		if _, err := st.Authenticate(ctx, raw); err != nil {
			t.Fatal(err)
		}
		revoked := time.Now()
		if err := st.WriteSQL(ctx, func(exec func(q string, args ...any) error) error {
			return exec(`UPDATE tokens SET revoked_at = ? WHERE guid = ?`, revoked.UnixMilli(), id)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, raw); err != nil {
			t.Logf("the outside revocation held at once: %v", err)
		}
		for !isUnauthorized(func() error { _, err := st.Authenticate(ctx, raw); return err }()) {
			if time.Since(revoked) > ttl+200*time.Millisecond {
				t.Fatalf("a revoked client still authenticates %v after the revocation (TTL %v)", time.Since(revoked), ttl)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestAuthCacheLastUseOncePerMinute: a client's last use is recorded on its
// first request and not rewritten by the next ones within the minute.
func TestAuthCacheLastUseOncePerMinute(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ten, _, raw, id := newCachedClient(t, st)
		c, err := st.APIClientByGUID(ctx, ten.ID, id)
		if err != nil || !c.LastUsedAt.IsZero() {
			t.Fatalf("a new client has a last use: %v, %v", c, err)
		}
		if _, err := st.Authenticate(ctx, raw); err != nil {
			t.Fatal(err)
		}
		c, _ = st.APIClientByGUID(ctx, ten.ID, id)
		first := c.LastUsedAt
		if first.IsZero() || time.Since(first) > time.Minute {
			t.Fatalf("last use %v after a request", first)
		}
		time.Sleep(5 * time.Millisecond)
		for range 20 {
			if _, err := st.Authenticate(ctx, raw); err != nil {
				t.Fatal(err)
			}
		}
		c, _ = st.APIClientByGUID(ctx, ten.ID, id)
		if !c.LastUsedAt.Equal(first) {
			t.Fatalf("last use rewritten within the minute: %v then %v", first, c.LastUsedAt)
		}
	})
}

// TestAuthCacheOwnerDisabledHoldsAtOnce: disabling the person who created
// a client cuts the client's rights on its next request, although its
// principal was cached; enabling them gives the rights back.
func TestAuthCacheOwnerDisabledHoldsAtOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ten, _, _, _ := newCachedClient(t, st)
		u := &allot.User{UserPrincipalName: "admin@contoso.com", DisplayName: "Admin", UsageLocation: "US", AccountEnabled: true}
		if err := st.CreateUser(ctx, allot.SystemActor, ten.ID, u); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddRoleAssignment(ctx, allot.SystemActor, ten.ID, u.GUID, store.RoleIDs[store.RoleUserAdmin]); err != nil {
			t.Fatal(err)
		}
		owner := &store.Principal{Tenant: ten, Kind: store.PrincipalUser, GUID: u.GUID, UserID: u.ID, Name: u.UserPrincipalName,
			Roles: []string{store.RoleIDs[store.RoleUserAdmin]}}
		_, raw, err := st.CreateAPIClient(ctx, owner, sqlstore.NewAPIClient{DisplayName: "by a person", Scopes: []string{"SCIM.Provisioning"}})
		if err != nil {
			t.Fatal(err)
		}
		capped := func() []string {
			t.Helper()
			p, err := st.Authenticate(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Owners) != 1 {
				t.Fatalf("owners %v", p.Owners)
			}
			return p.Owners[0]
		}
		if got := capped(); len(got) != 1 {
			t.Fatalf("an enabled creator caps to %v", got)
		}
		off, on := false, true
		if _, err := st.UpdateUser(ctx, allot.SystemActor, ten.ID, u.GUID, store.UserPatch{AccountEnabled: &off}); err != nil {
			t.Fatal(err)
		}
		if got := capped(); len(got) != 0 {
			t.Fatalf("the creator is disabled, the cached client still has %v", got)
		}
		if _, err := st.UpdateUser(ctx, allot.SystemActor, ten.ID, u.GUID, store.UserPatch{AccountEnabled: &on}); err != nil {
			t.Fatal(err)
		}
		if got := capped(); len(got) != 1 {
			t.Fatalf("the creator is enabled again, the client caps to %v", got)
		}
	})
}
