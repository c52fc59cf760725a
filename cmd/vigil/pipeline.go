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

// streamConfig is what `vigil events` streams.
type streamConfig struct {
	types    []event.Type
	env      plan.Env
	pid      uint32
	ringSize int
	stats    bool
}

// streamEvents runs the probes and the reader until ctx ends, rendering
// every event into a bounded queue that a writer goroutine drains to
// stdout.
func streamEvents(ctx context.Context, log *slog.Logger, stdout io.Writer, cfg streamConfig, render func([]byte, *event.Event) []byte) error {
	if err := features.EnsureFS(); err != nil {
		return err
	}
	if err := features.Probe().Err(); err != nil {
		return err
	}
	opts := bpf.DefaultOptions()
	opts.Types, opts.Env, opts.TargetPID, opts.RingSize = cfg.types, cfg.env, cfg.pid, cfg.ringSize
	probes, err := bpf.Load(opts)
	if err != nil {
		return err
	}
	defer probes.Close()
	reader, err := bpf.NewReader(probes, bpf.ReaderOptions{Types: cfg.types})
	if err != nil {
		return err
	}

	queue := make(chan *event.Event, outQueue)
	var dropped, emitted atomic.Uint64
	done := make(chan error, 1)
	go func() { done <- writeQueue(stdout, queue, render) }()
	log.Info("probes attached; ready", "types", typeNames(cfg.types), "ring_size", cfg.ringSize,
		"processes", reader.Procs().Stats().Entries)
	runErr := reader.Run(ctx, func(ev *event.Event) {
		emitted.Add(1)
		select {
		case queue <- ev:
		default:
			dropped.Add(1)
		}
	})
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
