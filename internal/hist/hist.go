package hist

import (
	"slices"
	"sync/atomic"
	"time"
)

// Hist counts durations in buckets with fixed upper bounds. Its counters
// are exported, atomics, so that an exporter can read them as they are.
type Hist struct {
	bounds []time.Duration
	// Buckets[i] counts observations at most bounds[i] (and above
	// bounds[i-1]); the last bucket, one past the bounds, the rest.
	// Not cumulative.
	Buckets  []atomic.Uint64
	Count    atomic.Uint64
	SumNanos atomic.Uint64 // of the observations, negative ones as 0
}

// Init sets the bounds, ascending, and clears the counters. It must
// happen before the first Observe: a zero Hist has no buckets.
func (h *Hist) Init(bounds []time.Duration) {
	h.bounds = bounds
	h.Buckets = make([]atomic.Uint64, len(bounds)+1)
	h.Count.Store(0)
	h.SumNanos.Store(0)
}

// Observe counts d in its bucket.
func (h *Hist) Observe(d time.Duration) {
	d = max(d, 0)
	i, _ := slices.BinarySearch(h.bounds, d) // the first bound >= d
	h.Buckets[i].Add(1)
	h.SumNanos.Add(uint64(d))
	h.Count.Add(1)
}

// Snapshot is a copy of the bucket counts, read one by one while Observe
// may run.
type Snapshot struct {
	Bounds []time.Duration
	Counts []uint64 // as Hist.Buckets
	Total  uint64   // the sum of Counts
}

// Snapshot copies the bucket counts.
func (h *Hist) Snapshot() Snapshot {
	s := Snapshot{Bounds: h.bounds, Counts: make([]uint64, len(h.Buckets))}
	for i := range h.Buckets {
		s.Counts[i] = h.Buckets[i].Load()
		s.Total += s.Counts[i]
	}
	return s
}

// Percentile returns the upper bound of the bucket the pct-th percentile
// falls in, 0 without observations. The bucket above every bound reports
// the last bound: there is no better upper bound to give.
func (s Snapshot) Percentile(pct uint64) time.Duration {
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if s.Total > 0 && seen*100 >= s.Total*pct {
			return s.bound(i)
		}
	}
	return 0
}

// Max returns the upper bound of the highest non-empty bucket, 0
// without observations.
func (s Snapshot) Max() time.Duration {
	for i := len(s.Counts) - 1; i >= 0; i-- {
		if s.Counts[i] > 0 {
			return s.bound(i)
		}
	}
	return 0
}

func (s Snapshot) bound(i int) time.Duration {
	return s.Bounds[min(i, len(s.Bounds)-1)]
}
