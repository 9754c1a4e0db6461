package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/licensing"
)

const productCols = `p.id, p.tenant_id, p.sku_guid, p.part_number, p.display_name, p.service_plans, p.rules, p.enabled_units,
	p.warning_units, p.suspended_units, p.locked_out_units, p.consumed_units, p.assignment_policy, p.created_at`

func (s *Store) scanProduct(row interface{ Scan(...any) error }) (*allot.Product, error) {
	var p allot.Product
	var plans, rules string
	var created int64
	if err := row.Scan(&p.ID, &p.TenantID, &p.SkuID, &p.SkuPartNumber, &p.DisplayName, &plans, &rules, &p.EnabledUnits,
		&p.WarningUnits, &p.SuspendedUnits, &p.LockedOutUnits, &p.ConsumedUnits, &p.AssignmentPolicy, &created); err != nil {
		return nil, err
	}
	d, err := s.definition(plans, rules)
	if err != nil {
		return nil, fmt.Errorf("product %d: %w", p.ID, err)
	}
	p.ServicePlans, p.Rules = d.plans, d.rules
	p.CapabilityStatus = "Enabled"
	p.CreatedAt = msTime(created)
	return &p, nil
}

// parsedDef is a product's decoded service plans and rules.
type parsedDef struct {
	plans []allot.ServicePlan
	rules allot.ProductRules
}

// definition decodes a product's service plans and rules, once per distinct
// text: they never change after the product is added, and a suite such as
// SPE_E5 has some ninety plans. The slices are shared: callers must not
// modify them.
func (s *Store) definition(plans, rules string) (parsedDef, error) {
	key := plans + "\x00" + rules
	if d, ok := s.defs.Load(key); ok {
		return d.(parsedDef), nil
	}
	var d parsedDef
	if err := json.Unmarshal([]byte(plans), &d.plans); err != nil {
		return d, fmt.Errorf("service plans: %w", err)
	}
	if err := json.Unmarshal([]byte(rules), &d.rules); err != nil {
		return d, fmt.Errorf("rules: %w", err)
	}
	s.defs.Store(key, d)
	return d, nil
}

// ValidateDefinition checks a custom product definition.
func ValidateDefinition(d *allot.ProductDefinition) error {
	d.SkuPartNumber = strings.ToUpper(strings.TrimSpace(d.SkuPartNumber))
	if d.SkuPartNumber == "" || strings.ContainsAny(d.SkuPartNumber, " \t/\\?#") || len(d.SkuPartNumber) > 64 {
		return allot.Errorf(allot.EInvalid, "skuPartNumber is required: up to 64 characters without spaces, such as CONTOSO_PLAN1.")
	}
	if d.DisplayName == "" {
		d.DisplayName = d.SkuPartNumber
	}
	if d.SkuID == "" {
		d.SkuID = uuid.NewString()
	} else if _, err := uuid.Parse(d.SkuID); err != nil {
		return allot.Errorf(allot.EInvalid, "skuId '%s' is not a GUID.", d.SkuID)
	}
	d.SkuID = strings.ToLower(d.SkuID)
	if len(d.ServicePlans) == 0 {
		return allot.Errorf(allot.EInvalid, "A product needs at least one service plan (servicePlans: [{\"servicePlanName\": \"...\"}]).")
	}
	seen := map[string]bool{}
	for i := range d.ServicePlans {
		sp := &d.ServicePlans[i]
		if sp.Name == "" {
			return allot.Errorf(allot.EInvalid, "servicePlans[%d] needs a servicePlanName.", i)
		}
		if sp.ID == "" {
			sp.ID = uuid.NewString()
		} else if _, err := uuid.Parse(sp.ID); err != nil {
			return allot.Errorf(allot.EInvalid, "servicePlans[%d].servicePlanId '%s' is not a GUID.", i, sp.ID)
		}
		sp.ID = strings.ToLower(sp.ID)
		if seen[sp.ID] {
			return allot.Errorf(allot.EInvalid, "servicePlans lists servicePlanId %s twice.", sp.ID)
		}
		seen[sp.ID] = true
		if sp.AppliesTo == "" {
			sp.AppliesTo = "User"
		}
	}
	for _, g := range d.Rules.AvailableDataLocations {
		if !validGeo(strings.ToUpper(g)) {
			return allot.Errorf(allot.EInvalid, "availableDataLocations: '%s' is not a known geo; use one of %s.", g, strings.Join(Geos, ", "))
		}
	}
	for _, c := range d.Rules.AllowedUsageLocations {
		if !validCountry(strings.ToUpper(c)) {
			return allot.Errorf(allot.EInvalid, "allowedUsageLocations: '%s' must be a two-letter country code.", c)
		}
	}
	return nil
}

