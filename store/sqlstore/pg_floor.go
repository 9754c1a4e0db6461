package sqlstore

import (
	"context"
	"time"

	"allot"
)

// pgFloor is the PostgreSQL floor: COPY of sorted rows into a scratch table.
func (s *Store) pgFloor(ctx context.Context, n int) (time.Duration, error) {
	return 0, allot.Errorf(allot.EInvalid, "the PostgreSQL floor is not measured yet")
}
