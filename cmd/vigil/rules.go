package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/ruletest"
	"github.com/vigil-project/vigil/falco"
	"github.com/vigil-project/vigil/rules"
)

// addRulesFlag declares --rules: repeatable; when given, it replaces the
// built-in set unless "builtin" is among the paths.
func addRulesFlag(f *pflag.FlagSet, paths *[]string) {
	f.StringArrayVar(paths, "rules", nil, "rule file or directory (repeatable; \"builtin\" for the built-in set, the default)")
}

// addFalcoRulesFlag declares --falco-rules: Falco rules files or
// directories, read as Falco writes them (repeatable).
func addFalcoRulesFlag(f *pflag.FlagSet, paths *[]string) {
	f.StringArrayVar(paths, "falco-rules", nil, "Falco rules file or directory, loaded as it is (repeatable; alongside --rules; without --rules, vigil's built-in rules are not loaded)")
}

// printWarnings writes the warnings of a load, one per line, and a count.
func printWarnings(w io.Writer, rs *engine.Ruleset) {
	for _, e := range rs.Warnings {
		fmt.Fprintf(w, "warning: %s\n", strings.SplitN(e.Error(), "\n", 2)[0])
	}
}

func rulesCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Validate, list fields of, and test rules (no root needed)"}
	cmd.AddCommand(rulesValidateCmd(stdout), rulesFieldsCmd(stdout), rulesTestCmd(stdout), rulesListCmd(stdout))
	return cmd
}

func rulesValidateCmd(stdout io.Writer) *cobra.Command {
	var explain, kernel bool
	var falcoPaths []string
	cmd := &cobra.Command{
		Use:   "validate [PATH|builtin]...",
		Short: "Check rule files; print every error with file:line:col",
		Long: "Check rule files and print every error with file:line:col.\n" +
			"With --kernel, and always when run as root on a kernel vigil can run on, also say what\n" +
			"this kernel can enforce of each deny and kill rule, as vigil run would decide it;\n" +
			"with --kernel, a rule vigil run would refuse here fails the validation.",
		RunE: func(cmd *cobra.Command, paths []string) error {
			rs, err := engine.CompileFiles(cmd.Context(), engine.Options{}, engine.Paths{Rules: paths, Falco: falcoPaths})
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), rs)
			enabled := 0
			for _, r := range rs.Rules {
				if r.Enabled {
					enabled++
				}
			}
			fmt.Fprintf(stdout, "ok: %d rules (%d enabled)", len(rs.Rules), enabled)
			if n := rs.Skipped(); n > 0 {
				fmt.Fprintf(stdout, ", %d Falco rules skipped", n)
			}
			if len(rs.Warnings) > 0 {
				fmt.Fprintf(stdout, ", %d warnings", len(rs.Warnings))
			}
			fmt.Fprintln(stdout)
			if explain {
				explainRuleset(stdout, rs)
			}
			switch root := os.Geteuid() == 0; {
			case kernel && !root:
				return errors.New("--kernel probes the kernel, which needs root (CAP_BPF or CAP_SYS_ADMIN)")
			case !kernel && !root:
				return nil
			}
			r := features.Probe()
			if err := r.Err(); err != nil {
				if kernel {
					return fmt.Errorf("kernel %s: %w", r.Kernel, err)
				}
				return nil // not a host vigil runs on: nothing to say
			}
			return kernelReport(stdout, rs, r.Kernel, bpf.MechanismsOf(r), kernel)
		},
	}
	addFalcoRulesFlag(cmd.Flags(), &falcoPaths)
	cmd.Flags().BoolVar(&explain, "explain", false, "show the rule index and the kernel prefilter derived from the rules")
	cmd.Flags().BoolVar(&kernel, "kernel", false, "say what this kernel can enforce of each deny and kill rule; fail if vigil run would refuse one (automatic, without failing, when root)")
	return cmd
}