// AddProduct subscribes the tenant to a product with a number of seats.
func (s *Store) AddProduct(ctx context.Context, a allot.Actor, tenantID int64, d allot.ProductDefinition, enabled int) (*allot.Product, error) {
	if err := ValidateDefinition(&d); err != nil {
		return nil, err
	}
	if enabled < 0 || enabled > 10_000_000 {
		return nil, allot.Errorf(allot.EInvalid, "enabledUnits must be between 0 and 10000000.")
	}
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if !licensing.Available(d.Rules.AvailableDataLocations, t.DataLocation) {
		return nil, allot.Errorf(allot.EDataLocation, "%s is not available in this tenant's data location %s; it is available in %s.",
			d.SkuPartNumber, t.DataLocation, strings.Join(d.Rules.AvailableDataLocations, ", "))
	}
	plans, _ := json.Marshal(d.ServicePlans)
	rules, _ := json.Marshal(d.Rules)
	var id int64
	err = s.write(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM products WHERE tenant_id = ? AND (sku_guid = ? OR part_number = ?)`, tenantID, d.SkuID, d.SkuPartNumber).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return allot.Errorf(allot.EConflict, "The tenant already has product %s; change its seats with PATCH /allot/v1/subscribedSkus/%s.", d.SkuPartNumber, d.SkuID)
		}
		if err := tx.queryRow(`INSERT INTO products (tenant_id, sku_guid, part_number, display_name, service_plans, rules, enabled_units, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, tenantID, d.SkuID, d.SkuPartNumber, d.DisplayName, string(plans), string(rules), enabled, tx.now).Scan(&id); err != nil {
			return err
		}
		tx.recordSeats(id)
		return tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActAddProduct, TargetKind: "Product",
			TargetID: d.SkuID, TargetName: d.SkuPartNumber, Changes: []allot.Change{{Property: "enabledUnits", New: fmt.Sprint(enabled)}}})
	})
	if err != nil {
		return nil, err
	}
	return s.productByID(ctx, id)
}

func (s *Store) productByID(ctx context.Context, id int64) (*allot.Product, error) {
	return s.scanProduct(s.queryRow(ctx, `SELECT `+productCols+` FROM products p WHERE p.id = ?`, id))
}

// productWhere resolves a skuId, a subscribedSku id ({tenant}_{skuId}) or a
// skuPartNumber. A subscribedSku id names its tenant: another tenant's id
// matches nothing, even for a product both tenants have.
func productWhere(ref string) (string, any) {
	ref = strings.TrimSpace(ref)
	if i := strings.IndexByte(ref, '_'); i == 36 {
		if _, err := uuid.Parse(ref[i+1:]); err == nil {
			return "(SELECT t.guid FROM tenants t WHERE t.id = p.tenant_id) || '_' || p.sku_guid = ?", strings.ToLower(ref)
		}
	}
	if _, err := uuid.Parse(ref); err == nil {
		return "p.sku_guid = ?", strings.ToLower(ref)
	}
	return "p.part_number = ?", strings.ToUpper(ref)
}

