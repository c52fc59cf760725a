package bpf

import (
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// decodeSample decodes and enriches the sample record name.
func decodeSample(t *testing.T, name string) *event.Event {
	t.Helper()
	r := &Reader{dec: NewDecoder(), procs: process.New(process.Options{}), users: process.NewUsers("/etc/passwd"), env: new(atomic.Pointer[map[string]bool])}
	r.clock, _ = newClock()
	var d Record
	if err := r.dec.Decode(sampleRecords(t)[name], &d); err != nil {
		t.Fatal(err)
	}
	return r.handle(&d)
}

// The records of the types that change a file without opening it for
// writing: their file, arguments and text keys.
func TestFileChangeRecords(t *testing.T) {
	for _, c := range []struct {
		name    string
		typ     event.Type
		syscall string
		res     int64
		file    event.File
		got     func(*event.Event) any
		want    any
		text    string
	}{
		{"truncate", event.TypeTruncate, "truncate", 0, event.File{Path: "/var/x", RawPath: "log/../x"},
			func(e *event.Event) any { return e.Trunc }, event.Truncate{Length: 4096}, "file=/var/x length=4096 res=0"},
		{"ftruncate", event.TypeTruncate, "ftruncate", -22, event.File{Path: "/var/log/y", RawPath: "/var/log/y"},
			func(e *event.Event) any { return e.Trunc }, event.Truncate{Length: -1}, "file=/var/log/y length=-1 syscall=ftruncate res=-22"},
		{"chown", event.TypeChown, "fchownat", 0, event.File{Path: "/etc/shadow", RawPath: "shadow", Flags: 0x100},
			func(e *event.Event) any { return e.Chown }, event.Chown{UID: 0, GID: -1}, "file=/etc/shadow owner=0:-1 syscall=fchownat res=0"},
		{"fchown", event.TypeChown, "fchown", -1, event.File{Path: "/usr/bin", RawPath: "/usr/bin"},
			func(e *event.Event) any { return e.Chown }, event.Chown{UID: -1, GID: 65534}, "file=/usr/bin owner=-1:65534 syscall=fchown res=-1"},
		{"utimensat", event.TypeUtimes, "utimensat", 0, event.File{Path: "/tmp/f", RawPath: "f", Flags: 0x100},
			func(e *event.Event) any { return []any{e.Utimes, e.Utimes.Explicit()} }, []any{event.Utimes{ATime: 1e18 + 5, MTime: event.UtimeOmit}, true},
			"file=/tmp/f atime=2001-09-09T01:46:40.000000005Z mtime=omit syscall=utimensat res=0"},
		{"utime", event.TypeUtimes, "utime", 0, event.File{Path: "/etc/passwd", RawPath: "/etc/passwd"},
			func(e *event.Event) any { return []any{e.Utimes, e.Utimes.Explicit()} }, []any{event.Utimes{ATime: event.UtimeNow, MTime: event.UtimeNow}, false},
			"file=/etc/passwd atime=now mtime=now syscall=utime res=0"},
	} {
		ev := decodeSample(t, c.name)
		if ev.Type != c.typ || ev.Syscall != c.syscall || ev.Res != c.res || ev.File != c.file {
			t.Errorf("%s: type %s syscall %q res %d file %+v; want %s %q %d %+v", c.name, ev.Type, ev.Syscall, ev.Res, ev.File, c.typ, c.syscall, c.res, c.file)
		}
		if got := c.got(ev); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		// The keys after the process's.
		if _, got, _ := strings.Cut(string(event.AppendText(nil, ev)), ` exe="" `); got != c.text {
			t.Errorf("%s: text ends %q, want %q", c.name, got, c.text)
		}
	}
}

// A utime* call's times in nanoseconds, by syscall: utime's seconds,
// utimes' and futimesat's microseconds, utimensat's nanoseconds and its
// UTIME_NOW and UTIME_OMIT; no array; an unreadable one; the edges.
func TestUtimesTime(t *testing.T) {
	const (
		given = uint64(vigilVgUtimesHowVG_UTIMES_GIVEN)
		null  = uint64(vigilVgUtimesHowVG_UTIMES_NULL)
		fault = uint64(vigilVgUtimesHowVG_UTIMES_FAULT)
	)
	neg := func(n int64) uint64 { return uint64(n) }
	for _, c := range []struct {
		sc       vigilVgSyscall
		how      uint64
		sec, sub uint64
		want     int64
	}{
		{vigilVgSyscallVG_SYS_UTIME, given, 1, 999, 1e9},
		{vigilVgSyscallVG_SYS_UTIMES, given, 1, 500000, 1.5e9},
		{vigilVgSyscallVG_SYS_FUTIMESAT, given, 2, 1, 2e9 + 1000},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, 3, 7, 3e9 + 7},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, 3, utimeNow, event.UtimeNow},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, 3, utimeOmit, event.UtimeOmit},
		{vigilVgSyscallVG_SYS_UTIMES, null, 3, 7, event.UtimeNow},
		{vigilVgSyscallVG_SYS_UTIMENSAT, fault, 3, 7, event.UtimeOmit},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, neg(-1), 999999999, -3}, // -1 ns is no "now"
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, neg(-1), 999999998, -3},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, neg(-1), 0, -1e9},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, 1 << 62, 0, math.MaxInt64},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, neg(-1 << 62), 0, math.MinInt64},
		{vigilVgSyscallVG_SYS_UTIMENSAT, given, 9223372036, 9e8, math.MaxInt64},
		{vigilVgSyscallVG_SYS_UTIMES, given, neg(-9223372036), neg(-9e5), math.MinInt64}, // usec the kernel refuses
	} {
		if got := utimesTime(uint16(c.sc), c.how, c.sec, c.sub); got != c.want {
			t.Errorf("utimesTime(%d, %d, %d, %d) = %d, want %d", c.sc, c.how, c.sec, c.sub, got, c.want)
		}
	}
}
