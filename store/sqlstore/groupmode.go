package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"allot"
	"allot/licensing"
)

// groupModeBestEffort is dir_groups.license_mode of a bestEffort group (0:
// allOrNothing).
const groupModeBestEffort = 1

// GroupLicenseMode returns how the group grants its products
// (licensing.ModeAllOrNothing or licensing.ModeBestEffort).
func (s *Store) GroupLicenseMode(ctx context.Context, tenantID int64, ref string) (string, error) {
	var mode int
	err := s.queryRow(ctx, `SELECT license_mode FROM dir_groups WHERE tenant_id = ? AND guid = ?`, tenantID, strings.ToLower(ref)).Scan(&mode)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("Group", ref)
	}
	return modeName(mode), err
}

func modeName(mode int) string {
	if mode == groupModeBestEffort {
		return licensing.ModeBestEffort
	}
	return licensing.ModeAllOrNothing
}

// SetGroupLicenseMode changes how the group grants its products (audited)
// and marks the group, so its members are recomputed. Neither change takes
// a license away: rule 5 never removes what a member holds through the group.
func (s *Store) SetGroupLicenseMode(ctx context.Context, a allot.Actor, tenantID int64, ref, mode string) error {
	m, err := licensing.ParseGroupMode(mode)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		g, err := t.group(tenantID, ref)
		if err != nil {
			return err
		}
		var cur int
		if err := t.queryRow(`SELECT license_mode FROM dir_groups WHERE id = ?`, g.ID).Scan(&cur); err != nil {
			return err
		}
		if modeName(cur) == m {
			return nil
		}
		next := 0
		if m == licensing.ModeBestEffort {
			next = groupModeBestEffort
		}
		if _, err := t.exec(`UPDATE dir_groups SET license_mode = ? WHERE id = ?`, next, g.ID); err != nil {
			return err
		}
		if err := t.markGroups(tenantID, []int64{g.ID}); err != nil {
			return err
		}
		if licensed, err := t.licensedAmong([]int64{g.ID}); err != nil {
			return err
		} else if len(licensed) > 0 {
			if err := t.setProcessing(licensed, allot.ProcessingQueued); err != nil {
				return err
			}
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "GroupManagement", Activity: allot.ActSetGroupMode, TargetKind: "Group",
			TargetID: g.GUID, TargetName: g.DisplayName, Changes: []allot.Change{{Property: "licenseMode", Old: modeName(cur), New: m}}})
	})
}