// Product returns the tenant's product by skuId, subscribedSku id or skuPartNumber.
func (s *Store) Product(ctx context.Context, tenantID int64, ref string) (*allot.Product, error) {
	w, arg := productWhere(ref)
	p, err := s.scanProduct(s.queryRow(ctx, `SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? AND `+w, tenantID, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Product (subscribedSku)", ref)
	}
	return p, err
}

// Products returns every product of the tenant, by skuPartNumber.
func (s *Store) Products(ctx context.Context, tenantID int64) ([]*allot.Product, error) {
	rows, err := s.query(ctx, `SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? ORDER BY p.part_number`, tenantID)
	if err != nil {
		return nil, err
	}
	return s.collectProducts(rows)
}

// productsByID reads the tenant's products with these ids (only those a
// read needs, not the whole catalog).
func (s *Store) productsByID(ctx context.Context, tenantID int64, ids []int64) (map[int64]*allot.Product, error) {
	out := map[int64]*allot.Product{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, `SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? AND p.id IN (`+placeholders(len(ids))+`)`,
		append([]any{tenantID}, idArgs(ids)...)...)
	if err != nil {
		return nil, err
	}
	ps, err := s.collectProducts(rows)
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, err
}

func (s *Store) collectProducts(rows *sql.Rows) ([]*allot.Product, error) {
	defer rows.Close()
	var out []*allot.Product
	for rows.Next() {
		p, err := s.scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *tx) products(tenantID int64) ([]*allot.Product, error) {
	rows, err := t.query(`SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? ORDER BY p.id`, tenantID)
	if err != nil {
		return nil, err
	}
	ps, err := t.s.collectProducts(rows)
	for _, p := range ps {
		p.ConsumedUnits += t.deltas[p.ID][0]
	}
	return ps, err
}

// SetSeats changes the number of enabled seats of a product. Below the
// number in use, the newest assignments go to CountViolation (rule 9) — a
// loss that needs confirm (rule 11); more seats license waiting users
// automatically (rule 4).
func (s *Store) SetSeats(ctx context.Context, a allot.Actor, tenantID int64, ref string, enabled int, confirm bool) (*allot.Product, error) {
	if enabled < 0 || enabled > 10_000_000 {
		return nil, allot.Errorf(allot.EInvalid, "enabledUnits must be between 0 and 10000000.")
	}
	var id int64
	err := s.write(ctx, func(tx *tx) error {
		w, arg := productWhere(ref)
		p, err := s.scanProduct(tx.queryRow(`SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? AND `+w+tx.lockRows(lockChange), tenantID, arg))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Product (subscribedSku)", ref)
		}
		if err != nil {
			return err
		}
		id = p.ID
		if p.EnabledUnits == enabled {
			return nil
		}
		// Lock order (docs/design.md): the users who may lose a seat first,
		// then the product row. The new limit then applies to every
		// transaction that takes a seat (they lock the row), and the count
		// read under it is exact.
		var locked []int64
		var holders []licensing.Holder
		if excess := p.ConsumedUnits - enabled; excess > 0 {
			if locked, holders, err = tx.lockNewestHolders(p.ID, excess+excess/8+4); err != nil {
				return err
			}
		}
		var consumed int
		if err := tx.queryRow(`UPDATE products SET enabled_units = ? WHERE id = ? RETURNING consumed_units`, enabled, p.ID).Scan(&consumed); err != nil {
			return err
		}
		tx.recordSeats(p.ID)
		if err := tx.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActUpdateProduct, TargetKind: "Product",
			TargetID: p.SkuID, TargetName: p.SkuPartNumber, Changes: []allot.Change{{Property: "enabledUnits", Old: fmt.Sprint(p.EnabledUnits), New: fmt.Sprint(enabled)}}}); err != nil {
			return err
		}
		excess := consumed - enabled
		if excess <= 0 {
			return tx.markWaiters(tenantID, []int64{p.ID})
		}
		victims, err := tx.lockVictims(p.ID, excess, locked, holders)
		if err != nil {
			return err
		}
		return tx.reduceSeats(a, tenantID, p, enabled, victims, confirm)
	})
	if err != nil {
		return nil, err
	}
	return s.productByID(ctx, id)
}

