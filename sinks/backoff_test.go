package sinks

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const base, limit = 200 * time.Millisecond, 10 * time.Second
	for n := range 70 {
		want := limit
		if n < 6 {
			want = base << n
		}
		for range 20 {
			if d := Backoff(base, limit, n); d < 0 || d > want {
				t.Fatalf("Backoff(%v, %v, %d) = %v, want 0 to %v", base, limit, n, d, want)
			}
		}
	}
}
