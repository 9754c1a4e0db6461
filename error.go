package allot

import (
	"errors"
	"fmt"
)

// Code classifies an error. Each surface (HTTP, CLI) maps a code exactly once
// to its own form: an HTTP status and a Graph error code, an exit status.
type Code string

// General error codes.
const (
	EInvalid          Code = "invalid"          // the request is malformed or breaks a rule
	ENotFound         Code = "notFound"         // the object does not exist in the caller's tenant
	EConflict         Code = "conflict"         // the object already exists or the change conflicts
	EUnauthorized     Code = "unauthorized"     // no valid credentials
	EForbidden        Code = "forbidden"        // credentials lack the right
	ETooLarge         Code = "tooLarge"         // the request body is too large
	EUnsupportedMedia Code = "unsupportedMedia" // the request body's coding or type is not accepted
	EUnknownSegment   Code = "unknownSegment"   // the path names a resource that does not exist
	EMethodNotAllowed Code = "methodNotAllowed" // the path exists but not with this method
	ETooManyRequests  Code = "tooManyRequests"  // the caller is rate limited
	EUnavailable      Code = "unavailable"      // the service cannot answer now
	EInternal         Code = "internal"         // a bug or an I/O failure
	// EUnsupportedQuery is a well-formed OData query that Graph (and so
	// allot) does not answer, such as ne without ConsistencyLevel: eventual.
	EUnsupportedQuery Code = "unsupportedQuery"
	// ETOTPRequired refuses a password sign-in of an account with an
	// authenticator app when the one-time code is missing or wrong.
	ETOTPRequired Code = "totpRequired"
)

// Licensing error codes: precise reasons why a product cannot be given to a user.
const (
	ENoSeats             Code = "noSeatsAvailable"
	ESeatsReduced        Code = "seatsReducedBelowConsumption"
	EUsageLocationNeeded Code = "usageLocationMissing"
	EUsageLocationDenied Code = "usageLocationNotAllowed"
	EPrerequisiteMissing Code = "prerequisiteMissing"
	EMutuallyExclusive   Code = "mutuallyExclusive"
	EDataLocation        Code = "dataLocationNotAvailable"
	EOtherProductFailed  Code = "otherProductInGroupFailed"
	EInheritedLicense    Code = "licenseInheritedFromGroup"
	EGroupHasLicenses    Code = "groupAssignsLicenses"
	EMembershipCycle     Code = "membershipCycle"
	// ELicenseLoss refuses a change that would take licenses away from
	// people as a side effect until the request confirms it.
	ELicenseLoss Code = "licenseLossNotConfirmed"
	// EPlanDependency refuses a grant that enables a service plan while
	// disabling a plan it needs.
	EPlanDependency Code = "servicePlanDependencyMissing"
	// EAssignmentPolicy refuses an assignment the product's assignment
	// policy does not allow (a direct one of a groupOnly product, a group
	// one of a directOnly product).
	EAssignmentPolicy Code = "assignmentPolicyViolation"
)

// LicenseError maps a licensing code to the Graph licenseAssignmentState error kind.
func (c Code) LicenseError() string {
	switch c {
	case "":
		return LicenseErrNone
	case ENoSeats, ESeatsReduced:
		return LicenseErrCount
	case EUsageLocationNeeded, EUsageLocationDenied:
		return LicenseErrUsageLocation
	case EPrerequisiteMissing, EPlanDependency:
		return LicenseErrDependency
	case EMutuallyExclusive:
		return LicenseErrMutuallyExclusive
	default:
		return LicenseErrOther
	}
}

// IsLicensing tells whether c is one of the precise licensing codes.
func (c Code) IsLicensing() bool {
	switch c {
	case ENoSeats, ESeatsReduced, EUsageLocationNeeded, EUsageLocationDenied,
		EPrerequisiteMissing, EMutuallyExclusive, EDataLocation, EOtherProductFailed,
		EInheritedLicense, EPlanDependency, EAssignmentPolicy:
		return true
	}
	return false
}

// Error is allot's error: a code, the operation that failed, a message for
// people that says what to do, and the underlying cause.
type Error struct {
	Code    Code
	Op      string
	Message string
	// Target names what the error is about when there is one thing: the id
	// that was not found, the skuId without seats. Surfaces may word their
	// own message with it (Graph's "Resource '…' does not exist …").
	Target string
	Err    error
}

// Error returns the message, prefixed with the operation when there is one.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first allot Error in err's chain,
// EInternal for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Code != "" {
			return e.Code
		}
		return ErrorCode(e.Err)
	}
	return EInternal
}

// ErrorTarget returns the Target of the first allot Error in err's chain
// that has one, or "".
func ErrorTarget(err error) string {
	var e *Error
	for errors.As(err, &e) {
		if e.Target != "" {
			return e.Target
		}
		err = e.Err
	}
	return ""
}

// ErrorMessage returns the human message of err; internal errors get a generic
// message so that no detail of the implementation leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Code == EInternal || (e.Code == "" && ErrorCode(e.Err) == EInternal) {
			return "An internal error occurred. The server log has the details."
		}
		if e.Message != "" {
			return e.Message
		}
		if e.Err != nil {
			return ErrorMessage(e.Err)
		}
	}
	return "An internal error occurred. The server log has the details."
}

// Loss is one license a change would take away from one user.
type Loss struct {
	UserID    int64
	ProductID int64
	// Reason says why: the code of the state the product would be left in
	// (seatsReducedBelowConsumption, prerequisiteMissing, ...), or "removed"
	// when the change takes the product's source away.
	Reason Code
	// Explicit tells whether the change names this product for this user
	// (removing it is then the point of the change, not a side effect).
	Explicit bool
	// Names for people, filled in by the store.
	UserGUID, UserPrincipalName, SkuID, SkuPartNumber string
}

// LossReasonRemoved is a Loss's reason when the user's only source of the
// product goes away.
const LossReasonRemoved Code = "removed"

// LossError is the cause of an ELicenseLoss error: who would lose what.
type LossError struct {
	Losses []Loss
}

func (e *LossError) Error() string { return fmt.Sprintf("%d licenses would be lost", len(e.Losses)) }
