package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/containers"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// metrics exposes the counters the pipeline already keeps. Nearly all are
// read at scrape time; only alerts are counted as they happen.
type metrics struct {
	reg    *prometheus.Registry
	alerts *prometheus.CounterVec
	ready  atomic.Bool

	probes  atomic.Pointer[bpf.Probes]
	reader  atomic.Pointer[bpf.Reader]
	matcher *engine.Matcher
	fan     *sinks.Fanout
	rules   *Rules
	// containers is the metadata cache and hold the alert hold (nil
	// when lookups are off).
	containers *containers.Cache
	hold       *metaHold
}

// newMetrics exposes d's counters; the kernel's once attach gives them.
func newMetrics(d *daemon) *metrics {
	x := &metrics{
		reg:     prometheus.NewRegistry(),
		matcher: d.matcher, fan: d.fan, rules: d.rules, containers: d.cache, hold: d.hold,
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerts_total", Help: "Alerts raised, by rule and priority.",
		}, []string{"rule", "priority"}),
	}
	x.reg.MustRegister(x.alerts, x, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return x
}

var (
	descEvents     = prometheus.NewDesc("vigil_events_total", "Kernel events decoded, by type.", []string{"type"}, nil)
	descRecords    = prometheus.NewDesc("vigil_records_total", "Records read from the ring buffer.", nil, nil)
	descDecodeErr  = prometheus.NewDesc("vigil_decode_errors_total", "Records that could not be decoded (counted and skipped).", nil, nil)
	descDrops      = prometheus.NewDesc("vigil_kernel_drops_total", "Events lost because the ring buffer was full, by type.", []string{"type"}, nil)
	descLimited    = prometheus.NewDesc("vigil_kernel_rate_limited_total", "Events not sent because their process was over its rate limit (an event flood), by type.", []string{"type"}, nil)
	descFloods     = prometheus.NewDesc("vigil_flood_records_total", "Flood records: a process started or stopped going over its rate limit.", nil, nil)
	descFiltered   = prometheus.NewDesc("vigil_kernel_filtered_total", "Events the kernel-side filters dropped as no rule can match them, by type.", []string{"type"}, nil)
	descProcs      = prometheus.NewDesc("vigil_process_table_entries", "Processes in the process table.", nil, nil)
	descEvictions  = prometheus.NewDesc("vigil_process_table_evictions_total", "Live processes evicted from the full process table.", nil, nil)
	descEvaluated  = prometheus.NewDesc("vigil_rule_evaluations_total", "Rule conditions evaluated.", nil, nil)
	descEvalErrors = prometheus.NewDesc("vigil_rule_evaluation_errors_total", "Rule evaluations that failed (counted as no match).", nil, nil)
	descJudged     = prometheus.NewDesc("vigil_events_judged_total", "Events that met at least one rule.", nil, nil)
	descReloads    = prometheus.NewDesc("vigil_reloads_total", "Rule reloads, by result.", []string{"result"}, nil)
	descSinkHanded = prometheus.NewDesc("vigil_sink_handed_total", "Alerts handed to a sink (its filter let them through).", []string{"sink"}, nil)
	descSinkSent   = prometheus.NewDesc("vigil_sink_sent_total", "Alerts a sink delivered, directly or out of its spool.", []string{"sink"}, nil)
	descSinkLost   = prometheus.NewDesc("vigil_sink_lost_total", "Alerts a sink dropped, by reason (queue_full, deadline, spool_full, refused, unavailable, spool_error, spool_damage, encode, error).", []string{"sink", "reason"}, nil)
	descSinkFailed = prometheus.NewDesc("vigil_sink_failed_total", "Alerts a sink gave up on: vigil_sink_lost_total but queue_full.", []string{"sink"}, nil)
	descSinkDrop   = prometheus.NewDesc("vigil_sink_dropped_total", "Alerts dropped because a sink's queue was full.", []string{"sink"}, nil)
	descSinkSpIn   = prometheus.NewDesc("vigil_sink_spooled_total", "Alerts a sink wrote to its on-disk spool.", []string{"sink"}, nil)
	descSinkRecov  = prometheus.NewDesc("vigil_sink_recovered_total", "Alerts found in a sink's spool at start, left by an earlier run.", []string{"sink"}, nil)
	descSinkReplay = prometheus.NewDesc("vigil_sink_replayed_total", "Alerts delivered out of a sink's spool (part of vigil_sink_sent_total).", []string{"sink"}, nil)
	descSinkRetry  = prometheus.NewDesc("vigil_sink_retried_total", "Delivery attempts beyond the first.", []string{"sink"}, nil)
	descSinkQueue  = prometheus.NewDesc("vigil_sink_queue_depth", "Alerts waiting in a sink's queue.", []string{"sink"}, nil)
	descSinkSpool  = prometheus.NewDesc("vigil_sink_spooled", "Alerts waiting in a sink's on-disk spool.", []string{"sink"}, nil)
	descSinkTime   = prometheus.NewDesc("vigil_sink_send_seconds_total", "Time spent delivering.", []string{"sink"}, nil)
	descCtrLookups = prometheus.NewDesc("vigil_container_lookups_total", "Container metadata requests to the runtimes, by result (found, not_found, error).", []string{"result"}, nil)
	descCtrMisses  = prometheus.NewDesc("vigil_container_metadata_misses_total", "Events of a container whose metadata was not known yet (they went out without it).", nil, nil)
	descCtrHits    = prometheus.NewDesc("vigil_container_metadata_hits_total", "Container metadata answered from the cache.", nil, nil)
	descCtrPrefet  = prometheus.NewDesc("vigil_container_prefetches_total", "Lookups started by a runtime's container create event.", nil, nil)
	descCtrQFull   = prometheus.NewDesc("vigil_container_lookup_queue_full_total", "Lookups postponed because the lookup queue was full.", nil, nil)
	descHeld       = prometheus.NewDesc("vigil_alerts_held_total", "Alerts that waited (at most 0.5 s) for their container's metadata, by outcome (filled, timeout, overflow).", []string{"outcome"}, nil)
	descCtrEntries = prometheus.NewDesc("vigil_container_cache_entries", "Containers in the metadata cache.", nil, nil)
	descEvalTime   = prometheus.NewDesc("vigil_rule_evaluation_seconds", "Time the rules of one event take, sampled (one judged event in 64).", nil, nil)
	descBuild      = prometheus.NewDesc("vigil_build_info", "Build information.", []string{"version", "goversion"}, nil)
)

