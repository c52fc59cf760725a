package overlay

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Options configure a Cache. The zero value is the default.
type Options struct {
	// Proc is where procfs is mounted; "/proc" when empty.
	Proc string
	// Size bounds the mount namespaces remembered; 1024 when zero. The
	// oldest is forgotten first.
	Size int
}

// Cache answers UpperLayer, remembering what each mount namespace's
// mountinfo says. It is safe for concurrent use.
type Cache struct {
	proc string
	size int

	mu    sync.Mutex
	roots map[key]*root
	order []key // insertion order, for forgetting the oldest
	next  int   // the slot of order to reuse once it is full
	stats Stats
}

// Stats count the answers and the work behind them.
type Stats struct {
	Upper, Lower, Unknown uint64 // answers: upper, not upper, and unknown
	Hits, Misses          uint64 // mountinfo served from the cache, or read
}

// key names what a root entry was read for: a mount namespace (the inode
// of /proc/PID/ns/mnt) and the mount at the process's root (st_dev and
// the mount's id of /proc/PID/root). Namespace inodes and the anonymous
// devices of overlays are both reused once the container is gone, so a
// later container got an earlier one's answers; the mount id (the
// never-reused 64-bit one from Linux 6.8, else the reusable one) tells
// them apart.
type key struct {
	mntns, rootDev, rootMnt uint64
}

// root is what one mount namespace says about the processes whose root
// is rootDev.
type root struct {
	known   bool     // the root mount was found and is rootDev
	overlay bool     // it is an overlay with an upper layer
	upper   string   // that upper layer's directory, in vigil's namespace
	lower   []string // its visible lower layers, topmost first; nil if any is relative
	mounts  []mount  // every mount of the namespace, in mountinfo order, without options
	dev     uint64   // the root's device
}

// New returns an empty cache.
func New(o Options) *Cache {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Size <= 0 {
		o.Size = 1024
	}
	return &Cache{proc: o.Proc, size: o.Size, roots: make(map[key]*root)}
}

// Stats returns the counts so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// UpperLayer reports whether the executable exePath of process pid (the
// path as the process sees it, in its mount namespace, as the kernel
// reports it for the exec: absolute, no symlinks, " (deleted)" appended
// when unlinked) is on the upper layer of the overlay filesystem at the
// process's root, and whether it could tell. A process whose root is not
// an overlay, or whose executable is on another filesystem mounted in
// the container (a volume), is not on the upper layer. known is false
// when the process is gone, its root cannot be told, or the file changed
// since the exec in a way that hides where it was.
func (c *Cache) UpperLayer(pid uint32, exePath string) (upper, known bool) {
	return c.UpperLayerOr(pid, 0, exePath)
}

// UpperLayerOr is UpperLayer for a process that may have exited already:
// the root is then read from process fallback (0 for none), which must
// share its root, such as its parent in the same container. Droppers
// that run briefly and delete themselves are answered this way.
func (c *Cache) UpperLayerOr(pid, fallback uint32, exePath string) (upper, known bool) {
	upper, known = c.upperLayer(pid, fallback, exePath)
	c.mu.Lock()
	switch {
	case !known:
		c.stats.Unknown++
	case upper:
		c.stats.Upper++
	default:
		c.stats.Lower++
	}
	c.mu.Unlock()
	return upper, known
}

func (c *Cache) upperLayer(pid, fallback uint32, exePath string) (upper, known bool) {
	exe, deleted := strings.CutSuffix(exePath, " (deleted)")
	if exe == "" || exe[0] != '/' || path.Clean(exe) != exe {
		return false, false
	}
	dir := c.procDir(pid)
	r, err := c.root(dir)
	if err != nil && fallback != 0 {
		r, err = c.root(c.procDir(fallback))
	}
	if err != nil || !r.known {
		return false, false
	}
	if !r.overlay {
		return false, true
	}
	rel, onRoot := r.relative(exe)
	if !onRoot {
		return false, true
	}
	switch lookup(r.upper, rel) {
	case entryFile:
		// A file at a path deleted at exec time is another file.
		return !deleted, !deleted
	case entryAbsent:
		return r.notInUpper(dir, exe, rel, deleted)
	}
	return false, false
}

// notInUpper answers for an executable the upper layer has no entry for:
// one of the image, or one deleted (or renamed) since the exec. A file of
// the image cannot vanish without leaving a whiteout in the upper layer,
// so one gone without a trace was an upper one.
func (r *root) notInUpper(dir, exe, rel string, deleted bool) (upper, known bool) {
	if deleted {
		return true, true
	}
	switch runningExe(dir, exe) {
	case exeDeleted:
		return true, true
	case exeThere:
		return false, true
	}
	// The process is gone or runs another file now: whether the image
	// has the file says it.
	if r.lower == nil {
		return false, false
	}
	for _, l := range r.lower {
		switch lookup(l, rel) {
		case entryFile:
			return false, true
		case entryUnknown:
			// A whiteout or an opaque directory in an image layer hides
			// the layers below, and a symlink makes the path another.
			return false, false
		}
	}
	return true, true
}

