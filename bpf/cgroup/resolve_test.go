package cgroup

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-project/vigil/bpf/mountinfo"
	"github.com/vigil-project/vigil/engine/event"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// fakeClock lets tests step over the scan interval without sleeping.
type fakeClock struct{ t time.Time }

func newClock() *fakeClock                { return &fakeClock{time.Unix(1e9, 0)} }
func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }

func (r *Resolver) withClock(c *fakeClock) *Resolver {
	r.now = c.now
	return r
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	must(t, os.MkdirAll(path, 0o755))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestResolverTree runs the Resolver on an ordinary directory tree: inode
// numbers work the same there, so the caching logic needs no cgroupfs.
func TestResolverTree(t *testing.T) {
	root := t.TempDir()
	mkdir(t, filepath.Join(root, "docker", hexA, "init.scope"))
	must(t, os.WriteFile(filepath.Join(root, "docker", "cgroup.procs"), nil, 0o644))
	clock := newClock()
	r := NewResolver(root + "/").withClock(clock)

	for _, tt := range []struct {
		dir  string
		path string
		c    event.Container
	}{
		{"", "/", event.Container{}},
		{"docker", "/docker", event.Container{}},
		{"docker/" + hexA, "/docker/" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},
		{"docker/" + hexA + "/init.scope", "/docker/" + hexA + "/init.scope", event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},
	} {
		id := inode(t, filepath.Join(root, tt.dir))
		if p, ok := r.Path(id); !ok || p != tt.path {
			t.Errorf("Path(%s) = %q, %v; want %q", tt.dir, p, ok, tt.path)
		}
		if c, final := r.Container(id); !reflect.DeepEqual(c, tt.c) || !final {
			t.Errorf("Container(%s) = %+v, %v; want %+v, final", tt.dir, c, final, tt.c)
		}
	}
	if s := r.Stats(); s.Scans != 1 || s.Misses != 1 || s.Hits != 7 || s.Entries != 4 {
		t.Errorf("one scan should fill the cache: %+v", s)
	}

	// A cgroup made right after a scan is not looked for until the
	// interval has passed; then one scan finds it.
	late := filepath.Join(root, "system.slice", "docker-"+hexB+".scope")
	mkdir(t, late)
	id := inode(t, late)
	for range 3 {
		if _, ok := r.Path(id); ok {
			t.Fatal("found before the scan interval passed")
		}
	}
	if c, final := r.Container(id); c.ID != "" || final {
		t.Errorf("before the interval: Container = %+v, final %v; want not final", c, final)
	}
	if s := r.Stats(); s.Scans != 1 {
		t.Errorf("scanned within the interval: %+v", s)
	}
	clock.step(scanInterval)
	if c, final := r.Container(id); c.FullID != hexB || c.Runtime != "docker" || !final {
		t.Errorf("Container after the interval = %+v, %v", c, final)
	}

	// An id that a later scan does not find never appears (cgroups exist
	// before their tasks), so it costs no more scans.
	const unknown = 1 << 62
	clock.step(scanInterval)
	for range 5 {
		if _, ok := r.Path(unknown); ok {
			t.Fatal("unknown id resolved")
		}
		clock.step(scanInterval)
	}
	if s := r.Stats(); s.Scans != 3 {
		t.Errorf("scans = %d, want 3: %+v", s.Scans, s)
	}
}

func TestResolverBounded(t *testing.T) {
	root := t.TempDir()
	for i := range 10 {
		mkdir(t, filepath.Join(root, string(rune('a'+i))))
	}
	clock := newClock()
	r := NewResolver(root).withClock(clock)
	r.max = 4
	r.Path(inode(t, root))
	if s := r.Stats(); s.Entries > 4 || s.Resets == 0 {
		t.Errorf("cache not bounded: %+v", s)
	}
	for i := range uint64(10) {
		clock.step(time.Millisecond)
		r.Path(1<<62 + i)
	}
	if len(r.neg) > 4 {
		t.Errorf("negative cache holds %d ids, max 4", len(r.neg))
	}
}

// TestResolverLive makes real cgroups named like a runtime's, in the v2
// hierarchy and in the v1 memory hierarchy, and resolves their ids.
func TestResolverLive(t *testing.T) {
	needs(t, os.Geteuid() == 0, "root, to create cgroups")
	mi, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	var v2, v1 string
	for line := range strings.Lines(string(mi)) {
		m, ok := mountinfo.ParseLine(line)
		switch {
		case !ok || m.Root != "/":
		case m.FSType == "cgroup2" && v2 == "":
			v2 = m.Point
		case m.FSType == "cgroup" && slices.Contains(strings.Split(m.Super, ","), "memory") && v1 == "":
			v1 = m.Point
		}
	}
	t.Run("v2", func(t *testing.T) {
		needs(t, v2 != "", "a cgroup2 mount")
		testLive(t, v2)
	})
	t.Run("v1", func(t *testing.T) {
		needs(t, v1 != "", "a cgroup v1 memory hierarchy")
		testLive(t, v1)
	})
}

func testLive(t *testing.T, mount string) {
	idA, idB := randomHex(t), randomHex(t)
	slice := "vigil-test-" + idA[:8] + ".slice"
	dirs := []string{
		"docker/" + idA,
		"docker/" + idA + "/init.scope",
		slice,
		slice + "/docker-" + idB + ".scope",
	}
	// Cleanups run last first, so children are removed before parents;
	// only what this test made is removed (/docker may be a runtime's).
	for _, d := range append([]string{"docker"}, dirs...) {
		p := filepath.Join(mount, d)
		switch err := os.Mkdir(p, 0o755); {
		case err == nil:
			t.Cleanup(func() { must(t, os.Remove(p)) })
		case !os.IsExist(err):
			t.Fatal(err)
		}
	}

	r := NewResolver(mount)
	for _, tt := range []struct {
		dir string
		c   event.Container
	}{
		{dirs[0], event.Container{ID: idA[:12], FullID: idA, Runtime: "docker"}},
		{dirs[1], event.Container{ID: idA[:12], FullID: idA, Runtime: "docker"}},
		{dirs[2], event.Container{}},
		{dirs[3], event.Container{ID: idB[:12], FullID: idB, Runtime: "docker"}},
	} {
		id := inode(t, filepath.Join(mount, tt.dir))
		if kid, ok := kernfsID(filepath.Join(mount, tt.dir)); !ok {
			t.Logf("/%s: no kernfs file handle", tt.dir)
		} else if kid != id {
			t.Errorf("/%s: kernfs id %d != inode %d", tt.dir, kid, id)
		}
		if p, ok := r.Path(id); !ok || p != "/"+tt.dir {
			t.Errorf("Path(%d) = %q, %v; want /%s", id, p, ok, tt.dir)
		}
		if c, _ := r.Container(id); !reflect.DeepEqual(c, tt.c) {
			t.Errorf("Container(/%s) = %+v, want %+v", tt.dir, c, tt.c)
		}
	}
	if p, ok := r.Path(inode(t, mount)); !ok || p != "/" {
		t.Errorf("root: Path = %q, %v", p, ok)
	}
	// A cgroup made just now (as a runtime does before the container's
	// first exec) is placed at once by its file handle, without a walk,
	// whatever the scan interval says.
	before := r.Stats()
	late := filepath.Join(mount, slice, "late-"+idA[:6])
	must(t, os.Mkdir(late, 0o755))
	t.Cleanup(func() { must(t, os.Remove(late)) })
	if p, ok := r.Path(inode(t, late)); !ok || p != "/"+slice+"/late-"+idA[:6] {
		t.Errorf("new cgroup: Path = %q, %v", p, ok)
	}
	if s := r.Stats(); s.Scans != before.Scans || s.Handles != before.Handles+1 {
		t.Errorf("new cgroup: stats %+v, before %+v", s, before)
	}
	// Our own process's cgroup, as the kernel names it.
	self, err := os.ReadFile("/proc/self/cgroup")
	must(t, err)
	t.Logf("%s: %+v; self %q", mount, r.Stats(), ParseProcCgroup(string(self)))
}

// kernfsID returns the kernfs node id (the kernel's cgroup id) of a cgroup
// directory from its file handle, to check that it is the inode number.
func kernfsID(path string) (uint64, bool) {
	var fh struct {
		bytes uint32
		typ   int32
		id    [128]byte
	}
	fh.bytes = uint32(len(fh.id))
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return 0, false
	}
	// name_to_handle_at(2); the syscall package does not name it on amd64.
	nr := map[string]uintptr{"amd64": 303, "arm64": 264}[runtime.GOARCH]
	if nr == 0 {
		return 0, false
	}
	var mountID int32
	_, _, errno := syscall.Syscall6(nr, atFDCWD,
		uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&fh)), uintptr(unsafe.Pointer(&mountID)), 0, 0)
	if errno != 0 || fh.bytes != 8 {
		return 0, false
	}
	return binary.NativeEndian.Uint64(fh.id[:8]), true
}

const atFDCWD = ^uintptr(99) // AT_FDCWD, -100

func randomHex(t *testing.T) string {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	must(t, err)
	return hex.EncodeToString(b)
}
