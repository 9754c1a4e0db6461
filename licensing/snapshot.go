// Package licensing is allot's one decision function (docs/design.md,
// "Licensing rules" and "Plan and apply"). Given a snapshot — the users
// concerned with their sources of licenses, the products with their seats and
// rules, the waiting order and the tenant — it computes a plan: per user the
// new license states, per product the change of consumed and waiting seats,
// and who gains, loses, waits or fails, and why. It does no I/O and never
// changes its input; stores load snapshots and apply plans.
package licensing

import (
	"slices"
	"strings"

	"allot"
)

// Grant is one source's intent to give a product to a user.
type Grant struct {
	Source        int64 // allot.DirectSource or a group id
	ProductID     int64
	DisabledPlans []string
	// EndsAt is when the intent ends (unix ms; 0: never). From then on the
	// grant gives nothing: its license goes, on purpose (Snapshot.Ended).
	EndsAt int64
}

// Ended tells whether the grant has ended at time now (unix ms).
func (g Grant) Ended(now int64) bool { return g.EndsAt != 0 && g.EndsAt <= now }

// UserInput is everything the rules need to know about one user.
type UserInput struct {
	UserID        int64
	UsageLocation string
	// Grants lists every source's intent, direct ones first, then groups in
	// the order the user joined them (transitively).
	Grants []Grant
	// Current lists the user's stored license states.
	Current []allot.LicenseState
	// Pools gives, per product, the id of the user's license pool (none:
	// the user draws from the product's remainder only; pools.go).
	Pools map[int64]int64
}

// Snapshot is what a decision is computed from. Decisions read it and never
// change it.
type Snapshot struct {
	DataLocation         string
	DefaultUsageLocation string
	// Products are the tenant's products with their seats as loaded.
	Products []*allot.Product
	// Users are the users concerned, in the order the caller wants them
	// served (Recompute puts waiters first itself).
	Users []UserInput
	// WaitingOutside counts, per product, the users waiting for a seat who
	// are not in Users: newcomers may not take the seats they are owed.
	WaitingOutside map[int64]int
	// Ahead lists, per product with free seats, the places in line (seqs,
	// ascending) of the first users outside Users who wait for it: a waiter
	// in Users gets a seat only after those who wait longer.
	Ahead map[int64][]int64
	// GroupNames names the groups that grant licenses, for messages.
	GroupNames map[int64]string
	// BestEffort lists the groups whose products are granted each on its
	// own, as far as each can be (rule 5 does not apply to them).
	BestEffort map[int64]bool
	// Assigning lists, per product, the groups that assign it (ascending
	// ids), for the refusal of a groupOnly product's direct assignment.
	Assigning map[int64][]int64
	// Fallbacks lists, per group assignment ({group, product}), the products
	// a member gets instead, in order, while it waits for a seat of the
	// product (fallback.go).
	Fallbacks map[[2]int64][]int64
	// VIP lists the groups whose members go first in the lines they wait in
	// through them (waitroom.go).
	VIP map[int64]bool
	// Pools are the license pools of the snapshot's products, with their
	// holder counts as loaded.
	Pools []Pool
	// LineOutside and LineAhead are WaitingOutside and Ahead per line of a
	// product with pools (group licensing).
	LineOutside map[Line]int
	LineAhead   map[Line][]int64
	// FirstSeq is the first ordering number the plan may hand out; the
	// caller reserves SeqsNeeded of them.
	FirstSeq int64
	// Now is the time written into changed states (unix ms).
	Now int64
}

// SeqsNeeded returns how many ordering numbers a plan of the snapshot may
// hand out at most: one per grant, plus one per state for seat reductions,
// plus one per user for the grant a bulk assignment adds and, for a single
// user, one per product for the grants a direct assignment adds, plus one
// per fallback the users' fallback chains may add.
func (s *Snapshot) SeqsNeeded() int {
	n := 1
	for i := range s.Users {
		n += len(s.Users[i].Grants) + len(s.Users[i].Current) + 1
	}
	if len(s.Users) == 1 {
		n += len(s.Products)
	}
	return n + s.fallbackGrants()
}

// Catalog indexes a tenant's products by id and skuPartNumber.
type Catalog struct {
	byID   map[int64]*allot.Product
	byPart map[string]*allot.Product
	ids    []int64
}

// NewCatalog indexes products. It keeps the pointers: the catalog is as
// read-only as the products.
func NewCatalog(products []*allot.Product) *Catalog {
	c := &Catalog{byID: make(map[int64]*allot.Product, len(products)), byPart: make(map[string]*allot.Product, len(products))}
	for _, p := range products {
		c.byID[p.ID] = p
		c.byPart[strings.ToUpper(p.SkuPartNumber)] = p
		c.ids = append(c.ids, p.ID)
	}
	slices.Sort(c.ids)
	return c
}

// Product returns the product with the id, or nil. A nil catalog is empty.
func (c *Catalog) Product(id int64) *allot.Product {
	if c == nil {
		return nil
	}
	return c.byID[id]
}

// ByPart returns the product with the skuPartNumber, or nil.
func (c *Catalog) ByPart(part string) *allot.Product {
	if c == nil {
		return nil
	}
	return c.byPart[strings.ToUpper(part)]
}

// IDs returns the product ids in ascending order.
func (c *Catalog) IDs() []int64 {
	if c == nil {
		return nil
	}
	return c.ids
}
