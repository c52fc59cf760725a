package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/engine/event"
	natssink "github.com/vigil-project/vigil/sinks/nats"
)

func alertsCmd(stdout io.Writer, logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "Read alerts from the alert bus"}
	var (
		c      natssink.TailConfig
		format string
	)
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print alerts published on NATS by any number of vigil daemons",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			if c.MinPriority != "" {
				if _, ok := event.ParsePriority(c.MinPriority); !ok {
					return fmt.Errorf("--min-priority %q: want %s", c.MinPriority, event.PriorityNames)
				}
			}
			if _, err := config.ParseFormat(format, "text", "json"); err != nil {
				return fmt.Errorf("--%w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			w := bufio.NewWriter(stdout)
			defer w.Flush()
			return natssink.Tail(ctx, c, func(r *natssink.Received) {
				if format == "json" || r.Err != nil {
					w.Write(r.Data)
				} else {
					fmt.Fprintf(w, "%s %s %s %s %s", r.Time.UTC().Format(time.RFC3339Nano), event.AppendSafeText(nil, r.Hostname), event.AppendSafeText(nil, r.Priority), event.AppendQuoted(nil, r.Rule), event.AppendSafeText(nil, outputOf(r.Data)))
				}
				w.WriteByte('\n')
				w.Flush()
			}, natssink.WithLogger(log))
		},
	}
	f := tail.Flags()
	f.StringVar(&c.URL, "nats", "nats://127.0.0.1:4222", "NATS server URL(s), comma separated")
	f.StringVar(&c.Subject, "subject", "vigil.alerts.>", "subject to read (wildcards allowed)")
	f.StringVar(&c.MinPriority, "min-priority", "", "only alerts of this priority or more severe")
	f.StringVar(&format, "format", "text", "text or json (the alert as published)")
	f.BoolVar(&c.JetStream, "jetstream", false, "read through a JetStream consumer (alerts published while reconnecting are not missed)")
	f.StringVar(&c.Stream, "stream", "", "JetStream stream (default: the one holding the subject)")
	f.StringVar(&c.CredsFile, "creds", "", "NATS credentials file")
	f.StringVar(&c.TLS.CA, "tls-ca", "", "CA certificates (PEM) for the server")
	cmd.AddCommand(tail)
	return cmd
}

// outputOf is the output line of an alert's JSON.
func outputOf(data []byte) string {
	var a struct {
		Output string `json:"output"`
	}
	json.Unmarshal(data, &a)
	return a.Output
}
