package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"allot"
	"allot/licensing"

	"github.com/google/uuid"
)

// LicensePool is a stored license pool (an allotment, docs/design.md rule
// 16) with its product's names and its counts as read.
type LicensePool struct {
	ID              int64
	GUID            string
	DisplayName     string
	ProductID       int64
	SkuID           string
	SkuPartNumber   string
	ProductName     string
	AllottedUnits   int
	AllowsBorrowing bool
	// The scope: a group (transitively; GroupID 0 when none) or a
	// department value.
	GroupID    int64
	GroupGUID  string
	GroupName  string
	Department string
	CreatedAt  int64
	UpdatedAt  int64
	// ManagerID is the pool manager (a user; 0: none): it may assign and
	// remove the pool's product to users in the pool's scope, and nothing
	// else through the pool.
	ManagerID   int64
	ManagerGUID string
	// ConsumedUnits are the pool's seats its members hold, BorrowedUnits the
	// remainder seats they hold beyond them, WaitingUnits the members who
	// wait for the product.
	ConsumedUnits, BorrowedUnits, WaitingUnits int
}

// PoolInput is a pool to create, or the fields of a pool to change (nil:
// unchanged).
type PoolInput struct {
	DisplayName     *string
	ProductRef      string
	AllottedUnits   *int
	AllowsBorrowing *bool
	GroupRef        *string
	Department      *string
	// ManagerRef names the pool manager (a user's id or
	// userPrincipalName; "" for none).
	ManagerRef *string
}

// PoolWaiter is a member of a pool waiting for its product.
type PoolWaiter struct {
	UserID            int64
	GUID, UPN, Name   string
	WaitingSince, Seq int64
}

const poolCols = `lp.id, lp.guid, lp.display_name, lp.product_id, p.sku_guid, p.part_number, p.display_name, lp.allotted_units, lp.allows_borrowing,
	lp.scope_group_id, COALESCE(g.guid, ''), COALESCE(g.display_name, ''), lp.scope_department, lp.created_at, lp.updated_at,
	lp.manager_user_id, COALESCE(mu.guid, '')`

const poolFrom = ` FROM license_pools lp JOIN products p ON p.id = lp.product_id LEFT JOIN dir_groups g ON g.id = lp.scope_group_id
	LEFT JOIN users mu ON lp.manager_user_id <> 0 AND mu.id = lp.manager_user_id`

func scanPool(row interface{ Scan(...any) error }) (*LicensePool, error) {
	var lp LicensePool
	var borrow int
	err := row.Scan(&lp.ID, &lp.GUID, &lp.DisplayName, &lp.ProductID, &lp.SkuID, &lp.SkuPartNumber, &lp.ProductName, &lp.AllottedUnits, &borrow,
		&lp.GroupID, &lp.GroupGUID, &lp.GroupName, &lp.Department, &lp.CreatedAt, &lp.UpdatedAt, &lp.ManagerID, &lp.ManagerGUID)
	lp.AllowsBorrowing = borrow != 0
	return &lp, err
}

// Pools lists a tenant's license pools by id, with their counts.
func (s *Store) Pools(ctx context.Context, tenantID int64) ([]*LicensePool, error) {
	q := reader{s, ctx}
	out, err := poolsWhere(q, `lp.tenant_id = ?`, tenantID)
	if err == nil {
		err = countPools(q, tenantID, out)
	}
	return out, err
}

// Pool returns one of a tenant's license pools, by id or GUID, with its counts.
func (s *Store) Pool(ctx context.Context, tenantID int64, ref string) (*LicensePool, error) {
	q := reader{s, ctx}
	lp, err := poolByRef(q, tenantID, ref)
	if err != nil {
		return nil, err
	}
	return lp, countPools(q, tenantID, []*LicensePool{lp})
}

func (t *tx) pool(tenantID int64, ref string) (*LicensePool, error) {
	return poolByRef(t, tenantID, ref)
}

