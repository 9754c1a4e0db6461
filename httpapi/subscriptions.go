package httpapi

import (
	"allot/internal/egress"
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/events"
	"allot/store"
	"allot/store/sqlstore"
)

// Graph change notification subscriptions (docs/api.md, "Change
// notifications"): POST, GET, PATCH and DELETE /v1.0/subscriptions as Graph
// defines them. A new subscription, or a new notificationUrl, must pass
// Graph's validation handshake first; the dispatcher (events.Dispatcher,
// run by allot serve) delivers the notifications.

// maxSubscriptions bounds a tenant's subscriptions.
const maxSubscriptions = 1000

func (s *Server) subscriptionRoutes() {
	s.handle("POST /v1.0/subscriptions", PermUsersRead|PermGroupsRead, s.createSubscription)
	s.handle("GET /v1.0/subscriptions", PermUsersRead|PermGroupsRead, s.listSubscriptions)
	s.handle("GET /v1.0/subscriptions/{id}", PermUsersRead|PermGroupsRead, s.getSubscription)
	s.handle("PATCH /v1.0/subscriptions/{id}", PermUsersRead|PermGroupsRead, s.patchSubscription)
	s.handle("DELETE /v1.0/subscriptions/{id}", PermUsersRead|PermGroupsRead, s.deleteSubscription)
}

// SetHandshaker replaces the validation handshake's client (tests shorten
// its timeout). Call it before serving.
func (s *Server) SetHandshaker(h *events.Handshaker) { s.handshake = h }

type subscriptionBody struct {
	ChangeType                *string `json:"changeType"`
	NotificationURL           *string `json:"notificationUrl"`
	Resource                  *string `json:"resource"`
	ExpirationDateTime        *string `json:"expirationDateTime"`
	ClientState               *string `json:"clientState"`
	LatestSupportedTLSVersion *string `json:"latestSupportedTlsVersion"`
	LifecycleNotificationURL  *string `json:"lifecycleNotificationUrl"`
	IncludeResourceData       *bool   `json:"includeResourceData"`
	EncryptionCertificate     *string `json:"encryptionCertificate"`
	EncryptionCertificateID   *string `json:"encryptionCertificateId"`
	NotificationQueryOptions  *string `json:"notificationQueryOptions"`
	NotificationURLAppID      *string `json:"notificationUrlAppId"`
}

var subscriptionReadOnly = []string{"id", "applicationId", "creatorId"}

func required(name string, v *string) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return "", allot.Errorf(events.CodeInvalidRequest, "%s is required.", name)
	}
	return strings.TrimSpace(*v), nil
}

func parseExpiration(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, allot.Errorf(events.CodeInvalidRequest, "expirationDateTime '%s' is not a date and time (ISO 8601, such as 2026-12-24T18:00:00Z).", v)
	}
	return t.UTC(), nil
}

// permFor is the permission that reading the resource needs.
func permFor(r events.Resource) Perm {
	if r.Kind == "users" {
		return PermUsersRead
	}
	return PermGroupsRead
}

// newSubscription checks a POST body and returns the subscription it asks
// for (without handshake).
func newSubscription(hooks egress.Policy, p *store.Principal, b *subscriptionBody, now time.Time) (*sqlstore.Subscription, events.Resource, error) {
	var res events.Resource
	if b.IncludeResourceData != nil && *b.IncludeResourceData {
		return nil, res, allot.Errorf(events.CodeInvalidRequest, "includeResourceData is not supported: notifications name the changed object; read it with GET.")
	}
	for _, v := range []*string{b.EncryptionCertificate, b.EncryptionCertificateID, b.NotificationQueryOptions, b.NotificationURLAppID} {
		if v != nil && *v != "" {
			return nil, res, allot.Errorf(events.CodeInvalidRequest, "encryptionCertificate, encryptionCertificateId, notificationQueryOptions and notificationUrlAppId are not supported.")
		}
	}
	rawRes, err := required("resource", b.Resource)
	if err != nil {
		return nil, res, err
	}
	if res, err = events.ParseResource(rawRes); err != nil {
		return nil, res, err
	}
	sub := &sqlstore.Subscription{TenantID: p.Tenant.ID, Resource: res.String(), CreatorID: p.GUID}
	if p.Kind == store.PrincipalClient {
		sub.ApplicationID = p.GUID
	}
	ct, err := required("changeType", b.ChangeType)
	if err != nil {
		return nil, res, err
	}
	if sub.ChangeType, err = events.ParseChangeType(ct); err != nil {
		return nil, res, err
	}
	if sub.NotificationURL, err = required("notificationUrl", b.NotificationURL); err != nil {
		return nil, res, err
	}
	if err := events.CheckURL(hooks, "notificationUrl", sub.NotificationURL); err != nil {
		return nil, res, err
	}
	if b.LifecycleNotificationURL != nil && *b.LifecycleNotificationURL != "" {
		sub.LifecycleURL = strings.TrimSpace(*b.LifecycleNotificationURL)
		if err := events.CheckURL(hooks, "lifecycleNotificationUrl", sub.LifecycleURL); err != nil {
			return nil, res, err
		}
	}
	exp, err := required("expirationDateTime", b.ExpirationDateTime)
	if err != nil {
		return nil, res, err
	}
	if sub.Expiration, err = parseExpiration(exp); err != nil {
		return nil, res, err
	}
	if err := events.CheckExpiration(now, sub.Expiration); err != nil {
		return nil, res, err
	}
	if b.ClientState != nil {
		sub.ClientState = *b.ClientState
		if err := events.CheckClientState(sub.ClientState); err != nil {
			return nil, res, err
		}
	}
	tls := ""
	if b.LatestSupportedTLSVersion != nil {
		tls = *b.LatestSupportedTLSVersion
	}
	if sub.TLSVersion, err = events.ParseTLSVersion(tls); err != nil {
		return nil, res, err
	}
	return sub, res, nil
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b subscriptionBody
	if err := decodeBody(r, &b, "microsoft.graph.subscription", subscriptionReadOnly...); err != nil {
		return err
	}
	sub, res, err := newSubscription(s.limits.Webhooks, p, &b, time.Now())
	if err != nil {
		return err
	}
	if effectivePerms(p)&permFor(res) == 0 {
		return forbidden(p, permFor(res))
	}
	if res.ID != "" {
		if err := s.checkSubscribedObject(r, p, res); err != nil {
			return err
		}
	}
	existing, err := s.st.Subscriptions(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	if len(existing) >= maxSubscriptions {
		return allot.Errorf(allot.EForbidden, "The tenant has %d subscriptions, the most allowed; delete some first.", maxSubscriptions)
	}
	if err := s.handshake.Validate(r.Context(), sub.NotificationURL); err != nil {
		return err
	}
	if sub.LifecycleURL != "" && sub.LifecycleURL != sub.NotificationURL {
		if err := s.handshake.Validate(r.Context(), sub.LifecycleURL); err != nil {
			return err
		}
	}
	sub.GUID = newGUID()
	if err := s.st.CreateSubscription(r.Context(), sub); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, subscriptionJSON(s.baseURL(r), sub, true))
	return nil
}