// reduceSeats takes excess seats of p back from its newest holders
// (licensing.ReduceSeats) unless that needs a confirmation it lacks.
func (t *tx) reduceSeats(a allot.Actor, tenantID int64, p *allot.Product, enabled int, victims []int64, confirm bool) error {
	products, err := t.products(tenantID)
	if err != nil {
		return err
	}
	b, err := t.loadBatch(tenantID, victims, products, lockRows)
	if err != nil {
		return err
	}
	if err := t.prepare(b, true); err != nil {
		return err
	}
	plan := licensing.ReduceSeats(b.snap, p.ID, enabled)
	losses, err := t.losses(b, plan)
	if err != nil {
		return err
	}
	if !confirm {
		if err := refuseLoss(losses, fmt.Sprintf("Reducing %s to %d seats (%d in use)", p.SkuPartNumber, enabled, enabled+len(victims))); err != nil {
			return err
		}
	}
	if err := t.apply(b, plan, allot.SystemActor, &batchResult{}); err != nil {
		return err
	}
	return t.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: allot.ActSeatsBelowConsumed,
		TargetKind: "Product", TargetID: p.SkuID, TargetName: p.SkuPartNumber, Result: "success",
		Changes: []allot.Change{{Property: "usersWaiting", New: fmt.Sprint(len(victims))}}})
}

// lockVictims returns the excess newest holders of product pid, whose
// product row the transaction holds, with their rows locked: normally all of
// them are among the users already locked; one who became a holder in
// between is locked now (out of the lock order: a deadlock this forms is
// broken by PostgreSQL and the write runs again). On SQLite nobody can
// become a holder in between (this transaction is the only writer), so the
// holders read before, when there are any, are still exact.
func (t *tx) lockVictims(pid int64, excess int, locked []int64, before []licensing.Holder) ([]int64, error) {
	holders := before
	if holders == nil || t.s.engine != SQLite {
		var err error
		if holders, err = t.holders(pid); err != nil {
			return nil, err
		}
	}
	victims := licensing.NewestHolders(holders, excess)
	var missing []int64
	for _, v := range victims {
		if !slices.Contains(locked, v) {
			missing = append(missing, v)
		}
	}
	if len(missing) == 0 {
		return victims, nil
	}
	if err := t.lockUsers(missing); err != nil {
		return nil, err
	}
	// Holders only change under the product row, which this transaction
	// holds: the choice is final.
	return victims, nil
}

// lockNewestHolders locks the rows of the n users who got product pid last
// and returns their ids, and every holder as read.
func (t *tx) lockNewestHolders(pid int64, n int) ([]int64, []licensing.Holder, error) {
	holders, err := t.holders(pid)
	if err != nil {
		return nil, nil, err
	}
	ids := licensing.NewestHolders(holders, n)
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	return ids, holders, t.lockUsers(sorted)
}

// holders returns every user who holds product pid, since when.
func (t *tx) holders(pid int64) ([]licensing.Holder, error) {
	rows, err := t.query(`SELECT user_id, MIN(seq) FROM license_states`+t.s.indexedBy("license_states_product")+` WHERE product_id = ? AND state = 'Active' GROUP BY user_id`, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []licensing.Holder
	for rows.Next() {
		var h licensing.Holder
		if err := rows.Scan(&h.UserID, &h.Since); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (t *tx) userNames(ids []int64) (map[int64][2]string, error) {
	out := make(map[int64][2]string, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := t.query(`SELECT id, guid, upn FROM users WHERE id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var g, u string
			if err := rows.Scan(&id, &g, &u); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = [2]string{g, u}
		}
		rows.Close()
	}
	return out, nil
}

// CountHolders counts, per product of the tenant, the users holding a seat,
// from the license states themselves (not the consumedUnits counter).
func (s *Store) CountHolders(ctx context.Context, tenantID int64) (map[int64]int, error) {
	rows, err := s.query(ctx, `SELECT ls.product_id, COUNT(DISTINCT ls.user_id) FROM license_states ls
		JOIN products p ON p.id = ls.product_id WHERE p.tenant_id = ? AND ls.state = 'Active' GROUP BY ls.product_id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var pid int64
		var n int
		if err := rows.Scan(&pid, &n); err != nil {
			return nil, err
		}
		out[pid] = n
	}
	return out, rows.Err()
}
