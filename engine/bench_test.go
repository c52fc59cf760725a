package engine

import (
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// A host's event mix: mostly opens of libraries, config and /proc files,
// some execs of ordinary tools, a few connects.
func eventMix(t testing.TB) []*event.Event {
	base := map[string]any{"proc.name": "bash", "proc.exe": "/usr/bin/bash", "proc.pname": "sshd", "proc.uid": 1000, "user.name": "alice",
		"proc.ancestors": []any{"sshd", "systemd"}, "proc.cwd": "/home/alice"}
	mix := []map[string]any{
		{"evt.type": "open", "file.path": "/etc/ld.so.cache", "file.flags": 0x80000},
		{"evt.type": "open", "file.path": "/usr/lib/x86_64-linux-gnu/libc.so.6", "file.flags": 0x80000},
		{"evt.type": "open", "file.path": "/proc/self/stat", "file.flags": 0},
		{"evt.type": "open", "file.path": "/home/alice/src/main.go", "file.flags": 0},
		{"evt.type": "open", "file.path": "/tmp/go-build123/b001/_pkg_.a", "file.flags": 0x241},
		{"evt.type": "open", "file.path": "/etc/hosts", "file.flags": 0x80000},
		{"evt.type": "open", "file.path": "/etc/passwd", "file.flags": 0x80000},
		{"evt.type": "open", "file.path": "/usr/share/zoneinfo/UTC", "file.flags": 0},
		{"evt.type": "open", "file.path": "/home/alice/.cache/x", "file.flags": 0x42},
		{"evt.type": "open", "file.path": "/sys/fs/cgroup/cpu.max", "file.flags": 0},
		{"evt.type": "open", "file.path": "/dev/null", "file.flags": 0x1},
		{"evt.type": "open", "file.path": "/usr/lib/locale/C.utf8/LC_CTYPE", "file.flags": 0x80000},
		{"evt.type": "open", "file.path": "/var/lib/dpkg/status", "file.flags": 0},
		{"evt.type": "open", "file.path": "/etc/shadow", "file.flags": 0, "proc.name": "sshd"},
		{"evt.type": "exec", "proc.name": "ls", "proc.exe": "/usr/bin/ls", "proc.args": []any{"-la"}},
		{"evt.type": "exec", "proc.name": "git", "proc.exe": "/usr/bin/git", "proc.args": []any{"status"}},
		{"evt.type": "exec", "proc.name": "go", "proc.exe": "/usr/local/go/bin/go", "proc.args": []any{"build", "./..."}},
		{"evt.type": "exec", "proc.name": "grep", "proc.exe": "/usr/bin/grep", "proc.args": []any{"-r", "TODO", "."}},
		{"evt.type": "connect", "net.family": "ipv4", "net.proto": "tcp", "net.dip": "140.82.121.4", "net.dport": 443},
		{"evt.type": "connect", "net.family": "unix", "net.path": "/run/systemd/journal/socket"},
	}
	var out []*event.Event
	for _, m := range mix {
		f := map[string]any{}
		for k, v := range base {
			f[k] = v
		}
		for k, v := range m {
			f[k] = v
		}
		out = append(out, ev(t, f))
	}
	return out
}

// BenchmarkBuiltinMix: ns per event and rules evaluated per event with the
// built-in rules; allocations are per event (field conversions), and
// TestNoAllocationsPerRule shows none are per rule.
func BenchmarkBuiltinMix(b *testing.B) {
	rs := builtinRuleset(b)
	evs := eventMix(b)
	m := NewMatcher()
	var alerts []*event.Alert
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		alerts = m.Match(rs, evs[i%len(evs)], alerts[:0])
		i++
	}
	b.ReportMetric(float64(m.Evaluations.Load())/float64(i), "rules/event")
}

// BenchmarkBuiltinByType: the built-in rules on one event of each kind the
// make bench loops cause (an exec of /bin/true, a loopback TCP connect), to
// see what vigil run spends per loop iteration in the engine.
func BenchmarkBuiltinByType(b *testing.B) {
	rs := builtinRuleset(b)
	base := map[string]any{"proc.name": "loop", "proc.exe": "/tmp/loop", "proc.pname": "bash", "proc.uid": 0, "user.name": "root",
		"proc.ancestors": []any{"bash", "sshd", "systemd"}, "proc.cwd": "/root"}
	for _, tt := range []struct {
		name string
		ev   map[string]any
	}{
		{"exec", map[string]any{"evt.type": "exec", "proc.name": "true", "proc.exe": "/usr/bin/true", "proc.pname": "loop", "proc.ancestors": []any{"loop", "bash", "sshd", "systemd"}}},
		{"connect", map[string]any{"evt.type": "connect", "net.family": "ipv4", "net.proto": "tcp", "net.dip": "127.0.0.1", "net.dport": 40000}},
	} {
		f := map[string]any{}
		for k, v := range base {
			f[k] = v
		}
		for k, v := range tt.ev {
			f[k] = v
		}
		e := ev(b, f)
		b.Run(tt.name, func(b *testing.B) {
			m := NewMatcher()
			var alerts []*event.Alert
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				alerts = m.Match(rs, e, alerts[:0])
				n++
			}
			b.ReportMetric(float64(m.Evaluations.Load())/float64(n), "rules/event")
		})
	}
}