// kernelReport says, per deny and kill rule and event type, what the
// kernel (its mechanisms m) would do, as vigil run decides it
// (bpf.Enforceability). strict (--kernel) makes a refusal an error and
// reports a rule set without deny or kill rules too.
func kernelReport(w io.Writer, rs *engine.Ruleset, release string, m bpf.Mechanisms, strict bool) error {
	pol, err := rs.Policy(false, nil)
	if err != nil {
		fmt.Fprintf(w, "kernel %s: vigil run refuses the rules: %v\n", release, err)
		if strict {
			return errors.New("vigil run would refuse the rules on this kernel (see above)")
		}
		return nil
	}
	es := bpf.Enforceability(pol, m)
	order := map[string]int{}
	for i, r := range rs.Rules {
		order[r.Name] = i
	}
	// Rule by rule as in the files (the policy lists them type by type).
	slices.SortStableFunc(es, func(a, b bpf.Enforcement) int { return order[a.Rule] - order[b.Rule] })
	if len(es) == 0 {
		if strict {
			fmt.Fprintf(w, "kernel %s: no deny or kill rules to enforce\n", release)
		}
		return nil
	}
	fmt.Fprintf(w, "kernel %s: what vigil run would do with the deny and kill rules:\n", release)
	refused := 0
	for _, e := range es {
		var does string
		switch {
		case e.Refused != nil:
			refused++
			does = "vigil run refuses it: " + strings.TrimPrefix(e.Refused.Error(), fmt.Sprintf("rule %q: ", e.Rule))
		case !e.Enforce:
			does = fmt.Sprintf("audit only (enforce: false): alerts %q", "would "+e.Action)
			if e.Why != "" {
				does += fmt.Sprintf(", and this kernel could not %s %s (%s)", e.Action, e.Type, e.Why)
			}
		case e.Does != e.Action:
			does = fmt.Sprintf("kills instead (fallback: kill, with %s): this kernel cannot deny %s (%s)", e.How, e.Type, e.Why)
		default:
			does = fmt.Sprintf("%s (%s)", map[string]string{"deny": "denies", "kill": "kills"}[e.Action], e.How)
		}
		fmt.Fprintf(w, "  %s: rule %q: %s %s: %s\n", rs.RulePos(e.Rule), e.Rule, e.Action, e.Type, does)
	}
	if strict && refused > 0 {
		return fmt.Errorf("vigil run would refuse %d of the deny rules on this kernel (see above)", refused)
	}
	return nil
}

func explainRuleset(w io.Writer, rs *engine.Ruleset) {
	pf := rs.Prefilter()
	fmt.Fprintln(w, "\nrules per event type:")
	for _, t := range event.Types() {
		fmt.Fprintf(w, "  %-8s %d\n", t, rs.Candidates(t))
	}
	fmt.Fprintf(w, "\nkernel: event types traced for rules: %s (exec, fork and exit are always traced for the process table)\n", strings.Join(event.Names(pf.Types...), ","))
	if pf.Open.All {
		fmt.Fprintln(w, "kernel: every open is copied to user space")
	} else {
		fmt.Fprintf(w, "kernel: opens of clean absolute paths outside %d prefixes/paths are dropped before they are copied\n", len(pf.Open.Paths))
	}
	for _, n := range pf.Notes {
		fmt.Fprintln(w, "  "+n)
	}
	for _, t := range event.Types() {
		if names, ok := pf.Args.Names[t]; ok {
			fmt.Fprintf(w, "kernel: %s events only of processes named %s\n", t, strings.Join(names, ", "))
		}
	}
	if r := pf.Args.PtraceRequests; r != nil {
		var names []string
		for _, n := range r {
			names = append(names, event.PtraceRequestName(n))
		}
		fmt.Fprintf(w, "kernel: ptrace events only of requests %s\n", strings.Join(names, ", "))
	}
	for _, t := range event.Types() {
		ff, ok := pf.Args.Files[t]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "kernel: %s events only of clean absolute paths under %d prefixes/paths", t, len(ff.First))
		if len(ff.Second) > 0 {
			fmt.Fprintf(w, " (or whose second path is under one of %d)", len(ff.Second))
		}
		fmt.Fprintln(w)
	}
	if o := pf.Args.PrctlOptions; o != nil {
		var names []string
		for _, n := range o {
			names = append(names, event.PrctlOptionName(n))
		}
		fmt.Fprintf(w, "kernel: prctl events only of options %s\n", strings.Join(names, ", "))
	}
	if st := pf.Args.SocketTypes; st != nil {
		var pairs []string
		for d, mask := range st {
			if mask == 0 {
				continue
			}
			dom := event.SockDomainName(uint32(d))
			if d == len(st)-1 {
				dom = fmt.Sprintf("AF_%d and above", d)
			}
			if mask == ^uint16(0) {
				pairs = append(pairs, dom)
				continue
			}
			for ty := range 16 {
				if mask&(1<<ty) != 0 {
					pairs = append(pairs, dom+" "+event.SockTypeName(uint32(ty)))
				}
			}
		}
		fmt.Fprintf(w, "kernel: socket events only of %s\n", strings.Join(pairs, ", "))
	}
	if c := pf.Args.BPFCmds; c != nil {
		var names []string
		for _, n := range c {
			names = append(names, event.BPFCmdName(n))
		}
		fmt.Fprintf(w, "kernel: bpf events only of commands %s\n", strings.Join(names, ", "))
	}
	if setid := slices.Contains(pf.Types, event.TypeSetuid) || slices.Contains(pf.Types, event.TypeSetgid); setid {
		if pf.Args.SetidToRoot {
			fmt.Fprintln(w, "kernel: setuid/setgid events only of calls asking for id 0")
		}
		if pf.Args.NoSetidOld {
			fmt.Fprintln(w, "kernel: setuid/setgid entries not traced (no rule reads setid.old_*, which stay -1)")
		}
	}
	if pf.Env {
		fmt.Fprintln(w, "kernel: exec events carry the environment (a rule reads proc.env)")
	}
}

