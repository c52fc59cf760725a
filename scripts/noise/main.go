package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigil-project/vigil/internal/ctrtest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run returns 0 when the workload's alerts pass, 1 when they do not and 2
// on a usage or input error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: noise image PATH REF | noise judge -pid PID [-containers FILE] [-allow 'RULE|REASON']... ALERTS")
		return 2
	}
	switch args[0] {
	case "image":
		if len(args) != 3 {
			fmt.Fprintln(stderr, "usage: noise image PATH REF")
			return 2
		}
		if err := ctrtest.WriteImage(args[1], args[2], "unused", []string{"/bin/sh"}); err != nil {
			fmt.Fprintln(stderr, "noise image:", err)
			return 2
		}
		return 0
	case "judge":
		return judgeCmd(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "noise: unknown command %q (image or judge)\n", args[0])
	return 2
}

// allowFlags collects repeated -allow 'RULE|REASON' flags.
type allowFlags map[string]string

func (a allowFlags) String() string { return "" }

func (a allowFlags) Set(s string) error {
	rule, reason, ok := strings.Cut(s, "|")
	rule, reason = strings.TrimSpace(rule), strings.TrimSpace(reason)
	if !ok || rule == "" || reason == "" {
		return fmt.Errorf("want RULE|REASON, got %q", s)
	}
	a[rule] = reason
	return nil
}

func judgeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("judge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pid := fs.Int("pid", 0, "pid of the workload's parent process (also its session id)")
	ctrFile := fs.String("containers", "", "file naming the workload's container ids, one a line")
	max := fs.Int("max-allowed", 10, "most Notice/Informational alerts of allowed rules")
	allow := allowFlags{}
	fs.Var(allow, "allow", "RULE|REASON: a rule whose Notice or Informational alerts are allowed (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *pid <= 1 || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "noise judge: want -pid PID (above 1) and one alerts file")
		return 2
	}
	w := Workload{PID: *pid, Containers: map[string]bool{}}
	if *ctrFile != "" {
		b, err := os.ReadFile(*ctrFile)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(stderr, "noise judge:", err)
			return 2
		}
		for id := range strings.FieldsSeq(string(b)) {
			w.Containers[id] = true
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "noise judge:", err)
		return 2
	}
	defer f.Close()
	v, err := Judge(f, fs.Arg(0), w, Policy{Allow: allow, MaxAllowed: *max})
	if err != nil {
		fmt.Fprintln(stderr, "noise judge:", err)
		return 2
	}
	v.Report(stdout)
	if !v.Pass {
		return 1
	}
	return 0
}
