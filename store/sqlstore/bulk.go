package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/licensing"
	"allot/store"
)

// Bulk results: what a bulk assignment did for one user.
const (
	BulkLicensed        = "licensed"
	BulkAlreadyLicensed = "alreadyLicensed"
	BulkNotFound        = "notFound"
	BulkFailed          = "failed"
)

// MaxBulkUsers is the most users one bulk assignment may name.
const MaxBulkUsers = 5000

// BulkOutcome is one user's result of a bulk assignment.
type BulkOutcome struct {
	Ref string // the reference as given (GUID, userPrincipalName or address)
	// MatchedBy says, for a request by address, how the address matched:
	// "userPrincipalName" or "proxyAddresses".
	MatchedBy string
	GUID      string
	UPN       string
	Result    string
	Code      allot.Code
	// Message says what went wrong and what to do (for BulkFailed), or where
	// the license comes from (for BulkAlreadyLicensed).
	Message string
	// Via is, for BulkAlreadyLicensed, "direct" or the name of the group
	// that grants the product.
	Via string
	// Target is, for BulkFailed with a licensing code, the skuId the
	// failure is about: the product asked for, or one the user would lose.
	Target string
}

// BulkAssignRequest licenses many users with one product.
type BulkAssignRequest struct {
	Sku           string // skuId or skuPartNumber
	DisabledPlans []string
	Users         []string // user GUIDs or userPrincipalNames, in priority order
	// Addresses, instead of Users, names the users by address: matched by
	// userPrincipalName, then proxy address, inside the transaction.
	Addresses []string
	// DryRun evaluates everything and rolls back.
	DryRun bool
	// ReservedUnits (dry run only) are seats that earlier batches of the same
	// dry run would take; they count as consumed.
	ReservedUnits int
}

// BulkAssignResult is the answer of BulkAssignLicense.
type BulkAssignResult struct {
	Product  *allot.Product // with ConsumedUnits after the batch
	Outcomes []BulkOutcome  // one per requested user, in order
}

var errDryRun = errors.New("dry run: roll back")

