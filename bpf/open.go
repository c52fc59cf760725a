package bpf

import (
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine/event"
)

// Open checks that this kernel can run vigil (tracefs and securityfs
// mounted, the features vigil needs), loads and attaches the probes and
// opens the reader: the start of every command that reads events. The
// caller closes the probes.
func Open(o Options, ro ReaderOptions) (*Probes, *Reader, error) {
	if err := features.EnsureFS(); err != nil {
		return nil, nil, err
	}
	if err := features.Probe().Err(); err != nil {
		return nil, nil, err
	}
	p, err := Load(o)
	if err != nil {
		return nil, nil, err
	}
	r, err := NewReader(p, ro)
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return p, r, nil
}

// Sum adds up per-type counters (Drops, Filtered).
func Sum(counts map[event.Type]uint64) uint64 {
	var n uint64
	for _, v := range counts {
		n += v
	}
	return n
}

// StoppedAttrs are the counters a command logs when it stops, as slog
// key-value pairs: records, decode errors, kernel drops, rate-limited and
// filtered events by type, flood records, and the delivery latency.
func StoppedAttrs(p *Probes, r *Reader) []any {
	drops, _ := p.Drops()
	limited, _ := p.Limited()
	filtered, _ := p.Filtered()
	s := r.Stats()
	return []any{"records", s.Records, "decode_errors", s.DecodeErrors, "kernel_drops", drops, "kernel_rate_limited", limited,
		"floods", s.Floods, "kernel_filtered", filtered,
		"latency_samples", s.Latency.Samples, "latency_p50", s.Latency.P50, "latency_p99", s.Latency.P99, "latency_max", s.Latency.Max}
}
