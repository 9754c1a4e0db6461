package sqlstore

import (
	"slices"
	"testing"
)

func TestChangeBatchIDsRoundTrip(t *testing.T) {
	for _, ids := range [][]int64{nil, {1}, {1, 2, 3}, {5, 1000, 1 << 40, 1<<40 + 1}} {
		got, err := decodeIDs(encodeIDs(ids))
		if err != nil || !slices.Equal(got, ids) {
			t.Errorf("decode(encode(%v)) = %v, %v", ids, got, err)
		}
	}
	if _, err := decodeIDs([]byte{0x80}); err == nil {
		t.Error("a truncated varint decodes")
	}
}
