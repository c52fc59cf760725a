package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/sinks"
	"github.com/vigil-project/vigil/sinks/stream"
)

func alertRenderer(format string) (func([]byte, *event.Alert) []byte, error) {
	switch format {
	case "json":
		return event.AppendAlertJSON, nil
	case "text":
		return event.AppendAlertText, nil
	}
	return nil, fmt.Errorf("--format %q: want text or json", format)
}

func runCmd(stdout, stderr io.Writer, logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		rulePaths  []string
		format     string
		ringSize   int
		stats      bool
		configPath string
		lockFile   string
		profile    string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Judge live kernel events with the rules and deliver alerts (built-in rules, stdout by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopProfile, err := startProfile(profile)
			if err != nil {
				return err
			}
			defer stopProfile()
			cfg := &config{}
			if configPath != "" {
				if cfg, err = loadConfig(configPath); err != nil {
					return err
				}
			}
			log, err := logger()
			if err != nil {
				return err
			}
			log = configLogger(log, stderr, cfg.Log)
			if len(cfg.Sinks) == 0 {
				// No sinks configured: stdout in --format.
				if _, err := alertRenderer(format); err != nil {
					return err
				}
				cfg.Sinks = []sinkConfig{{Type: "stdout", Format: format, pos: "--format"}}
			}
			if len(rulePaths) == 0 {
				rulePaths = cfg.Rules
			}
			if cmd.Flags().Changed("ring-size") || cfg.RingbufSize == 0 {
				cfg.RingbufSize = ringSize
			}
			rs, err := compileRules(rulePaths)
			if err != nil {
				return err
			}
			d := &daemon{log: log, rulePaths: rulePaths, events: cfg.Events, enforcement: cfg.Enforcement, env: cfg.Environment}
			d.rules.Store(rs)
			pf := d.prefilter(rs)
			if len(pf.Types) == 0 {
				return fmt.Errorf("no enabled rule uses a traced event type: nothing to watch")
			}
			release, err := lock(lockFile)
			if err != nil {
				return err
			}
			defer release()

			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// Subscribe to SIGHUP now: unsubscribed, it would end vigil
			// while the probes load (logrotate does not wait).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			fan, files, err := buildSinks(ctx, log, cfg, configPath, stdout)
			if err != nil {
				return err
			}
			defer closeSinks(log, fan)
			cc, err := newContainerCache(log, cfg.Containers)
			if err != nil {
				return err
			}
			if cc != nil {
				defer cc.Close()
			}
			m := engine.NewMatcher()
			mx := newMetrics(m, fan, d)
			mx.containers = cc
			if cfg.Metrics.Address != "" {
				if err := mx.serve(ctx, log, cfg.Metrics.Address); err != nil {
					return fmt.Errorf("metrics: %w", err)
				}
			}
			var alerts []*event.Alert
			pc := pipelineConfig{
				// Every type is delivered: a reload may start using a type;
				// the kernel mask decides what is copied.
				types: event.Types(), kernel: pf.Types, env: d.env.options(pf.Env), noSetidOld: pf.Args.NoSetidOld,
				ringSize: cfg.RingbufSize, stats: stats, openFilter: &pf.Open,
				maxProcs:   cfg.ProcessTable.MaxEntries,
				containers: containerLookup(cc),
				ready:      []any{"rules", len(rs.Rules), "sinks", len(cfg.Sinks), "open_filter_paths", len(pf.Open.Paths), "all_opens", pf.Open.All},
				onProbes: func(p *bpf.Probes, r *bpf.Reader) error {
					if err := p.SetTypes(pf.Types); err != nil {
						log.Error("set kernel event types", "err", err)
					}
					if err := p.SetArgFilter(pf.Args); err != nil {
						log.Error("set kernel argument filters (events stay unfiltered)", "err", err)
					}
					if err := d.applyPolicy(p, rs); err != nil {
						return err
					}
					mx.probes.Store(p)
					mx.reader.Store(r)
					mx.ready.Store(true)
					go d.handleSignals(ctx, hup, p, files)
					go d.watchLoss(ctx, p, fan)
					return nil
				},
			}
			var hold *metaHold
			if cc != nil {
				hold = newMetaHold(cc, d.rules.Load, fan.Publish)
				mx.hold.Store(hold)
				defer hold.Close() // before the sinks close (defers run last first)
			}
			return pipeline(ctx, log, stdout, pc, func(ev *event.Event, _ func(*event.Alert)) {
				alerts = m.Match(d.rules.Load(), ev, alerts[:0])
				for _, a := range alerts {
					a.Degraded = d.degraded(mx.probes.Load())
					mx.alerts.WithLabelValues(a.Rule, a.Priority).Inc()
					if hold != nil {
						hold.Publish(a)
					} else {
						fan.Publish(a)
					}
				}
			}, nil)
		},
	}
	f := cmd.Flags()
	addRulesFlag(f, &rulePaths)
	f.StringVar(&format, "format", "text", "alert format on stdout when the config names no sink: text or json (Falco-compatible)")
	f.IntVar(&ringSize, "ring-size", bpf.DefaultRingSize, "kernel ring buffer size in bytes (power of two)")
	f.BoolVar(&stats, "stats", false, "print counters to stderr on exit")
	f.StringVar(&configPath, "config", "", "configuration file (rules, sinks, metrics, ...)")
	f.StringVar(&lockFile, "lock-file", defaultLockFile, "the host-wide lock that keeps a second vigil from starting")
	f.MarkHidden("lock-file")
	addProfileFlag(f, &profile)
	return cmd
}

