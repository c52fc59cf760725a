package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/daemon"
	"github.com/vigil-project/vigil/engine"
)

func configCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check configuration files (no root needed)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file and every rules file it names; errors with file:line:col",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err != nil {
				return err
			}
			rs, err := engine.CompileFiles(cmd.Context(), engine.Options{}, cfg.RulePaths(nil, nil))
			if err != nil {
				return err
			}
			printWarnings(stdout, rs)
			if _, err := rs.Plan(cfg.PlanOptions()); err != nil {
				return err
			}
			blind := daemon.Unwatched(cfg, rs)
			for _, w := range blind {
				fmt.Fprintln(stdout, "warning:", w)
			}
			enabled := 0
			for _, r := range rs.Rules {
				if r.Enabled {
					enabled++
				}
			}
			fmt.Fprintf(stdout, "ok: %d sinks, %d rules, %d enabled, %d blinded by events\n", len(cfg.Sinks), len(rs.Rules), enabled, len(blind))
			return nil
		},
	})
	return cmd
}
