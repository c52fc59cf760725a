package bpf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/internal/testenv"
)

func init() {
	sysHelpers["truncate"] = helperTruncate
	sysHelpers["chown"] = helperChown
	sysHelpers["utimes"] = helperUtimes
	sysHelpers["xattrs"] = helperXattrs
	sysHelpers["chattr"] = helperChattr
}

// helperTruncate, in dir (which holds a file "t"):
//
//	0 truncate(dir/t, 4096)         1 ftruncate(fd of dir/t, 7)
//	2 truncate(dir/missing, 1) -> ENOENT
//	3 ftruncate(fd of dir/t, -1) -> EINVAL
func helperTruncate(dir string) (helperResult, error) {
	fd, err := unix.Open(dir+"/t", unix.O_WRONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	return helperResult{FDs: []int{
		sc(unix.SYS_TRUNCATE, cstr(dir+"/t"), 4096),
		sc(unix.SYS_FTRUNCATE, uintptr(fd), 7),
		sc(unix.SYS_TRUNCATE, cstr(dir+"/missing"), 1),
		sc(unix.SYS_FTRUNCATE, uintptr(fd), ^uintptr(0)),
	}}, nil
}

// helperChown, in dir (which holds a file "t" and a symlink "l" to it):
//
//	0 chown(dir/t, 0, 0)            1 fchown(fd of dir/t, -1, 65534)
//	2 lchown(dir/l, 65534, -1)      3 fchownat(dfd, "t", 1, 2, AT_SYMLINK_NOFOLLOW)
//	4 fchownat(fd of dir/t, "", 0, 0, AT_EMPTY_PATH)
//	5 chown(dir/missing, 0, 0) -> ENOENT
func helperChown(dir string) (helperResult, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return helperResult{}, err
	}
	fd, err := unix.Open(dir+"/t", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	const keep = 0xffffffff
	return helperResult{FDs: []int{
		sc(unix.SYS_CHOWN, cstr(dir+"/t"), 0, 0),
		sc(unix.SYS_FCHOWN, uintptr(fd), keep, 65534),
		sc(unix.SYS_LCHOWN, cstr(dir+"/l"), 65534, keep),
		sc(unix.SYS_FCHOWNAT, uintptr(dfd), cstr("t"), 1, 2, unix.AT_SYMLINK_NOFOLLOW),
		sc(unix.SYS_FCHOWNAT, uintptr(fd), cstr(""), 0, 0, unix.AT_EMPTY_PATH),
		sc(unix.SYS_CHOWN, cstr(dir+"/missing"), 0, 0),
	}}, nil
}

// helperUtimes, in dir (which holds a file "t" and a symlink "l" to it):
//
//	0 utime(dir/t, NULL)            1 utime(dir/t, {1000, 2000})
//	2 utimes(dir/t, {{3, 4}, {5, 6}})
//	3 futimesat(dfd, "t", NULL)
//	4 utimensat(AT_FDCWD, dir/t, {{7, UTIME_NOW}, {8, 9}}, 0)
//	5 utimensat(fd of dir/t, NULL, {{0, UTIME_OMIT}, {10, 11}}, 0) (futimens)
//	6 utimensat(dfd, "l", {{-1, 0}, {1, 0}}, AT_SYMLINK_NOFOLLOW)
//	7 utimensat(fd of dir/t, "", NULL, AT_EMPTY_PATH)
//	8 utimensat(AT_FDCWD, dir/missing, NULL, 0) -> ENOENT
func helperUtimes(dir string) (helperResult, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return helperResult{}, err
	}
	fd, err := unix.Open(dir+"/t", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	buf := unix.Utimbuf{Actime: 1000, Modtime: 2000}
	tv := []unix.Timeval{{Sec: 3, Usec: 4}, {Sec: 5, Usec: 6}}
	ts := [][]unix.Timespec{{{Sec: 7, Nsec: unix.UTIME_NOW}, {Sec: 8, Nsec: 9}}, {{Nsec: unix.UTIME_OMIT}, {Sec: 10, Nsec: 11}}, {{Sec: -1}, {Sec: 1}}}
	ptr := func(p unsafe.Pointer) uintptr { return uintptr(p) }
	const fdcwd = ^uintptr(99) // AT_FDCWD
	return helperResult{FDs: []int{
		sc(unix.SYS_UTIME, cstr(dir+"/t"), 0),
		sc(unix.SYS_UTIME, cstr(dir+"/t"), ptr(unsafe.Pointer(&buf))),
		sc(unix.SYS_UTIMES, cstr(dir+"/t"), ptr(unsafe.Pointer(&tv[0]))),
		sc(unix.SYS_FUTIMESAT, uintptr(dfd), cstr("t"), 0),
		sc(unix.SYS_UTIMENSAT, fdcwd, cstr(dir+"/t"), ptr(unsafe.Pointer(&ts[0][0])), 0),
		sc(unix.SYS_UTIMENSAT, uintptr(fd), 0, ptr(unsafe.Pointer(&ts[1][0])), 0),
		sc(unix.SYS_UTIMENSAT, uintptr(dfd), cstr("l"), ptr(unsafe.Pointer(&ts[2][0])), unix.AT_SYMLINK_NOFOLLOW),
		sc(unix.SYS_UTIMENSAT, uintptr(fd), cstr(""), 0, unix.AT_EMPTY_PATH),
		sc(unix.SYS_UTIMENSAT, fdcwd, cstr(dir+"/missing"), 0, 0),
	}}, nil
}

// fileChangeDir is a new directory holding the files the helpers change:
// "t", and "l", a symlink to it.
func fileChangeDir(t *testing.T) string {
	t.Helper()
	dir := tempDir(t)
	for _, f := range []string{"t"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("content"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("t", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Each truncate(2) and ftruncate(2) is an event with the file (a
// descriptor's path walked), the length asked for and the result.
func TestTruncateFields(t *testing.T) {
	c := live(t)
	dir := fileChangeDir(t)
	res, pid := runHelperCmd(t, "truncate", dir)
	wantRes(t, res, 0, 0, -int(unix.ENOENT), -int(unix.EINVAL))
	want := []struct {
		syscall   string
		path, raw string
		length    int64
	}{
		{"truncate", dir + "/t", dir + "/t", 4096},
		{"ftruncate", dir + "/t", dir + "/t", 7},
		{"truncate", dir + "/missing", dir + "/missing", 1},
		{"ftruncate", dir + "/t", dir + "/t", -1},
	}
	length, _ := event.FieldByName("truncate.length")
	for i, ev := range c.waitN(t, "truncates", len(want), byPID(pid, event.TypeTruncate)) {
		w := want[i]
		got := []any{ev.Syscall, ev.File.Path, ev.File.RawPath, length.Int(ev), ev.Res}
		if exp := []any{w.syscall, w.path, w.raw, w.length, int64(res.FDs[i])}; !reflect.DeepEqual(got, exp) {
			t.Errorf("call %d: syscall, path, raw, length, res = %v, want %v", i, got, exp)
		}
	}
}

// Each chown-family call is an event with the file (lchown's the link
// itself, fchownat's empty path with AT_EMPTY_PATH its descriptor's),
// the ids asked for (-1: unchanged), fchownat's flags and the result.
func TestChownFields(t *testing.T) {
	c := live(t)
	dir := fileChangeDir(t)
	res, pid := runHelperCmd(t, "chown", dir)
	wantRes(t, res, 0, 0, 0, 0, 0, -int(unix.ENOENT))
	want := []struct {
		syscall   string
		path, raw string
		uid, gid  int64
		flags     uint32
	}{
		{"chown", dir + "/t", dir + "/t", 0, 0, 0},
		{"fchown", dir + "/t", dir + "/t", -1, 65534, 0},
		{"lchown", dir + "/l", dir + "/l", 65534, -1, 0},
		{"fchownat", dir + "/t", "t", 1, 2, unix.AT_SYMLINK_NOFOLLOW},
		{"fchownat", dir + "/t", dir + "/t", 0, 0, unix.AT_EMPTY_PATH},
		{"chown", dir + "/missing", dir + "/missing", 0, 0, 0},
	}
	uid, _ := event.FieldByName("chown.uid")
	gid, _ := event.FieldByName("chown.gid")
	for i, ev := range c.waitN(t, "chowns", len(want), byPID(pid, event.TypeChown)) {
		w := want[i]
		got := []any{ev.Syscall, ev.File.Path, ev.File.RawPath, uid.Int(ev), gid.Int(ev), ev.File.Flags, ev.Res}
		if exp := []any{w.syscall, w.path, w.raw, w.uid, w.gid, w.flags, int64(res.FDs[i])}; !reflect.DeepEqual(got, exp) {
			t.Errorf("call %d: syscall, path, raw, uid, gid, flags, res = %v, want %v", i, got, exp)
		}
	}
}

// Each utime-family call is an event with the file (a descriptor's for
// futimens and AT_EMPTY_PATH), the times asked for in nanoseconds (-1:
// now, -2: omitted), utimensat's flags and the result.
func TestUtimesFields(t *testing.T) {
	c := live(t)
	dir := fileChangeDir(t)
	res, pid := runHelperCmd(t, "utimes", dir)
	wantRes(t, res, 0, 0, 0, 0, 0, 0, 0, 0, -int(unix.ENOENT))
	const now, omit = event.UtimeNow, event.UtimeOmit
	want := []struct {
		syscall      string
		path, raw    string
		atime, mtime int64
		flags        uint32
		explicit     bool
	}{
		{"utime", dir + "/t", dir + "/t", now, now, 0, false},
		{"utime", dir + "/t", dir + "/t", 1000e9, 2000e9, 0, true},
		{"utimes", dir + "/t", dir + "/t", 3e9 + 4000, 5e9 + 6000, 0, true},
		{"futimesat", dir + "/t", "t", now, now, 0, false},
		{"utimensat", dir + "/t", dir + "/t", now, 8e9 + 9, 0, true},
		{"utimensat", dir + "/t", dir + "/t", omit, 10e9 + 11, 0, true},
		{"utimensat", dir + "/l", "l", -1e9, 1e9, unix.AT_SYMLINK_NOFOLLOW, true},
		{"utimensat", dir + "/t", dir + "/t", now, now, unix.AT_EMPTY_PATH, false},
		{"utimensat", dir + "/missing", dir + "/missing", now, now, 0, false},
	}
	atime, _ := event.FieldByName("utimes.atime")
	mtime, _ := event.FieldByName("utimes.mtime")
	explicit, _ := event.FieldByName("utimes.explicit")
	for i, ev := range c.waitN(t, "utimes calls", len(want), byPID(pid, event.TypeUtimes)) {
		w := want[i]
		got := []any{ev.Syscall, ev.File.Path, ev.File.RawPath, atime.Int(ev), mtime.Int(ev), ev.File.Flags, explicit.Bool(ev), ev.Res}
		if exp := []any{w.syscall, w.path, w.raw, w.atime, w.mtime, w.flags, w.explicit, int64(res.FDs[i])}; !reflect.DeepEqual(got, exp) {
			t.Errorf("call %d: syscall, path, raw, atime, mtime, flags, explicit, res = %v, want %v", i, got, exp)
		}
	}
}

// touch(1) sets the times to now; touch -d and touch -r set given ones
// (timestomping): utimes.explicit tells them apart.
func TestTouchExplicit(t *testing.T) {
	c := live(t)
	touch := testenv.RequireTool(t, "touch")
	dir := fileChangeDir(t)
	ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "l"), ref, ref); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		args         []string
		atime, mtime int64
		explicit     bool
	}{
		{[]string{"touch", dir + "/t"}, event.UtimeNow, event.UtimeNow, false},
		{[]string{"touch", "-d", "@" + strconv.FormatInt(ref.Unix(), 10), dir + "/t"}, ref.UnixNano(), ref.UnixNano(), true},
		{[]string{"touch", "-m", "-r", dir + "/l", dir + "/t"}, event.UtimeOmit, ref.UnixNano(), true},
	} {
		cmd := exec.Command(touch, w.args[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", w.args, err, out)
		}
		ev := c.waitFor(t, strings.Join(w.args, " "), byPID(cmd.Process.Pid, event.TypeUtimes))
		got := []any{ev.File.Path, ev.Utimes.ATime, ev.Utimes.MTime, ev.Utimes.Explicit()}
		if exp := []any{dir + "/t", w.atime, w.mtime, w.explicit}; !reflect.DeepEqual(got, exp) {
			t.Errorf("%v: path, atime, mtime, explicit = %v, want %v", w.args, got, exp)
		}
	}
}

// The path filter of each file-changing type, on real calls: a rule on
// file.path.startsWith("/etc/") (the filter derived from it) drops, in
// the kernel, every call on a file in a temporary directory, by absolute
// path and by descriptor alike (a relative path passes: the kernel does
// not judge those); a filter on that directory lets them all through.
func TestFileChangeFilters(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	for _, w := range []struct {
		typ    event.Type
		helper string
		calls  []string // the syscalls the helper makes, in order
		rel    []string // those of them on a relative path: syscall, space, path
	}{
		{event.TypeTruncate, "truncate", []string{"truncate", "ftruncate", "truncate", "ftruncate"}, nil},
		{event.TypeChown, "chown", []string{"chown", "fchown", "lchown", "fchownat", "fchownat", "chown"}, []string{"fchownat t"}},
		{event.TypeUtimes, "utimes", []string{"utime", "utime", "utimes", "futimesat", "utimensat", "utimensat", "utimensat", "utimensat", "utimensat"},
			[]string{"futimesat t", "utimensat l"}},
		{event.TypeXattr, "xattrs", []string{"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat", "removexattrat"},
			[]string{"setxattrat t"}},
		{event.TypeChattr, "chattr", []string{"ioctl", "ioctl", "ioctl", "ioctl", "ioctl"}, nil},
	} {
		set := func(prefix string) {
			t.Helper()
			if err := c.probes.SetArgFilter(plan.ArgFilter{Files: map[event.Type]plan.FileFilter{w.typ: {First: []plan.PathRule{{Path: prefix}}}}}); err != nil {
				t.Fatal(err)
			}
		}
		set("/etc/")
		before, err := c.probes.Filtered()
		if err != nil {
			t.Fatal(err)
		}
		res, pid := runHelperCmd(t, w.helper, fileChangeDir(t))
		if w.typ == event.TypeXattr && !xattrAt(res) {
			// Linux before 6.13: the last two calls do not exist.
			w.calls, w.rel = w.calls[:len(w.calls)-2], nil
		}
		c.waitFor(t, w.helper+" helper exit", byPID(pid, event.TypeExit))
		var passed []string
		for _, e := range c.all(byPID(pid, w.typ)) {
			passed = append(passed, e.Syscall+" "+e.File.RawPath)
		}
		if !slices.Equal(passed, w.rel) {
			t.Errorf("%s: events outside /etc/ %q, want only the relative ones %q", w.typ, passed, w.rel)
		}
		after, err := c.probes.Filtered()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := after[w.typ]-before[w.typ], uint64(len(w.calls)-len(w.rel)); got < want {
			t.Errorf("filtered %s: %d more, want at least %d", w.typ, got, want)
		}

		dir := fileChangeDir(t)
		set(dir + "/")
		_, pid = runHelperCmd(t, w.helper, dir)
		var calls []string
		for _, e := range c.waitN(t, w.helper+" calls in the filter's directory", len(w.calls), byPID(pid, w.typ)) {
			calls = append(calls, e.Syscall)
		}
		if !slices.Equal(calls, w.calls) {
			t.Errorf("%s: calls %v, want %v", w.typ, calls, w.calls)
		}
	}
}

// helperXattrs, in dir (which holds a file "t" and a symlink "l" to it):
//
//	0 setxattr(dir/t, "trusted.vigil", "abc", 3, XATTR_CREATE)
//	1 lsetxattr(dir/l, "trusted.vigil", "abc", 3, 0) (the link's own)
//	2 fsetxattr(fd of dir/t, "security.capability", cap_net_raw+ep, 20, 0)
//	3 removexattr(dir/t, "trusted.vigil")
//	4 lremovexattr(dir/t, "trusted.missing") -> ENODATA
//	5 fremovexattr(fd of dir/t, "security.capability")
//	6 setxattrat(dfd, "t", 0, "trusted.at", {"xy", 2, XATTR_REPLACE}, 16) -> ENODATA
//	7 removexattrat(fd of dir/t, "", AT_EMPTY_PATH, "trusted.vigil") -> ENODATA
//
// trusted.*, not user.*: tmpfs (the kernel matrix's /tmp) has user.*
// only since Linux 6.6. setxattrat and removexattrat fail with ENOSYS
// before 6.13.
func helperXattrs(dir string) (helperResult, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return helperResult{}, err
	}
	fd, err := unix.Open(dir+"/t", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	val, caps := []byte("abc"), capData(2, true, 1<<unix.CAP_NET_RAW)
	xy := []byte("xy")
	args := struct {
		value       uint64
		size, flags uint32
	}{uint64(uintptr(unsafe.Pointer(&xy[0]))), 2, unix.XATTR_REPLACE}
	p := func(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
	return helperResult{FDs: []int{
		sc(unix.SYS_SETXATTR, cstr(dir+"/t"), cstr("trusted.vigil"), p(val), 3, unix.XATTR_CREATE),
		sc(unix.SYS_LSETXATTR, cstr(dir+"/l"), cstr("trusted.vigil"), p(val), 3, 0),
		sc(unix.SYS_FSETXATTR, uintptr(fd), cstr("security.capability"), p(caps), uintptr(len(caps)), 0),
		sc(unix.SYS_REMOVEXATTR, cstr(dir+"/t"), cstr("trusted.vigil")),
		sc(unix.SYS_LREMOVEXATTR, cstr(dir+"/t"), cstr("trusted.missing")),
		sc(unix.SYS_FREMOVEXATTR, uintptr(fd), cstr("security.capability")),
		sc(unix.SYS_SETXATTRAT, uintptr(dfd), cstr("t"), 0, cstr("trusted.at"), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args)),
		sc(unix.SYS_REMOVEXATTRAT, uintptr(fd), cstr(""), unix.AT_EMPTY_PATH, cstr("trusted.vigil")),
	}}, nil
}

// xattrAt says whether the kernel has setxattrat and removexattrat
// (Linux 6.13+), from the xattrs helper's results.
func xattrAt(res helperResult) bool {
	return len(res.FDs) != 8 || res.FDs[6] != -int(unix.ENOSYS)
}

// Each set or removal of an extended attribute is an event with the file,
// the attribute, the value's size and flags, the capabilities a
// security.capability value grants, and the result.
func TestXattrFields(t *testing.T) {
	c := live(t)
	dir := fileChangeDir(t)
	res, pid := runHelperCmd(t, "xattrs", dir)
	results := []int{0, 0, 0, 0, -int(unix.ENODATA), 0, -int(unix.ENODATA), -int(unix.ENODATA)}
	calls := len(results)
	if !xattrAt(res) {
		calls -= 2 // no setxattrat, no removexattrat: no tracepoints either
		results[6], results[7] = -int(unix.ENOSYS), -int(unix.ENOSYS)
	}
	wantRes(t, res, results...)
	type x = event.Xattr
	want := []struct {
		syscall   string
		path, raw string
		flags     uint32
		xattr     event.Xattr
	}{
		{"setxattr", dir + "/t", dir + "/t", 0, x{Name: "trusted.vigil", Op: "set", Size: 3, Flags: unix.XATTR_CREATE}},
		{"lsetxattr", dir + "/l", dir + "/l", 0, x{Name: "trusted.vigil", Op: "set", Size: 3}},
		{"fsetxattr", dir + "/t", dir + "/t", 0, x{Name: "security.capability", Op: "set", Size: 20, Caps: 1 << unix.CAP_NET_RAW, CapsEffective: true}},
		{"removexattr", dir + "/t", dir + "/t", 0, x{Name: "trusted.vigil", Op: "remove"}},
		{"lremovexattr", dir + "/t", dir + "/t", 0, x{Name: "trusted.missing", Op: "remove"}},
		{"fremovexattr", dir + "/t", dir + "/t", 0, x{Name: "security.capability", Op: "remove"}},
		{"setxattrat", dir + "/t", "t", 0, x{Name: "trusted.at", Op: "set", Size: 2, Flags: unix.XATTR_REPLACE}},
		{"removexattrat", dir + "/t", dir + "/t", unix.AT_EMPTY_PATH, x{Name: "trusted.vigil", Op: "remove"}},
	}[:calls]
	caps, _ := event.FieldByName("xattr.caps")
	for i, ev := range c.waitN(t, "xattr calls", len(want), byPID(pid, event.TypeXattr)) {
		w := want[i]
		got := []any{ev.Syscall, ev.File.Path, ev.File.RawPath, ev.File.Flags, ev.Xattr, ev.Res}
		if exp := []any{w.syscall, w.path, w.raw, w.flags, w.xattr, int64(res.FDs[i])}; !reflect.DeepEqual(got, exp) {
			t.Errorf("call %d:\n got %v\nwant %v", i, got, exp)
		}
		if w.syscall == "fsetxattr" && !slices.Equal(caps.Strs(ev), []string{"cap_net_raw"}) {
			t.Errorf("fsetxattr: xattr.caps %q, want [cap_net_raw]", caps.Strs(ev))
		}
	}
}

// setcap(8) itself (libcap2-bin, a test dependency): `setcap
// cap_net_raw+ep file` grants cap_net_raw, effective.
func TestSetcapXattr(t *testing.T) {
	c := live(t)
	setcap := testenv.RequireTool(t, "setcap")
	f := filepath.Join(fileChangeDir(t), "t")
	cmd := exec.Command(setcap, "cap_net_raw+ep", f)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v: %s", err, out)
	}
	ev := c.waitFor(t, "setcap's security.capability", func(e *event.Event) bool {
		return byPID(cmd.Process.Pid, event.TypeXattr)(e) && e.Xattr.Name == event.XattrFileCaps
	})
	caps, _ := event.FieldByName("xattr.caps")
	eff, _ := event.FieldByName("xattr.caps_effective")
	got := []any{ev.File.Path, ev.Xattr.Op, caps.Strs(ev), eff.Bool(ev), ev.Res}
	if exp := []any{f, "set", []string{"cap_net_raw"}, true, int64(0)}; !reflect.DeepEqual(got, exp) {
		t.Errorf("setcap: path, op, caps, effective, res = %v, want %v", got, exp)
	}
}

// ioctl commands of the inode flags, and the fsxattr xflags used.
const (
	fsIocGetFlags    = 0x80086601
	fsIoc32SetFlags  = 0x40046602
	fsIocFSGetXattr  = 0x801c581f
	fsXflagImmutable = 0x8
	fsXflagNodump    = 0x80
)

// fsxattr is struct fsxattr (linux/fs.h).
type fsxattr struct {
	xflags, extsize, nextents, projid, cowextsize uint32
	_                                             [8]byte
}

// helperChattr, on dir/t (its flags f as FS_IOC_GETFLAGS reads them;
// ioctls of other commands make no event):
//
//	0 FS_IOC_SETFLAGS f|FS_APPEND_FL     1 FS_IOC_SETFLAGS f
//	2 FS_IOC32_SETFLAGS f -> ENOTTY (a 32-bit command on a 64-bit process)
//	3 FS_IOC_FSSETXATTR immutable|nodump 4 FS_IOC_FSSETXATTR none
//
// It returns f as Detail.
func helperChattr(dir string) (helperResult, error) {
	fd, err := unix.Open(dir+"/t", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	var f uint32
	if r := sc(unix.SYS_IOCTL, uintptr(fd), fsIocGetFlags, uintptr(unsafe.Pointer(&f))); r != 0 {
		return helperResult{}, fmt.Errorf("FS_IOC_GETFLAGS: %d", r)
	}
	var x fsxattr
	if r := sc(unix.SYS_IOCTL, uintptr(fd), fsIocFSGetXattr, uintptr(unsafe.Pointer(&x))); r != 0 {
		return helperResult{}, fmt.Errorf("FS_IOC_FSGETXATTR: %d", r)
	}
	ioctl := func(cmd uintptr, p unsafe.Pointer) int { return sc(unix.SYS_IOCTL, uintptr(fd), cmd, uintptr(p)) }
	appendOn, orig := f|event.FSAppendFL, f
	imm := x
	imm.xflags |= fsXflagImmutable | fsXflagNodump
	return helperResult{FDs: []int{
		ioctl(unix.FS_IOC_SETFLAGS, unsafe.Pointer(&appendOn)),
		ioctl(unix.FS_IOC_SETFLAGS, unsafe.Pointer(&orig)),
		ioctl(fsIoc32SetFlags, unsafe.Pointer(&orig)),
		ioctl(fsIocFSSetXattr, unsafe.Pointer(&imm)),
		ioctl(fsIocFSSetXattr, unsafe.Pointer(&x)),
	}, Detail: strconv.FormatUint(uint64(f), 10)}, nil
}

// Each flag-setting ioctl is an event with the descriptor's file, the
// flags asked for, the known flags before it and what it adds and
// removes. The test's files are on this host's root filesystem (ext4),
// which takes append and immutable.
func TestChattrFields(t *testing.T) {
	c := live(t)
	dir := fileChangeDir(t)
	res, pid := runHelperCmd(t, "chattr", dir)
	wantRes(t, res, 0, 0, -int(unix.ENOTTY), 0, 0)
	f64, err := strconv.ParseUint(res.Detail, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	f := uint32(f64)
	want := []struct {
		flags, old   uint32
		set, cleared []string
	}{
		{f | event.FSAppendFL, 0, []string{"append"}, nil},
		{f, event.FSAppendFL, nil, []string{"append"}},
		{f, 0, nil, nil},
		{event.FSImmutableFL | event.FSNodumpFL, 0, []string{"immutable"}, nil},
		{0, event.FSImmutableFL, nil, []string{"immutable"}},
	}
	fields := map[string]*event.Field{}
	for _, n := range []string{"chattr.flags", "chattr.old_flags", "chattr.set", "chattr.cleared"} {
		fields[n], _ = event.FieldByName(n)
	}
	for i, ev := range c.waitN(t, "chattr ioctls", len(want), byPID(pid, event.TypeChattr)) {
		w := want[i]
		got := []any{ev.Syscall, ev.File.Path, fields["chattr.flags"].Uint(ev), fields["chattr.old_flags"].Uint(ev),
			fields["chattr.set"].Strs(ev), fields["chattr.cleared"].Strs(ev), ev.Res}
		exp := []any{"ioctl", dir + "/t", uint64(w.flags), uint64(w.old), w.set, w.cleared, int64(res.FDs[i])}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("ioctl %d: syscall, path, flags, old, set, cleared, res =\n %v, want\n %v", i, got, exp)
		}
	}
}

// chattr(1) itself (e2fsprogs, in Debian's base system): +i then -i.
func TestChattrCommand(t *testing.T) {
	c := live(t)
	chattr := testenv.RequireTool(t, "chattr")
	f := filepath.Join(fileChangeDir(t), "t")
	for _, w := range []struct {
		op           string
		set, cleared []string
	}{
		{"+i", []string{"immutable"}, nil},
		{"-i", nil, []string{"immutable"}},
	} {
		cmd := exec.Command(chattr, w.op, f)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chattr %s: %v: %s", w.op, err, out)
		}
		ev := c.waitFor(t, "chattr "+w.op, byPID(cmd.Process.Pid, event.TypeChattr))
		got := []any{ev.File.Path, event.InodeFlagNames(ev.Chattr.Set()), event.InodeFlagNames(ev.Chattr.Cleared()), ev.Res}
		if exp := []any{f, w.set, w.cleared, int64(0)}; !reflect.DeepEqual(got, exp) {
			t.Errorf("chattr %s: path, set, cleared, res = %v, want %v", w.op, got, exp)
		}
	}
}