func poolByRef(q poolQuerier, tenantID int64, ref string) (*LicensePool, error) {
	ps, err := poolsWhere(q, `lp.tenant_id = ? AND (lp.guid = ? OR CAST(lp.id AS TEXT) = ?)`, tenantID, strings.ToLower(ref), ref)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("License pool", ref)
	}
	return ps[0], nil
}

func poolsWhere(q poolQuerier, where string, args ...any) ([]*LicensePool, error) {
	rows, err := q.query(`SELECT `+poolCols+poolFrom+` WHERE `+where+` ORDER BY lp.id`, args...)
	return collect(rows, err, func(r *sql.Rows) (*LicensePool, error) { return scanPool(r) })
}

// CreatePool adds a license pool (audited) and recomputes the product's
// waiters: the seats it reserves change who may take which seat, never who
// holds one.
func (s *Store) CreatePool(ctx context.Context, a allot.Actor, tenantID int64, in PoolInput) (*LicensePool, error) {
	if in.ProductRef == "" || in.AllottedUnits == nil || (in.GroupRef == nil && in.Department == nil) {
		return nil, allot.Errorf(allot.EInvalid, `Send skuId, allottedUnits and a scope (groupId or department): {"skuId": "SPE_E3", "allottedUnits": 10, "department": "Sales"}.`)
	}
	var guid string
	err := s.write(ctx, func(tx *tx) error {
		p, err := tx.productForPool(tenantID, in.ProductRef)
		if err != nil {
			return err
		}
		lp := &LicensePool{ProductID: p.ID, SkuPartNumber: p.SkuPartNumber, ProductName: p.DisplayName}
		if err := tx.applyPoolInput(tenantID, p, lp, in); err != nil {
			return err
		}
		guid = uuid.NewString()
		if _, err := tx.exec(`INSERT INTO license_pools (tenant_id, guid, display_name, product_id, allotted_units, allows_borrowing, scope_group_id, scope_department, manager_user_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, guid, lp.DisplayName, p.ID, lp.AllottedUnits, boolInt(lp.AllowsBorrowing), lp.GroupID, lp.Department, lp.ManagerID, tx.now, tx.now); err != nil {
			return err
		}
		if err := tx.auditPool(tenantID, a, allot.ActAddPool, p, lp); err != nil {
			return err
		}
		return tx.markWaiters(tenantID, []int64{p.ID})
	})
	if err != nil {
		return nil, err
	}
	return s.Pool(ctx, tenantID, guid)
}

// UpdatePool changes a pool's name, allotment, borrowing or scope
// (audited). Like CreatePool it takes no license away.
func (s *Store) UpdatePool(ctx context.Context, a allot.Actor, tenantID int64, ref string, in PoolInput) (*LicensePool, error) {
	if in.ProductRef != "" {
		return nil, allot.Errorf(allot.EInvalid, "A pool's product cannot change; delete the pool and create one for the other product.")
	}
	var guid string
	err := s.write(ctx, func(tx *tx) error {
		lp, err := tx.pool(tenantID, ref)
		if err != nil {
			return err
		}
		p, err := tx.productForPool(tenantID, lp.SkuID)
		if err != nil {
			return err
		}
		guid = lp.GUID
		if err := tx.applyPoolInput(tenantID, p, lp, in); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE license_pools SET display_name = ?, allotted_units = ?, allows_borrowing = ?, scope_group_id = ?, scope_department = ?, manager_user_id = ?, updated_at = ? WHERE id = ?`,
			lp.DisplayName, lp.AllottedUnits, boolInt(lp.AllowsBorrowing), lp.GroupID, lp.Department, lp.ManagerID, tx.now, lp.ID); err != nil {
			return err
		}
		if err := tx.auditPool(tenantID, a, allot.ActUpdatePool, p, lp); err != nil {
			return err
		}
		return tx.markWaiters(tenantID, []int64{p.ID})
	})
	if err != nil {
		return nil, err
	}
	return s.Pool(ctx, tenantID, guid)
}

