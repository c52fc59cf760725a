package rules

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vigil-project/vigil/rules/builtin"
)

// Builtin is the rules path that stands for the built-in rule set.
const Builtin = "builtin"

// Sources reads the rules files at paths, in order. A path is Builtin (the
// embedded set, its files named "builtin/NAME"), a file, or a directory,
// which contributes its *.yaml and *.yml files in lexical order: not those
// of its subdirectories, and not hidden files (editors' lock and swap
// files).
func Sources(paths ...string) ([]Source, error) {
	var srcs []Source
	total := 0
	for _, p := range paths {
		if p == Builtin {
			for _, n := range ruleFiles(builtin.FS, ".") {
				data, _ := fs.ReadFile(builtin.FS, n) // listed, so it reads
				srcs = append(srcs, Source{Name: path.Join(Builtin, n), Data: data})
			}
			continue
		}
		more, err := readRuleFiles(p, DialectVigil, &srcs, &total)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	return srcs, nil
}

// FalcoSources reads Falco rules files at paths, in order, as Sources
// does (a directory gives its *.yaml and *.yml files in name order), and
// marks them DialectFalco. There is no built-in Falco set.
func FalcoSources(paths ...string) ([]Source, error) {
	var srcs []Source
	total := 0
	for _, p := range paths {
		more, err := readRuleFiles(p, DialectFalco, &srcs, &total)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	return srcs, nil
}

// readRuleFiles appends the rules files of path p to srcs, as files of
// dialect d, and their sizes to total. It returns false once total is over
// MaxTotalBytes: LoadSources says so, and nothing more is read.
func readRuleFiles(p string, d Dialect, srcs *[]Source, total *int) (bool, error) {
	names, err := osRuleFiles(p)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		data, err := readLimited(n)
		if err != nil {
			return false, fmt.Errorf("read rules: %w", err)
		}
		*srcs = append(*srcs, Source{Name: n, Data: data, Dialect: d})
		if *total += len(data); *total > MaxTotalBytes {
			return false, nil
		}
	}
	return true, nil
}

// osRuleFiles lists the rules files of p as Sources describes them.
func osRuleFiles(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	var names []string
	for _, e := range entries {
		if isRulesFile(e) {
			names = append(names, filepath.Join(p, e.Name()))
		}
	}
	return names, nil
}

// ruleFiles lists the rules files of dir in fsys, in name order.
func ruleFiles(fsys fs.FS, dir string) []string {
	entries, _ := fs.ReadDir(fsys, dir) // the embedded set always reads
	var names []string
	for _, e := range entries {
		if isRulesFile(e) {
			names = append(names, path.Join(dir, e.Name()))
		}
	}
	return names
}

func isRulesFile(e fs.DirEntry) bool {
	n := e.Name()
	ext := filepath.Ext(n)
	return !e.IsDir() && !strings.HasPrefix(n, ".") && (ext == ".yaml" || ext == ".yml")
}

// BuiltinTests are the built-in rules' test files (builtin.Tests),
// named "builtin/tests/NAME".
func BuiltinTests() []Source {
	var srcs []Source
	for _, n := range ruleFiles(builtin.Tests, "tests") {
		data, _ := fs.ReadFile(builtin.Tests, n) // listed, so it reads
		srcs = append(srcs, Source{Name: path.Join(Builtin, n), Data: data})
	}
	return srcs
}

// readLimited reads at most MaxFileBytes+1 bytes of a file: enough for
// Read to say it is too large, without holding all of it.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
}
