package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
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
		rulePaths []string
		format    string
		ringSize  int
		stats     bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Judge live kernel events with the rules and print alerts (built-in rules by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			render, err := alertRenderer(format)
			if err != nil {
				return err
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
			m := engine.NewMatcher()
			var alerts []*event.Alert
			cfg := pipelineConfig{types: pf.Types, ringSize: ringSize, stats: stats, openFilter: &pf.Open,
				ready: []any{"rules", len(rs.Rules), "open_filter_paths", len(pf.Open.Paths), "all_opens", pf.Open.All}}
			return pipeline(ctx, log, stdout, cfg, func(ev *event.Event, emit func(*event.Alert)) {
				alerts = m.Match(rs, ev, alerts[:0])
				for _, a := range alerts {
					emit(a)
				}
			}, render)
		},
	}
	f := cmd.Flags()
	addRulesFlag(f, &rulePaths)
	f.StringVar(&format, "format", "text", "alert format: text or json (Falco-compatible)")
	f.IntVar(&ringSize, "ring-size", bpf.DefaultRingSize, "kernel ring buffer size in bytes (power of two)")
	f.BoolVar(&stats, "stats", false, "print counters to stderr on exit")
	return cmd
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
