package bpf

import (
	"encoding/binary"
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
		{"setxattr", event.TypeXattr, "fsetxattr", 0, event.File{Path: "/usr/bin/ping", RawPath: "/usr/bin/ping"},
			func(e *event.Event) any { return e.Xattr }, event.Xattr{Name: "security.capability", Op: "set", Size: 20, Flags: 1, Caps: 1 << 13, CapsEffective: true},
			"file=/usr/bin/ping op=set name=security.capability size=20 caps=cap_net_raw effective=true syscall=fsetxattr res=0"},
		{"removexattr", event.TypeXattr, "lremovexattr", -61, event.File{Path: "/srv/a", RawPath: "a"},
			func(e *event.Event) any { return e.Xattr }, event.Xattr{Name: "user.x", Op: "remove"},
			"file=/srv/a op=remove name=user.x syscall=lremovexattr res=-61"},
		{"chattr", event.TypeChattr, "ioctl", 0, event.File{Path: "/etc/hosts", RawPath: "/etc/hosts"},
			func(e *event.Event) any { return []any{e.Chattr, e.Chattr.Set(), e.Chattr.Cleared()} }, []any{event.Chattr{Flags: 0x80010}, uint32(0x10), uint32(0)},
			"file=/etc/hosts set=immutable flags=0x80010 syscall=ioctl res=0"},
		{"fssetxattr", event.TypeChattr, "ioctl", 0, event.File{Path: "/srv/f", RawPath: "/srv/f"},
			func(e *event.Event) any { return []any{e.Chattr, e.Chattr.Set(), e.Chattr.Cleared()} }, []any{event.Chattr{Flags: 0x40, OldFlags: 0x30}, uint32(0), uint32(0x30)},
			"file=/srv/f cleared=immutable,append flags=0x40 syscall=ioctl res=0"},
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

// capData is a security.capability value (struct vfs_cap_data) of
// revision rev (1, 2 or 3) granting the permitted set prm (revision 3:
// with root uid 0).
func capData(rev uint32, effective bool, prm uint64) []byte {
	magic := rev << 24
	if effective {
		magic |= 1
	}
	v := binary.LittleEndian.AppendUint32(nil, magic)
	v = binary.LittleEndian.AppendUint32(v, uint32(prm))
	v = binary.LittleEndian.AppendUint32(v, 0) // inheritable
	if rev == 1 {
		return v
	}
	v = binary.LittleEndian.AppendUint32(v, uint32(prm>>32))
	v = binary.LittleEndian.AppendUint32(v, 0)
	if rev == 3 {
		v = binary.LittleEndian.AppendUint32(v, 0) // rootid
	}
	return v
}

// The head of a security.capability value by revision; values the kernel
// refuses grant nothing.
func TestFileCaps(t *testing.T) {
	for _, c := range []struct {
		name string
		v    []byte
		prm  uint64
		eff  bool
	}{
		{"revision 2", capData(2, true, 1<<13|1<<40), 1<<13 | 1<<40, true},
		{"revision 2, not effective", capData(2, false, 1<<21), 1 << 21, false},
		{"revision 3", capData(3, true, 1<<12), 1 << 12, true},
		{"revision 1", capData(1, true, 1<<7), 1 << 7, true},
		{"revision 2 cut short", capData(2, true, 1<<13)[:19], 0, false},
		{"revision 4", append([]byte{1, 0, 0, 4}, capData(3, true, 1<<13)[4:]...), 0, false},
		{"three bytes", []byte{1, 0, 0}, 0, false},
		{"empty", nil, 0, false},
	} {
		if prm, eff := fileCaps(c.v); prm != c.prm || eff != c.eff {
			t.Errorf("%s: permitted %#x effective %v, want %#x %v", c.name, prm, eff, c.prm, c.eff)
		}
	}
}

// FSSETXATTR's xflags and the inode's S_* flags as FS_*_FL flags, bit by
// bit; bits without an equivalent are dropped.
func TestInodeFlagMaps(t *testing.T) {
	for _, c := range []struct {
		name     string
		f        func(uint32) uint32
		in, want uint32
	}{
		{"xflag immutable", xflagsFL, 0x8, event.FSImmutableFL},
		{"xflag append", xflagsFL, 0x10, event.FSAppendFL},
		{"xflag sync", xflagsFL, 0x20, event.FSSyncFL},
		{"xflag noatime", xflagsFL, 0x40, event.FSNoatimeFL},
		{"xflag nodump", xflagsFL, 0x80, event.FSNodumpFL},
		{"xflag realtime, prealloc, dax", xflagsFL, 0x1 | 0x2 | 0x8000, 0},
		{"S_SYNC", inodeFlags, 0x1, event.FSSyncFL},
		{"S_NOATIME", inodeFlags, 0x2, event.FSNoatimeFL},
		{"S_APPEND", inodeFlags, 0x4, event.FSAppendFL},
		{"S_IMMUTABLE", inodeFlags, 0x8, event.FSImmutableFL},
		{"S_DIRSYNC", inodeFlags, 0x40, event.FSDirsyncFL},
		{"S_DEAD, S_NOQUOTA, S_NOCMTIME", inodeFlags, 0x10 | 0x20 | 0x80, 0},
	} {
		if got := c.f(c.in); got != c.want {
			t.Errorf("%s: %#x -> %#x, want %#x", c.name, c.in, got, c.want)
		}
	}
}

// fileCaps takes any bytes a process passes: it never panics, and a value
// it accepts has a revision whose size it has.
func FuzzFileCaps(f *testing.F) {
	for _, rev := range []uint32{1, 2, 3} {
		f.Add(capData(rev, true, 1<<13|1<<33))
	}
	f.Add([]byte{0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, v []byte) {
		prm, eff := fileCaps(v)
		if prm == 0 && !eff {
			return
		}
		rev := binary.LittleEndian.Uint32(v) >> 24
		if size := map[uint32]int{1: 12, 2: 20, 3: 24}[rev]; size == 0 || len(v) < size {
			t.Fatalf("accepted %x: revision %d, %d bytes", v, rev, len(v))
		}
		if rev == 1 && prm>>32 != 0 {
			t.Fatalf("revision 1 granted capabilities above 31: %#x", prm)
		}
	})
}
