package bpf

import (
	"sync/atomic"
	"time"
)

// One record in latencySampleEvery has its kernel-to-reader latency
// measured: a clock read per record would cost more than decoding it.
const latencySampleEvery = 16

// latencyHist is a lock-free histogram with power-of-two microsecond
// buckets: bucket i counts latencies below 2^i µs.
type latencyHist struct {
	buckets [24]atomic.Uint64
}

func (h *latencyHist) observe(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	i := 0
	for i < len(h.buckets)-1 && us >= 1<<i {
		i++
	}
	h.buckets[i].Add(1)
}

// LatencySummary gives upper bounds of the sampled latency quantiles.
type LatencySummary struct {
	Samples  uint64
	P50, P99 time.Duration // upper bound of the bucket the quantile falls in
	Max      time.Duration // upper bound of the highest non-empty bucket
}

func (h *latencyHist) summary() LatencySummary {
	var counts [24]uint64
	var s LatencySummary
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		s.Samples += counts[i]
	}
	if s.Samples == 0 {
		return s
	}
	bound := func(i int) time.Duration { return time.Duration(uint64(1)<<i) * time.Microsecond }
	var seen uint64
	for i, c := range counts {
		seen += c
		if s.P50 == 0 && seen*2 >= s.Samples {
			s.P50 = bound(i)
		}
		if s.P99 == 0 && seen*100 >= s.Samples*99 {
			s.P99 = bound(i)
		}
		if c > 0 {
			s.Max = bound(i)
		}
	}
	return s
}
