package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"allot"
)

// SCIM error types (RFC 7644 §3.12, Table 9).
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
	typeInvalidVers   = "invalidVers"
	typeSensitive     = "sensitive"
)

const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// Error is a SCIM error: an HTTP status, a scimType (for 400 and 409) and
// a detail for people.
type Error struct {
	Status   int
	SCIMType string
	Detail   string
}

func (e *Error) Error() string { return e.Detail }

func errf(status int, scimType, format string, args ...any) *Error {
	d := format
	if len(args) > 0 {
		d = sprintf(format, args...)
	}
	return &Error{Status: status, SCIMType: scimType, Detail: d}
}

// asError maps any error to a SCIM error, once.
func asError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errf(413, "", "The request body is larger than %d bytes.", mbe.Limit)
	}
	var sq interface{ SQLState() string }
	if errors.As(err, &sq) && (sq.SQLState() == "22021" || sq.SQLState() == "22P05") {
		return errf(400, typeInvalidValue, "The request contains a character that cannot be stored, such as U+0000 (NUL); remove it.")
	}
	msg := allot.ErrorMessage(err)
	switch code := allot.ErrorCode(err); code {
	case allot.EInvalid:
		if strings.HasPrefix(msg, "filter:") {
			return errf(400, typeInvalidFilter, "%s", msg)
		}
		return errf(400, typeInvalidValue, "%s", msg)
	case allot.ENotFound:
		return errf(404, "", "%s", msg)
	case allot.EConflict:
		return errf(409, typeUniqueness, "%s", msg)
	case allot.EUnauthorized:
		return errf(401, "", "%s", msg)
	case allot.EForbidden:
		return errf(403, "", "%s", msg)
	case allot.ETooLarge:
		return errf(413, "", "%s", msg)
	case allot.EUnsupportedMedia:
		return errf(415, "", "%s", msg)
	case allot.ETooManyRequests:
		return errf(429, "", "%s", msg)
	case allot.EUnavailable:
		return errf(503, "", "%s", msg)
	case allot.EMethodNotAllowed:
		return errf(405, "", "%s", msg)
	case allot.EInternal:
		return errf(500, "", "%s", msg)
	default:
		// Licensing refusals (a group that still assigns licenses, a change
		// that would cost licenses): the request conflicts with the state.
		return errf(409, "", "%s", msg)
	}
}

// Fail writes err as a SCIM error response.
func (h *Handler) Fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 && e.Status != 501 {
		h.log.Error("SCIM request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == 401 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="allot"`)
	}
	if e.Status == 429 || e.Status == 503 {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	body := map[string]any{"schemas": []string{errorSchema}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
	if e.SCIMType != "" {
		body["scimType"] = e.SCIMType
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
