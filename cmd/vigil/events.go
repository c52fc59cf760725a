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
	"github.com/spf13/pflag"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

func eventsCmd(stdout, stderr io.Writer, logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		types    string
		format   string
		pid      uint32
		ringSize int
		stats    bool
		env      bool
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
			ts, err := config.ParseTypes(strings.Split(types, ","))
			if err != nil {
				return fmt.Errorf("--type: %w", err)
			}
			f, err := config.ParseFormat(format, "json", "text")
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			appendEvent := event.AppendJSON
			if f == "text" {
				appendEvent = event.AppendText
			}
			stopProfile, err := startProfile(profile)
			if err != nil {
				return err
			}
			defer stopProfile()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg := streamConfig{types: ts, pid: pid, ringSize: ringSize, stats: stats}
			if env {
				cfg.env = plan.EnvSettings{Collect: plan.EnvAlways}.For(true)
			}
			return streamEvents(ctx, log, stdout, cfg, appendEvent)
		},
	}
	f := cmd.Flags()
	f.StringVar(&types, "type", "exec,open,connect", "event types, comma separated, or all: "+config.TypeList())
	f.BoolVar(&env, "env", false, "exec events carry the environment (proc.env: names, and values of the loader's variables, PATH and HISTFILE and friends)")
	f.StringVar(&format, "format", "json", "output format: json or text")
	f.Uint32Var(&pid, "pid", 0, "only events of this process id")
	f.IntVar(&ringSize, "ring-size", bpf.DefaultRingSize, "size in bytes of the kernel's bulk ring buffer, the file events' (power of two)")
	f.BoolVar(&stats, "stats", false, "print counters (records, drops, latency) to stderr on exit")
	addProfileFlag(f, &profile)
	return cmd
}

// addProfileFlag declares the hidden --cpuprofile flag.
func addProfileFlag(f *pflag.FlagSet, path *string) {
	f.StringVar(path, "cpuprofile", "", "write a Go CPU profile to this file (for performance work)")
	f.MarkHidden("cpuprofile")
}

// startProfile starts a CPU profile into path ("" does nothing).
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
