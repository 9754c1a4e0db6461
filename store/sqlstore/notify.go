package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
)

// The notify outbox (notify_outbox): alert e-mails and alert webhooks
// (a plain JSON POST), and reclamation notices by e-mail, written in the
// transaction that causes them and sent by package alerts' Sender.

// Notification channels.
const (
	ChannelEmail   = 0
	ChannelWebhook = 1
)

// Notification kinds: what the payload is.
const (
	NotifyAlert         = "alert"         // payload: the alert's event (alerts.Event)
	NotifyReclaimNotice = "reclaimNotice" // payload: ReclaimNoticeMail
)

// Notification states.
const (
	NotifyPending = 0
	NotifySent    = 1
	NotifyGaveUp  = 2
)

// Notification is one message of the notify outbox.
type Notification struct {
	ID       int64
	TenantID int64
	Channel  int
	// Target is the URL (webhook) or the addresses (e-mail).
	Target   string
	Kind     string
	Payload  []byte
	Created  time.Time
	Attempts int // attempts made before this one
}

// Addresses returns an e-mail notification's recipients.
func (n *Notification) Addresses() []string { return strings.Split(n.Target, ",") }

// ReclaimNoticeMail is the payload of a reclamation notice: who is told,
// about whose license, and when it goes.
type ReclaimNoticeMail struct {
	UserName    string `json:"userName"`
	UserUPN     string `json:"userPrincipalName"`
	Product     string `json:"product"` // the product's display name
	ReclaimAt   string `json:"reclaimAt"`
	Rule        string `json:"rule"`
	ToManager   bool   `json:"toManager"`
	ManagerName string `json:"managerName,omitempty"`
}

// enqueueNotify writes notifications in the transaction.
func (t *tx) enqueueNotify(tenantID int64, ns []Notification) error {
	for _, n := range ns {
		if _, err := t.exec(`INSERT INTO notify_outbox (tenant_id, channel, target, kind, payload, created_at, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tenantID, n.Channel, n.Target, n.Kind, string(n.Payload), t.now, t.now); err != nil {
			return err
		}
	}
	return nil
}

// ClaimNotifications leases up to n pending notifications due at now to
// owner until now+lease (rows whose lease ran out or is owner's own),
// oldest first.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]*Notification, error) {
	var out []*Notification
	err := s.write(ctx, func(t *tx) error {
		ids, err := t.leaseOutbox("notify_outbox", owner, now, lease, n)
		if err != nil || len(ids) == 0 {
			out = nil
			return err
		}
		rows, err := t.query(`SELECT id, tenant_id, channel, target, kind, payload, created_at, attempts FROM notify_outbox
			WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`, idArgs(ids)...)
		out, err = collect(rows, err, scanNotification)
		return err
	})
	return out, err
}

// leaseOutbox leases up to n pending rows of an outbox table (webhook_outbox,
// notify_outbox: state, next_attempt, lease_owner, lease_until) due at now
// to owner until now+lease, oldest due first, and returns their ids. On
// PostgreSQL concurrent claimers skip each other's rows.
func (t *tx) leaseOutbox(table, owner string, now time.Time, lease time.Duration, n int) ([]int64, error) {
	ms := now.UnixMilli()
	lock := ""
	if t.s.engine == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := t.query(`SELECT id FROM `+table+` WHERE state = 0 AND next_attempt <= ? AND (lease_until < ? OR lease_owner = ?)
		ORDER BY next_attempt, id LIMIT ?`+lock, ms, ms, owner, n)
	ids, err := collect(rows, err, scanInt64)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	args := append([]any{owner, ms + lease.Milliseconds()}, idArgs(ids)...)
	_, err = t.exec(`UPDATE `+table+` SET lease_owner = ?, lease_until = ? WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	return ids, err
}

func scanNotification(r *sql.Rows) (*Notification, error) {
	var n Notification
	var payload string
	var created int64
	err := r.Scan(&n.ID, &n.TenantID, &n.Channel, &n.Target, &n.Kind, &payload, &created, &n.Attempts)
	n.Payload, n.Created = []byte(payload), time.UnixMilli(created).UTC()
	return &n, err
}

// FinishNotification records, under owner's lease, one attempt at n: the
// state it leaves (NotifyPending to retry at next), and the error if any.
func (s *Store) FinishNotification(ctx context.Context, n *Notification, owner string, state int, errMsg string, next time.Time) error {
	if len(errMsg) > 500 {
		errMsg = errMsg[:500]
	}
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE notify_outbox SET state = ?, attempts = attempts + 1, next_attempt = ?, last_error = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ? AND state = 0`, state, next.UnixMilli(), errMsg, n.ID, owner)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errLeaseLost
		}
		return nil
	})
}

// PendingNotifications counts the notifications not yet sent nor given up.
func (s *Store) PendingNotifications(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM notify_outbox WHERE state = 0`).Scan(&n)
	return n, err
}

// reclaimMails are the notice e-mails of the users just noticed: to each
// user with a mail address, and to their manager if the manager has one.
func (t *tx) reclaimMails(tenantID int64, r *ReclaimRule, users []int64) ([]Notification, error) {
	if len(users) == 0 {
		return nil, nil
	}
	var product string
	if err := t.queryRow(`SELECT display_name FROM products WHERE id = ?`, r.ProductID).Scan(&product); err != nil {
		return nil, err
	}
	var out []Notification
	for start := 0; start < len(users); start += 500 {
		chunk := users[start:min(start+500, len(users))]
		rows, err := t.query(`SELECT u.display_name, u.upn, u.mail, COALESCE(m.display_name, ''), COALESCE(m.mail, '') FROM users u
			LEFT JOIN users m ON m.id = u.manager_id WHERE u.id IN (`+placeholders(len(chunk))+`) ORDER BY u.id`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, upn, mail, mgr, mgrMail string
			if err := rows.Scan(&name, &upn, &mail, &mgr, &mgrMail); err != nil {
				rows.Close()
				return nil, err
			}
			p := ReclaimNoticeMail{UserName: name, UserUPN: upn, Product: product, ReclaimAt: msTimeString(t.now + r.Notice), Rule: r.DisplayName}
			out = appendMail(out, tenantID, mail, p)
			p.ToManager, p.ManagerName = true, mgr
			out = appendMail(out, tenantID, mgrMail, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func appendMail(out []Notification, tenantID int64, to string, p ReclaimNoticeMail) []Notification {
	if to == "" {
		return out
	}
	b, _ := json.Marshal(p)
	return append(out, Notification{TenantID: tenantID, Channel: ChannelEmail, Target: to, Kind: NotifyReclaimNotice, Payload: b})
}
