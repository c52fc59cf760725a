package spool

import (
	"bytes"
	"testing"
)

// FuzzScan feeds arbitrary segment contents to the decoder that Open
// trusts: it must not panic or over-allocate, must stop inside the data,
// and every record it accepts must be exactly what appendRecord writes.
// The seed corpus (testdata/fuzz/FuzzScan) has intact, popped, torn and
// corrupt segments.
func FuzzScan(f *testing.F) {
	f.Add(appendRecord(appendRecord(nil, []byte(`{"rule":"a"}`)), []byte(`{"rule":"b"}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs int
		end, torn, err := scan(bytes.NewReader(data), int64(len(data)), func(off int64, popped bool, payload []byte) {
			recs++
			want := appendRecord(nil, payload)
			if popped {
				want[0] = statePopped
			}
			if off+int64(len(want)) > int64(len(data)) || !bytes.Equal(data[off:off+int64(len(want))], want) {
				t.Fatalf("record at %d (%q) does not re-encode to its bytes", off, payload)
			}
		})
		if err != nil {
			t.Fatalf("scan of a byte slice failed: %v", err)
		}
		if end > int64(len(data)) || torn != (end < int64(len(data))) {
			t.Fatalf("end %d, torn %v for %d bytes", end, torn, len(data))
		}
		if recs == 0 && end != 0 {
			t.Fatalf("end %d without a record", end)
		}
	})
}
