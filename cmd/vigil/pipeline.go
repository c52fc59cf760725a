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
	opts := bpf.DefaultOptions()
	opts.Types, opts.Env, opts.TargetPID, opts.RingSize = cfg.types, cfg.env, cfg.pid, cfg.ringSize
	probes, reader, err := bpf.Open(opts, bpf.ReaderOptions{Types: cfg.types})
	if err != nil {
		return err
	}
	defer probes.Close()

	queue := make(chan *event.Event, outQueue)
	var dropped, emitted atomic.Uint64
	done := make(chan error, 1)
	go func() { done <- writeQueue(stdout, queue, render) }()
	log.Info("probes attached; ready", "types", strings.Join(event.Names(cfg.types...), ","), "ring_size", cfg.ringSize,
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
	if cfg.stats || dropped.Load() > 0 || derr != nil || bpf.Sum(drops) > 0 {
		log.Info("stopped", append(bpf.StoppedAttrs(probes, reader), "emitted", emitted.Load(), "output_drops", dropped.Load())...)
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
