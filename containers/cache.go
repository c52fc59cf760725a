// Package containers looks up container metadata (name, image, labels,
// Kubernetes pod, privilege, mounts) from the container runtimes: containerd's native API,
// the CRI API and the Docker Engine API (also served by podman). Lookups
// run in the background and are cached by container id, so the event path
// never waits for a runtime: Get answers from the cache at once, and a
// container whose answer has not arrived yet is counted as a miss and
// filled in on a later event of its processes. Watching the runtimes'
// create events starts the lookup before a container's first process
// runs, so that usually even the first event carries the metadata.
package containers

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

// Meta is what a runtime says about a container.
type Meta struct {
	Name       string
	Image      string
	Labels     map[string]string
	PodNS      string
	PodName    string
	Privileged bool
	Mounts     []event.ContainerMount
}

// ErrNotFound is returned by a Source that does not know a container.
var ErrNotFound = errors.New("no such container")

// Source is one runtime's API.
type Source interface {
	// Name names the source in logs and metrics: containerd, cri, docker,
	// podman.
	Name() string
	// Lookup returns the metadata of the container with the given full id,
	// or ErrNotFound.
	Lookup(ctx context.Context, id string) (Meta, error)
	// Watch calls created with the id of every container created from now
	// on, and the runtime it belongs to (as container.runtime names it),
	// until ctx is done or the connection fails.
	Watch(ctx context.Context, created func(id, runtime string)) error
	Close() error
}

// Kubernetes labels that the CRI implementations and dockershim put on
// every container of a pod.
const (
	LabelPodNS         = "io.kubernetes.pod.namespace"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelContainerName = "io.kubernetes.container.name"
)

// podFromLabels fills in the pod and, for Kubernetes containers, the name
// Kubernetes knows the container by.
func podFromLabels(m *Meta) {
	m.PodNS = m.Labels[LabelPodNS]
	m.PodName = m.Labels[LabelPodName]
	if n := m.Labels[LabelContainerName]; n != "" {
		m.Name = n
	}
}

// Options configure a Cache.
type Options struct {
	// Sources by runtime, as container.runtime names it (docker,
	// containerd, cri, cri-o, podman), tried in order.
	Sources map[string][]Source
	// Watch are the sources whose create events start lookups early.
	Watch []Source
	// Timeout bounds one lookup; 0 means 2 s.
	Timeout time.Duration
	// MaxEntries caps the cache; 0 means 4096.
	MaxEntries int
	// Retry is how long to wait before asking again after an error or a
	// "not found"; 0 means 1 s.
	Retry time.Duration
	// NotFoundTries is how many "not found" answers make the empty
	// metadata final; 0 means 3.
	NotFoundTries int
	Logger        *slog.Logger
}

type state uint8

const (
	pending state = iota // queued or being looked up
	failed               // last try failed; retry after e.retry
	done                 // final
)

type entry struct {
	state    state
	ct       event.Container // the answer, when done
	runtime  string
	retry    time.Time
	notFound int
	used     time.Time
}

// Stats are the cache's counters.
type Stats struct {
	Entries   int
	Hits      uint64 // Get answered from the cache
	Misses    uint64 // Get found no answer yet (the event went out without metadata)
	Lookups   uint64 // runtime requests made
	Found     uint64 // requests answered with metadata
	Errors    uint64 // requests that failed (runtime down, timeout, bad answer)
	NotFound  uint64 // requests answered "no such container"
	QueueFull uint64 // lookups not queued because the queue was full (retried later)
	Prefetch  uint64 // lookups started by a runtime's create event
}

