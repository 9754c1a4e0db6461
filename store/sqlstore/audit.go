package sqlstore

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/store"
)

// audit writes one audit event in the transaction of the change it records.
func (t *tx) audit(tenantID int64, a allot.Actor, e allot.AuditEvent) error {
	if e.Result == "" {
		e.Result = "success"
	}
	if e.Category == "" {
		e.Category = "UserManagement"
	}
	changes := ""
	if len(e.Changes) > 0 {
		b, _ := json.Marshal(e.Changes)
		changes = string(b)
	}
	_, err := t.exec(`INSERT INTO audit_events (guid, tenant_id, at, category, activity, result, result_reason,
		actor_kind, actor_id, actor_name, target_kind, target_id, target_name, changes, correlation_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		uuid.NewString(), tenantID, t.now, e.Category, e.Activity, e.Result, e.ResultReason,
		a.Kind, a.ID, a.Name, e.TargetKind, e.TargetID, e.TargetName, changes, correlationID(t.ctx))
	return err
}

// auditRow is one pending audit event of a batch.
type auditRow struct {
	actor allot.Actor
	ev    allot.AuditEvent
}

// auditMany writes many audit events with multi-row inserts.
func (t *tx) auditMany(tenantID int64, rows []auditRow) error {
	const cols = 15
	corr := correlationID(t.ctx)
	for start := 0; start < len(rows); start += 500 {
		end := min(start+500, len(rows))
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_events (guid, tenant_id, at, category, activity, result, result_reason,
		actor_kind, actor_id, actor_name, target_kind, target_id, target_name, changes, correlation_id) VALUES `)
		args := make([]any, 0, (end-start)*cols)
		for i, r := range rows[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + placeholders(cols) + ")")
			changes := ""
			if len(r.ev.Changes) > 0 {
				c, _ := json.Marshal(r.ev.Changes)
				changes = string(c)
			}
			res := r.ev.Result
			if res == "" {
				res = "success"
			}
			args = append(args, uuid.NewString(), tenantID, t.now, r.ev.Category, r.ev.Activity, res, r.ev.ResultReason,
				r.actor.Kind, r.actor.ID, r.actor.Name, r.ev.TargetKind, r.ev.TargetID, r.ev.TargetName, changes, corr)
		}
		if _, err := t.exec(b.String(), args...); err != nil {
			return err
		}
	}
	return nil
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
// the next page (0 when this is the last).
func (s *Store) ListAudit(ctx context.Context, tenantID int64, f store.AuditFilter) ([]*allot.AuditEvent, int64, error) {
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if f.Activity != "" {
		where = append(where, "activity = ?")
		args = append(args, f.Activity)
	}
	if f.TargetID != "" {
		where = append(where, "(target_id = ? OR target_name = ?)")
		args = append(args, f.TargetID, f.TargetID)
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args = append(args, f.Limit+1)
	rows, err := s.query(ctx, `SELECT id, guid, at, category, activity, result, result_reason, actor_kind, actor_id, actor_name,
		target_kind, target_id, target_name, changes, correlation_id FROM audit_events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*allot.AuditEvent
	for rows.Next() {
		var e allot.AuditEvent
		var at int64
		var changes string
		if err := rows.Scan(&e.ID, &e.GUID, &at, &e.Category, &e.Activity, &e.Result, &e.ResultReason, &e.ActorKind, &e.ActorID,
			&e.ActorName, &e.TargetKind, &e.TargetID, &e.TargetName, &changes, &e.CorrelationID); err != nil {
			return nil, 0, err
		}
		e.TenantID = tenantID
		e.Time = msTime(at)
		if changes != "" {
			json.Unmarshal([]byte(changes), &e.Changes)
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
