package bpf

import (
	"testing"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// The user-space cost of one open record: decode, enrich, JSON.
func BenchmarkPipelineOpen(b *testing.B) {
	raw := sampleRecords(b)["open"]
	procs := process.New(process.Options{})
	procs.Exec(&event.Process{PID: 4242, PPID: 1, Name: "cat", Exe: "/usr/bin/cat", Argv: []string{"cat"}, CgroupID: 77})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk}
	var d Record
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		if err := r.dec.Decode(raw, &d); err != nil {
			b.Fatal(err)
		}
		ev := r.handle(&d)
		out = event.AppendJSON(out[:0], ev)
	}
}
