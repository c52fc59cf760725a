package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

const (
	// DefaultMaxEntries bounds each of the Resolver's caches.
	DefaultMaxEntries = 65536
	// scanInterval is the least time between two scans of the hierarchy,
	// so that a flood of unknown ids cannot keep the reader walking it.
	scanInterval = 100 * time.Millisecond
)

// Resolver maps the cgroup ids the kernel side reports to cgroup paths. A
// cgroup id is the kernfs node id of the cgroup's directory, which is also
// its inode number under the cgroup filesystem, so a walk of the mount
// finds every id at once.
//
// Path and Container must be called from one goroutine (the event reader);
// Stats may be called from any.
type Resolver struct {
	mount    string
	max      int
	interval time.Duration
	now      func() time.Time

	paths map[uint64]string
	// neg holds ids not found. true: a scan that began after the id was
	// first seen missed it; a cgroup exists before any task can run in it
	// and ids are never reused, so such an id will not appear later and
	// must not trigger more scans. false: not looked for yet.
	neg      map[uint64]bool
	lastScan time.Time
	// mountFD is the mount's directory, for open_by_handle_at: -1 before
	// the first use, -2 once handles proved unusable (then scans only).
	mountFD int

	hits, misses, scans, resets, handles atomic.Uint64
	entries                              atomic.Int64
}

// ResolverStats are the Resolver's counters.
type ResolverStats struct {
	Entries int    // ids with a known path
	Hits    uint64 // lookups answered from the cache
	Misses  uint64 // lookups not in the cache
	Scans   uint64 // walks of the hierarchy
	Resets  uint64 // caches cleared because they were full
	Handles uint64 // ids placed by open_by_handle_at, without a walk
}

// NewResolver returns a Resolver for the cgroup filesystem mounted at mount
// (a cgroup2 mount, or one v1 hierarchy such as /sys/fs/cgroup/memory).
func NewResolver(mount string) *Resolver {
	return &Resolver{
		mount:    filepath.Clean(mount),
		max:      DefaultMaxEntries,
		interval: scanInterval,
		now:      time.Now,
		paths:    make(map[uint64]string),
		neg:      make(map[uint64]bool),
		mountFD:  -1,
	}
}

// fileidKernfs is the file handle type of kernfs (cgroupfs), whose 8
// bytes are the node id: the cgroup id.
const fileidKernfs = 0xfe

// byHandle finds the path of cgroup id at once: open_by_handle_at(2) with
// the id as a kernfs file handle (what the kernel's cgroup id is), then
// the path of the opened directory. It needs CAP_DAC_READ_SEARCH; without
// it, or on kernels that refuse, the Resolver falls back to walking.
func (r *Resolver) byHandle(id uint64) (string, error) {
	if r.mountFD == -2 {
		return "", errors.ErrUnsupported
	}
	if r.mountFD == -1 {
		var st unix.Statfs_t
		if err := unix.Statfs(r.mount, &st); err != nil || (st.Type != unix.CGROUP2_SUPER_MAGIC && st.Type != unix.CGROUP_SUPER_MAGIC) {
			r.mountFD = -2 // not a cgroup filesystem (tests walk plain directories)
			return "", errors.ErrUnsupported
		}
		fd, err := unix.Open(r.mount, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			r.mountFD = -2
			return "", err
		}
		r.mountFD = fd
	}
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], id)
	fd, err := unix.OpenByHandleAt(r.mountFD, unix.NewFileHandle(fileidKernfs, b[:]), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
			unix.Close(r.mountFD)
			r.mountFD = -2
		}
		return "", err
	}
	defer unix.Close(fd)
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(p, r.mount)
	if !ok || (rel != "" && rel[0] != '/') {
		return "", fmt.Errorf("cgroup %d: path %q outside %s", id, p, r.mount)
	}
	if rel == "" {
		rel = "/"
	}
	r.handles.Add(1)
	return rel, nil
}

// store records the path of id.
func (r *Resolver) store(id uint64, rel string) {
	if _, known := r.paths[id]; !known && len(r.paths) >= r.max {
		clear(r.paths)
		r.resets.Add(1)
	}
	r.paths[id] = rel
	delete(r.neg, id)
	r.entries.Store(int64(len(r.paths)))
}

// Path returns the path of cgroup id relative to the mount, "/" for the
// root cgroup.
func (r *Resolver) Path(id uint64) (string, bool) {
	if p, ok := r.paths[id]; ok {
		r.hits.Add(1)
		return p, true
	}
	r.misses.Add(1)
	if r.neg[id] {
		return "", false
	}
	if p, err := r.byHandle(id); err == nil {
		r.store(id, p)
		return p, true
	} else if errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT) {
		r.addNeg(id, true) // removed already
		return "", false
	}
	now := r.now()
	if !r.lastScan.IsZero() && now.Sub(r.lastScan) < r.interval {
		r.addNeg(id, false)
		return "", false
	}
	r.scan(now)
	if p, ok := r.paths[id]; ok {
		return p, true
	}
	r.addNeg(id, true)
	return "", false
}

// Container returns the container of cgroup id, or the zero Container for
// the host and for ids that cannot be resolved, and whether the answer is
// final: false when the id was not found but the hierarchy has not been
// walked since it was first seen (scans are rate-limited), so that asking
// again later may find it.
func (r *Resolver) Container(id uint64) (event.Container, bool) {
	p, ok := r.Path(id)
	if !ok {
		return event.Container{}, r.neg[id]
	}
	return Parse(p), true
}

// Stats returns the counters. It is safe to call from any goroutine.
func (r *Resolver) Stats() ResolverStats {
	return ResolverStats{
		Entries: int(r.entries.Load()),
		Hits:    r.hits.Load(),
		Misses:  r.misses.Load(),
		Scans:   r.scans.Load(),
		Resets:  r.resets.Load(),
		Handles: r.handles.Load(),
	}
}

func (r *Resolver) addNeg(id uint64, checked bool) {
	if len(r.neg) >= r.max {
		clear(r.neg)
		r.resets.Add(1)
	}
	r.neg[id] = checked
}

// scan walks the whole hierarchy and records every directory.
func (r *Resolver) scan(now time.Time) {
	r.lastScan = now
	r.scans.Add(1)
	// Errors are skipped: cgroups are removed while we walk, and what
	// cannot be read now is retried by a later scan.
	_ = filepath.WalkDir(r.mount, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel := strings.TrimPrefix(p, r.mount)
		if !strings.HasPrefix(rel, "/") {
			rel = "/" + rel
		}
		if _, known := r.paths[st.Ino]; !known && len(r.paths) >= r.max {
			clear(r.paths)
			r.resets.Add(1)
		}
		r.paths[st.Ino] = rel
		return nil
	})
	for id := range r.neg {
		if _, ok := r.paths[id]; ok {
			delete(r.neg, id)
		} else {
			r.neg[id] = true
		}
	}
	r.entries.Store(int64(len(r.paths)))
}
