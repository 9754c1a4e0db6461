// Package odata parses the OData query options that Microsoft Graph accepts on
// list requests ($filter, $top, $select, $count, $skiptoken, $search and
// $orderby) and encodes the opaque keyset cursors allot hands out as
// $skiptoken values.
//
// The package only parses; it does not know which properties a resource has.
// Callers validate field names (case-insensitively, as Graph does) and turn the
// parsed expressions into queries. Every error returned by this package is an
// *Error whose message is written for the API caller.
package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error is a problem with a request's query options. Its Message is a complete
// sentence that can be returned to the API caller as is, typically in a 400
// Bad Request response.
type Error struct {
	// Message describes what is wrong and, where possible, what is supported.
	Message string
}

// Error returns the message meant for the API caller.
func (e *Error) Error() string { return e.Message }

// errorf builds an *Error from a format string.
func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// ValueKind tells which kind of literal a Value holds.
type ValueKind int

// The kinds of literal a $filter expression can compare against. The zero
// ValueKind is not a valid kind, so a zero Value is recognisably unset.
const (
	// KindString is a string in single quotes; the unquoted text is in Value.Str.
	KindString ValueKind = iota + 1
	// KindBool is true or false; the value is in Value.Bool.
	KindBool
	// KindInt is a whole number; the value is in Value.Int.
	KindInt
	// KindNull is the null literal.
	KindNull
	// KindGUID is an unquoted GUID; its lower-case text is in Value.Str.
	KindGUID
	// KindDateTime is an unquoted date and time such as 2024-05-01T00:00:00Z
	// (or a date such as 2024-05-01, meaning its midnight UTC); the value is
	// in Value.Time, in UTC.
	KindDateTime
)

// String returns the name of the kind, such as "string" or "GUID".
func (k ValueKind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindBool:
		return "boolean"
	case KindInt:
		return "integer"
	case KindNull:
		return "null"
	case KindGUID:
		return "GUID"
	case KindDateTime:
		return "date and time"
	}
	return "ValueKind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a literal in a $filter expression: a string in single quotes (a
// quote inside the string is written as two quotes), a boolean, an integer,
// null, an unquoted GUID, or an unquoted date and time. Only the field matching Kind is meaningful.
type Value struct {
	// Kind tells which of the other fields holds the value.
	Kind ValueKind
	// Str is the unquoted text of a string, or the lower-case text of a GUID.
	Str string
	// Bool is the value of a boolean literal.
	Bool bool
	// Int is the value of an integer literal.
	Int int64
	// Time is the value of a date and time literal, in UTC.
	Time time.Time
}

// String returns the value as an OData literal, so that it can be put back
// into a $filter expression: strings are quoted with embedded quotes doubled.
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
	case KindBool:
		return strconv.FormatBool(v.Bool)
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindNull:
		return "null"
	case KindGUID:
		return v.Str
	case KindDateTime:
		return v.Time.UTC().Format(time.RFC3339Nano)
	}
	return "<invalid value>"
}