// DeletePool removes a pool (audited): its members draw from the shared
// seats from then on and keep what they hold.
func (s *Store) DeletePool(ctx context.Context, a allot.Actor, tenantID int64, ref string) error {
	return s.write(ctx, func(tx *tx) error {
		lp, err := tx.pool(tenantID, ref)
		if err != nil {
			return err
		}
		p, err := tx.productForPool(tenantID, lp.SkuID)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM license_pools WHERE id = ?`, lp.ID); err != nil {
			return err
		}
		if err := tx.auditPool(tenantID, a, allot.ActDeletePool, p, lp); err != nil {
			return err
		}
		return tx.markWaiters(tenantID, []int64{p.ID})
	})
}

// productForPool reads a product for a pool change, its row locked on
// PostgreSQL: pool changes and the decisions of the product's seats
// (loadPools) take turns.
func (t *tx) productForPool(tenantID int64, ref string) (*allot.Product, error) {
	w, arg := productWhere(ref)
	p, err := t.s.scanProduct(t.queryRow(`SELECT `+productCols+` FROM products p WHERE p.tenant_id = ? AND `+w+t.lockRows(lockChange), tenantID, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, allot.Errorf(allot.EInvalid, "There is no product '%s' in this tenant; use a skuId or skuPartNumber of /v1.0/subscribedSkus.", ref)
	}
	return p, err
}

// applyPoolInput checks a pool's new fields and sets them on lp.
func (t *tx) applyPoolInput(tenantID int64, p *allot.Product, lp *LicensePool, in PoolInput) error {
	if in.DisplayName != nil {
		lp.DisplayName = strings.TrimSpace(*in.DisplayName)
	}
	if in.AllowsBorrowing != nil {
		lp.AllowsBorrowing = *in.AllowsBorrowing
	}
	if err := t.poolScope(tenantID, lp, in); err != nil {
		return err
	}
	if err := t.poolManager(tenantID, lp, in.ManagerRef); err != nil {
		return err
	}
	if lp.DisplayName == "" {
		lp.DisplayName = productLabel(p) + " for " + lp.scopeLabel()
	}
	if in.AllottedUnits != nil {
		lp.AllottedUnits = *in.AllottedUnits
	}
	return t.checkAllotment(tenantID, p, lp)
}

func (t *tx) poolScope(tenantID int64, lp *LicensePool, in PoolInput) error {
	if in.GroupRef != nil && in.Department != nil && *in.GroupRef != "" && strings.TrimSpace(*in.Department) != "" {
		return allot.Errorf(allot.EInvalid, "A pool's scope is a group or a department, not both.")
	}
	switch {
	case in.GroupRef != nil && *in.GroupRef != "":
		g, err := t.group(tenantID, *in.GroupRef)
		if err != nil {
			return allot.Errorf(allot.EInvalid, "There is no group '%s' in this tenant for the pool's scope.", *in.GroupRef)
		}
		lp.GroupID, lp.GroupGUID, lp.GroupName, lp.Department = g.ID, g.GUID, g.DisplayName, ""
	case in.Department != nil && strings.TrimSpace(*in.Department) != "":
		lp.GroupID, lp.GroupGUID, lp.GroupName, lp.Department = 0, "", "", strings.TrimSpace(*in.Department)
	case in.GroupRef != nil || in.Department != nil:
		return allot.Errorf(allot.EInvalid, "A pool needs a scope: a groupId or a department.")
	}
	return nil
}

// checkAllotment refuses an allotment below zero or above the product's
// enabled seats less those of its other pools.
func (t *tx) checkAllotment(tenantID int64, p *allot.Product, lp *LicensePool) error {
	if lp.AllottedUnits < 0 {
		return allot.Errorf(allot.EInvalid, "allottedUnits must be 0 or more.")
	}
	var others int
	if err := t.queryRow(`SELECT COALESCE(SUM(allotted_units), 0) FROM license_pools WHERE tenant_id = ? AND product_id = ? AND id <> ?`,
		tenantID, p.ID, lp.ID).Scan(&others); err != nil {
		return err
	}
	if room := p.EnabledUnits - others; lp.AllottedUnits > room {
		return allot.Errorf(allot.EInvalid, "%s has %d seats and its other pools reserve %d: this pool can have at most %d, not %d.",
			productLabel(p), p.EnabledUnits, others, max(0, room), lp.AllottedUnits)
	}
	return nil
}

func productLabel(p *allot.Product) string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.SkuPartNumber
}

func (lp *LicensePool) scopeLabel() string {
	if lp.GroupID != 0 {
		return "group " + lp.GroupName
	}
	return "department " + lp.Department
}

func (t *tx) auditPool(tenantID int64, a allot.Actor, activity string, p *allot.Product, lp *LicensePool) error {
	return t.audit(tenantID, a, allot.AuditEvent{Category: "Subscription", Activity: activity, TargetKind: "Product",
		TargetID: p.SkuID, TargetName: p.SkuPartNumber, Changes: []allot.Change{{Property: "licensePool",
			New: fmt.Sprintf("%s: %d seats for %s, borrowing %v, manager %s", lp.DisplayName, lp.AllottedUnits, lp.scopeLabel(), lp.AllowsBorrowing, orNone(lp.ManagerGUID))}}})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// countPools fills in the pools' consumed, borrowed and waiting counts, two
// queries per pool.
func countPools(q poolQuerier, tenantID int64, pools []*LicensePool) error {
	if len(pools) == 0 {
		return nil
	}
	sc, err := poolScopes(q, tenantID, nil)
	if err != nil {
		return err
	}
	for _, lp := range pools {
		cond, args := sc.line(lp.ProductID, lp.ID, "user_id")
		held, err := countIn(q, lp.ProductID, `state = 'Active'`, cond, args)
		if err != nil {
			return err
		}
		p := licensing.Pool{AllottedUnits: lp.AllottedUnits, Held: held}
		lp.ConsumedUnits, lp.BorrowedUnits = p.Consumed(), p.Borrowed()
		if lp.WaitingUnits, err = countIn(q, lp.ProductID, waitingCond, cond, args); err != nil {
			return err
		}
	}
	return nil
}

const waitingCond = `code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption')`

// countIn counts the distinct users with a state of product pid matching
// what and the line condition.
func countIn(q poolQuerier, pid int64, what, cond string, args []any) (int, error) {
	var n int
	err := q.queryRow(`SELECT COUNT(DISTINCT user_id) FROM license_states WHERE product_id = ? AND `+what+` AND `+cond,
		append([]any{pid}, args...)...).Scan(&n)
	return n, err
}

// PoolWaiters lists the members of a pool who wait for its product, first
// waiting first (at most 1,000).
func (s *Store) PoolWaiters(ctx context.Context, tenantID int64, ref string) ([]PoolWaiter, error) {
	q := reader{s, ctx}
	lp, err := poolByRef(q, tenantID, ref)
	if err != nil {
		return nil, err
	}
	sc, err := poolScopes(q, tenantID, nil)
	if err != nil {
		return nil, err
	}
	cond, args := sc.line(lp.ProductID, lp.ID, "ls.user_id")
	rows, err := q.query(`SELECT u.id, u.guid, u.upn, u.display_name, MIN(ls.seq), MIN(ls.updated_at) FROM license_states ls JOIN users u ON u.id = ls.user_id
			WHERE ls.product_id = ? AND ls.`+waitingCond+` AND `+cond+` GROUP BY u.id, u.guid, u.upn, u.display_name ORDER BY MIN(ls.seq) LIMIT 1000`,
		append([]any{lp.ProductID}, args...)...)
	return collect(rows, err, func(r *sql.Rows) (PoolWaiter, error) {
		var w PoolWaiter
		return w, r.Scan(&w.UserID, &w.GUID, &w.UPN, &w.Name, &w.Seq, &w.WaitingSince)
	})
}

// poolQuerier runs queries: a transaction, or the read pool (reader).
type poolQuerier interface {
	query(q string, args ...any) (*sql.Rows, error)
	queryRow(q string, args ...any) *sql.Row
}

// reader runs a request's queries on the read pool.
type reader struct {
	s   *Store
	ctx context.Context
}

func (r reader) query(q string, args ...any) (*sql.Rows, error) { return r.s.query(r.ctx, q, args...) }
func (r reader) queryRow(q string, args ...any) *sql.Row        { return r.s.queryRow(r.ctx, q, args...) }

// PoolAssignment is an assignment that licenses members of a pool: a
// user's direct assignment of the pool's product, or a group's.
type PoolAssignment struct {
	// Group tells whether GUID is a group's (else a user's).
	Group         bool
	GUID          string
	DisabledPlans []string
}

// PoolAssignments lists the assignments through which members of a pool
// hold its product, first granted first (at most 5,000 states read).
func (s *Store) PoolAssignments(ctx context.Context, tenantID int64, ref string) ([]PoolAssignment, error) {
	q := reader{s, ctx}
	lp, err := poolByRef(q, tenantID, ref)
	if err != nil {
		return nil, err
	}
	sc, err := poolScopes(q, tenantID, nil)
	if err != nil {
		return nil, err
	}
	cond, args := sc.line(lp.ProductID, lp.ID, "ls.user_id")
	rows, err := q.query(`SELECT ls.source_id, u.guid, COALESCE(g.guid, ''), ls.disabled_plans, COALESCE(gl.disabled_plans, '') FROM license_states ls
		JOIN users u ON u.id = ls.user_id
		LEFT JOIN dir_groups g ON ls.source_id <> 0 AND g.id = ls.source_id
		LEFT JOIN group_licenses gl ON ls.source_id <> 0 AND gl.group_id = ls.source_id AND gl.product_id = ls.product_id
		WHERE ls.product_id = ? AND ls.state = 'Active' AND `+cond+` ORDER BY ls.seq LIMIT 5000`, append([]any{lp.ProductID}, args...)...)
	all, err := collect(rows, err, func(r *sql.Rows) (PoolAssignment, error) {
		var a PoolAssignment
		var src int64
		var ug, gg, dis, gdis string
		err := r.Scan(&src, &ug, &gg, &dis, &gdis)
		a.GUID, a.DisabledPlans = ug, decodePlans(dis)
		if src != 0 {
			a.Group, a.GUID, a.DisabledPlans = true, gg, decodePlans(gdis)
		}
		return a, err
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]PoolAssignment, 0, len(all))
	for _, a := range all {
		if !seen[a.GUID] {
			seen[a.GUID] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// poolManager sets the pool's manager from ref (nil: unchanged; "": none).
func (t *tx) poolManager(tenantID int64, lp *LicensePool, ref *string) error {
	if ref == nil {
		return nil
	}
	if strings.TrimSpace(*ref) == "" {
		lp.ManagerID, lp.ManagerGUID = 0, ""
		return nil
	}
	u, err := t.user(tenantID, *ref)
	if err != nil {
		return allot.Errorf(allot.EInvalid, "There is no user '%s' in this tenant to manage the pool.", *ref)
	}
	lp.ManagerID, lp.ManagerGUID = u.ID, u.GUID
	return nil
}

// PoolMember returns a pool and a user, and whether the user's pool for
// the pool's product is this pool (the user is in its scope and in no older
// pool of the product).
func (s *Store) PoolMember(ctx context.Context, tenantID int64, poolRef, userRef string) (*LicensePool, *allot.User, bool, error) {
	q := reader{s, ctx}
	lp, err := poolByRef(q, tenantID, poolRef)
	if err != nil {
		return nil, nil, false, err
	}
	u, err := s.User(ctx, tenantID, userRef)
	if err != nil {
		return lp, nil, false, err
	}
	sc, err := poolScopes(q, tenantID, nil)
	if err != nil {
		return nil, nil, false, err
	}
	cond, args := sc.line(lp.ProductID, lp.ID, "id")
	var n int
	err = q.queryRow(`SELECT COUNT(*) FROM users WHERE id = ? AND `+cond, append([]any{u.ID}, args...)...).Scan(&n)
	return lp, u, n > 0, err
}
