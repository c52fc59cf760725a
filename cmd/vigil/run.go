package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/daemon"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// alertRenderer is the writer of alerts in --format.
func alertRenderer(format string) (func([]byte, *event.Alert) []byte, error) {
	f, err := config.ParseFormat(format, "text", "json")
	if err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	return sinks.Format(f).Encoder()
}

func runCmd(stdout, stderr io.Writer, logger func() (*slog.Logger, error)) *cobra.Command {
	var (
		rulePaths  []string
		falcoPaths []string
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
			cfg := &config.Config{}
			if configPath != "" {
				if cfg, err = config.Load(configPath); err != nil {
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
				cfg.Sinks = []config.Sink{config.Stdout(format, "--format")}
			}
			if cmd.Flags().Changed("ring-size") || cfg.RingbufSize == 0 {
				cfg.RingbufSize = ringSize
			}
			return daemon.Run(cmd.Context(), daemon.Options{
				Config: cfg, Rules: cfg.RulePaths(rulePaths, falcoPaths), Stdout: stdout, Log: log, LockFile: lockFile, Stats: stats,
			})
		},
	}
	f := cmd.Flags()
	addRulesFlag(f, &rulePaths)
	addFalcoRulesFlag(f, &falcoPaths)
	f.StringVar(&format, "format", "text", "alert format on stdout when the config names no sink: text or json (Falco-compatible)")
	f.IntVar(&ringSize, "ring-size", bpf.DefaultRingSize, "size in bytes of the kernel's bulk ring buffer, the file events' (power of two)")
	f.BoolVar(&stats, "stats", false, "print counters to stderr on exit")
	f.StringVar(&configPath, "config", "", "configuration file (rules, sinks, metrics, ...)")
	f.StringVar(&lockFile, "lock-file", daemon.DefaultLockFile, "the host-wide lock that keeps a second vigil from starting")
	f.MarkHidden("lock-file")
	addProfileFlag(f, &profile)
	return cmd
}

// configLogger applies the config's log settings.
func configLogger(log *slog.Logger, stderr io.Writer, c config.Log) *slog.Logger {
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

func replayCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		rulePaths, falcoPaths []string
		format                string
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
			rs, err := engine.CompileFiles(cmd.Context(), engine.Options{}, engine.Paths{Rules: rulePaths, Falco: falcoPaths})
			if err != nil {
				return err
			}
			printWarnings(stderr, rs)
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
	addFalcoRulesFlag(f, &falcoPaths)
	f.StringVar(&format, "format", "text", "alert format: text or json")
	return cmd
}
