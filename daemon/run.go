package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/containers"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/internal/dnsnames"
	"github.com/vigil-project/vigil/sinks"
	"github.com/vigil-project/vigil/sinks/stream"
)

// Options are what `vigil run` was asked to do.
type Options struct {
	Config *config.Config // with at least one sink
	// Rules are the rules files, vigil's and Falco's (flags, else the
	// config's; none at all: the built-in set).
	Rules    engine.Paths
	Stdout   io.Writer // for stdout sinks
	Log      *slog.Logger
	LockFile string // the host-wide lock (DefaultLockFile)
	Stats    bool   // log the counters on exit even when nothing was lost
}

// daemon is one run: what the steps build, in order.
type daemon struct {
	o       Options
	log     *slog.Logger
	closers []func() // run last first when Run returns

	rules   *Rules
	matcher *engine.Matcher // the judging goroutine's
	hup     chan os.Signal
	fan     *sinks.Fanout
	files   []*stream.Sink
	cache   *containers.Cache
	hold    *metaHold
	metrics *metrics
	probes  *bpf.Probes
	reader  *bpf.Reader
	loss    *lossWatch
}

// step is one named stage of start-up.
type step struct {
	name string
	run  func(ctx context.Context) error
}

// Run starts vigil's daemon and judges events until ctx ends or SIGINT
// or SIGTERM arrives; then it drains the sinks (at most sinkCloseTimeout)
// and releases everything in reverse order.
func Run(ctx context.Context, o Options) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := &daemon{o: o, log: o.Log, matcher: engine.NewMatcher()}
	d.matcher.First = o.Config.RuleMatching == "first"
	defer d.close()
	for _, s := range []step{
		{"compile the rules and their kernel plan", d.compileRules},
		{"warn of rules the events list blinds", d.checkEvents},
		{"take the host lock", d.takeLock},
		{"subscribe to SIGHUP", d.subscribe},
		{"open the sinks", d.openSinks},
		{"start container metadata lookups", d.startContainers},
		{"serve metrics", d.serveMetrics},
		{"load and attach the probes", d.loadProbes},
		{"apply the kernel plan", d.applyPlan},
		{"watch for reloads and losses", d.startWatchers},
	} {
		d.log.Debug("start-up", "step", s.name)
		if err := s.run(ctx); err != nil {
			return err
		}
	}
	return d.judge(ctx)
}

// onClose adds f to what Run undoes on return, last first.
func (d *daemon) onClose(f func()) { d.closers = append(d.closers, f) }

func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

func (d *daemon) compileRules(context.Context) error {
	opts := d.o.Config.PlanOptions()
	opts.Allow = withSelf(d.log, opts.Allow)
	// The addresses of the DNS names rules compare with (resolvesTo,
	// Falco's fd.sip.name) are resolved in the background; a load names
	// them.
	names := dnsnames.New(dnsnames.Options{Logger: d.log.With("component", "dns")})
	d.onClose(names.Close)
	base, err := engine.NewCompiler(engine.Options{})
	if err != nil {
		return err
	}
	c, err := base.WithNames(names)
	if err != nil {
		return err
	}
	r, err := NewRules(d.log,
		func(ctx context.Context) (*engine.Ruleset, error) {
			rs, err := c.CompileFiles(ctx, d.o.Rules)
			if err == nil {
				for _, w := range rs.Warnings {
					d.log.Warn("rules: "+w.Msg, "at", w.Pos.String(), "item", w.Item, "code", w.Code)
				}
				names.SetNames(rs.DNSNames())
			}
			return rs, err
		},
		func(rs *engine.Ruleset) (plan.Plan, error) { return rs.Plan(opts) })
	d.rules = r
	return err
}

func (d *daemon) checkEvents(context.Context) error {
	for _, w := range Unwatched(d.o.Config, d.rules.Current()) {
		d.log.Warn(w)
	}
	return nil
}

// Unwatched says, one line per rule, which enabled rules of rs never see
// an event type because cfg's events list leaves it out.
func Unwatched(cfg *config.Config, rs *engine.Ruleset) []string {
	events, _ := cfg.EventTypes()
	var out []string
	var last *engine.Unwatched
	var types []string
	flush := func() {
		if last != nil {
			out = append(out, fmt.Sprintf("%s: events leaves out %s: rule %q (%s) never sees them",
				cfg.EventsPos, strings.Join(types, ", "), last.Rule, last.Pos))
		}
	}
	for _, u := range rs.Unwatched(events) {
		if last == nil || u.Rule != last.Rule {
			flush()
			last, types = &u, nil
		}
		types = append(types, u.Type.String())
	}
	flush()
	return out
}

func (d *daemon) takeLock(context.Context) error {
	release, err := Lock(d.o.LockFile)
	if err != nil {
		return err
	}
	d.onClose(release)
	return nil
}

// subscribe takes SIGHUP now: unsubscribed, it would end vigil while the
// probes load (logrotate does not wait).
func (d *daemon) subscribe(context.Context) error {
	d.hup = make(chan os.Signal, 1)
	signal.Notify(d.hup, syscall.SIGHUP)
	d.onClose(func() { signal.Stop(d.hup) })
	return nil
}

func (d *daemon) openSinks(context.Context) error {
	fan, files, err := config.OpenSinks(d.o.Config.Sinks, config.Opening{Stdout: d.o.Stdout, Log: d.log})
	if err != nil {
		return err
	}
	d.fan, d.files = fan, files
	d.onClose(func() { closeSinks(d.log, fan) })
	return nil
}