func (c *Cache) procDir(pid uint32) string {
	return c.proc + "/" + strconv.FormatUint(uint64(pid), 10)
}

// root returns the root entry for the process at dir (/proc/PID),
// reading its mountinfo on a miss.
func (c *Cache) root(dir string) (*root, error) {
	var ns unix.Stat_t
	if err := unix.Stat(dir+"/ns/mnt", &ns); err != nil {
		return nil, err
	}
	rt, err := rootMount(dir + "/root")
	if err != nil {
		return nil, err
	}
	k := key{mntns: ns.Ino, rootDev: rt.dev, rootMnt: rt.mnt}
	c.mu.Lock()
	r, ok := c.roots[k]
	if ok {
		c.stats.Hits++
	} else {
		c.stats.Misses++
	}
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	f, err := os.Open(dir + "/mountinfo")
	if err != nil {
		return nil, err
	}
	mounts, err := parseMountinfo(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r = newRoot(mounts, rt.dev)
	c.remember(k, r)
	return r, nil
}

// remember stores r under k, forgetting the oldest entry when full.
func (c *Cache) remember(k key, r *root) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.roots[k]; ok {
		return // another caller read it meanwhile
	}
	if len(c.order) < c.size {
		c.order = append(c.order, k)
	} else {
		delete(c.roots, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % c.size
	}
	c.roots[k] = r
}

// newRoot reads the root of a process whose root directory is on rootDev
// from its namespace's mounts: the last mount at "/" is the one on top.
func newRoot(mounts []mount, rootDev uint64) *root {
	top := -1
	for i, m := range mounts {
		if m.point == "/" {
			top = i
		}
	}
	r := &root{dev: rootDev}
	// A root that is no mount's root (a chroot into a directory) has no
	// mount at "/" in mountinfo; its filesystem cannot be told.
	if top < 0 || mounts[top].dev != rootDev {
		return r
	}
	r.known = true
	if mounts[top].fstype != "overlay" {
		return r
	}
	l := parseLayers(mounts[top].super)
	if !l.hasUpper {
		return r // a read-only overlay has nothing on an upper layer
	}
	// Runtimes pass relative layer paths, from a directory of their
	// choosing, when the options would not fit in a page.
	if !filepath.IsAbs(l.upper) {
		r.known = false
		return r
	}
	r.overlay, r.upper = true, l.upper
	if !slices.ContainsFunc(l.lower, func(d string) bool { return !filepath.IsAbs(d) }) {
		r.lower = l.lower
	}
	r.mounts = make([]mount, len(mounts))
	for i, m := range mounts {
		r.mounts[i] = mount{dev: m.dev, root: m.root, point: m.point}
	}
	return r
}

// relative returns exe's path inside the root overlay, or onRoot false
// when the mount exe is under is another filesystem.
func (r *root) relative(exe string) (rel string, onRoot bool) {
	best := -1
	for i, m := range r.mounts {
		if under(exe, m.point) && (best < 0 || len(m.point) >= len(r.mounts[best].point)) {
			best = i
		}
	}
	if best < 0 || r.mounts[best].dev != r.dev {
		return "", false
	}
	m := r.mounts[best]
	rel = path.Join(m.root, strings.TrimPrefix(exe, m.point))
	return strings.TrimPrefix(rel, "/"), true
}

// under reports whether p is point or below it.
func under(p, point string) bool {
	if point == "/" {
		return true
	}
	return strings.HasPrefix(p, point) && (len(p) == len(point) || p[len(point)] == '/')
}

// running is what /proc/PID/exe says of the executable a process ran.
type running int

const (
	exeOther   running = iota // the process is gone, or runs another path
	exeThere                  // it runs exe, still at its path
	exeDeleted                // it runs exe, unlinked since
)

// runningExe reads /proc/PID/exe of the process at dir. The link reads
// in vigil's namespace, with the path of the container's root there in
// front, so only its end is compared.
func runningExe(dir, exe string) running {
	link, err := os.Readlink(dir + "/exe")
	if err != nil {
		return exeOther
	}
	link, deleted := strings.CutSuffix(link, " (deleted)")
	switch {
	case !strings.HasSuffix(link, exe):
		return exeOther
	case deleted:
		return exeDeleted
	}
	return exeThere
}

// rootStat is what identifies the mount at a process's root.
type rootStat struct{ dev, mnt uint64 }

// rootMount stats p (a /proc/PID/root) for its device and mount id.
func rootMount(p string) (rootStat, error) {
	// Asked for both, Linux 6.8+ answers the unique id, older kernels
	// ignore the bit they lack and answer the reusable one (5.8+; none
	// before: 0).
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_INO|unix.STATX_MNT_ID|unix.STATX_MNT_ID_UNIQUE, &st); err != nil {
		return rootStat{}, err
	}
	return rootStat{dev: unix.Mkdev(st.Dev_major, st.Dev_minor), mnt: st.Mnt_id}, nil
}
