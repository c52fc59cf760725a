package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine/event"
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
			fmt.Fprintln(stdout, "\nevent types (syscall tracepoints):")
			for _, l := range syscallReport(tracepointExists) {
				fmt.Fprintln(stdout, "  "+l)
			}
			if err := r.Err(); err != nil {
				return err
			}
			return nil
		},
	}
}

func tracepointExists(name string) bool {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(filepath.Join(dir, "events/syscalls", name)); err == nil {
			return true
		}
	}
	return false
}

// syscallReport says which event types lack syscall tracepoints here:
// an optional one missing is fine (a syscall the kernel does not have),
// any other makes vigil fail to start when a rule uses the type.
func syscallReport(exists func(string) bool) []string {
	missing := map[event.Type][]string{}
	for _, h := range bpf.SyscallHooks() {
		if exists(h.Tracepoint) {
			continue
		}
		why := "missing: vigil cannot trace this type"
		if h.Optional != "" {
			why = h.Optional
		}
		missing[h.Type] = append(missing[h.Type], strings.TrimPrefix(strings.TrimPrefix(h.Tracepoint, "sys_exit_"), "sys_enter_")+" ("+why+")")
	}
	if len(missing) == 0 {
		return []string{"every syscall vigil traces has its tracepoint"}
	}
	var out []string
	for _, t := range event.Types() {
		if m := missing[t]; m != nil {
			out = append(out, fmt.Sprintf("%s: %s", t, strings.Join(m, ", ")))
		}
	}
	return out
}