// daemon is the state `vigil run` changes while it runs: the rule set,
// swapped whole on reload.
type daemon struct {
	log                      *slog.Logger
	rulePaths                []string
	events                   []string // config: the event types traced at most
	enforcement              enforcementConfig
	env                      envConfig
	rules                    atomic.Pointer[engine.Ruleset]
	reloadsOK, reloadsFailed atomic.Uint64
	// degradedUntil (unix ns): alerts raised before then say coverage
	// was degraded, because events were being lost.
	degradedUntil atomic.Int64
	// seenDrops is the kernel drop count at watchLoss's last look.
	seenDrops atomic.Uint64
	// For the reader goroutine: when it last read the drop counters.
	lastDropCheck time.Time
}

// Loss watching: how often, and how long after a loss alerts carry the
// degraded flag.
const (
	lossInterval = time.Second
	degradedHold = 10 * time.Second
	lossRule     = "vigil: events lost"
)

// degraded reports whether an alert raised now may have missed events:
// a loss was seen lately, or the kernel has dropped events since the
// watcher last looked (checked at most every 10 ms; alerts are rare, so
// the map reads cost nothing on the event path). Reader goroutine only.
func (d *daemon) degraded(p *bpf.Probes) bool {
	now := time.Now()
	if now.UnixNano() < d.degradedUntil.Load() {
		return true
	}
	if p == nil || now.Sub(d.lastDropCheck) < 10*time.Millisecond {
		return false
	}
	d.lastDropCheck = now
	drops, err := p.Drops()
	if err != nil || sum(drops) <= d.seenDrops.Load() {
		return false
	}
	d.degradedUntil.Store(now.Add(degradedHold).UnixNano())
	return true
}

// watchLoss looks at the loss counters every lossInterval; when events
// were lost in the kernel (ring buffer full) or alerts in a sink's queue,
// it marks coverage degraded and raises an alert saying how many.
func (d *daemon) watchLoss(ctx context.Context, p *bpf.Probes, fan *sinks.Fanout) {
	host, _ := os.Hostname()
	tick := time.NewTicker(lossInterval)
	defer tick.Stop()
	var lastKernel, lastSinks uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		drops, err := p.Drops()
		if err != nil {
			continue
		}
		kernel, queues := sum(drops), uint64(0)
		for _, s := range fan.Stats() {
			queues += s.Dropped
		}
		dk, dq := kernel-lastKernel, queues-lastSinks
		lastKernel, lastSinks = kernel, queues
		d.seenDrops.Store(kernel)
		if dk+dq == 0 {
			continue
		}
		now := time.Now()
		d.degradedUntil.Store(now.Add(degradedHold).UnixNano())
		d.log.Warn("events lost; coverage degraded", "kernel", dk, "sink_queues", dq)
		fan.Publish(&event.Alert{
			Time: now, Rule: lossRule, Priority: "Error", Level: 3, Source: "internal",
			Output: fmt.Sprintf("vigil lost events in the last %s: %d in the kernel (ring buffer full), %d alerts in full sink queues; rules may have missed matches",
				lossInterval, dk, dq),
			Tags: []string{"vigil", "coverage"}, Hostname: host, Action: "alert", Degraded: true,
			Event: &event.Event{Time: now, Proc: &event.Process{}},
		})
	}
}

// prefilter is the rule set's kernel filter, limited to the configured
// event types.
func (d *daemon) prefilter(rs *engine.Ruleset) engine.Prefilter {
	pf := rs.Prefilter()
	if len(d.events) > 0 {
		allowed, _ := parseTypes(strings.Join(d.events, ","))
		pf.Types = slices.DeleteFunc(pf.Types, func(t event.Type) bool { return !slices.Contains(allowed, t) })
	}
	return pf
}

// handleSignals reopens file sinks and reloads the rules on SIGHUP, and
// reloads them when a rules file changes. Reloads run one at a time, here.
func (d *daemon) handleSignals(ctx context.Context, hup <-chan os.Signal, p *bpf.Probes, files []*stream.Sink) {
	changed := make(chan struct{}, 1)
	if err := watchRules(ctx, d.rulePaths, changed); err != nil {
		d.log.Warn("rules files are not watched; reload with SIGHUP", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			d.log.Info("a rules file changed")
		case <-hup:
			for _, f := range files {
				if err := f.Reopen(); err != nil {
					d.log.Error("reopen alert file", "err", err)
				}
			}
		}
		d.reload(p)
	}
}

