package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/google/uuid"

	"allot"
)

// TokenPrefix starts every API token allot issues.
const TokenPrefix = "allot_"

// CreateTenant creates a tenant. The first tenant created becomes the default one.
func (s *Store) CreateTenant(ctx context.Context, name, dataLocation, usageLocation string) (*allot.Tenant, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, allot.Errorf(allot.EInvalid, "A tenant needs a name.")
	}
	dataLocation = strings.ToUpper(strings.TrimSpace(dataLocation))
	if !validGeo(dataLocation) {
		return nil, allot.Errorf(allot.EInvalid, "dataLocation '%s' is not a known geo; use one of %s.", dataLocation, strings.Join(Geos, ", "))
	}
	usageLocation = strings.ToUpper(strings.TrimSpace(usageLocation))
	if usageLocation != "" && !validCountry(usageLocation) {
		return nil, allot.Errorf(allot.EInvalid, "usageLocation '%s' must be a two-letter ISO 3166 country code such as US.", usageLocation)
	}
	t := &allot.Tenant{GUID: uuid.NewString(), DisplayName: name, DataLocation: dataLocation, DefaultUsageLocation: usageLocation}
	err := s.write(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil {
			return err
		}
		t.CreatedAt = msTime(tx.now)
		if err := tx.queryRow(`INSERT INTO tenants (guid, display_name, data_location, default_usage_location, is_default, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, t.GUID, t.DisplayName, t.DataLocation, t.DefaultUsageLocation, b2i(n == 0), tx.now).Scan(&t.ID); err != nil {
			return err
		}
		return tx.audit(t.ID, allot.Actor{Kind: "system", ID: "operator", Name: "allot operator"}, allot.AuditEvent{
			Category: "DirectoryManagement", Activity: allot.ActAddTenant, TargetKind: "Tenant", TargetID: t.GUID, TargetName: t.DisplayName,
			Changes: []allot.Change{{Property: "dataLocation", New: t.DataLocation}, {Property: "defaultUsageLocation", New: t.DefaultUsageLocation}},
		})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

const tenantCols = `id, guid, display_name, data_location, default_usage_location, created_at`

func scanTenant(row interface{ Scan(...any) error }) (*allot.Tenant, error) {
	var t allot.Tenant
	var created int64
	if err := row.Scan(&t.ID, &t.GUID, &t.DisplayName, &t.DataLocation, &t.DefaultUsageLocation, &created); err != nil {
		return nil, err
	}
	t.CreatedAt = msTime(created)
	return &t, nil
}

// DefaultTenant returns the default tenant, or an ENotFound error when the
// store has none yet.
func (s *Store) DefaultTenant(ctx context.Context) (*allot.Tenant, error) {
	t, err := scanTenant(s.queryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE is_default = 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, allot.Errorf(allot.ENotFound, "The store has no tenant yet.")
	}
	return t, err
}

// TenantByName returns the tenant with the display name.
func (s *Store) TenantByName(ctx context.Context, name string) (*allot.Tenant, error) {
	t, err := scanTenant(s.queryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE display_name = ? ORDER BY id LIMIT 1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Tenant", name)
	}
	return t, err
}

// Tenant returns the tenant with the internal id.
func (s *Store) Tenant(ctx context.Context, id int64) (*allot.Tenant, error) {
	t, err := scanTenant(s.queryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Tenant", itoa(id))
	}
	return t, err
}

// NewToken returns a fresh random API token (160 bits, allot_ prefix).
func NewToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// CreateToken and Authenticate live in auth.go.

// Geos lists the data locations allot knows, as Microsoft 365 names them.
var Geos = []string{"APC", "AUS", "BRA", "CAN", "CHE", "DEU", "EUR", "FRA", "GBR", "IND", "JPN", "KOR", "NAM", "NOR", "QAT", "ZAF", "ARE", "SWE", "POL", "ITA", "ESP", "ISR", "NZL", "MEX"}

func validGeo(g string) bool {
	for _, x := range Geos {
		if x == g {
			return true
		}
	}
	return false
}

func validCountry(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}

// TenantByGUID returns the tenant with the id (GUID).
func (s *Store) TenantByGUID(ctx context.Context, guid string) (*allot.Tenant, error) {
	t, err := scanTenant(s.queryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE guid = ?`, strings.ToLower(guid)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Tenant", guid)
	}
	return t, err
}

// TenantNames returns the display names of at most limit tenants, oldest
// first (operator commands use it to see whether a store is in use).
func (s *Store) TenantNames(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT display_name FROM tenants ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
