package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/events"
	"allot/odata"
)

// graphFault is how the Graph surface answers an error code: the HTTP
// status, Graph's top-level error code and, where Graph's own message for
// the same failure is documented or widely reported, that message (worded
// with the error's target, such as the id not found). allot's precise code
// and message always follow in error.details[0].
type graphFault struct {
	status  int
	code    string
	message func(target string) string // nil, or "" returned: allot's message
}

// graphFaults is the one mapping from error codes to Graph's answers. A code
// not listed (the licensing codes without a Graph wording of their own)
// answers 400 Request_BadRequest with allot's message.
var graphFaults = map[allot.Code]graphFault{
	events.CodeValidation:     {http.StatusBadRequest, string(events.CodeValidation), nil},
	events.CodeInvalidRequest: {http.StatusBadRequest, string(events.CodeInvalidRequest), nil},
	allot.EInvalid:            {http.StatusBadRequest, "Request_BadRequest", nil},
	allot.ENotFound:           {http.StatusNotFound, "Request_ResourceNotFound", graphNotFound},
	allot.EConflict:           {http.StatusBadRequest, "Request_BadRequest", nil},
	// The message for a request without a token is the request's own
	// (writeError): Graph's "Access token is empty.".
	allot.EUnauthorized: {http.StatusUnauthorized, "InvalidAuthenticationToken", nil},
	allot.EForbidden: {http.StatusForbidden, "Authorization_RequestDenied",
		fixed("Insufficient privileges to complete the operation.")},
	allot.ETooLarge:         {http.StatusRequestEntityTooLarge, "Request_EntityTooLarge", nil},
	allot.EUnknownSegment:   {http.StatusBadRequest, "BadRequest", nil},
	allot.EUnsupportedQuery: {http.StatusBadRequest, "Request_UnsupportedQuery", nil},
	allot.EMethodNotAllowed: {http.StatusMethodNotAllowed, "Request_BadRequest", nil},
	allot.EUnsupportedMedia: {http.StatusUnsupportedMediaType, "UnsupportedMediaType", nil},
	allot.ETooManyRequests:  {http.StatusTooManyRequests, "TooManyRequests", nil},
	allot.EUnavailable:      {http.StatusServiceUnavailable, "ServiceNotAvailable", nil},
	allot.EInternal:         {http.StatusInternalServerError, "InternalServerError", nil},
	// No Graph counterpart: Graph has no confirmation of side-effect losses
	// nor allot's sign-in with an authenticator app.
	allot.ELicenseLoss:  {http.StatusConflict, string(allot.ELicenseLoss), nil},
	allot.ETOTPRequired: {http.StatusUnauthorized, string(allot.ETOTPRequired), nil},
	// Licensing refusals of a direct assignment, in Graph's words.
	allot.EUsageLocationNeeded: {http.StatusBadRequest, "Request_BadRequest",
		fixed("License assignment cannot be done for user with invalid usage location.")},
	allot.ENoSeats:      {http.StatusBadRequest, "Request_BadRequest", graphNoSeats},
	allot.ESeatsReduced: {http.StatusBadRequest, "Request_BadRequest", graphNoSeats},
}

func fixed(msg string) func(string) string { return func(string) string { return msg } }

func graphNotFound(target string) string {
	if target == "" {
		return ""
	}
	return fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", target)
}

func graphNoSeats(target string) string {
	if target == "" {
		return ""
	}
	return fmt.Sprintf("Subscription with SKU %s does not have any available licenses.", target)
}

// faultOf returns the Graph answer of code c.
func faultOf(c allot.Code) graphFault {
	if f, ok := graphFaults[c]; ok {
		return f
	}
	return graphFault{http.StatusBadRequest, "Request_BadRequest", nil}
}

// status maps an error code to its HTTP status and Graph error code.
func status(c allot.Code) (int, string) {
	f := faultOf(c)
	return f.status, f.code
}

// graphMessage is the top-level message of err's Graph error: Graph's
// wording where graphFaults has one, otherwise allot's message.
func graphMessage(r *http.Request, code allot.Code, err error) string {
	if code == allot.EUnauthorized && r.Header.Get("Authorization") == "" {
		return "Access token is empty."
	}
	if f := faultOf(code); f.message != nil {
		if m := f.message(allot.ErrorTarget(err)); m != "" {
			return m
		}
	}
	return allot.ErrorMessage(err)
}

// graphBody is the Graph error envelope of err: Graph's code and message
// on top, allot's precise code, message and target in details[0], then
// (for a refused license loss) one entry per license someone would lose.
func graphBody(r *http.Request, err error) graphError {
	code := allot.ErrorCode(err)
	var ge graphError
	_, ge.Error.Code = status(code)
	ge.Error.Message = graphMessage(r, code, err)
	ge.Error.InnerError.Date = time.Now().UTC().Format("2006-01-02T15:04:05")
	ge.Error.InnerError.RequestID = requestIDOf(r)
	ge.Error.InnerError.ClientID = clientRequestIDOf(r)
	ge.Error.Details = append([]errorDetail{{Code: string(code), Message: allot.ErrorMessage(err),
		Target: allot.ErrorTarget(err)}}, lossDetails(err)...)
	return ge
}

