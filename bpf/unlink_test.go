package bpf

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

// unlink(2) of an absolute path, unlinkat(2) through a directory fd with a
// relative path, rmdir(2) of a relative path after chdir, and a failing
// unlink: each an unlink event with the absolute path, the raw path, the
// directory flag and the result.
func TestUnlinkFields(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	for _, f := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, pid := runHelperCmd(t, "unlinks", dir)
	if len(res.FDs) != 4 {
		t.Fatalf("helper results %v", res.FDs)
	}
	for i, want := range []struct {
		path, raw string
		rmdir     bool
		res       int64
	}{
		{filepath.Join(dir, "a"), filepath.Join(dir, "a"), false, 0},
		{filepath.Join(dir, "b"), "b", false, 0},
		{filepath.Join(dir, "d"), "./d", true, 0},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing"), false, -int64(unix.ENOENT)},
	} {
		ev := c.waitFor(t, "unlink of "+want.raw, func(e *event.Event) bool {
			return e.Type == event.TypeUnlink && e.Proc.PID == uint32(pid) && e.File.RawPath == want.raw
		})
		rmdir, _ := event.FieldByName("file.rmdir")
		if ev.File.Path != want.path || rmdir.Bool(ev) != want.rmdir || ev.Res != want.res || int64(res.FDs[i]) != want.res {
			t.Errorf("unlink %d: path %q rmdir %v res %d (helper %d), want %q %v %d", i, ev.File.Path, rmdir.Bool(ev), ev.Res, res.FDs[i], want.path, want.rmdir, want.res)
		}
	}
}

// mkdir(2) and mkdirat(2): mkdir events with the absolute path, the mode
// argument and the result.
func TestMkdirFields(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	res, pid := runHelperCmd(t, "mkdirs", dir)
	for i, want := range []struct {
		path, raw string
		mode      uint32
		res       int64
	}{
		{filepath.Join(dir, "m1"), filepath.Join(dir, "m1"), 0o750, 0},
		{filepath.Join(dir, "m2"), "m2", 0o700, 0},
		{filepath.Join(dir, "m1"), filepath.Join(dir, "m1"), 0o750, -int64(unix.EEXIST)},
	} {
		n := 0
		ev := c.waitFor(t, "mkdir of "+want.raw, func(e *event.Event) bool {
			if e.Type == event.TypeMkdir && e.Proc.PID == uint32(pid) && e.File.RawPath == want.raw {
				n++
				return i < 2 || n == 2 // the second mkdir of m1 is the failing one
			}
			return false
		})
		if ev.File.Path != want.path || ev.File.Mode != want.mode || ev.Res != want.res || int64(res.FDs[i]) != want.res {
			t.Errorf("mkdir %d: path %q mode %o res %d (helper %d), want %q %o %d", i, ev.File.Path, ev.File.Mode, ev.Res, res.FDs[i], want.path, want.mode, want.res)
		}
	}
}