func (d *daemon) startContainers(context.Context) error {
	cc, err := newContainerCache(d.log, d.o.Config.Containers)
	if err != nil || cc == nil {
		return err
	}
	d.cache = cc
	d.onClose(func() { cc.Close() })
	// Alerts wait for their container's metadata; the hold closes before
	// the sinks (closers run last first).
	d.hold = newMetaHold(cc, d.rules.Current, d.fan.Publish)
	d.onClose(d.hold.Close)
	return nil
}

func (d *daemon) serveMetrics(ctx context.Context) error {
	d.metrics = newMetrics(d)
	if addr := d.o.Config.Metrics.Address; addr != "" {
		if err := d.metrics.serve(ctx, d.log, addr); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// loadProbes loads the probes for the first plan: its types' programs
// attached, its environment collected, the set*id entries only if needed.
func (d *daemon) loadProbes(context.Context) error {
	pl := d.rules.Plan()
	opts := bpf.DefaultOptions()
	opts.Types, opts.Env, opts.NoSetidOld = pl.Types, pl.Env, pl.Args.NoSetidOld
	opts.RingSize = d.o.Config.RingbufSize
	opts.RateLimit, opts.RateBurst = d.o.Config.RateLimit.PerSecond, d.o.Config.RateLimit.Burst
	var lookup func(event.Container) (event.Container, bool)
	if d.cache != nil {
		lookup = d.cache.Get
	}
	// Every type is delivered: a reload may start using a type; the
	// kernel's mask decides what is copied.
	fl := newFloods(d.log.With("component", "flood"), d.fan.Publish, opts.RateLimit)
	p, r, err := bpf.Open(opts, bpf.ReaderOptions{Types: event.Types(), MaxProcs: d.o.Config.ProcessTable.MaxEntries, Containers: lookup, Flood: fl.record})
	if err != nil {
		return err
	}
	d.probes, d.reader = p, r
	d.onClose(func() { p.Close() })
	return nil
}

func (d *daemon) applyPlan(context.Context) error {
	if err := d.rules.Start(d.probes); err != nil {
		return err
	}
	d.loss = newLossWatch(d.probes)
	d.loss.limited = d.probes.Limited
	d.metrics.attach(d.probes, d.reader)
	return nil
}

func (d *daemon) startWatchers(ctx context.Context) error {
	go d.handleSignals(ctx)
	go d.loss.watch(ctx, d.log, d.fan)
	pl := d.rules.Plan()
	d.log.Info("probes attached; ready", "types", strings.Join(event.Names(event.Types()...), ","), "ring_size", d.o.Config.RingbufSize,
		"processes", d.reader.Procs().Stats().Entries, "rules", len(d.rules.Current().Rules), "sinks", len(d.o.Config.Sinks),
		"open_filter_paths", len(pl.Open.Paths), "all_opens", pl.Open.All)
	return nil
}

// judge runs the rules on every event until ctx ends.
func (d *daemon) judge(ctx context.Context) error {
	m := d.matcher
	publish := d.fan.Publish
	if d.hold != nil {
		publish = d.hold.Publish
	}
	var alerts []*event.Alert
	err := d.reader.Run(ctx, func(ev *event.Event) {
		alerts = m.Match(d.rules.Current(), ev, alerts[:0])
		for _, a := range alerts {
			a.Degraded = d.loss.degraded()
			d.metrics.alerts.WithLabelValues(a.Rule, a.Priority).Inc()
			publish(a)
		}
	})
	d.logStopped()
	return err
}

// logStopped logs the counters when something was lost (or Stats).
func (d *daemon) logStopped() {
	drops, derr := d.probes.Drops()
	if !d.o.Stats && derr == nil && bpf.Sum(drops) == 0 {
		return
	}
	d.log.Info("stopped", bpf.StoppedAttrs(d.probes, d.reader)...)
}

// handleSignals reopens file sinks and reloads the rules on SIGHUP, and
// reloads them when a rules file changes. Reloads run one at a time, here.
func (d *daemon) handleSignals(ctx context.Context) {
	changed := make(chan struct{}, 1)
	if err := watchRules(ctx, append(slices.Clone(d.o.Rules.Rules), d.o.Rules.Falco...), changed); err != nil {
		d.log.Warn("rules files are not watched; reload with SIGHUP", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			d.log.Info("a rules file changed")
		case <-d.hup:
			for _, f := range d.files {
				if err := f.Reopen(); err != nil {
					d.log.Error("reopen alert file", "err", err)
				}
			}
		}
		d.rules.Reload()
	}
}

// sinkCloseTimeout bounds how long queued alerts may take to go out on exit.
const sinkCloseTimeout = 10 * time.Second

func closeSinks(log *slog.Logger, fan *sinks.Fanout) {
	ctx, cancel := context.WithTimeout(context.Background(), sinkCloseTimeout)
	defer cancel()
	if err := fan.Close(ctx); err != nil {
		log.Error("close sinks", "err", err)
	}
	for _, s := range fan.Stats() {
		log.Info("sink", "sink", s.Name, "sent", s.Sent, "failed", s.Failed, "dropped", s.Dropped, "unsent", s.Unsent,
			"retried", s.Retried, "spooled", s.Spooled)
	}
}
