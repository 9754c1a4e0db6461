package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/store"
)

// audit writes one audit event in the transaction of the change it records.
func (t *tx) audit(tenantID int64, a allot.Actor, e allot.AuditEvent) error {
	_, err := t.auditID(tenantID, a, e)
	return err
}

// auditID writes one audit event and returns its id.
func (t *tx) auditID(tenantID int64, a allot.Actor, e allot.AuditEvent) (int64, error) {
	if e.Result == "" {
		e.Result = "success"
	}
	if e.Category == "" {
		e.Category = "UserManagement"
	}
	var id int64
	err := t.queryRow(`INSERT INTO audit_events (guid, tenant_id, at, category, activity, result, result_reason,
		actor_kind, actor_id, actor_name, target_kind, target_id, target_name, changes, correlation_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		uuid.NewString(), tenantID, t.auditNow(), e.Category, e.Activity, e.Result, e.ResultReason,
		a.Kind, a.ID, a.Name, e.TargetKind, e.TargetID, e.TargetName, changesJSON(e.Changes), correlationID(t.ctx)).Scan(&id)
	return id, err
}

// auditRow is one pending audit event of a batch.
type auditRow struct {
	actor allot.Actor
	ev    allot.AuditEvent
}

// auditMany writes many audit events with prepared multi-row inserts. Bulk
// events carry no GUID of their own (ListAudit derives one from the row id)
// and, for users, no name: ListAudit fills in the user's name.
func (t *tx) auditMany(tenantID int64, rows []auditRow) error {
	corr := correlationID(t.ctx)
	return t.insertRows(`INSERT INTO audit_events (guid, tenant_id, at, category, activity, result, result_reason,
		actor_kind, actor_id, actor_name, target_kind, target_id, target_name, changes, correlation_id) VALUES `, 15, "", len(rows), 500,
		func(i int, args []any) []any {
			r := rows[i]
			res := r.ev.Result
			if res == "" {
				res = "success"
			}
			cat := r.ev.Category
			if cat == "" {
				cat = "UserManagement"
			}
			return append(args, "", tenantID, t.auditNow(), cat, r.ev.Activity, res, r.ev.ResultReason,
				r.actor.Kind, r.actor.ID, r.actor.Name, r.ev.TargetKind, r.ev.TargetID, r.ev.TargetName, changesJSON(r.ev.Changes), corr)
		})
}

// auditNow is the time an audit event records: the transaction's, or the
// seat history's clock when one is set (WithClock), so that a backfill of
// the history from the audit log dates its points as the live history did.
func (t *tx) auditNow() int64 {
	if t.s.clock != nil {
		return t.s.now().UnixMilli()
	}
	return t.now
}

// changesJSON encodes changes as the audit table stores them.
func changesJSON(cs []allot.Change) string {
	if len(cs) == 0 {
		return ""
	}
	b, _ := json.Marshal(cs)
	return string(b)
}

type ctxKey int

const correlationKey ctxKey = 1

// WithCorrelationID returns a context whose writes record id as the audit
// correlation id (the request id of the HTTP request that caused them).
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

func correlationID(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey).(string)
	return s
}

// ListAudit returns the tenant's audit events, newest first, and the cursor of
// the next page (0 when this is the last). A bulk event is listed as one
// event per user it covers; the cursor is the event id in the high 32 bits
// and the user id inside a bulk event in the low 32 bits.
func (s *Store) ListAudit(ctx context.Context, tenantID int64, f store.AuditFilter) ([]*allot.AuditEvent, int64, error) {
	where := []string{"a.tenant_id = ?"}
	args := []any{tenantID}
	if f.Activity != "" {
		where = append(where, "a.activity = ?")
		args = append(args, f.Activity)
	}
	if f.Cond != nil {
		cond, cargs, err := compileFilter(f.Cond, auditResource)
		if err != nil {
			return nil, 0, err
		}
		where = append(where, cond)
		args = append(args, cargs...)
	}
	var targetUser int64 = -1
	if f.TargetID != "" {
		var uid int64
		err := s.queryRow(ctx, `SELECT id FROM users WHERE tenant_id = ? AND (guid = ? OR upn_key = ?)`, tenantID, strings.ToLower(f.TargetID), allot.NormalizeKey(f.TargetID)).Scan(&uid)
		if err == nil {
			targetUser = uid
		}
		where = append(where, "(a.target_id = ? OR a.target_name = ? OR a.id IN (SELECT event_id FROM audit_targets WHERE user_id = ?))")
		args = append(args, f.TargetID, f.TargetID, targetUser)
	}
	beforeEvent, beforeUser := f.Before>>32, f.Before&(1<<32-1)
	if f.Before > 0 {
		where = append(where, "a.id <= ?")
		args = append(args, beforeEvent)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args = append(args, f.Limit+1)
	rows, err := s.query(ctx, `SELECT a.id, a.guid, a.at, a.category, a.activity, a.result, a.result_reason, a.actor_kind, a.actor_id, a.actor_name,
		a.target_kind, a.target_id, CASE WHEN a.target_name = '' THEN COALESCE(u.upn, '') ELSE a.target_name END, a.changes, a.correlation_id
		FROM audit_events a LEFT JOIN users u ON a.target_name = '' AND a.target_kind = 'User' AND u.guid = a.target_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY a.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, 0, err
	}
	var events []*allot.AuditEvent
	for rows.Next() {
		var e allot.AuditEvent
		var at int64
		var changes string
		if err := rows.Scan(&e.ID, &e.GUID, &at, &e.Category, &e.Activity, &e.Result, &e.ResultReason, &e.ActorKind, &e.ActorID,
			&e.ActorName, &e.TargetKind, &e.TargetID, &e.TargetName, &changes, &e.CorrelationID); err != nil {
			rows.Close()
			return nil, 0, err
		}
		e.TenantID = tenantID
		if e.GUID == "" {
			e.GUID = "Directory_" + itoa(e.ID)
		}
		e.Time = msTime(at)
		if changes != "" {
			json.Unmarshal([]byte(changes), &e.Changes)
		}
		events = append(events, &e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	// Expand bulk events into one event per user, newest (highest user id) first.
	var out []*allot.AuditEvent
	var next int64
	for _, e := range events {
		if len(out) == f.Limit {
			next = e.ID<<32 | (1<<32 - 1)
			break
		}
		if e.TargetKind != bulkTarget {
			// A plain event equal to the cursor was on the last page, unless
			// the cursor points at it as the first of this page (all users).
			if f.Before > 0 && e.ID == beforeEvent && beforeUser != 1<<32-1 {
				continue
			}
			out = append(out, e)
			continue
		}
		upper := int64(1<<32 - 1)
		if f.Before > 0 && e.ID == beforeEvent {
			upper = beforeUser
		}
		q := `SELECT t.user_id, COALESCE(u.guid, ''), COALESCE(u.upn, '') FROM audit_targets t LEFT JOIN users u ON u.id = t.user_id
			WHERE t.event_id = ? AND t.user_id < ?`
		qargs := []any{e.ID, upper}
		if targetUser >= 0 && f.TargetID != "" {
			q += ` AND t.user_id = ?`
			qargs = append(qargs, targetUser)
		}
		q += ` ORDER BY t.user_id DESC LIMIT ?`
		room := f.Limit - len(out)
		qargs = append(qargs, room+1)
		urows, err := s.query(ctx, q, qargs...)
		if err != nil {
			return nil, 0, err
		}
		n := 0
		for urows.Next() {
			var uid int64
			var guid, upn string
			if err := urows.Scan(&uid, &guid, &upn); err != nil {
				urows.Close()
				return nil, 0, err
			}
			if n == room {
				next = e.ID<<32 | (uid + 1)
				break
			}
			x := *e
			x.GUID = "Directory_" + itoa(e.ID) + "_" + itoa(uid)
			x.TargetKind, x.TargetID, x.TargetName = "User", guid, upn
			out = append(out, &x)
			n++
		}
		urows.Close()
		if next != 0 {
			break
		}
	}
	if next == 0 && len(events) > f.Limit && len(out) == f.Limit {
		next = out[len(out)-1].ID<<32 | 0
	}
	return out, next, nil
}

// bulkTarget is the target kind of a bulk audit event.
const bulkTarget = "Users"

// auditUsers records the same change to many users as one bulk event with
// one narrow row per user (two integers), in the change's transaction.
func (t *tx) auditUsers(tenantID int64, a allot.Actor, ev allot.AuditEvent, users []int64) error {
	if len(users) == 1 {
		return t.audit(tenantID, a, ev)
	}
	ev.TargetKind, ev.TargetID, ev.TargetName = bulkTarget, "", ""
	id, err := t.auditID(tenantID, a, ev)
	if err != nil {
		return err
	}
	sorted := append([]int64(nil), users...)
	slices.Sort(sorted)
	return t.copyRows("audit_targets", []string{"event_id", "user_id"}, len(sorted),
		func(i int, args []any) []any { return append(args, id, sorted[i]) })
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