func rulesFieldsCmd(stdout io.Writer) *cobra.Command {
	var format string
	var falcoNames bool
	cmd := &cobra.Command{
		Use:   "fields",
		Short: "List every field rules can use, with type, description and the Falco names that read it",
		Long: "List every field rules can use, with its type, the event types that carry it, the Falco\n" +
			"fields that read it in Falco rules files, and its description. With --falco, list Falco's\n" +
			"fields instead: the vigil fields or CEL each becomes, or what vigil lacks for it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if falcoNames {
				return printFalcoFields(stdout, format)
			}
			switch format {
			case "json":
				type field struct {
					Name   string   `json:"name"`
					Type   string   `json:"type"`
					Events []string `json:"events"`
					Desc   string   `json:"desc"`
					Falco  string   `json:"falco,omitempty"`
				}
				var out []field
				for _, f := range event.Fields {
					out = append(out, field{f.Name, celTypeName(f.Kind), typeNamesOf(f.Types), f.Desc, strings.Join(falco.NamesOf(f.Name), ", ")})
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			case "text":
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FIELD\tTYPE\tEVENTS\tFALCO\tDESCRIPTION")
				for _, f := range event.Fields {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, celTypeName(f.Kind), strings.Join(typeNamesOf(f.Types), ","), strings.Join(falco.NamesOf(f.Name), ", "), f.Desc)
				}
				return tw.Flush()
			}
			return fmt.Errorf("--format %q: want text or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().BoolVar(&falcoNames, "falco", false, "list Falco's fields and what each is in vigil")
	return cmd
}

// printFalcoFields lists Falco's fields as vigil has them.
func printFalcoFields(w io.Writer, format string) error {
	cat := falco.Catalog()
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cat)
	case "text":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FALCO\tVIGIL")
		for _, f := range cat {
			is := strings.Join(append(slices.Clone(f.Vigil), f.CEL...), " | ")
			if f.Needs != "" {
				is = "not in vigil: needs " + f.Needs
			}
			fmt.Fprintf(tw, "%s\t%s\n", f.Falco, is)
		}
		return tw.Flush()
	}
	return fmt.Errorf("--format %q: want text or json", format)
}

// celTypeName is the type rule authors see (all numbers are CEL ints).
func celTypeName(k event.Kind) string {
	switch k {
	case event.KindInt, event.KindUint:
		return "int"
	case event.KindIP:
		return "string (IP)"
	}
	return k.String()
}

func typeNamesOf(s event.TypeSet) []string {
	if s == event.AllTypes {
		return []string{"all"}
	}
	return event.Names(s.Types()...)
}

