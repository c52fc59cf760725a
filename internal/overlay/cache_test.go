package overlay

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeProc is a directory laid out like /proc for the processes a test
// declares, each with a mount namespace file, a root directory and a
// mountinfo, over one overlay's layer directories.
type fakeProc struct {
	t      *testing.T
	dir    string // the fake /proc
	upper  string // the overlay's upper directory
	lower2 string // its lower layers, the top one first
	lower1 string
	subst  *strings.Replacer
}

func newFakeProc(t *testing.T) *fakeProc {
	base := t.TempDir()
	p := &fakeProc{t: t, dir: filepath.Join(base, "proc"), upper: filepath.Join(base, "upper"),
		lower2: filepath.Join(base, "lower2"), lower1: filepath.Join(base, "lower1")}
	for _, d := range []string{p.dir, p.upper, p.lower2, p.lower1} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(base, &st); err != nil {
		t.Fatal(err)
	}
	// The fake roots are directories here, so their device is this one.
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	p.subst = strings.NewReplacer("DEV", dev, "UPPER", p.upper, "LOWER2", p.lower2, "LOWER1", p.lower1)
	return p
}

// process declares pid in namespace ns (processes with the same ns share
// its file, hence its inode) with the given mountinfo; "DEV" in it stands
// for the fake root's device, "UPPER", "LOWER2" and "LOWER1" for the
// layer directories.
func (p *fakeProc) process(pid uint32, ns, mountinfo string) {
	d := filepath.Join(p.dir, strconv.Itoa(int(pid)))
	nsFile := filepath.Join(p.dir, "ns-"+ns)
	if err := os.WriteFile(nsFile, nil, 0o644); err != nil {
		p.t.Fatal(err)
	}
	for _, err := range []error{
		os.MkdirAll(filepath.Join(d, "ns"), 0o755),
		os.Mkdir(filepath.Join(d, "root"), 0o755),
		os.Link(nsFile, filepath.Join(d, "ns", "mnt")),
		os.WriteFile(filepath.Join(d, "mountinfo"), []byte(p.subst.Replace(mountinfo)), 0o644),
	} {
		if err != nil {
			p.t.Fatal(err)
		}
	}
}

// exe makes /proc/PID/exe of pid read target.
func (p *fakeProc) exe(pid uint32, target string) {
	if err := os.Symlink(target, filepath.Join(p.dir, strconv.Itoa(int(pid)), "exe")); err != nil {
		p.t.Fatal(err)
	}
}

// file creates the regular file rel in the layer directory layer, or
// with a target a symlink to it.
func (p *fakeProc) file(layer, rel string, symlinkTo ...string) {
	f := filepath.Join(layer, rel)
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		p.t.Fatal(err)
	}
	var err error
	if len(symlinkTo) > 0 {
		err = os.Symlink(symlinkTo[0], f)
	} else {
		err = os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755)
	}
	if err != nil {
		p.t.Fatal(err)
	}
}

// containerMounts is a container's mountinfo: the overlay root, a volume
// on another filesystem, and a directory of the overlay bound elsewhere.
const containerMounts = "" +
	"600 500 DEV / / rw,relatime - overlay overlay rw,lowerdir=LOWER2:LOWER1,upperdir=UPPER,workdir=/w\n" +
	"601 600 0:77 / /proc rw - proc proc rw\n" +
	"602 600 259:3 /volumes/data /vol rw - ext4 /dev/nvme0n1p3 rw\n" +
	"603 600 DEV /opt/data /srv rw - overlay overlay rw,lowerdir=LOWER2:LOWER1,upperdir=UPPER,workdir=/w\n"

