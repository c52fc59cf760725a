package bpf

import (
	"testing"
	"time"

	"github.com/vigil-project/vigil/internal/hist"
)

func TestLatencySummary(t *testing.T) {
	var h hist.Hist
	h.Init(latencyBounds())
	if s := latencySummary(&h); s != (LatencySummary{}) {
		t.Errorf("empty: %+v", s)
	}
	for _, d := range []time.Duration{-time.Second, 300 * time.Nanosecond, 3 * time.Microsecond, time.Minute} {
		h.Observe(d)
	}
	// A minute is beyond the last bucket (2^23 µs), which bounds it.
	want := LatencySummary{Samples: 4, P50: time.Microsecond, P99: (1 << 23) * time.Microsecond, Max: (1 << 23) * time.Microsecond}
	if s := latencySummary(&h); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}
