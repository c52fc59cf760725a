// Command vigil is the runtime security engine: kernel probes, rules,
// alerts. It is the only place that reads flags or the environment.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// exitError carries a process exit status through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var logLevel string
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Runtime security for Linux hosts: eBPF probes, CEL rules, alerts",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	logger := func() (*slog.Logger, error) {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
		}
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), nil
	}
	root.AddCommand(eventsCmd(stdout, stderr, logger), checkCmd(stdout), rulesCmd(stdout), runCmd(stdout, stderr, logger), configCmd(stdout), replayCmd(stdout, stderr), alertsCmd(stdout, logger))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		if e, ok := err.(exitError); ok {
			return e.code
		}
		fmt.Fprintln(stderr, "vigil:", err)
		return 1
	}
	return 0
}