// checkSubscribedObject refuses a subscription to a user or group that
// does not exist.
func (s *Server) checkSubscribedObject(r *http.Request, p *store.Principal, res events.Resource) error {
	if res.Kind == "users" {
		found, err := s.st.UsersByGUID(r.Context(), p.Tenant.ID, []string{res.ID})
		if err == nil && found[res.ID] == nil {
			err = allot.Errorf(allot.ENotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", res.ID)
		}
		return err
	}
	found, err := s.st.GroupsByGUID(r.Context(), p.Tenant.ID, []string{res.ID})
	if err == nil && found[res.ID] == nil {
		err = allot.Errorf(allot.ENotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", res.ID)
	}
	return err
}

// subscriptionJSON renders a subscription as Graph does.
func subscriptionJSON(base string, sub *sqlstore.Subscription, entity bool) map[string]any {
	m := map[string]any{
		"id":                        sub.GUID,
		"resource":                  sub.Resource,
		"applicationId":             nullable(sub.ApplicationID),
		"changeType":                sub.ChangeType,
		"clientState":               nullable(sub.ClientState),
		"notificationUrl":           sub.NotificationURL,
		"notificationQueryOptions":  nil,
		"lifecycleNotificationUrl":  nullable(sub.LifecycleURL),
		"expirationDateTime":        events.FormatTime(sub.Expiration),
		"creatorId":                 sub.CreatorID,
		"includeResourceData":       false,
		"latestSupportedTlsVersion": sub.TLSVersion,
		"encryptionCertificate":     nil,
		"encryptionCertificateId":   nil,
		"notificationUrlAppId":      nil,
	}
	if entity {
		m["@odata.context"] = base + "/v1.0/$metadata#subscriptions/$entity"
	}
	return m
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	subs, err := s.st.Subscriptions(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	vals := make([]map[string]any, 0, len(subs))
	for _, sub := range subs {
		vals = append(vals, subscriptionJSON("", sub, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.baseURL(r) + "/v1.0/$metadata#subscriptions", "value": vals})
	return nil
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	sub, err := s.st.SubscriptionByGUID(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, subscriptionJSON(s.baseURL(r), sub, true))
	return nil
}

type subscriptionPatch struct {
	ExpirationDateTime *string `json:"expirationDateTime"`
	NotificationURL    *string `json:"notificationUrl"`
}

// patchSubscription renews a subscription (expirationDateTime) or moves it
// to another notificationUrl, which must pass the handshake.
func (s *Server) patchSubscription(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b subscriptionPatch
	if err := decodeBody(r, &b, "microsoft.graph.subscription", "id", "resource", "changeType", "clientState", "applicationId", "creatorId",
		"lifecycleNotificationUrl", "latestSupportedTlsVersion", "includeResourceData"); err != nil {
		return err
	}
	sub, err := s.st.SubscriptionByGUID(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	exp, url := sub.Expiration, sub.NotificationURL
	if b.ExpirationDateTime != nil {
		if exp, err = parseExpiration(*b.ExpirationDateTime); err != nil {
			return err
		}
		if err := events.CheckExpiration(time.Now(), exp); err != nil {
			return err
		}
	}
	if b.NotificationURL != nil && *b.NotificationURL != url {
		url = strings.TrimSpace(*b.NotificationURL)
		if err := events.CheckURL(s.limits.Webhooks, "notificationUrl", url); err != nil {
			return err
		}
		if err := s.handshake.Validate(r.Context(), url); err != nil {
			return err
		}
	}
	if err := s.st.UpdateSubscription(r.Context(), p.Tenant.ID, sub.GUID, exp, url); err != nil {
		return err
	}
	sub.Expiration, sub.NotificationURL = exp, url
	writeJSON(w, http.StatusOK, subscriptionJSON(s.baseURL(r), sub, true))
	return nil
}

func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.DeleteSubscription(r.Context(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
