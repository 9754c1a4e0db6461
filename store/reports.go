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
}
