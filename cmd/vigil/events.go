package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine/event"
)

// outQueue bounds the events waiting for stdout: a slow terminal or pipe
// must not stall the reader (and so the ring buffer); overflow is counted.
const outQueue = 16384

func eventsCmd(stdout, stderr io.Writer, logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		types    string
		format   string
		pid      uint32
		ringSize int
		stats    bool
		profile  string
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream decoded kernel events (one per line) until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			ts, err := parseTypes(types)
			if err != nil {
				return err
			}
			var appendEvent func([]byte, *event.Event) []byte
			switch format {
			case "json":
				appendEvent = event.AppendJSON
			case "text":
				appendEvent = event.AppendText
			default:
				return fmt.Errorf("--format %q: want json or text", format)
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return streamEvents(ctx, log, stdout, streamOptions{types: ts, pid: pid, ringSize: ringSize, stats: stats, appendEvent: appendEvent})
		},
	}
	f := cmd.Flags()
	f.StringVar(&types, "type", "exec,open,connect", "event types, comma separated: exec, open, connect, fork, exit")
	f.StringVar(&format, "format", "json", "output format: json or text")
	f.Uint32Var(&pid, "pid", 0, "only events of this process id")
	f.IntVar(&ringSize, "ring-size", bpf.DefaultRingSize, "kernel ring buffer size in bytes (power of two)")
	f.BoolVar(&stats, "stats", false, "print counters (records, drops, latency) to stderr on exit")
	f.StringVar(&profile, "cpuprofile", "", "write a Go CPU profile to this file (for performance work)")
	f.MarkHidden("cpuprofile")
	return cmd
}

func parseTypes(s string) ([]event.Type, error) {
	var out []event.Type
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		t, ok := event.ParseType(name)
		if !ok {
			return nil, fmt.Errorf("--type: unknown event type %q (known: exec, open, connect, fork, exit)", name)
		}
		out = append(out, t)
	}
	return out, nil
}

type streamOptions struct {
	types       []event.Type
	pid         uint32
	ringSize    int
	stats       bool
	appendEvent func([]byte, *event.Event) []byte
}

func streamEvents(ctx context.Context, log *slog.Logger, stdout io.Writer, o streamOptions) error {
	if err := features.EnsureFS(); err != nil {
		return err
	}
	if err := features.Probe().Err(); err != nil {
		return err
	}
	opts := bpf.DefaultOptions()
	opts.Types = o.types
	opts.TargetPID = o.pid
	opts.RingSize = o.ringSize
	probes, err := bpf.Load(opts)
	if err != nil {
		return err
	}
	defer probes.Close()
	reader, err := bpf.NewReader(probes, bpf.ReaderOptions{Types: o.types})
	if err != nil {
		return err
	}

	queue := make(chan *event.Event, outQueue)
	var dropped atomic.Uint64
	done := make(chan error, 1)
	go func() { done <- writeEvents(stdout, queue, o.appendEvent) }()

	log.Info("probes attached; ready", "types", typeNames(o.types), "ring_size", o.ringSize, "processes", reader.Procs().Stats().Entries)
	runErr := reader.Run(ctx, func(ev *event.Event) {
		select {
		case queue <- ev:
		default:
			dropped.Add(1)
		}
	})
	close(queue)
	writeErr := <-done

	drops, derr := probes.Drops()
	if o.stats || dropped.Load() > 0 || derr != nil || sum(drops) > 0 {
		s := reader.Stats()
		log.Info("stopped",
			"records", s.Records, "decode_errors", s.DecodeErrors,
			"kernel_drops", drops, "output_drops", dropped.Load(),
			"latency_samples", s.Latency.Samples, "latency_p50", s.Latency.P50, "latency_p99", s.Latency.P99, "latency_max", s.Latency.Max)
	}
	if runErr != nil {
		return runErr
	}
	return writeErr
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

// writeEvents writes one line per event, flushing whenever the queue is
// empty so that output is prompt at low rates and batched at high ones.
func writeEvents(w io.Writer, queue <-chan *event.Event, appendEvent func([]byte, *event.Event) []byte) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	var err error
	for ev := range queue {
		if err != nil {
			continue // keep draining so the reader never blocks
		}
		line = appendEvent(line[:0], ev)
		line = append(line, '\n')
		if _, err = bw.Write(line); err == nil && len(queue) == 0 {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}
