// Package storetest is the store contract suite: one set of tests that every
// store engine must pass. An engine's test calls Run with a constructor that
// returns a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

// Opener returns a fresh, empty, migrated store for one test.
type Opener func(t *testing.T) *sqlstore.Store

// Run runs the whole contract suite against the engine that open returns.
func Run(t *testing.T, open Opener) {
	t.Run("Directory", func(t *testing.T) { testDirectory(t, open) })
	t.Run("Rules", func(t *testing.T) { testRules(t, open) })
	t.Run("Reconcile", func(t *testing.T) { testReconcile(t, open) })
	t.Run("Dynamic", func(t *testing.T) { testDynamic(t, open) })
}

var admin = allot.Actor{Kind: "app", ID: "test", Name: "contract test"}

// Env is a tenant in a fresh store with helpers to build scenarios.
type Env struct {
	T        testing.TB
	Ctx      context.Context
	St       *sqlstore.Store
	Tenant   *allot.Tenant
	Products map[string]*allot.Product
	Worker   *reconcile.Worker
}

// NewEnv creates a tenant (dataLocation NAM, default usage location US) in the store.
func NewEnv(t testing.TB, st *sqlstore.Store) *Env {
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "Contract", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	w := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.GroupChunk = 7 // small chunks so tests cross chunk boundaries
	return &Env{T: t, Ctx: ctx, St: st, Tenant: ten, Products: map[string]*allot.Product{}, Worker: w}
}

// Product subscribes the tenant to a catalog product with seats.
func (e *Env) Product(part string, seats int) *allot.Product {
	e.T.Helper()
	d, ok := catalog.Lookup(part)
	if !ok {
		e.T.Fatalf("no catalog product %s", part)
	}
	p, err := e.St.AddProduct(e.Ctx, admin, e.Tenant.ID, d, seats)
	if err != nil {
		e.T.Fatal(err)
	}
	e.Products[part] = p
	return p
}

// User creates a user with the usage location.
func (e *Env) User(name, usage string) *allot.User {
	e.T.Helper()
	u := &allot.User{UserPrincipalName: name + "@contoso.test", DisplayName: name, UsageLocation: usage, AccountEnabled: true}
	if err := e.St.CreateUser(e.Ctx, admin, e.Tenant.ID, u); err != nil {
		e.T.Fatal(err)
	}
	return u
}

// Users creates n users named prefix-1 … prefix-n.
func (e *Env) Users(prefix string, n int, usage string) []*allot.User {
	out := make([]*allot.User, n)
	for i := range out {
		out[i] = e.User(fmt.Sprintf("%s-%d", prefix, i+1), usage)
	}
	return out
}

// Group creates a group and adds the members (users or groups) in order.
func (e *Env) Group(name string, members ...any) *allot.Group {
	e.T.Helper()
	g := &allot.Group{DisplayName: name}
	if err := e.St.CreateGroup(e.Ctx, admin, e.Tenant.ID, g); err != nil {
		e.T.Fatal(err)
	}
	for _, m := range members {
		e.Add(g, m)
	}
	return g
}

// Add adds a user or group to a group.
func (e *Env) Add(g *allot.Group, m any) {
	e.T.Helper()
	if err := e.St.AddMember(e.Ctx, admin, e.Tenant.ID, g.GUID, guidOf(m)); err != nil {
		e.T.Fatal(err)
	}
}

// Remove removes a user or group from a group.
func (e *Env) Remove(g *allot.Group, m any) {
	e.T.Helper()
	if err := e.St.RemoveMember(e.Ctx, admin, e.Tenant.ID, g.GUID, guidOf(m), false); err != nil {
		e.T.Fatal(err)
	}
}

func guidOf(m any) string {
	switch x := m.(type) {
	case *allot.User:
		return x.GUID
	case *allot.Group:
		return x.GUID
	}
	panic("member must be a user or a group")
}

// Req builds license requests for catalog part numbers.
func (e *Env) Req(parts ...string) []store.LicenseRequest {
	var out []store.LicenseRequest
	for _, p := range parts {
		out = append(out, store.LicenseRequest{SkuID: e.Products[p].SkuID})
	}
	return out
}

// Assign assigns products directly to a user.
func (e *Env) Assign(u *allot.User, parts ...string) error {
	_, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, u.GUID, e.Req(parts...), nil)
	return err
}

// AssignGroup assigns products to a group.
func (e *Env) AssignGroup(g *allot.Group, reqs ...store.LicenseRequest) {
	e.T.Helper()
	if _, err := e.St.AssignGroupLicenses(e.Ctx, admin, e.Tenant.ID, g.GUID, reqs, nil, false); err != nil {
		e.T.Fatal(err)
	}
}

// Drain runs the reconciler until no mark is left.
func (e *Env) Drain() {
	e.T.Helper()
	if err := e.Worker.Drain(e.Ctx); err != nil {
		e.T.Fatal(err)
	}
}

// Has returns the part numbers the user holds a seat of, sorted.
func (e *Env) Has(u *allot.User) []string {
	e.T.Helper()
	lic, err := e.St.UserLicenses(e.Ctx, e.Tenant.ID, []int64{u.ID})
	if err != nil {
		e.T.Fatal(err)
	}
	var out []string
	for _, v := range lic[u.ID] {
		if v.State == allot.StateActive && !slices.Contains(out, v.Product.SkuPartNumber) {
			out = append(out, v.Product.SkuPartNumber)
		}
	}
	sort.Strings(out)
	return out
}

// States returns the user's license states as "PART/source=State:code" strings.
func (e *Env) States(u *allot.User) []store.LicenseView {
	e.T.Helper()
	lic, err := e.St.UserLicenses(e.Ctx, e.Tenant.ID, []int64{u.ID})
	if err != nil {
		e.T.Fatal(err)
	}
	return lic[u.ID]
}

// Consumed returns the product's consumed and enabled units.
func (e *Env) Consumed(part string) (consumed, enabled int) {
	e.T.Helper()
	p, err := e.St.Product(e.Ctx, e.Tenant.ID, part)
	if err != nil {
		e.T.Fatal(err)
	}
	return p.ConsumedUnits, p.EnabledUnits
}

// Code returns the error code of the user's state for a product from a
// source (0 = direct, else the group), or "-" when there is none.
func (e *Env) Code(u *allot.User, part string, g *allot.Group) allot.Code {
	e.T.Helper()
	for _, v := range e.States(u) {
		if v.Product.SkuPartNumber != part {
			continue
		}
		if (g == nil && v.Source == allot.DirectSource) || (g != nil && v.Source == g.ID) {
			return v.Code
		}
	}
	return "-"
}

// CheckCounters verifies that every product's consumedUnits equals the
// number of users holding it and never exceeds enabledUnits.
func (e *Env) CheckCounters() {
	e.T.Helper()
	ps, err := e.St.Products(e.Ctx, e.Tenant.ID)
	if err != nil {
		e.T.Fatal(err)
	}
	counts, err := e.St.CountHolders(e.Ctx, e.Tenant.ID)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, p := range ps {
		if p.ConsumedUnits != counts[p.ID] {
			e.T.Errorf("%s: consumedUnits %d but %d users hold it", p.SkuPartNumber, p.ConsumedUnits, counts[p.ID])
		}
		if p.ConsumedUnits > p.EnabledUnits {
			e.T.Errorf("%s: consumedUnits %d exceeds enabledUnits %d", p.SkuPartNumber, p.ConsumedUnits, p.EnabledUnits)
		}
	}
}
