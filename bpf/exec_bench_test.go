package bpf

import (
	"context"
	"os/exec"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// The exec probe's own time per exec, from the kernel's BPF statistics
// (the fork and exec of /bin/true around it cost a thousand times more,
// which would hide it in the loop's wall time). The children's stdin,
// stdout and stderr are /dev/null, a pipe and a pipe.
func BenchmarkExecTraced(b *testing.B) {
	testenv.RequireRoot(b)
	o := Options{SelfPID: -1, RateLimit: -1, Types: []event.Type{event.TypeExec}}
	p, err := Load(o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	r, err := NewReader(p, ReaderOptions{Types: o.Types})
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
	s0, _ := p.objs.TpExec.Stats()
	for b.Loop() {
		if _, err := exec.Command("/bin/true").Output(); err != nil {
			b.Fatal(err)
		}
	}
	if s1, err := p.objs.TpExec.Stats(); err == nil && s0 != nil && s1.RunCount > s0.RunCount {
		b.ReportMetric(float64(s1.Runtime-s0.Runtime)/float64(s1.RunCount-s0.RunCount), "probe-ns/op")
	}
}
