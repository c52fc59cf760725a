package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// outQueue bounds what waits for stdout: a slow terminal or pipe must not
// stall the reader (and so the ring buffer); overflow is counted.
const outQueue = 16384

type pipelineConfig struct {
	types      []event.Type // delivered to process
	kernel     []event.Type // traced from the start (nil: types)
	env        bpf.EnvOptions
	noSetidOld bool // no rule reads setid.old_*: the set*id entries stay off
	pid        uint32
	ringSize   int
	stats      bool
	openFilter *plan.OpenFilter // nil: every open
	maxProcs   int
	// containers applies runtime metadata (nil: none).
	containers func(event.Container) (event.Container, bool)
	// onProbes runs once the probes are attached and the reader ready,
	// on the caller's goroutine; reloads use the probes it is given.
	onProbes func(*bpf.Probes, *bpf.Reader) error
	// ready is logged with the "ready" line.
	ready []any
}

// discard is the render of pipelines whose process publishes elsewhere.
func discard[T any]([]byte, T) []byte { return nil }

// pipeline runs the probes and the reader until ctx ends. process runs on
// the reader goroutine for every delivered event and emits items (events,
// alerts) into a bounded queue that a writer goroutine renders to stdout.
func pipeline[T any](ctx context.Context, log *slog.Logger, stdout io.Writer, cfg pipelineConfig,
	process func(ev *event.Event, emit func(T)), render func([]byte, T) []byte) error {
	if err := features.EnsureFS(); err != nil {
		return err
	}
	if err := features.Probe().Err(); err != nil {
		return err
	}
	opts := bpf.DefaultOptions()
	opts.Types = cfg.types
	if cfg.kernel != nil {
		opts.Types = cfg.kernel
	}
	opts.Env = cfg.env
	opts.NoSetidOld = cfg.noSetidOld
	opts.TargetPID = cfg.pid
	opts.RingSize = cfg.ringSize
	probes, err := bpf.Load(opts)
	if err != nil {
		return err
	}
	defer probes.Close()
	if cfg.openFilter != nil {
		if err := probes.SetOpenFilter(*cfg.openFilter); err != nil {
			return err
		}
	}
	reader, err := bpf.NewReader(probes, bpf.ReaderOptions{Types: cfg.types, MaxProcs: cfg.maxProcs, Containers: cfg.containers})
	if err != nil {
		return err
	}

	queue := make(chan T, outQueue)
	var dropped, emitted atomic.Uint64
	done := make(chan error, 1)
	if render == nil {
		render = discard[T]
	}
	go func() { done <- writeQueue(stdout, queue, render) }()
	emit := func(item T) {
		emitted.Add(1)
		select {
		case queue <- item:
		default:
			dropped.Add(1)
		}
	}

	if cfg.onProbes != nil {
		if err := cfg.onProbes(probes, reader); err != nil {
			close(queue)
			<-done
			return err
		}
	}
	log.Info("probes attached; ready", append([]any{"types", typeNames(cfg.types), "ring_size", cfg.ringSize,
		"processes", reader.Procs().Stats().Entries}, cfg.ready...)...)
	runErr := reader.Run(ctx, func(ev *event.Event) { process(ev, emit) })
	close(queue)
	writeErr := <-done

	drops, derr := probes.Drops()
	filtered, _ := probes.Filtered()
	if cfg.stats || dropped.Load() > 0 || derr != nil || sum(drops) > 0 {
		s := reader.Stats()
		log.Info("stopped",
			"records", s.Records, "decode_errors", s.DecodeErrors, "emitted", emitted.Load(),
			"kernel_drops", drops, "kernel_filtered", filtered, "output_drops", dropped.Load(),
			"latency_samples", s.Latency.Samples, "latency_p50", s.Latency.P50, "latency_p99", s.Latency.P99, "latency_max", s.Latency.Max)
	}
	if runErr != nil {
		return runErr
	}
	return writeErr
}

// writeQueue writes one line per item, flushing whenever the queue is
// empty so that output is prompt at low rates and batched at high ones.
func writeQueue[T any](w io.Writer, queue <-chan T, render func([]byte, T) []byte) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	var err error
	for item := range queue {
		if err != nil {
			continue // keep draining so the reader never blocks
		}
		line = render(line[:0], item)
		line = append(line, '\n')
		if _, err = bw.Write(line); err == nil && len(queue) == 0 {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func typeNames(ts []event.Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return strings.Join(names, ",")
}

func sum(m map[event.Type]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}
