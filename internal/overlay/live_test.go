package overlay

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-project/vigil/internal/testenv"
	"golang.org/x/sys/unix"
)

// helperEnv, when set, makes the test binary a process of the live test's
// container instead: "wait" keeps it running until its stdin closes,
// "delete" removes its own executable first, as a dropper would, and
// "delete-exit" does and exits at once.
const helperEnv = "VIGIL_OVERLAY_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "delete", "delete-exit":
		if err := os.Remove(os.Args[0]); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready", os.Args[0])
	if os.Getenv(helperEnv) == "delete-exit" {
		os.Exit(0)
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// liveOverlay starts processes chrooted into an overlay mounted in a
// mount namespace of their own, the way a runtime starts a container:
// the image's files on the lower layer, and files written after the
// mount on the upper one. It returns the pid of each executable path and
// the upper directory.
func liveOverlay(t testing.TB) (map[string]uint32, string) {
	testenv.RequireRoot(t)
	unshare := testenv.RequireTool(t, "unshare")
	testenv.RequireTool(t, "chroot")
	fs, err := os.ReadFile("/proc/filesystems")
	testenv.Require(t, err == nil && strings.Contains(string(fs), "\toverlay\n"), "the kernel has no overlay filesystem")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if f, err := elf.Open(self); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatalf("the test binary is dynamically linked (-race or cgo?); it must run alone in the overlay")
			}
		}
		f.Close()
	}

	base := t.TempDir()
	// The upper directory's name needs both of mountinfo's escapes.
	lower, upper := filepath.Join(base, "lower"), filepath.Join(base, "up,per 1")
	work, merged := filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower + "/bin", upper, work, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"image", "touched", "gone"} {
		if err := os.WriteFile(filepath.Join(lower, "bin", name), exe, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	optEscape := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`)
	// An asynchronous command's stdin is /dev/null in sh; the helpers get
	// the test's pipe through fd 3.
	script := `set -e
exec 3<&0
mount -t overlay overlay -o "lowerdir=$L,upperdir=$U,workdir=$W" "$M"
mkdir "$M/vol" "$M/tmp"
mount -t tmpfs tmpfs "$M/vol"
cp "$M/bin/image" "$M/bin/dropped"
cp "$M/bin/image" "$M/tmp/dropper"
cp "$M/bin/image" "$M/tmp/quick"
cp "$M/bin/image" "$M/vol/tool"
touch "$M/bin/touched"
for exe in /bin/dropped /bin/touched /vol/tool; do
	VIGIL_OVERLAY_HELPER=wait chroot "$M" $exe <&3 &
	echo pid $exe $!
done
for exe in /tmp/dropper /bin/gone; do
	VIGIL_OVERLAY_HELPER=delete chroot "$M" $exe <&3 &
	echo pid $exe $!
done
VIGIL_OVERLAY_HELPER=delete-exit chroot "$M" /tmp/quick &
echo pid /tmp/quick $!
echo pid /bin/image $$
VIGIL_OVERLAY_HELPER=wait exec chroot "$M" /bin/image
`
	cmd := exec.Command(unshare, "-m", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "L="+optEscape.Replace(lower), "U="+optEscape.Replace(upper), "W="+optEscape.Replace(work), "M="+merged)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // every helper exits at EOF
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("overlay helpers: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("overlay helpers did not exit")
		}
	})

	pids := make(map[string]uint32)
	ready := make(map[string]bool)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	for len(ready) < 7 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("overlay helpers ended early; ready: %v", ready)
			}
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "pid":
				n, err := strconv.ParseUint(f[2], 10, 32)
				if err != nil {
					t.Fatalf("helper line %q: %v", line, err)
				}
				pids[f[1]] = uint32(n)
			case len(f) == 2 && f[0] == "ready":
				ready[f[1]] = true
			default:
				t.Fatalf("helper line %q", line)
			}
		case <-timeout:
			t.Fatalf("overlay helpers not ready after 20s: %v", ready)
		}
	}
	return pids, upper
}

func TestUpperLayerLive(t *testing.T) {
	pids, upperDir := liveOverlay(t)
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upperDir, "bin", "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("no whiteout for the deleted /bin/gone in the upper directory (%v, mode %o)", err, st.Mode)
	}
	c := New(Options{})
	for _, tc := range []struct {
		name, exe    string
		upper, known bool
	}{
		{"a file of the image", "/bin/image", false, true},
		{"a file written in the container", "/bin/dropped", true, true},
		{"a file of the image modified in the container", "/bin/touched", true, true},
		{"a file on a volume", "/vol/tool", false, true},
		{"a written file that deleted itself", "/tmp/dropper", true, true},
		{"a file of the image deleted since: a whiteout", "/bin/gone", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid, ok := pids[tc.exe]
			if !ok {
				t.Fatalf("no helper pid for %s in %v", tc.exe, pids)
			}
			upper, known := c.UpperLayer(pid, tc.exe)
			if upper != tc.upper || known != tc.known {
				t.Fatalf("UpperLayer(%d, %q) = %v, %v; want %v, %v", pid, tc.exe, upper, known, tc.upper, tc.known)
			}
		})
	}
	// All share one namespace and root: mountinfo was read once.
	if s := c.Stats(); s.Misses != 1 || s.Hits != 5 {
		t.Errorf("stats %+v, want 1 miss and 5 hits", s)
	}

	// A dropper that ran, deleted itself and exited (a zombie: its
	// namespaces and executable are gone from /proc) before vigil looked.
	quick := pids["/tmp/quick"]
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/ns/mnt", quick)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the quick dropper %d did not exit", quick)
		}
	}
	if upper, known := c.UpperLayer(quick, "/tmp/quick"); known {
		t.Errorf("an exited process alone: %v, %v; want unknown", upper, known)
	}
	if upper, known := c.UpperLayerOr(quick, pids["/bin/image"], "/tmp/quick"); !upper || !known {
		t.Errorf("an exited dropper, the root of a process in its container: %v, %v; want true, true", upper, known)
	}
	if upper, known := c.UpperLayerOr(quick, pids["/bin/image"], "/bin/touched"); !upper || !known {
		t.Errorf("a copied-up image file, the root of a process in its container: %v, %v; want true, true", upper, known)
	}
	if upper, known := c.UpperLayerOr(quick, pids["/bin/image"], "/bin/image"); upper || !known {
		t.Errorf("an image file, the root of a process in its container: %v, %v; want false, true", upper, known)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if upper, known := c.UpperLayer(uint32(os.Getpid()), self); upper || !known {
		t.Errorf("this test's own process: %v, %v; want false, true (the host root is no overlay)", upper, known)
	}
}

// BenchmarkUpperLayer measures one exec's answer: with the namespace
// remembered (every exec but a container's first) for a file written in
// the container and one of the image (which also reads /proc/PID/exe),
// for a process gone (the image's one layer looked at), and with
// mountinfo read (a container's first exec).
func BenchmarkUpperLayer(b *testing.B) {
	pids, _ := liveOverlay(b)
	for _, bc := range []struct {
		name, exe   string
		gone, fresh bool
	}{
		{"cached/upper", "/bin/dropped", false, false},
		{"cached/image", "/bin/image", false, false},
		{"cached/gone/image", "/bin/image", true, false},
		{"mountinfo/upper", "/bin/dropped", false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := New(Options{})
			pid, fallback := pids[bc.exe], uint32(0)
			if bc.gone {
				pid, fallback = pids["/tmp/quick"], pid
			}
			for b.Loop() {
				if bc.fresh {
					c = New(Options{})
				}
				if _, known := c.UpperLayerOr(pid, fallback, bc.exe); !known {
					b.Fatal("unknown")
				}
			}
		})
	}
}
