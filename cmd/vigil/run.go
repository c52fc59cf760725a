package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
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

func runCmd(stdout io.Writer, logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		rulePaths  []string
		format     string
		ringSize   int
		stats      bool
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Judge live kernel events with the rules and deliver alerts (built-in rules, stdout by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			cfg := &config{}
			if configPath != "" {
				if cfg, err = loadConfig(configPath); err != nil {
					return err
				}
			}
			if len(cfg.Sinks) == 0 {
				// No sinks configured: stdout in --format.
				if _, err := alertRenderer(format); err != nil {
					return err
				}
				cfg.Sinks = []sinkConfig{{Type: "stdout", Format: format, pos: "--format"}}
			}
			rs, err := compileRules(rulePaths)
			if err != nil {
				return err
			}
			pf := rs.Prefilter()
			if len(pf.Types) == 0 {
				return fmt.Errorf("no enabled rule: nothing to watch")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			fan, files, err := buildSinks(ctx, log, cfg, configPath, stdout)
			if err != nil {
				return err
			}
			defer closeSinks(log, fan)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					for _, f := range files {
						if err := f.Reopen(); err != nil {
							log.Error("reopen alert file", "err", err)
						}
					}
				}
			}()
			m := engine.NewMatcher()
			var alerts []*event.Alert
			pc := pipelineConfig{types: pf.Types, ringSize: ringSize, stats: stats, openFilter: &pf.Open,
				ready: []any{"rules", len(rs.Rules), "sinks", len(cfg.Sinks), "open_filter_paths", len(pf.Open.Paths), "all_opens", pf.Open.All}}
			return pipeline(ctx, log, stdout, pc, func(ev *event.Event, _ func(*event.Alert)) {
				alerts = m.Match(rs, ev, alerts[:0])
				for _, a := range alerts {
					fan.Publish(a)
				}
			}, nil)
		},
	}
	f := cmd.Flags()
	addRulesFlag(f, &rulePaths)
	f.StringVar(&format, "format", "text", "alert format on stdout when the config names no sink: text or json (Falco-compatible)")
	f.StringVar(&configPath, "config", "", "configuration file (sinks:)")
	f.IntVar(&ringSize, "ring-size", bpf.DefaultRingSize, "kernel ring buffer size in bytes (power of two)")
	f.BoolVar(&stats, "stats", false, "print counters to stderr on exit")
	return cmd
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