// attach adds the kernel side's counters; /readyz answers ready from now.
func (x *metrics) attach(p *bpf.Probes, r *bpf.Reader) {
	x.probes.Store(p)
	x.reader.Store(r)
	x.ready.Store(true)
}

func (x *metrics) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(x, ch)
}

func (x *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if r := x.reader.Load(); r != nil {
		s := r.Stats()
		for _, t := range event.Types() {
			counter(descEvents, s.Events[t], t.String())
		}
		counter(descRecords, s.Records)
		counter(descDecodeErr, s.DecodeErrors)
		counter(descFloods, s.Floods)
		ps := r.Procs().Stats()
		gauge(descProcs, float64(ps.Entries))
		counter(descEvictions, ps.Evictions)
	}
	if p := x.probes.Load(); p != nil {
		if drops, err := p.Drops(); err == nil {
			for t, n := range drops {
				counter(descDrops, n, t.String())
			}
		}
		if l, err := p.Limited(); err == nil {
			for t, n := range l {
				counter(descLimited, n, t.String())
			}
		}
		if f, err := p.Filtered(); err == nil {
			for t, n := range f {
				counter(descFiltered, n, t.String())
			}
		}
	}
	counter(descEvaluated, x.matcher.Evaluations.Load())
	counter(descEvalErrors, x.matcher.Errors.Load())
	counter(descJudged, x.matcher.Events.Load())
	h := &x.matcher.EvalTime
	count := h.Count.Load()
	buckets := make(map[float64]uint64, len(engine.EvalBuckets))
	var cum uint64
	for i, b := range engine.EvalBuckets {
		cum += h.Buckets[i].Load()
		buckets[b] = min(cum, count)
	}
	ch <- prometheus.MustNewConstHistogram(descEvalTime, count, time.Duration(h.SumNanos.Load()).Seconds(), buckets)
	counter(descReloads, x.rules.OK.Load(), "success")
	counter(descReloads, x.rules.Failed.Load(), "failure")
	for _, s := range x.fan.Stats() {
		counter(descSinkHanded, s.Handed, s.Name)
		counter(descSinkSent, s.Sent, s.Name)
		for _, r := range sinks.Reasons {
			counter(descSinkLost, s.Drops[r], s.Name, string(r))
		}
		counter(descSinkFailed, s.Failed+s.Unsent, s.Name)
		counter(descSinkDrop, s.Dropped, s.Name)
		counter(descSinkSpIn, s.SpoolIn, s.Name)
		counter(descSinkRecov, s.Recovered, s.Name)
		counter(descSinkReplay, s.Replayed, s.Name)
		counter(descSinkRetry, s.Retried, s.Name)
		gauge(descSinkQueue, float64(s.QueueDepth), s.Name)
		gauge(descSinkSpool, float64(s.Spooled), s.Name)
		ch <- prometheus.MustNewConstMetric(descSinkTime, prometheus.CounterValue, s.SendLatency.Seconds(), s.Name)
	}
	if c := x.containers; c != nil {
		s := c.Stats()
		counter(descCtrLookups, s.Found, "found")
		counter(descCtrLookups, s.NotFound, "not_found")
		counter(descCtrLookups, s.Errors, "error")
		counter(descCtrMisses, s.Misses)
		counter(descCtrHits, s.Hits)
		counter(descCtrPrefet, s.Prefetch)
		counter(descCtrQFull, s.QueueFull)
		gauge(descCtrEntries, float64(s.Entries))
	}
	if h := x.hold; h != nil {
		counter(descHeld, h.Filled.Load(), "filled")
		counter(descHeld, h.Timeout.Load(), "timeout")
		counter(descHeld, h.Overflow.Load(), "overflow")
	}
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	gauge(descBuild, 1, version, runtime.Version())
}

// serve runs /metrics, /healthz (alive) and /readyz (probes attached and
// rules loaded) on addr until ctx ends.
func (x *metrics) serve(ctx context.Context, log *slog.Logger, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !x.ready.Load() {
			http.Error(w, "not ready: probes not attached yet", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	log.Info("metrics listening", "address", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	return nil
}
