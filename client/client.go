// Package client is a typed HTTP client for allot's APIs: the
// Graph-compatible surface under /v1.0 and the admin API under /allot/v1.
// The allot CLI and the end-to-end tests use it; it has no dependency on the
// server's packages, so it talks to allot only over HTTP.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one allot server with one token.
type Client struct {
	// BaseURL is the server's root, such as https://allot.example.com.
	BaseURL string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// HTTP is the transport; nil means a client with a 60 s timeout.
	HTTP *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// ConfirmLicenseLoss, when set, confirms with every request that the
	// change may take licenses away from people as a side effect (the
	// Allot-Confirm-License-Loss header). Confirming returns such a copy.
	ConfirmLicenseLoss bool
}

// Confirming returns a copy of the client whose requests confirm that they
// may take licenses away from people (see LicenseLoss).
func (c *Client) Confirming() *Client {
	cc := *c
	cc.ConfirmLicenseLoss = true
	return &cc
}

// New returns a client for the server at baseURL.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, UserAgent: "allot-cli",
		HTTP: &http.Client{Timeout: 5 * time.Minute}}
}

// Error is an error answer of the server: the HTTP status, allot's precise
// code and message (the Graph envelope's error.details[0]), Graph's
// top-level code and message, and the remaining details.
type Error struct {
	Status int
	// Code is allot's precise code, such as notFound, invalid or a
	// licensing code such as noSeatsAvailable; Message says what to do.
	Code    string
	Message string
	// GraphCode and GraphMessage are the envelope's top-level error.code
	// and error.message, as Microsoft Graph words the same failure
	// (Request_BadRequest, Request_ResourceNotFound, ...).
	GraphCode    string
	GraphMessage string
	RequestID    string
	// Details are the envelope's error.details after allot's own entry:
	// for licenseLossNotConfirmed, one entry per license someone would lose.
	Details []ErrorDetail
}

// ErrorDetail is one entry of a Graph error's details. For a license loss:
// Code is the reason (removed, prerequisiteMissing, ...), Message says
// "<userPrincipalName> would lose <SKU> (<reason>)" and Target is the
// user's id.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target"`
}

// MaxErrorDetails is the most details the server lists in one error: a
// refusal with this many may stand for more losses.
const MaxErrorDetails = 100

// CodeLicenseLoss is the error code of a change refused because it would
// take licenses away from people as a side effect; the same request sent
// by a Confirming client goes ahead.
const CodeLicenseLoss = "licenseLossNotConfirmed"

// LicenseLoss returns the server's refusal when err is one because the
// change would take licenses away (409 licenseLossNotConfirmed); its
// Details list who would lose what.
func LicenseLoss(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && e.Code == CodeLicenseLoss {
		return e, true
	}
	return nil, false
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// IsNotFound tells whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// ErrorCode returns the server's error code of err, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Do sends a request with a JSON body (nil for none) and decodes a JSON
// answer into out (nil to discard it). path is relative to BaseURL or an
// absolute URL on the same server (an @odata.nextLink).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	if body == nil {
		return c.DoRaw(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return c.DoRaw(ctx, method, path, "application/json", b, out)
}

// DoRaw is Do with a body already encoded as contentType ("" and nil for
// none), such as a text/csv file.
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.BaseURL + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.ConfirmLicenseLoss {
		req.Header.Set("Allot-Confirm-License-Loss", "true")
	}
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		if rd != nil && attempt > 0 {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err = c.httpClient().Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, &Error{Status: 0, Code: "", Message: fmt.Sprintf("Cannot reach the allot server at %s: %v", c.BaseURL, unwrapURLError(err))}
		}
		// Rate limited: wait as told and retry a few times.
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 5 {
			d := time.Second
			if s := resp.Header.Get("Retry-After"); s != "" {
				var n int
				if _, err := fmt.Sscan(s, &n); err == nil && n > 0 && n < 60 {
					d = time.Duration(n) * time.Second
				}
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			select {
			case <-time.After(d):
				continue
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		break
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, decodeError(resp, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("the answer of %s %s is not the expected JSON: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func decodeError(resp *http.Response, data []byte) error {
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
			Details []ErrorDetail `json:"details"`
		} `json:"error"`
	}
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("request-id")}
	if json.Unmarshal(data, &env) == nil && env.Error.Message != "" {
		e.GraphCode, e.GraphMessage = env.Error.Code, env.Error.Message
		e.Code, e.Message, e.Details = env.Error.Code, env.Error.Message, env.Error.Details
		if d := env.Error.Details; len(d) > 0 && d[0].Code != "" {
			// allot's precise error comes first; a server without it
			// (or another Graph service) leaves the top-level one.
			e.Code, e.Message, e.Details = d[0].Code, d[0].Message, d[1:]
		}
		if env.Error.InnerError.RequestID != "" {
			e.RequestID = env.Error.InnerError.RequestID
		}
		return e
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	e.Message = fmt.Sprintf("The server answered %s: %s", resp.Status, msg)
	return e
}

// page is one page of an OData collection.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
	Count    *int   `json:"@odata.count"`
}

// ListOptions are the OData options of a list request.
type ListOptions struct {
	Filter string // $filter expression
	Top    int    // page size; 0 for the server's default
	All    bool   // follow @odata.nextLink to the end
	Limit  int    // stop after this many items (0: no limit)
}

func (o ListOptions) query() string {
	q := url.Values{}
	if o.Filter != "" {
		q.Set("$filter", o.Filter)
	}
	top := o.Top
	if o.Limit > 0 && (top == 0 || top > o.Limit) {
		top = o.Limit
	}
	if top > 0 {
		q.Set("$top", fmt.Sprint(min(top, 999)))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// list fetches the pages of a collection. more reports whether items were
// left (a next page exists that was not fetched).
func list[T any](ctx context.Context, c *Client, path string, o ListOptions) (items []T, more bool, err error) {
	next := path + o.query()
	for next != "" {
		var p page[T]
		if _, err := c.Do(ctx, http.MethodGet, next, nil, &p); err != nil {
			return nil, false, err
		}
		items = append(items, p.Value...)
		next = p.NextLink
		if o.Limit > 0 && len(items) >= o.Limit {
			if len(items) > o.Limit {
				items = items[:o.Limit]
				more = true
			}
			return items, more || next != "", nil
		}
		if !o.All {
			return items, next != "", nil
		}
	}
	return items, false, nil
}

func esc(s string) string { return url.PathEscape(s) }