type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date      string `json:"date"`
			RequestID string `json:"request-id"`
			ClientID  string `json:"client-request-id"`
		} `json:"innerError"`
		// Details: allot's precise error first, then, for a refused
		// license loss, who would lose what.
		Details []errorDetail `json:"details"`
	} `json:"error"`
}

// errorDetail is one entry of a Graph error's details.
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target"`
}

// maxErrorDetails bounds the losses a refusal lists.
const maxErrorDetails = 100

func lossDetails(err error) []errorDetail {
	var le *allot.LossError
	if !errors.As(err, &le) {
		return nil
	}
	var out []errorDetail
	for _, l := range le.Losses[:min(len(le.Losses), maxErrorDetails)] {
		out = append(out, errorDetail{Code: string(l.Reason), Target: l.UserGUID,
			Message: fmt.Sprintf("%s would lose %s (%s)", l.UserPrincipalName, l.SkuPartNumber, l.Reason)})
	}
	return out
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = allot.Errorf(allot.ETooLarge, "The request body is larger than %d bytes.", mbe.Limit)
	}
	var oe *odata.Error
	if errors.As(err, &oe) {
		err = allot.Errorf(allot.EInvalid, "%s", oe.Message)
	}
	// PostgreSQL refuses text it cannot store (U+0000 in a path, $filter or
	// body): that is bad input, not a server fault.
	var se interface{ SQLState() string }
	if errors.As(err, &se) && (se.SQLState() == "22021" || se.SQLState() == "22P05") {
		err = allot.Errorf(allot.EInvalid, "The request contains a character that cannot be stored, such as U+0000 (NUL); remove it.")
	}
	code := allot.ErrorCode(err)
	st, _ := status(code)
	if code == allot.EInternal && ClientGone(r, err) {
		// Nobody reads the answer: not a server failure.
		s.log.Debug("client went away", "method", r.Method, "path", r.URL.Path, "request-id", requestIDOf(r), "err", err)
		w.WriteHeader(StatusClientClosed)
		return
	}
	if code == allot.EInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request-id", requestIDOf(r), "err", err)
	}
	ge := graphBody(r, err)
	// A client asked to slow down or to come back (the database stayed busy
	// with concurrent changes) is told when.
	if (code == allot.ETooManyRequests || code == allot.EUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, st, ge)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"InternalServerError","message":"encoding the response failed"}}`, 500)
		return
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// decodeBody reads a JSON object into dst (a pointer to a struct). Keys that
// the struct does not have are refused: readOnly names the ones that are
// known properties but cannot be written, for a clearer message. OData
// annotations (@odata.type) are ignored.
func decodeBody(r *http.Request, dst any, typeName string, readOnly ...string) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return allot.Errorf(allot.EInvalid, "The request body is empty; send a JSON object.")
	}
	return decodeJSONBytes(data, dst, typeName, readOnly...)
}

// decodeJSONBytes is decodeBody on a body already read.
func decodeJSONBytes(data []byte, dst any, typeName string, readOnly ...string) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return allot.Errorf(allot.EInvalid, "The request body is not a valid JSON object: %s.", jsonErr(err))
	}
	known := jsonFields(dst)
	clean := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		if strings.HasPrefix(k, "@odata.") || strings.HasPrefix(k, "@") {
			continue
		}
		if _, ok := known[k]; !ok {
			for _, ro := range readOnly {
				if strings.EqualFold(ro, k) {
					return allot.Errorf(allot.EInvalid, "Property '%s' is read-only and cannot be set.", k)
				}
			}
			return allot.Errorf(allot.EInvalid, "Property '%s' does not exist on type '%s' or cannot be written.", k, typeName)
		}
		clean[k] = v
	}
	b, _ := json.Marshal(clean)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return allot.Errorf(allot.EInvalid, "Invalid value in the request body: %s.", jsonErr(err))
	}
	return nil
}

// readBody reads the whole request body, decoded from its Content-Encoding
// (encoding.go) and within the body limit. Every JSON body is read here. A
// body past the limit is a *http.MaxBytesError (413), a corrupt one EInvalid;
// one that did not arrive within the read timeout, or broke off, is the
// client's fault (400), and a client gone stays context.Canceled.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err == nil {
		return data, nil
	}
	var mbe *http.MaxBytesError
	var ne net.Error
	var ae *allot.Error
	switch {
	case errors.As(err, &mbe), errors.As(err, &ae):
		return nil, err
	case errors.As(err, &ne) && ne.Timeout():
		return nil, allot.Errorf(allot.EInvalid, "The request body did not arrive within the server's read timeout; send it faster or in smaller parts.")
	case r.Context().Err() != nil:
		return nil, err
	}
	return nil, allot.Errorf(allot.EInvalid, "Reading the request body failed: the body broke off (%v).", errors.Unwrap(err))
}

func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("property '%s' must be %s, not %s", te.Field, kindName(te.Type), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	return err.Error()
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return t.String()
}

func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if name == "" {
			name = t.Field(i).Name
		}
		if name != "-" {
			out[name] = true
		}
	}
	return out
}

// list writes an OData collection page; next is the cursor for the next page
// ("" at the end).
func (s *Server) list(w http.ResponseWriter, r *http.Request, context string, items []map[string]any, next string, count int, sel []string) {
	out := map[string]any{"@odata.context": s.baseURL(r) + "/v1.0/$metadata#" + context}
	vals := make([]map[string]any, len(items))
	for i, it := range items {
		vals[i] = selectFields(it, sel)
	}
	out["value"] = vals
	if count >= 0 {
		out["@odata.count"] = count
	}
	if next != "" {
		q := r.URL.Query()
		q.Del("$skiptoken")
		q.Del("skiptoken")
		q.Set("$skiptoken", next)
		out["@odata.nextLink"] = s.baseURL(r) + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// selectFields keeps only the $select-ed properties (and OData annotations).
func selectFields(m map[string]any, sel []string) map[string]any {
	if len(sel) == 0 {
		return m
	}
	out := map[string]any{}
	for k, v := range m {
		if strings.HasPrefix(k, "@odata.") {
			out[k] = v
		}
	}
	for _, f := range sel {
		for k, v := range m {
			if strings.EqualFold(k, f) {
				out[k] = v
			}
		}
	}
	return out
}

// wholeList parses the query options of a list that is answered whole (no
// paging, filtering, counting or sorting): $select and $top are accepted,
// the other options are refused rather than silently ignored.
func wholeList(r *http.Request) (odata.Query, error) {
	q, err := odata.ParseQuery(r.URL.Query(), 999, 999)
	if err != nil {
		return q, err
	}
	bad := ""
	switch {
	case q.Filter != nil:
		bad = "$filter"
	case q.Count:
		bad = "$count"
	case q.SkipToken != "":
		bad = "$skiptoken"
	case q.Search != "":
		bad = "$search"
	case q.OrderBy != "":
		bad = "$orderby"
	}
	if bad != "" {
		return q, allot.Errorf(allot.EInvalid, "%s is not supported on %s: the list is answered whole.", bad, r.URL.Path)
	}
	return q, nil
}

// query parses the OData list options of a request.
func (s *Server) query(r *http.Request) (odata.Query, int64, error) {
	q, err := odata.ParseQuery(r.URL.Query(), s.limits.DefaultTop, s.limits.MaxTop)
	if err != nil {
		return q, 0, err
	}
	// Lists do not search or sort: refuse rather than answer as if they did.
	if q.Search != "" {
		return q, 0, allot.Errorf(allot.EInvalid, "$search is not supported on %s; use $filter=startswith(displayName,'...') instead.", r.URL.Path)
	}
	if q.OrderBy != "" {
		return q, 0, allot.Errorf(allot.EInvalid, "$orderby is not supported on %s; this list comes in the order its items were created.", r.URL.Path)
	}
	after, err := afterCursor(r, q)
	return q, after, err
}

// afterCursor decodes the id cursor of $skiptoken (0 without one).
func afterCursor(r *http.Request, q odata.Query) (int64, error) {
	var after int64
	if q.SkipToken != "" {
		keys, err := odata.DecodeSkipToken(q.SkipToken)
		if err != nil || len(keys) != 2 || keys[0] != r.URL.Path {
			return 0, allot.Errorf(allot.EInvalid, "$skiptoken is not valid for this list; follow @odata.nextLink as returned.")
		}
		if after, err = strconv.ParseInt(keys[1], 10, 64); err != nil {
			return 0, allot.Errorf(allot.EInvalid, "$skiptoken is not valid for this list; follow @odata.nextLink as returned.")
		}
	}
	return after, nil
}

func skipToken(r *http.Request, next int64) string {
	if next == 0 {
		return ""
	}
	return odata.EncodeSkipToken(r.URL.Path, strconv.FormatInt(next, 10))
}

// odataRef extracts the object id from an @odata.id reference such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id}.
func odataRef(ref string) string {
	if u, err := url.Parse(ref); err == nil && u.Path != "" {
		ref = u.Path
	}
	ref = strings.TrimSuffix(ref, "/")
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	// Also accept directoryObjects('{id}').
	if i := strings.Index(ref, "('"); i >= 0 {
		ref = strings.TrimSuffix(ref[i+2:], "')")
	}
	return ref
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
