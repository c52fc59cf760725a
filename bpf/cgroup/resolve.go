package cgroup

import (
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

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

	hits, misses, scans, resets atomic.Uint64
	entries                     atomic.Int64
}

// ResolverStats are the Resolver's counters.
type ResolverStats struct {
	Entries int    // ids with a known path
	Hits    uint64 // lookups answered from the cache
	Misses  uint64 // lookups not in the cache
	Scans   uint64 // walks of the hierarchy
	Resets  uint64 // caches cleared because they were full
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
	}
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
// the host and for ids that cannot be resolved.
func (r *Resolver) Container(id uint64) event.Container {
	p, ok := r.Path(id)
	if !ok {
		return event.Container{}
	}
	return Parse(p)
}

// Stats returns the counters. It is safe to call from any goroutine.
func (r *Resolver) Stats() ResolverStats {
	return ResolverStats{
		Entries: int(r.entries.Load()),
		Hits:    r.hits.Load(),
		Misses:  r.misses.Load(),
		Scans:   r.scans.Load(),
		Resets:  r.resets.Load(),
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