// reload compiles the rules again and swaps them in only if they compile.
// The kernel filters are first widened to what either set needs, then the
// set is swapped, then they are narrowed: an event arriving meanwhile is
// judged by the old set or the new one, never dropped by neither.
func (d *daemon) reload(p *bpf.Probes) {
	next, err := compileRules(d.rulePaths)
	if err != nil {
		d.reloadsFailed.Add(1)
		d.log.Error("reload failed; the running rules stay", "err", err)
		return
	}
	oldPF, newPF := d.prefilter(d.rules.Load()), d.prefilter(next)
	union := plan.OpenFilter{All: oldPF.Open.All || newPF.Open.All, Paths: append(slices.Clone(oldPF.Open.Paths), newPF.Open.Paths...)}
	types := append(slices.Clone(oldPF.Types), newPF.Types...)
	if err := errors.Join(p.SetTypes(types), p.SetOpenFilter(union), p.SetEnv(d.env.options(oldPF.Env || newPF.Env)), p.SetArgFilter(plan.ArgFilter{})); err != nil {
		d.reloadsFailed.Add(1)
		d.log.Error("reload: widen kernel filters", "err", err)
		return
	}
	if err := d.applyPolicy(p, next); err != nil {
		d.reloadsFailed.Add(1)
		d.log.Error("reload failed: the kernel cannot carry out the new rules' policy; the running rules and policy stay", "err", err)
		if err := errors.Join(p.SetTypes(oldPF.Types), p.SetOpenFilter(oldPF.Open), p.SetEnv(d.env.options(oldPF.Env)), p.SetArgFilter(oldPF.Args)); err != nil {
			d.log.Error("reload: restore kernel filters (they stay wider)", "err", err)
		}
		return
	}
	d.rules.Store(next)
	if err := errors.Join(p.SetTypes(newPF.Types), p.SetOpenFilter(newPF.Open), p.SetEnv(d.env.options(newPF.Env)), p.SetArgFilter(newPF.Args)); err != nil {
		d.log.Error("reload: narrow kernel filters (they stay wider)", "err", err)
	}
	d.reloadsOK.Add(1)
	d.log.Info("rules reloaded", "rules", len(next.Rules), "types", typeNames(newPF.Types), "open_filter_paths", len(newPF.Open.Paths))
}

// configLogger applies the config's log settings.
func configLogger(log *slog.Logger, stderr io.Writer, c logConfig) *slog.Logger {
	if c.Level == "" && c.Format == "" {
		return log
	}
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
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

func replayCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		rulePaths []string
		format    string
	)
	cmd := &cobra.Command{
		Use:   "replay FILE.jsonl",
		Short: "Judge recorded events (vigil events --format json) with the rules, offline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			render, err := alertRenderer(format)
			if err != nil {
				return err
			}
			rs, err := compileRules(rulePaths)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
			out := bufio.NewWriter(stdout)
			defer out.Flush()
			m := engine.NewMatcher()
			var alerts []*event.Alert
			var line []byte
			n, bad, nAlerts := 0, 0, 0
			for sc.Scan() {
				n++
				if len(sc.Bytes()) == 0 {
					continue
				}
				ev, err := event.DecodeJSON(sc.Bytes())
				if err != nil {
					bad++
					fmt.Fprintf(stderr, "%s:%d: skipped: %v\n", args[0], n, err)
					continue
				}
				alerts = m.Match(rs, ev, alerts[:0])
				for _, a := range alerts {
					line = append(render(line[:0], a), '\n')
					out.Write(line)
					nAlerts++
				}
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("%s:%d: %w", args[0], n+1, err)
			}
			fmt.Fprintf(stderr, "replayed %d events (%d skipped): %d alerts\n", n-bad, bad, nAlerts)
			return nil
		},
	}
	f := cmd.Flags()
	addRulesFlag(f, &rulePaths)
	f.StringVar(&format, "format", "text", "alert format: text or json")
	return cmd
}

// applyPolicy installs the kernel policy of rs's deny and kill rules. A
// deny this kernel cannot make is an error naming the rule and its place.
func (d *daemon) applyPolicy(p *bpf.Probes, rs *engine.Ruleset) error {
	pol, err := rs.Policy(d.enforcement.Audit, d.enforcement.Allow)
	if err != nil {
		return err
	}
	if err := p.SetPolicy(pol); err != nil {
		var ue *bpf.UnavailableError
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", rs.RulePos(ue.Rule), err)
		}
		return fmt.Errorf("install the enforcement policy: %w", err)
	}
	if !pol.Empty() {
		n := 0
		for _, t := range pol.Types {
			n += len(t.Conjs)
		}
		m := p.Mechanisms()
		d.log.Info("enforcement policy installed", "alternatives", n, "audit", d.enforcement.Audit,
			"lsm", m.LSM, "cgroup_connect", m.CgroupConnect, "allow", len(pol.Allow))
	}
	return nil
}
