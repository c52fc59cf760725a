package hist

import (
	"sync"
	"testing"
	"time"
)

func TestObserveBuckets(t *testing.T) {
	var h Hist
	h.Init([]time.Duration{10, 20, 40})
	for _, tc := range []struct {
		d      time.Duration
		bucket int
	}{
		{-5, 0}, {0, 0}, {10, 0}, // a bound belongs to its bucket, as Prometheus's le
		{11, 1}, {20, 1},
		{21, 2}, {40, 2},
		{41, 3}, {time.Hour, 3}, // above every bound
	} {
		before := h.Buckets[tc.bucket].Load()
		h.Observe(tc.d)
		if h.Buckets[tc.bucket].Load() != before+1 {
			t.Errorf("Observe(%v) did not count in bucket %d", tc.d, tc.bucket)
		}
	}
	if n, sum := h.Count.Load(), time.Duration(h.SumNanos.Load()); n != 9 || sum != 10+11+20+21+40+41+time.Hour {
		t.Errorf("Count, Sum = %d, %v", n, sum)
	}
}

func TestSnapshot(t *testing.T) {
	bounds := []time.Duration{1, 2, 4, 8}
	for _, tc := range []struct {
		name          string
		obs           []time.Duration
		p50, p99, max time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", []time.Duration{3}, 4, 4, 4},
		{"half and half", []time.Duration{1, 8}, 1, 8, 8},
		{"p99 below the one outlier", append(repeat(1, 99), 4), 1, 1, 4},
		{"above every bound reports the last", []time.Duration{100}, 8, 8, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Hist
			h.Init(bounds)
			for _, d := range tc.obs {
				h.Observe(d)
			}
			s := h.Snapshot()
			if s.Total != uint64(len(tc.obs)) || s.Percentile(50) != tc.p50 || s.Percentile(99) != tc.p99 || s.Max() != tc.max {
				t.Errorf("total %d p50 %v p99 %v max %v; want %d %v %v %v",
					s.Total, s.Percentile(50), s.Percentile(99), s.Max(), len(tc.obs), tc.p50, tc.p99, tc.max)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// TestConcurrentRead is for -race: reading while observing needs no lock.
func TestConcurrentRead(t *testing.T) {
	var h Hist
	h.Init([]time.Duration{time.Microsecond})
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			h.Observe(time.Nanosecond)
		}
	})
	for range 100 {
		_ = h.Snapshot().Max()
	}
	wg.Wait()
	if h.Snapshot().Total != 1000 {
		t.Error("observations lost")
	}
}
