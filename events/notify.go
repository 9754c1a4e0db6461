package events

import (
	"strings"
	"time"

	"allot/store/sqlstore"
)

// Notification is one change notification in Graph's body shape.
type Notification struct {
	SubscriptionID                 string       `json:"subscriptionId"`
	SubscriptionExpirationDateTime string       `json:"subscriptionExpirationDateTime"`
	ClientState                    *string      `json:"clientState"`
	ChangeType                     string       `json:"changeType"`
	Resource                       string       `json:"resource"`
	TenantID                       string       `json:"tenantId"`
	ResourceData                   ResourceData `json:"resourceData"`
}

// ResourceData names the changed object. MembersDelta lists, for a group
// whose members changed, the members that joined and left.
type ResourceData struct {
	ODataType    string        `json:"@odata.type"`
	ODataID      string        `json:"@odata.id"`
	ID           string        `json:"id"`
	OrgID        string        `json:"organizationId"`
	MembersDelta []MemberDelta `json:"members@delta,omitempty"`
}

// MemberDelta is one member that joined (Removed nil) or left a group.
type MemberDelta struct {
	ID      string   `json:"id"`
	Removed *Removed `json:"@removed,omitempty"`
}

// Removed is Graph's @removed annotation.
type Removed struct {
	Reason string `json:"reason"`
}

// LifecycleNotification is one lifecycle event in Graph's body shape.
type LifecycleNotification struct {
	SubscriptionID                 string  `json:"subscriptionId"`
	SubscriptionExpirationDateTime string  `json:"subscriptionExpirationDateTime"`
	TenantID                       string  `json:"tenantId"`
	ClientState                    *string `json:"clientState"`
	LifecycleEvent                 string  `json:"lifecycleEvent"`
}

// Lifecycle events.
const (
	ReauthorizationRequired = "reauthorizationRequired"
	SubscriptionRemoved     = "subscriptionRemoved"
)

// Collection is the body of one delivery: Graph's changeNotificationCollection.
type Collection[T any] struct {
	Value []T `json:"value"`
}

const graphTime = "2006-01-02T15:04:05.0000000Z"

func clientState(sub *sqlstore.Subscription) *string {
	if sub.ClientState == "" {
		return nil
	}
	s := sub.ClientState
	return &s
}

// feedOf returns the change feed a resource reads.
func feedOf(r Resource) int {
	if r.Kind == "users" {
		return sqlstore.FeedUsers
	}
	return sqlstore.FeedGroups
}

// builder turns feed rows into the notifications of one subscription.
type builder struct {
	sub     *sqlstore.Subscription
	res     Resource
	types   string
	tenant  string
	out     []Notification
	byGroup map[string]int // group → index of its updated notification in out
}

func newBuilder(sub *sqlstore.Subscription, res Resource, tenant string) *builder {
	return &builder{sub: sub, res: res, types: sub.ChangeType, tenant: tenant, byGroup: map[string]int{}}
}

func (b *builder) wants(changeType string) bool {
	for _, t := range strings.Split(b.types, ",") {
		if t == changeType {
			return true
		}
	}
	return false
}

// changeTypeOf maps a feed removal to Graph's change type: a row removed
// for good is deleted; one only marked changed (RemovedChanged) is
// updated, as Graph says a soft deletion.
func changeTypeOf(removed int) string {
	if removed == sqlstore.RemovedDeleted {
		return Deleted
	}
	return Updated
}

// add adds the notification of one feed row, if the subscription wants it.
func (b *builder) add(c sqlstore.DirChange) {
	switch {
	case c.Kind == sqlstore.ChangeUser && b.res.Kind == "users":
		if b.res.ID == "" || b.res.ID == c.Object {
			b.object("Users", "#Microsoft.Graph.User", c.Object, changeTypeOf(c.Removed))
		}
	case c.Kind == sqlstore.ChangeGroup && b.res.Kind == "groups" && !b.res.Members:
		if b.res.ID == "" || b.res.ID == c.Object {
			b.object("Groups", "#Microsoft.Graph.Group", c.Object, changeTypeOf(c.Removed))
		}
	case c.Kind == sqlstore.ChangeMember && b.res.Kind == "groups":
		if b.res.ID == "" || b.res.ID == c.Object {
			b.member(c)
		}
	}
}

func (b *builder) object(coll, typ, id, changeType string) {
	if !b.wants(changeType) {
		return
	}
	b.out = append(b.out, b.note(coll, typ, id, changeType))
}

func (b *builder) note(coll, typ, id, changeType string) Notification {
	return Notification{
		SubscriptionID:                 b.sub.GUID,
		SubscriptionExpirationDateTime: b.sub.Expiration.UTC().Format(graphTime),
		ClientState:                    clientState(b.sub),
		ChangeType:                     changeType,
		Resource:                       coll + "/" + id,
		TenantID:                       b.tenant,
		ResourceData:                   ResourceData{ODataType: typ, ODataID: coll + "/" + id, ID: id, OrgID: b.tenant},
	}
}

// member adds a membership change to its group's updated notification, as
// members@delta.
func (b *builder) member(c sqlstore.DirChange) {
	if !b.wants(Updated) {
		return
	}
	i, ok := b.byGroup[c.Object]
	if !ok {
		i = len(b.out)
		b.out = append(b.out, b.note("Groups", "#Microsoft.Graph.Group", c.Object, Updated))
		b.byGroup[c.Object] = i
	}
	d := MemberDelta{ID: c.Member}
	if c.Removed != sqlstore.Present {
		d.Removed = &Removed{Reason: "deleted"}
	}
	b.out[i].ResourceData.MembersDelta = append(b.out[i].ResourceData.MembersDelta, d)
}

// lifecycle returns the lifecycle event of the subscription.
func lifecycle(sub *sqlstore.Subscription, tenant, event string) LifecycleNotification {
	return LifecycleNotification{SubscriptionID: sub.GUID, SubscriptionExpirationDateTime: sub.Expiration.UTC().Format(graphTime),
		TenantID: tenant, ClientState: clientState(sub), LifecycleEvent: event}
}

// FormatTime formats t as Graph formats a subscription's times.
func FormatTime(t time.Time) string { return t.UTC().Format(graphTime) }
