package events

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"allot"
)

// HandshakeTimeout is how long a notification URL has to answer Graph's
// validation request.
const HandshakeTimeout = 10 * time.Second

// Handshaker runs Graph's validation handshake: a POST to the URL with
// ?validationToken=…, which must answer 200 with the token as its body
// (text/plain) within HandshakeTimeout.
type Handshaker struct {
	Client  *http.Client
	Timeout time.Duration
}

// NewHandshaker returns a handshaker on the client (nil: its own, without
// redirects, as Graph does not follow them).
func NewHandshaker(c *http.Client) *Handshaker {
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Handshaker{Client: c, Timeout: HandshakeTimeout}
}

// validationToken returns a token worded as Graph words its own.
func validationToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("Validation: Testing client application reachability for subscription Request-Id: %x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Validate runs the handshake with the URL and refuses it with Graph's
// error when it does not echo the token in time.
func (h *Handshaker) Validate(ctx context.Context, rawURL string) error {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		return invalid("notificationUrl '%s' is not a URL.", rawURL)
	}
	tok := validationToken()
	q := u.Query()
	q.Set("validationToken", tok)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return invalid("notificationUrl '%s' is not a URL.", rawURL)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	res, err := h.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return allot.Errorf(CodeInvalidRequest, "Subscription validation request timed out.")
		}
		return allot.Errorf(CodeValidation, "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, int64(len(tok))+1024))
	if err != nil {
		return allot.Errorf(CodeInvalidRequest, "Subscription validation request timed out.")
	}
	if res.StatusCode != http.StatusOK {
		return allot.Errorf(CodeValidation, "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	}
	if strings.TrimSpace(string(body)) != tok {
		return allot.Errorf(CodeValidation, "Subscription validation request failed. Response must exactly match validationToken query parameter.")
	}
	return nil
}
