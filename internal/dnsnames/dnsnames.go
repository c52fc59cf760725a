package dnsnames

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver resolves a name to its addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Cache.
type Options struct {
	// Resolver answers the lookups; nil means net.DefaultResolver (the
	// host's resolv.conf and hosts file).
	Resolver Resolver
	// Refresh is how often each name is resolved again; 0 means 30 s.
	// A failed lookup is tried again sooner: after Refresh/4.
	Refresh time.Duration
	// Hold is how long an address stays after the last answer that had
	// it, so that a name whose servers rotate their answers (a pool of
	// many addresses, a few in each answer) keeps matching the addresses
	// handed out a moment ago; 0 means 5 min.
	Hold time.Duration
	// Timeout bounds one lookup; 0 means 5 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

// MaxAddrs is the number of addresses kept for one name at most; the
// oldest go first.
const MaxAddrs = 256

// Cache keeps the addresses of a set of names fresh. Resolves may be
// called from any goroutine while the cache refreshes.
type Cache struct {
	o    Options
	log  *slog.Logger
	cur  atomic.Pointer[table]
	wake chan struct{}

	mu    sync.Mutex
	names map[string]*entry

	lookups, errs, notFound atomic.Uint64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// table is one published state of the answers: read without a lock, and
// replaced whole.
type table struct {
	has   map[key]struct{}
	addrs map[string][]netip.Addr // sorted, for Addrs
}

type key struct {
	name string
	addr netip.Addr
}

type entry struct {
	seen    map[netip.Addr]time.Time // each address, with the last answer that had it
	next    time.Time                // when to resolve it again
	failing bool                     // the last lookup failed (logged once per outage)
}

// Stats are the cache's counters.
type Stats struct {
	Names    int    // names kept
	Resolved int    // names with at least one address
	Lookups  uint64 // lookups made
	Errors   uint64 // lookups that failed (timeout, server down): the last answer stays
	NotFound uint64 // lookups answered "no such name"
}

// New starts a cache with no names; SetNames gives it some. Close stops
// it.
func New(o Options) *Cache {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Refresh <= 0 {
		o.Refresh = 30 * time.Second
	}
	if o.Hold <= 0 {
		o.Hold = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{o: o, log: o.Logger, wake: make(chan struct{}, 1), names: map[string]*entry{}, cancel: cancel}
	c.cur.Store(&table{})
	c.wg.Go(func() { c.run(ctx) })
	return c
}

// Close stops the refreshing.
func (c *Cache) Close() {
	c.cancel()
	c.wg.Wait()
}

// Canonical is the form of name the cache keeps: lower case, without the
// trailing dot of a fully qualified name.
func Canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// SetNames replaces the names kept: names already kept keep their
// answers, new ones are resolved at once (in the background: until then
// they match nothing) and the others are forgotten.
func (c *Cache) SetNames(names []string) {
	c.mu.Lock()
	old := c.names
	c.names = make(map[string]*entry, len(names))
	for _, n := range names {
		n = Canonical(n)
		if e := old[n]; e != nil {
			c.names[n] = e
		} else {
			c.names[n] = &entry{seen: map[netip.Addr]time.Time{}}
		}
	}
	c.publish()
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Resolves reports whether ip is one of the addresses name resolved to.
// It never blocks and does not allocate for a name in Canonical form.
// An IPv4-mapped IPv6 address is its IPv4 address.
func (c *Cache) Resolves(name string, ip netip.Addr) bool {
	_, ok := c.cur.Load().has[key{Canonical(name), ip.Unmap()}]
	return ok
}

// Addrs returns the addresses name currently matches, sorted.
func (c *Cache) Addrs(name string) []netip.Addr {
	return slices.Clone(c.cur.Load().addrs[Canonical(name)])
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	t := c.cur.Load()
	c.mu.Lock()
	n := len(c.names)
	c.mu.Unlock()
	return Stats{Names: n, Resolved: len(t.addrs), Lookups: c.lookups.Load(), Errors: c.errs.Load(), NotFound: c.notFound.Load()}
}

// publish builds and stores the table of the current answers; with c.mu
// held.
func (c *Cache) publish() {
	t := &table{has: map[key]struct{}{}, addrs: map[string][]netip.Addr{}}
	for n, e := range c.names {
		for a := range e.seen {
			t.has[key{n, a}] = struct{}{}
			t.addrs[n] = append(t.addrs[n], a)
		}
		slices.SortFunc(t.addrs[n], netip.Addr.Compare)
	}
	c.cur.Store(t)
}

// run resolves the names that are due, then sleeps until the next one is
// or SetNames adds some.
func (c *Cache) run(ctx context.Context) {
	for {
		wait := c.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-time.After(wait):
		}
	}
}

// lookups in flight at most, so that many names resolve in about the time
// of one without flooding the resolver.
const parallel = 4

// refresh resolves every name that is due and returns the time until the
// next one is.
func (c *Cache) refresh(ctx context.Context) time.Duration {
	now := time.Now()
	c.mu.Lock()
	var due []string
	for n, e := range c.names {
		if !now.Before(e.next) {
			due = append(due, n)
		}
	}
	c.mu.Unlock()

	type answer struct {
		name  string
		addrs []netip.Addr
		err   error
	}
	answers := make([]answer, len(due))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, n := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			lctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
			defer cancel()
			c.lookups.Add(1)
			addrs, err := c.o.Resolver.LookupNetIP(lctx, "ip", n)
			answers[i] = answer{n, addrs, err}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0
	}

	now = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range answers {
		e := c.names[a.name]
		if e == nil {
			continue // dropped by SetNames meanwhile
		}
		c.apply(a.name, e, a.addrs, a.err, now)
	}
	c.publish()
	wait := c.o.Refresh
	for _, e := range c.names {
		wait = min(wait, max(e.next.Sub(now), 0))
	}
	return wait
}

// apply records the answer of one lookup of name; with c.mu held.
func (c *Cache) apply(name string, e *entry, addrs []netip.Addr, err error, now time.Time) {
	var dnsErr *net.DNSError
	notFound := errors.As(err, &dnsErr) && dnsErr.IsNotFound
	switch {
	case err != nil && !notFound:
		// The resolver failed, which says nothing of the name: keep what
		// it said last, and ask again soon.
		c.errs.Add(1)
		e.next = now.Add(c.o.Refresh / 4)
		if !e.failing {
			c.log.Warn("dns lookup failed; keeping the last answer", "name", name, "addrs", len(e.seen), "err", err)
		}
		e.failing = true
		return
	case notFound:
		c.notFound.Add(1)
	}
	if e.failing {
		c.log.Info("dns lookup answered again", "name", name)
		e.failing = false
	}
	e.next = now.Add(c.o.Refresh)
	for _, a := range addrs {
		e.seen[a.Unmap()] = now
	}
	for a, t := range e.seen {
		if now.Sub(t) > c.o.Hold {
			delete(e.seen, a)
		}
	}
	for len(e.seen) > MaxAddrs {
		var oldest netip.Addr
		var at time.Time
		for a, t := range e.seen {
			if !oldest.IsValid() || t.Before(at) {
				oldest, at = a, t
			}
		}
		delete(e.seen, oldest)
	}
}
