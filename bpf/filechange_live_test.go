package bpf

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

func init() {
	sysHelpers["truncate"] = helperTruncate
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

// fileChangeDir is a new directory holding the files the helpers change.
func fileChangeDir(t *testing.T) string {
	t.Helper()
	dir := tempDir(t)
	for _, f := range []string{"t"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("content"), 0o644); err != nil {
			t.Fatal(err)
		}
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

// The path filter of each file-changing type, on real calls: a rule on
// file.path.startsWith("/etc/") (the filter derived from it) drops, in
// the kernel, every call on a file in a temporary directory, by path and
// by descriptor alike; a filter on that directory lets them all through.
func TestFileChangeFilters(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	for _, w := range []struct {
		typ    event.Type
		helper string
		calls  []string // the syscalls the helper makes, in order
	}{
		{event.TypeTruncate, "truncate", []string{"truncate", "ftruncate", "truncate", "ftruncate"}},
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
		_, pid := runHelperCmd(t, w.helper, fileChangeDir(t))
		c.waitFor(t, w.helper+" helper exit", byPID(pid, event.TypeExit))
		if got := c.all(byPID(pid, w.typ)); len(got) != 0 {
			t.Errorf("%s: %d events outside /etc/ (first: %s %s)", w.typ, len(got), got[0].Syscall, got[0].File.Path)
		}
		after, err := c.probes.Filtered()
		if err != nil {
			t.Fatal(err)
		}
		if got := after[w.typ] - before[w.typ]; got < uint64(len(w.calls)) {
			t.Errorf("filtered %s: %d more, want at least %d", w.typ, got, len(w.calls))
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
