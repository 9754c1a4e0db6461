package store

import "time"

// Seat history intervals: the length of one point of a seat history.
const (
	IntervalHour  = "hour"
	IntervalDay   = "day"
	IntervalWeek  = "week"  // ISO weeks, Monday 00:00 UTC
	IntervalMonth = "month" // calendar months, UTC
)

// SeatPoint is a product's seat counters over one interval of its history:
// the counts at the end of the interval (or now, for the current one) and
// the highest consumed count it saw.
type SeatPoint struct {
	Start    time.Time // start of the interval, UTC
	Enabled  int
	Consumed int
	Waiting  int
	// PeakConsumed is the highest consumed count in the interval: that at
	// its start or one a change in it left.
	PeakConsumed int
}

// HistoryQuery asks for the seat history of one product.
type HistoryQuery struct {
	Product  string // skuId, subscribedSku id or skuPartNumber
	From, To time.Time
	Interval string // IntervalHour, IntervalDay, IntervalWeek or IntervalMonth
	Top      int    // at most this many points (0: no limit)
	// At most one of Group (a group's id, its GUID), Department and
	// UsageLocation narrows the history to the product's seats held and
	// awaited by the group's members through it, by the users of a
	// department, or by the users of a usage location; enabled seats stay
	// the product's.
	Group                     string
	Department, UsageLocation *string
}

// AssignmentRow is one user's license of one product with every source that
// grants it: the licenseAssignments report.
type AssignmentRow struct {
	UserID                                     string // GUID
	UserPrincipalName, DisplayName, Department string
	AccountEnabled                             bool
	SkuID, SkuPartNumber, ProductName          string
	// State is Active when a source gives the user a seat, Error otherwise.
	State string
	// Direct is whether the user holds it directly; Groups names the groups
	// that grant it, in source order.
	Direct bool
	Groups []string
	// Errors are allot's codes of the sources in error (deduplicated).
	Errors []string
}

// AssignmentQuery selects rows of the licenseAssignments report.
type AssignmentQuery struct {
	Product string // skuId or skuPartNumber; "" for every product
	// DisabledOnly keeps the seats of users whose account is disabled.
	DisabledOnly bool
	// After is the cursor of the previous page's last row (zero: from the start).
	After AssignmentCursor
	Limit int // at most this many rows; 0 for all
}

// AssignmentCursor is the position of a row: its user's and product's internal ids.
type AssignmentCursor struct{ User, Product int64 }

// Utilization is a product's seats now: bought, in use, waiting, and held
// by disabled users.
type Utilization struct {
	SkuID, SkuPartNumber, ProductName string
	Enabled, Consumed, Waiting        int
	// DisabledUsers is the number of seats held by users whose account is disabled.
	DisabledUsers int
}

// Available is the number of seats bought and not assigned.
func (u Utilization) Available() int { return max(0, u.Enabled-u.Consumed) }

// Percent is the share of bought seats in use, 0–100 (0 without seats).
func (u Utilization) Percent() float64 {
	if u.Enabled == 0 {
		return 0
	}
	return float64(int(float64(u.Consumed)*1000/float64(u.Enabled)+0.5)) / 10
}

// Price terms.
const (
	TermMonthly = "monthly"
	TermAnnual  = "annual"
)

// Price is a product's unit price: an amount in minor units (cents) per
// seat and term, its ISO 4217 currency, and the end of the commitment.
type Price struct {
	Currency      string
	UnitPrice     int64  // minor units per seat and term
	Term          string // TermMonthly or TermAnnual
	CommitmentEnd *time.Time
}

// MonthsPerTerm is the number of months the price covers.
func (p Price) MonthsPerTerm() int64 {
	if p.Term == TermAnnual {
		return 12
	}
	return 1
}

// ProductCost is one product's spend in a month.
type ProductCost struct {
	SkuID, SkuPartNumber, ProductName string
	Price                             Price
	// SeatDays is the sum over the month's days of the seats bought at the
	// end of each day (days after now carry the current count);
	// AssignedSeatDays the same for seats in use.
	SeatDays, AssignedSeatDays int64
	// Billed is the cost of the seats bought, prorated by day; Assigned
	// that of the seats in use; Unused that of the seats bought and not
	// assigned plus the seats of disabled users, now, for the whole month.
	Billed, Assigned, Unused int64
	UnusedSeats              int // not assigned + held by disabled users, now
}

// DepartmentCost is what one department's seats of one currency cost a
// month, at its users' current licenses.
type DepartmentCost struct {
	Department string // "" for users without one
	Currency   string
	Seats      int
	Cost       int64 // minor units
}

// CostStatement is the showback statement of a month.
type CostStatement struct {
	Month       time.Time // first day, UTC
	Days        int
	Products    []ProductCost    // priced products, by skuPartNumber
	Departments []DepartmentCost // by department, then currency
}
