package bpf

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// benchOpenTraced is the cost of open+close with the probes attached and
// this process reported (a reader drains the rings meanwhile), under o.
func benchOpenTraced(b *testing.B, o Options) {
	testenv.RequireRoot(b)
	path := filepath.Join(b.TempDir(), "f")
	os.WriteFile(path, nil, 0o644)
	o.SelfPID = -1
	o.Types = []event.Type{event.TypeOpen}
	p, err := Load(o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	r, err := NewReader(p, ReaderOptions{Types: []event.Type{event.TypeOpen}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(*event.Event) {}) }()
	defer func() { cancel(); <-done }()
	before, _ := p.Drops()
	limBefore, _ := p.Limited()
	// The probe's own time per call, from the kernel's BPF statistics:
	// what the loop's wall time, shared with the reader and the rest of
	// the machine, blurs.
	if st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
		defer st.Close()
	}
	s0, _ := p.objs.TpOpenat.Stats()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for b.Loop() {
		fd, err := unix.Open(path, unix.O_RDONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
	if s1, err := p.objs.TpOpenat.Stats(); err == nil && s0 != nil && s1.RunCount > s0.RunCount {
		b.ReportMetric(float64(s1.Runtime-s0.Runtime)/float64(s1.RunCount-s0.RunCount), "probe-ns/op")
	}
	after, _ := p.Drops()
	limAfter, _ := p.Limited()
	b.ReportMetric(float64(after[event.TypeOpen]-before[event.TypeOpen])/float64(b.N), "drops/op")
	b.ReportMetric(float64(limAfter[event.TypeOpen]-limBefore[event.TypeOpen])/float64(b.N), "limited/op")
}

// The kernel side's cost per open: with the rate limit's bucket checked
// on every record but never reached (a rate of 1e9/s), with no limit at
// all, and with the default limit, which a loop like this one exceeds
// (its records are then counted instead of copied).
func BenchmarkOpenTraced(b *testing.B) {
	b.Run("bucket", func(b *testing.B) { benchOpenTraced(b, Options{RateLimit: 1e9}) })
	b.Run("nolimit", func(b *testing.B) { benchOpenTraced(b, Options{RateLimit: -1}) })
	b.Run("default", func(b *testing.B) { benchOpenTraced(b, Options{}) })
}
