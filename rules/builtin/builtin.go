// Package builtin holds vigil's built-in detection rules and their tests,
// embedded in the binary.
//
// FS holds the rule files (*.yaml), loaded in name order:
// 00-lists-macros.yaml defines the shared lists and macros, then
// 10-process.yaml (exec), 20-files.yaml (open), 30-network.yaml (connect),
// 40-container.yaml (container-specific rules of every type) and
// 50-system.yaml (ptrace, setuid/setgid, file mutations, dup, module
// loads, namespaces, bpf, the loader's environment). Users tune them from
// their own rule files, loaded after these: append to a list, replace a
// macro, add exceptions, or disable a rule.
//
// Tests holds tests/*.yaml: for every rule at least one event it must fire
// on and one near miss it must not fire on (`vigil rules test` runs them).
package builtin

import "embed"

// FS is the built-in rule set: the *.yaml files of this directory.
//
//go:embed *.yaml
var FS embed.FS

// Tests are the test cases of the built-in rules: tests/*.yaml.
//
//go:embed tests/*.yaml
var Tests embed.FS
