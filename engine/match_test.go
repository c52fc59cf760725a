package engine

import "testing"

// TestEvalBounds: a time on a bound counts in that bound's bucket, as
// Prometheus's le says, so the durations must be the exported seconds
// exactly.
func TestEvalBounds(t *testing.T) {
	for i, d := range evalBounds() {
		if d.Seconds() != EvalBuckets[i] {
			t.Errorf("bound %d is %v, not %gs", i, d, EvalBuckets[i])
		}
	}
}
