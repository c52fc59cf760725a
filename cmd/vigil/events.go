package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine/event"
)

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
			cfg := pipelineConfig{types: ts, pid: pid, ringSize: ringSize, stats: stats}
			return pipeline(ctx, log, stdout, cfg, func(ev *event.Event, emit func(*event.Event)) { emit(ev) }, appendEvent)
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