// Cache is the asynchronous, bounded container metadata cache.
type Cache struct {
	o     Options
	queue chan job
	log   *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry

	hits, misses, lookups, found, errs, notFound, queueFull, prefetch atomic.Uint64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type job struct {
	id       string
	runtime  string
	prefetch int // > 0: from a create event (the try number), not from an event's container
}

// prefetchTries is how often a create event's lookup is tried while the
// runtime's answer is "not found": a CRI runtime registers a container a
// moment after containerd announces it.
const prefetchTries = 4

// New starts a cache with two lookup workers and one watcher per watch
// source. Close stops them.
func New(o Options) *Cache {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 4096
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.NotFoundTries <= 0 {
		o.NotFoundTries = 3
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{o: o, queue: make(chan job, 256), log: o.Logger, entries: map[string]*entry{}, cancel: cancel}
	for range 2 {
		c.wg.Go(func() { c.work(ctx) })
	}
	for _, s := range o.Watch {
		c.wg.Go(func() { c.watch(ctx, s) })
	}
	return c
}

// Close stops the workers and watchers and closes the sources.
func (c *Cache) Close() {
	c.cancel()
	c.wg.Wait()
	seen := map[Source]bool{}
	for _, list := range c.o.Sources {
		for _, s := range list {
			if !seen[s] {
				seen[s] = true
				s.Close()
			}
		}
	}
	for _, s := range c.o.Watch {
		if !seen[s] {
			seen[s] = true
			s.Close()
		}
	}
}

// Get returns ct with the runtime's metadata applied and Known set, and
// true, when the answer is in the cache; else it queues a lookup (once),
// counts a miss and returns false. It never blocks on a runtime. A
// container of a runtime with no configured source is Known at once, with
// no metadata.
func (c *Cache) Get(ct event.Container) (event.Container, bool) {
	if ct.FullID == "" || ct.Known {
		return ct, true
	}
	srcs := c.o.Sources[ct.Runtime]
	if len(srcs) == 0 {
		ct.Known = true
		return ct, true
	}
	now := time.Now()
	c.mu.Lock()
	e := c.entries[ct.FullID]
	switch {
	case e == nil:
		e = &entry{state: pending, runtime: ct.Runtime}
		c.add(ct.FullID, e)
		c.enqueue(job{id: ct.FullID, runtime: ct.Runtime}, e)
	case e.state == done:
		e.used = now
		out := e.ct
		c.mu.Unlock()
		c.hits.Add(1)
		out.ID, out.FullID, out.Runtime = ct.ID, ct.FullID, ct.Runtime
		return out, true
	case e.state == failed && !now.Before(e.retry):
		e.state = pending
		e.runtime = ct.Runtime
		c.enqueue(job{id: ct.FullID, runtime: ct.Runtime}, e)
	}
	c.mu.Unlock()
	c.misses.Add(1)
	return ct, false
}

// enqueue queues j without blocking; with c.mu held.
func (c *Cache) enqueue(j job, e *entry) {
	select {
	case c.queue <- j:
	default:
		c.queueFull.Add(1)
		e.state = failed
		e.retry = time.Now().Add(c.o.Retry)
	}
}

// add stores e, first evicting the least recently used finished entry
// when the cache is full; with c.mu held.
func (c *Cache) add(id string, e *entry) {
	e.used = time.Now()
	if len(c.entries) >= c.o.MaxEntries {
		var oldest string
		var at time.Time
		for k, x := range c.entries {
			if x.state != pending && (oldest == "" || x.used.Before(at)) {
				oldest, at = k, x.used
			}
		}
		if oldest != "" {
			delete(c.entries, oldest)
		}
	}
	c.entries[id] = e
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return Stats{
		Entries: n, Hits: c.hits.Load(), Misses: c.misses.Load(), Lookups: c.lookups.Load(), Found: c.found.Load(),
		Errors: c.errs.Load(), NotFound: c.notFound.Load(), QueueFull: c.queueFull.Load(), Prefetch: c.prefetch.Load(),
	}
}

func (c *Cache) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-c.queue:
			c.lookup(ctx, j)
		}
	}
}

// lookup asks the sources of j in turn and records the answer.
func (c *Cache) lookup(ctx context.Context, j job) {
	srcs := c.o.Sources[j.runtime]
	if j.prefetch > 0 && len(srcs) > 1 {
		// A create event comes before the preferred source may know the
		// container (CRI registers it after containerd announces it): a
		// fallback's poorer answer must not win the race.
		srcs = srcs[:1]
	}
	var meta Meta
	var err error = ErrNotFound
	for _, s := range srcs {
		lctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
		c.lookups.Add(1)
		meta, err = s.Lookup(lctx, j.id)
		cancel()
		if err == nil {
			c.found.Add(1)
			break
		}
		if errors.Is(err, ErrNotFound) {
			c.notFound.Add(1)
			continue
		}
		c.errs.Add(1)
		c.log.Debug("container lookup failed", "source", s.Name(), "id", j.id, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[j.id]
	if j.prefetch > 0 && errors.Is(err, ErrNotFound) && j.prefetch < prefetchTries && (e == nil || e.state != done) {
		j.prefetch++
		time.AfterFunc(time.Duration(10<<j.prefetch)*time.Millisecond, func() {
			select {
			case c.queue <- j:
			default:
				c.queueFull.Add(1)
			}
		})
		return
	}
	if e == nil {
		if err != nil {
			return // a prefetch the runtime could not answer: wait for an event
		}
		e = &entry{}
		c.add(j.id, e)
	}
	switch {
	case err == nil:
		e.state = done
		e.ct = event.Container{Name: meta.Name, Image: meta.Image, Labels: maps.Clone(meta.Labels), PodNS: meta.PodNS, PodName: meta.PodName,
			Privileged: meta.Privileged, Mounts: keepMounts(meta.Mounts), Known: true}
	case errors.Is(err, ErrNotFound) && j.prefetch == 0:
		e.notFound++
		if e.notFound >= c.o.NotFoundTries {
			e.state = done // the runtime does not know it: stop asking
			e.ct = event.Container{Known: true}
			return
		}
		fallthrough
	default:
		if e.state != done {
			e.state = failed
			e.retry = time.Now().Add(c.o.Retry)
		}
	}
}

// watch follows s's create events, reconnecting with backoff, and starts
// a lookup for each new container.
func (c *Cache) watch(ctx context.Context, s Source) {
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.Watch(ctx, func(id, runtime string) {
			if len(c.o.Sources[runtime]) == 0 {
				return
			}
			c.prefetch.Add(1)
			c.mu.Lock()
			defer c.mu.Unlock()
			if e := c.entries[id]; e != nil && e.state != failed {
				return
			}
			select {
			case c.queue <- job{id: id, runtime: runtime, prefetch: 1}:
			default:
				c.queueFull.Add(1)
			}
		})
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = 500 * time.Millisecond
		}
		c.log.Debug("container runtime watch ended; retrying", "source", s.Name(), "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// trimName removes the slash Docker puts before container names.
func trimName(s string) string { return strings.TrimPrefix(s, "/") }

// Peek returns ct with its metadata and true when the cache has the final
// answer, without counting a miss or starting a lookup.
func (c *Cache) Peek(ct event.Container) (event.Container, bool) {
	c.mu.Lock()
	e := c.entries[ct.FullID]
	c.mu.Unlock()
	if e == nil || e.state != done {
		return ct, false
	}
	out := e.ct
	out.ID, out.FullID, out.Runtime = ct.ID, ct.FullID, ct.Runtime
	return out, true
}
