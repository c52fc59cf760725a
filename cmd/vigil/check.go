package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf/features"
)

func checkCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Report what this kernel supports; exit non-zero if vigil cannot run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := features.EnsureFS(); err != nil {
				return err
			}
			r := features.Probe()
			r.WriteText(stdout)
			fmt.Fprintln(stdout, "\nenforcement (deny and kill rules):")
			for _, l := range r.Enforcement() {
				fmt.Fprintln(stdout, "  "+l)
			}
			if err := r.Err(); err != nil {
				return err
			}
			return nil
		},
	}
}