func rulesTestCmd(stdout io.Writer) *cobra.Command {
	var rulePaths, falcoPaths []string
	cmd := &cobra.Command{
		Use:   "test [TESTFILE|DIR]...",
		Short: "Run rule test cases (the built-in rules' own tests when no path is given)",
		Long: "Run rule test files against the rules given with --rules and --falco-rules (the built-in set by default).\n" +
			"With no test path, run the built-in tests and require every built-in rule to have a\n" +
			"case where it fires and one where it must not.",
		RunE: func(cmd *cobra.Command, paths []string) error {
			rs, err := engine.CompileFiles(cmd.Context(), engine.Options{}, engine.Paths{Rules: rulePaths, Falco: falcoPaths})
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), rs)
			srcs := rules.BuiltinTests()
			if len(paths) > 0 {
				if srcs, err = rules.Sources(paths...); err != nil {
					return err
				}
			}
			var cases []ruletest.Case
			var perr []error
			for _, s := range srcs {
				cs, err := ruletest.Parse(s)
				if err != nil {
					perr = append(perr, err)
				}
				cases = append(cases, cs...)
			}
			if len(perr) > 0 {
				return errors.Join(perr...)
			}
			failed := 0
			for _, r := range ruletest.Run(rs, cases) {
				if len(r.Failures) == 0 {
					continue
				}
				failed++
				fmt.Fprintf(stdout, "FAIL %s: %s\n", r.Case.Pos, r.Case.Name)
				for _, f := range r.Failures {
					fmt.Fprintf(stdout, "    %s\n", f)
				}
				fmt.Fprintf(stdout, "    fired: %s\n", orNone(r.Fired))
			}
			var uncovered []string
			if len(paths) == 0 {
				noFire, noMiss := ruletest.Uncovered(rs, cases)
				for _, n := range noFire {
					uncovered = append(uncovered, fmt.Sprintf("rule %q has no case where it fires", n))
				}
				for _, n := range noMiss {
					uncovered = append(uncovered, fmt.Sprintf("rule %q has no case where it must not fire", n))
				}
				slices.Sort(uncovered)
				for _, u := range uncovered {
					fmt.Fprintln(stdout, "UNCOVERED "+u)
				}
			}
			fmt.Fprintf(stdout, "%d cases, %d failed\n", len(cases), failed)
			if failed > 0 || len(uncovered) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	addRulesFlag(cmd.Flags(), &rulePaths)
	addFalcoRulesFlag(cmd.Flags(), &falcoPaths)
	return cmd
}

// rulesListCmd lists the rules a load gives: what vigil run would judge
// events with.
func rulesListCmd(stdout io.Writer) *cobra.Command {
	var falcoPaths []string
	var mitre bool
	cmd := &cobra.Command{
		Use:   "list [PATH|builtin]...",
		Short: "List the rules: name, priority, enabled, event types, dialect and where each is defined",
		Long: "List the rules: name, priority, enabled, event types, dialect and where each is defined.\n" +
			"With --mitre, list instead the MITRE ATT&CK techniques the enabled rules name in their tags\n" +
			"(T1059.004 and the like): technique, its name, the tactics and the rules.",
		RunE: func(cmd *cobra.Command, paths []string) error {
			rs, err := engine.CompileFiles(cmd.Context(), engine.Options{}, engine.Paths{Rules: paths, Falco: falcoPaths})
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), rs)
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			if mitre {
				var tagged []rules.TaggedRule
				for _, r := range rs.Rules {
					if r.Enabled {
						tagged = append(tagged, rules.TaggedRule{Name: r.Name, Tags: r.Tags})
					}
				}
				cov := rules.CoverageOf(tagged)
				fmt.Fprintln(tw, "TECHNIQUE\tNAME\tTACTICS\tRULES")
				for _, c := range cov {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, orDash(c.Name), orDash(strings.Join(c.Tactics, ",")), strings.Join(c.Rules, "; "))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "%d techniques named by %d enabled rules\n", len(cov), len(tagged))
				return err
			}
			fmt.Fprintln(tw, "RULE\tPRIORITY\tENABLED\tEVENTS\tDIALECT\tDEFINED AT")
			for _, r := range rs.Rules {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", r.Name, r.Priority, r.Enabled, strings.Join(typeNamesOf(r.Types), ","), r.Dialect(), r.Pos())
			}
			return tw.Flush()
		},
	}
	addFalcoRulesFlag(cmd.Flags(), &falcoPaths)
	cmd.Flags().BoolVar(&mitre, "mitre", false, "list the MITRE ATT&CK techniques the enabled rules cover")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}