// BulkAssignLicense gives one product to many users directly, in one write
// transaction, with the same rules as AssignUserLicenses: each user is
// licensed fully or not at all (a user who cannot get the product keeps
// everything as it was and gets the precise error), users are served in the
// given order while seats last, and users who already hold the product,
// directly or through a group, are left alone. Unknown users are reported,
// not fatal.
func (s *Store) BulkAssignLicense(ctx context.Context, a allot.Actor, tenantID int64, req BulkAssignRequest) (*BulkAssignResult, error) {
	byAddress := len(req.Addresses) > 0
	refs := req.Users
	if byAddress {
		refs = req.Addresses
	}
	switch {
	case byAddress && len(req.Users) > 0:
		return nil, allot.Errorf(allot.EInvalid, "Send userIds or addresses, not both.")
	case len(refs) == 0:
		return nil, allot.Errorf(allot.EInvalid, "userIds is empty; name at least one user (or send addresses).")
	case len(refs) > MaxBulkUsers:
		return nil, allot.Errorf(allot.EInvalid, "One bulk assignment may name at most %d users; this one names %d. Send them in batches.", MaxBulkUsers, len(refs))
	}
	if req.ReservedUnits < 0 || (req.ReservedUnits > 0 && !req.DryRun) {
		return nil, allot.Errorf(allot.EInvalid, "reservedUnits is for dry runs only and cannot be negative.")
	}
	var res *BulkAssignResult
	err := s.write(ctx, func(tx *tx) error {
		res = &BulkAssignResult{Outcomes: make([]BulkOutcome, len(refs))}
		products, err := tx.products(tenantID)
		if err != nil {
			return err
		}
		p := findProduct(products, req.Sku)
		if ref := strings.TrimSpace(req.Sku); p != nil && len(ref) > 37 && ref[36] == '_' {
			// A subscribedSku id names its tenant: another tenant's matches nothing.
			var g string
			if err := tx.queryRow(`SELECT guid FROM tenants WHERE id = ?`, tenantID).Scan(&g); err != nil {
				return err
			}
			if !strings.EqualFold(ref[:36], g) {
				p = nil
			}
		}
		if p == nil {
			return allot.Errorf(allot.EInvalid, "License '%s' does not correspond to a product of this tenant; list them with GET /v1.0/subscribedSkus.", req.Sku)
		}
		lr := []store.LicenseRequest{{SkuID: p.SkuID, DisabledPlans: slices.Clone(req.DisabledPlans)}}
		if _, err := resolveRequests(products, lr, nil); err != nil {
			return err
		}
		disabled := lr[0].DisabledPlans

		// Resolve the references; keep the first occurrence of each user.
		// Addresses are matched here, on the writer's connection, whose page
		// cache no commit invalidates.
		var found map[string]userKey
		var matches []AddressMatch
		if byAddress {
			if matches, err = resolveAddrs(tx.query, tenantID, req.Addresses); err != nil {
				return err
			}
		} else if found, err = tx.usersByRef(tenantID, req.Users); err != nil {
			return err
		}
		first := map[int64]int{}
		var ids []int64
		var idx []int // outcome index of each id
		for i, ref := range refs {
			o := &res.Outcomes[i]
			o.Ref = ref
			var u userKey
			var ok bool
			if byAddress {
				if m := matches[i]; m.User != nil {
					u, ok = userKey{id: m.User.ID, guid: m.User.GUID, upn: m.User.UserPrincipalName}, true
					o.MatchedBy = m.MatchedBy
				}
			} else {
				u, ok = found[refKey(ref)]
			}
			if !ok {
				o.Result, o.Code = BulkNotFound, allot.ENotFound
				o.Message = fmt.Sprintf("User '%s' does not exist or is not in this tenant.", ref)
				if byAddress {
					o.Message = "No user has this address as userPrincipalName or proxy address."
				}
				continue
			}
			o.GUID, o.UPN = u.guid, u.upn
			if j, dup := first[u.id]; dup {
				o.Result = "dup:" + fmt.Sprint(j)
				continue
			}
			first[u.id] = i
			ids = append(ids, u.id)
			idx = append(idx, i)
		}
		pc := *p
		res.Product = &pc
		if len(ids) > 0 {
			consumed, err := tx.bulkAssign(a, tenantID, ids, p, disabled, req, func(k int) *BulkOutcome { return &res.Outcomes[idx[k]] })
			if err != nil {
				return err
			}
			res.Product.ConsumedUnits = consumed
		}
		// Later mentions of the same user share the first one's outcome.
		for i := range res.Outcomes {
			o := &res.Outcomes[i]
			if j, ok := strings.CutPrefix(o.Result, "dup:"); ok {
				var k int
				fmt.Sscan(j, &k)
				ref, by := o.Ref, o.MatchedBy
				*o = res.Outcomes[k]
				o.Ref, o.MatchedBy = ref, by
			}
		}
		if req.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// findProduct finds a product by skuId, subscribedSku id or skuPartNumber.
func findProduct(products []*allot.Product, ref string) *allot.Product {
	ref = strings.TrimSpace(ref)
	if i := strings.IndexByte(ref, '_'); i == 36 {
		if _, err := uuid.Parse(ref[i+1:]); err == nil {
			ref = ref[i+1:]
		}
	}
	for _, p := range products {
		if strings.EqualFold(p.SkuID, ref) || strings.EqualFold(p.SkuPartNumber, ref) {
			return p
		}
	}
	return nil
}

type userKey struct {
	id        int64
	guid, upn string
}

func refKey(ref string) string {
	ref = strings.TrimSpace(ref)
	if _, err := uuid.Parse(ref); err == nil && !strings.Contains(ref, "@") {
		return "id:" + strings.ToLower(ref)
	}
	return "upn:" + allot.NormalizeKey(ref)
}

// usersByRef resolves GUIDs and userPrincipalNames, keyed by refKey.
func (t *tx) usersByRef(tenantID int64, refs []string) (map[string]userKey, error) {
	var guids, upns []string
	for _, r := range refs {
		k := refKey(r)
		if g, ok := strings.CutPrefix(k, "id:"); ok {
			guids = append(guids, g)
		} else {
			upns = append(upns, strings.TrimPrefix(k, "upn:"))
		}
	}
	out := make(map[string]userKey, len(refs))
	for _, q := range []struct {
		col    string
		prefix string
		vals   []string
	}{{"guid", "id:", guids}, {"upn_key", "upn:", upns}} {
		for start := 0; start < len(q.vals); start += 500 {
			chunk := q.vals[start:min(start+500, len(q.vals))]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, tenantID)
			for _, v := range chunk {
				args = append(args, v)
			}
			// By guid alone: with tenant_id in the condition SQLite would pick
			// the (tenant_id, upn_key) index and scan the whole tenant.
			cond := `tenant_id = ? AND ` + q.col
			if q.col == "guid" {
				cond = `+tenant_id = ? AND guid`
			}
			rows, err := t.query(`SELECT id, guid, upn, upn_key FROM users WHERE `+cond+` IN (`+placeholders(len(chunk))+`)`, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var u userKey
				var key string
				if err := rows.Scan(&u.id, &u.guid, &u.upn, &key); err != nil {
					rows.Close()
					return nil, err
				}
				if q.col == "guid" {
					out["id:"+u.guid] = u
				} else {
					out["upn:"+key] = u
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// AddressMatch is the user an address resolves to.
type AddressMatch struct {
	Address   string
	User      *allot.User // nil when no user has the address
	MatchedBy string      // "userPrincipalName" or "proxyAddresses"
}

// ResolveAddresses matches each address to a user by userPrincipalName and
// then by proxy address, case-insensitively; a proxy address matches with
// or without its smtp: prefix. The answer has one entry per address, in order.
// It reads only what a match needs: the userPrincipalName index for every
// address, the proxy-address index only for the addresses left over.
func (s *Store) ResolveAddresses(ctx context.Context, tenantID int64, addrs []string) ([]AddressMatch, error) {
	if len(addrs) > MaxBulkUsers {
		return nil, allot.Errorf(allot.EInvalid, "One request may resolve at most %d addresses; this one has %d. Send them in batches.", MaxBulkUsers, len(addrs))
	}
	return resolveAddrs(func(query string, args ...any) (*sql.Rows, error) { return s.query(ctx, query, args...) }, tenantID, addrs)
}

// querier runs a query: the store's read pool or a transaction.
type querier func(query string, args ...any) (*sql.Rows, error)

func resolveAddrs(q querier, tenantID int64, addrs []string) ([]AddressMatch, error) {
	bare := make([]string, len(addrs))
	var keys []string
	seen := map[string]bool{}
	for i, a := range addrs {
		k := allot.NormalizeKey(a)
		if len(k) > 5 && strings.EqualFold(k[:5], "smtp:") {
			k = k[5:]
		}
		bare[i] = k
		if k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	byUPN, err := usersByKey(q, `SELECT u.upn_key, u.id, u.guid, u.upn, u.display_name FROM users u WHERE u.tenant_id = ? AND u.upn_key IN `, tenantID, keys)
	if err != nil {
		return nil, err
	}
	var pkeys []string
	for _, k := range keys {
		if _, ok := byUPN[k]; !ok {
			pkeys = append(pkeys, k, "smtp:"+k)
		}
	}
	byProxy, err := usersByKey(q, `SELECT p.addr_key, u.id, u.guid, u.upn, u.display_name FROM proxy_addresses p JOIN users u ON u.id = p.user_id
		WHERE p.tenant_id = ? AND p.addr_key IN `, tenantID, pkeys)
	if err != nil {
		return nil, err
	}
	out := make([]AddressMatch, len(addrs))
	for i, a := range addrs {
		out[i].Address = a
		k := bare[i]
		if u, ok := byUPN[k]; ok {
			out[i].User, out[i].MatchedBy = u, "userPrincipalName"
		} else if u, ok := byProxy["smtp:"+k]; ok {
			out[i].User, out[i].MatchedBy = u, "proxyAddresses"
		} else if u, ok := byProxy[k]; ok {
			out[i].User, out[i].MatchedBy = u, "proxyAddresses"
		}
	}
	return out, nil
}

// usersByKey runs query (ending in "IN ") for keys in chunks; each row is
// (key, id, guid, upn, display name).
func usersByKey(q querier, query string, tenantID int64, keys []string) (map[string]*allot.User, error) {
	out := make(map[string]*allot.User, len(keys))
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, tenantID)
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := q(query+`(`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			u := &allot.User{TenantID: tenantID}
			if err := rows.Scan(&k, &u.ID, &u.GUID, &u.UserPrincipalName, &u.DisplayName); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateUsersBulk creates many users in one transaction with multi-row
// inserts (for imports and benchmarks); each user is audited as "Add user".
// A userPrincipalName or proxy address that is taken fails the whole call.
func (s *Store) CreateUsersBulk(ctx context.Context, a allot.Actor, tenantID int64, users []*allot.User) error {
	upns := make(map[string]bool, len(users))
	addrs := map[string]bool{}
	for i, u := range users {
		if err := validateUser(u); err != nil {
			return allot.Errorf(allot.EInvalid, "user %d: %s", i+1, allot.ErrorMessage(err))
		}
		k := allot.NormalizeKey(u.UserPrincipalName)
		if upns[k] {
			return allot.Errorf(allot.EConflict, "userPrincipalName '%s' appears twice.", u.UserPrincipalName)
		}
		upns[k] = true
		for _, pa := range u.ProxyAddresses {
			pk := allot.NormalizeKey(pa)
			if addrs[pk] {
				return allot.Errorf(allot.EConflict, "Proxy address '%s' appears twice.", pa)
			}
			addrs[pk] = true
		}
		u.TenantID = tenantID
		u.GUID = uuid.NewString()
	}
	return s.write(ctx, func(tx *tx) error {
		const per = 14
		for start := 0; start < len(users); start += 500 {
			chunk := users[start:min(start+500, len(users))]
			var b strings.Builder
			b.WriteString(`INSERT INTO users (tenant_id, guid, upn, upn_key, display_name, given_name, surname, mail, job_title,
				department, usage_location, account_enabled, created_at, profile) VALUES `)
			args := make([]any, 0, len(chunk)*per)
			for i, u := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(" + placeholders(per) + ")")
				u.CreatedAt = msTime(tx.now)
				args = append(args, tenantID, u.GUID, u.UserPrincipalName, allot.NormalizeKey(u.UserPrincipalName), u.DisplayName,
					u.GivenName, u.Surname, u.Mail, u.JobTitle, u.Department, u.UsageLocation, b2i(u.AccountEnabled), tx.now,
					encodeProfile(u.Profile))
			}
			if _, err := tx.exec(b.String(), args...); err != nil {
				if strings.Contains(strings.ToLower(err.Error()), "unique") {
					return allot.Errorf(allot.EConflict, "A userPrincipalName of this batch is taken by an existing user.")
				}
				return err
			}
			// Read the new ids back by GUID.
			gargs := make([]any, len(chunk))
			byGUID := make(map[string]*allot.User, len(chunk))
			for i, u := range chunk {
				gargs[i] = u.GUID
				byGUID[u.GUID] = u
			}
			rows, err := tx.query(`SELECT id, guid FROM users WHERE guid IN (`+placeholders(len(chunk))+`)`, gargs...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var g string
				if err := rows.Scan(&id, &g); err != nil {
					rows.Close()
					return err
				}
				byGUID[g].ID = id
			}
			rows.Close()
		}
		cs := make([]DirChange, len(users))
		for i, u := range users {
			cs[i] = DirChange{Kind: ChangeUser, ObjectID: u.ID, Object: u.GUID}
		}
		tx.recordChanges(tenantID, cs...)
		type pa struct {
			key, addr string
			user      int64
		}
		var pas []pa
		for _, u := range users {
			for _, a := range u.ProxyAddresses {
				pas = append(pas, pa{allot.NormalizeKey(a), strings.TrimSpace(a), u.ID})
			}
		}
		slices.SortFunc(pas, func(x, y pa) int { return strings.Compare(x.key, y.key) })
		for start := 0; start < len(pas); start += 500 {
			chunk := pas[start:min(start+500, len(pas))]
			var b strings.Builder
			b.WriteString(`INSERT INTO proxy_addresses (tenant_id, addr_key, user_id, address) VALUES `)
			args := make([]any, 0, len(chunk)*4)
			for i, p := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?)")
				args = append(args, tenantID, p.key, p.user, p.addr)
			}
			if _, err := tx.exec(b.String(), args...); err != nil {
				if strings.Contains(strings.ToLower(err.Error()), "unique") || strings.Contains(strings.ToLower(err.Error()), "duplicate") {
					return allot.Errorf(allot.EConflict, "A proxy address of this batch belongs to an existing user; proxy addresses are unique in the tenant.")
				}
				return err
			}
		}
		if err := tx.applyDynamicRules(tenantID, a, users, nil); err != nil {
			return err
		}
		audits := make([]auditRow, len(users))
		for i, u := range users {
			audits[i] = auditRow{a, allot.AuditEvent{Category: "UserManagement", Activity: allot.ActAddUser, TargetKind: "User", TargetID: u.GUID,
				TargetName: u.UserPrincipalName, Changes: []allot.Change{{Property: "userPrincipalName", New: u.UserPrincipalName},
					{Property: "displayName", New: u.DisplayName}, {Property: "usageLocation", New: u.UsageLocation}}}}
		}
		return tx.auditMany(tenantID, audits)
	})
}

// bulkAssign decides a bulk assignment of product p to users (licensing.
// AssignBulk), fills each user's outcome and applies the plan unless it is a
// dry run. It returns the product's consumed units afterwards.
func (t *tx) bulkAssign(a allot.Actor, tenantID int64, ids []int64, p *allot.Product, disabled []string, req BulkAssignRequest, outcome func(k int) *BulkOutcome) (int, error) {
	products, err := t.products(tenantID)
	if err != nil {
		return 0, err
	}
	b, err := t.loadBatch(tenantID, ids, products, lockRows)
	if err != nil {
		return 0, err
	}
	if err := t.prepare(b, false); err != nil {
		return 0, err
	}
	var results []licensing.BulkResult
	plan, err := t.decide(b, func(s *licensing.Snapshot) (*licensing.Plan, error) {
		var plan *licensing.Plan
		plan, results = licensing.AssignBulk(s, p.ID, disabled, req.ReservedUnits)
		return plan, nil
	})
	if err != nil {
		return 0, err
	}
	for k, r := range results {
		o := outcome(k)
		switch {
		case r.Via == "direct":
			o.Result, o.Via, o.Message = BulkAlreadyLicensed, r.Via, fmt.Sprintf("Already has %s, assigned directly.", p.SkuPartNumber)
		case r.Via != "":
			o.Result, o.Via, o.Message = BulkAlreadyLicensed, r.Via, fmt.Sprintf("Already has %s through group '%s'.", p.SkuPartNumber, r.Via)
		case r.Code != "":
			o.Result, o.Code, o.Message, o.Target = BulkFailed, r.Code, r.Message, r.Target
		default:
			o.Result = BulkLicensed
		}
	}
	consumed := b.cat.Product(p.ID).ConsumedUnits + plan.Consumed[p.ID]
	if req.DryRun {
		return consumed, nil
	}
	return consumed, t.apply(b, plan, a, &batchResult{})
}
