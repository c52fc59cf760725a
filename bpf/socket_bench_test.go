package bpf

import (
	"context"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// socketLoop is socket(2)+close(2) of a unix datagram socket, b.N times.
func socketLoop(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for b.Loop() {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}

// The socket probe's cost per call: the loop without probes, and with the
// socket type reported (every record sent: a rate of 1e9/s) and the
// probe's own time from the kernel's BPF statistics.
func BenchmarkSocketTraced(b *testing.B) {
	b.Run("untraced", socketLoop)
	b.Run("traced", func(b *testing.B) {
		testenv.RequireRoot(b)
		p, err := Load(Options{SelfPID: -1, Types: []event.Type{event.TypeSocket}, RateLimit: 1e9})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		r, err := NewReader(p, ReaderOptions{Types: []event.Type{event.TypeSocket}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, func(*event.Event) {}) }()
		defer func() { cancel(); <-done }()
		if st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
			defer st.Close()
		}
		before, _ := p.Drops()
		s0, _ := p.objs.TpSocket.Stats()
		socketLoop(b)
		if s1, err := p.objs.TpSocket.Stats(); err == nil && s0 != nil && s1.RunCount > s0.RunCount {
			b.ReportMetric(float64(s1.Runtime-s0.Runtime)/float64(s1.RunCount-s0.RunCount), "probe-ns/op")
		}
		after, _ := p.Drops()
		b.ReportMetric(float64(after[event.TypeSocket]-before[event.TypeSocket])/float64(b.N), "drops/op")
	})
}