func TestUpperLayer(t *testing.T) {
	p := newFakeProc(t)
	p.process(10, "ctr", containerMounts)
	p.process(11, "ctr", containerMounts)
	p.exe(11, "/run/ctr/rootfs/bin/gone (deleted)")
	p.process(12, "ctr", containerMounts)
	p.exe(12, "/run/ctr/rootfs/bin/sh")
	p.process(20, "host", "1 0 DEV / / rw - ext4 /dev/sda1 rw\n")
	p.process(21, "ro", "1 0 DEV / / rw - overlay overlay rw,lowerdir=/l2:/l1\n")
	p.process(22, "relative", "1 0 DEV / / rw - overlay overlay rw,lowerdir=l/A:l/B,upperdir=9/diff,workdir=9/work\n")
	p.process(23, "chroot", "1 0 8:1 / /other rw - ext4 /dev/sda1 rw\n")
	p.process(24, "moved", "1 0 8:1 / / rw - overlay overlay rw,upperdir=UPPER\n")
	p.process(25, "garbled", "1 0 DEV / /\n")

	p.process(13, "ctr", containerMounts)
	p.exe(13, "/run/ctr/rootfs/bin/other") // it executed something else since
	p.process(26, "relative-lower", "1 0 DEV / / rw - overlay overlay rw,lowerdir=l/A:l/B,upperdir=UPPER,workdir=/w\n")

	p.file(p.upper, "bin/new")
	p.file(p.upper, "opt/data/app")
	p.file(p.upper, "bin/link", "/bin/sh")
	p.file(p.upper, "esc", "/")       // a container's symlink to the host's root
	p.file(p.upper, "usr/lib", "lib") // and one within the upper directory
	p.file(p.upper, "usr/lib2/x")
	p.file(p.upper, "etc") // a file where the image has a directory
	p.file(p.lower1, "bin/sh")
	p.file(p.lower2, "bin/ls")
	p.file(p.lower1, "bin/ls", "busybox")
	p.file(p.lower2, "bin/odd", "busybox")
	p.file(p.lower1, "bin/odd")

	for _, tc := range []struct {
		name         string
		pid          uint32
		exe          string
		upper, known bool
	}{
		{"written in the container", 10, "/bin/new", true, true},
		{"from the image", 10, "/bin/sh", false, true},
		{"through a bind of the overlay", 10, "/srv/app", true, true},
		{"on a volume", 10, "/vol/bin/tool", false, true},
		{"on procfs", 10, "/proc/self/exe", false, true},
		{"upper and deleted, as the exec saw it", 10, "/bin/gone (deleted)", true, true},
		{"upper and deleted since, as /proc/PID/exe says", 11, "/bin/gone", true, true},
		{"from the image, /proc/PID/exe not deleted", 12, "/bin/sh", false, true},
		{"from the image's bottom layer", 13, "/bin/sh", false, true},
		{"from the image's top layer", 13, "/bin/ls", false, true},
		{"in no layer: upper, then gone", 13, "/bin/renamed", true, true},
		{"a symlink in an image layer hides the layers below", 13, "/bin/odd", false, false},
		{"relative lower layers", 26, "/bin/sh", false, false},
		{"relative lower layers, upper file", 26, "/bin/new", true, true},
		{"a process gone, its parent's root", 98, "/bin/new", true, true},
		{"a process gone, from the image", 98, "/bin/sh", false, true},
		{"a process gone, a file in no layer", 98, "/tmp/dropper", true, true},
		{"a process and its parent gone", 99, "/bin/new", false, false},
		{"another file now at a deleted path", 10, "/bin/new (deleted)", false, false},
		{"a symlink now at the path", 10, "/bin/link", false, false},
		{"a symlink out of the upper directory is not followed", 10, "/esc/etc/passwd", false, false},
		{"a symlink inside it is not followed either", 10, "/usr/lib/x", false, false},
		{"a file now where a directory was", 10, "/etc/passwd/x", false, false},
		{"a directory", 10, "/usr/lib2", false, false},
		{"the root itself", 10, "/", false, false},
		{"relative path", 10, "bin/new", false, false},
		{"unclean path", 10, "/usr/../bin/new", false, false},
		{"empty path", 10, "", false, false},
		{"a host process", 20, "/usr/bin/true", false, true},
		{"a read-only overlay", 21, "/bin/new", false, true},
		{"relative layer paths", 22, "/bin/new", false, false},
		{"a root that is no mount's root", 23, "/bin/new", false, false},
		{"a root on another device than mountinfo's", 24, "/bin/new", false, false},
		{"garbled mountinfo", 25, "/bin/new", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Options{Proc: p.dir})
			var upper, known bool
			switch tc.pid {
			case 98:
				upper, known = c.UpperLayerOr(98, 10, tc.exe)
			case 99:
				upper, known = c.UpperLayerOr(99, 97, tc.exe)
			default:
				upper, known = c.UpperLayer(tc.pid, tc.exe)
			}
			if upper != tc.upper || known != tc.known {
				t.Fatalf("UpperLayer(%d, %q) = %v, %v; want %v, %v", tc.pid, tc.exe, upper, known, tc.upper, tc.known)
			}
		})
	}
}

func TestCacheIsPerNamespaceAndBounded(t *testing.T) {
	p := newFakeProc(t)
	p.file(p.upper, "bin/new")
	p.file(p.lower1, "bin/sh")
	for pid, ns := range map[uint32]string{1: "a", 2: "a", 3: "b", 4: "c"} {
		p.process(pid, ns, containerMounts)
	}
	c := New(Options{Proc: p.dir, Size: 2})
	for i, step := range []struct {
		pid          uint32
		hits, misses uint64
	}{
		{1, 0, 1},
		{2, 1, 1}, // the same namespace
		{1, 2, 1},
		{3, 2, 2},
		{4, 2, 3}, // a third namespace: a is forgotten
		{3, 3, 3},
		{1, 3, 4},
	} {
		if upper, known := c.UpperLayer(step.pid, "/bin/new"); !upper || !known {
			t.Fatalf("step %d: UpperLayer(%d) = %v, %v", i, step.pid, upper, known)
		}
		if s := c.Stats(); s.Hits != step.hits || s.Misses != step.misses {
			t.Fatalf("step %d (pid %d): hits %d misses %d, want %d %d", i, step.pid, s.Hits, s.Misses, step.hits, step.misses)
		}
	}
	// A mountinfo changed under a remembered namespace is not read again.
	p.process(5, "a", "1 0 DEV / / rw - ext4 /dev/sda1 rw\n")
	if upper, known := c.UpperLayer(5, "/bin/new"); !upper || !known {
		t.Fatalf("pid 5 = %v, %v: mountinfo read again", upper, known)
	}
	c.UpperLayer(5, "/bin/sh")
	c.UpperLayer(99, "/bin/sh")
	want := Stats{Upper: 8, Lower: 1, Unknown: 1, Hits: 5, Misses: 4}
	if s := c.Stats(); s != want {
		t.Fatalf("stats %+v, want %+v", s, want)
	}
}
