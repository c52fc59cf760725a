package bpf

import (
	"time"

	"github.com/vigil-project/vigil/internal/hist"
)

// One record in latencySampleEvery has its kernel-to-reader latency
// measured: a clock read per record would cost more than decoding it.
const latencySampleEvery = 16

// latencyBounds are power-of-two microsecond buckets, 1 µs to about 8 s:
// the spread from an idle host to a reader that has fallen far behind.
func latencyBounds() []time.Duration {
	b := make([]time.Duration, 24)
	for i := range b {
		b[i] = time.Duration(1<<i) * time.Microsecond
	}
	return b
}

// LatencySummary gives upper bounds of the sampled latency quantiles.
type LatencySummary struct {
	Samples  uint64
	P50, P99 time.Duration // upper bound of the bucket the quantile falls in
	Max      time.Duration // upper bound of the highest non-empty bucket
}

func latencySummary(h *hist.Hist) LatencySummary {
	s := h.Snapshot()
	return LatencySummary{Samples: s.Total, P50: s.Percentile(50), P99: s.Percentile(99), Max: s.Max()}
}
