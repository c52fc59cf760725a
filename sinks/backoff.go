package sinks

import (
	"math/rand/v2"
	"time"
)

// Backoff is the wait before retry n+1 (n from 0) of a sink: a uniform
// draw from 0 to base·2ⁿ, capped at limit ("full jitter"), so that the
// hosts of a fleet that lost the same endpoint do not come back in step.
func Backoff(base, limit time.Duration, n int) time.Duration {
	d := limit
	// The shift is checked: n grows without bound while an endpoint stays
	// down, and base<<n would overflow.
	if n < 32 && base<<n < limit && base<<n > 0 {
		d = base << n
	}
	return rand.N(d + 1)
}
