package engine

import (
	"context"

	"github.com/vigil-project/vigil/rules"
)

// Paths names the rules files of a load: vigil's own (Rules) and Falco's
// (Falco, read in Falco's dialect). No paths at all means vigil's built-in
// set; Falco files alone load without it (a Falco user brings their
// rules; "builtin" among Rules adds vigil's).
type Paths struct {
	Rules, Falco []string
}

// CompilePaths loads the rules files at paths (rules.Sources; none means
// the built-in set) and compiles them: what every command that judges
// events, and every test of the built-in rules, starts from.
func CompilePaths(o Options, paths ...string) (*Ruleset, error) {
	return CompileFiles(context.Background(), o, Paths{Rules: paths})
}

// CompilePathsContext is CompilePaths that gives up once ctx is done.
func CompilePathsContext(ctx context.Context, o Options, paths ...string) (*Ruleset, error) {
	return CompileFiles(ctx, o, Paths{Rules: paths})
}

// CompileFiles loads and compiles vigil's and Falco's rules files, vigil's
// first; it gives up once ctx is done.
func CompileFiles(ctx context.Context, o Options, p Paths) (*Ruleset, error) {
	c, err := NewCompiler(o)
	if err != nil {
		return nil, err
	}
	return c.CompileFiles(ctx, p)
}

// CompileFiles is the package's CompileFiles with this compiler.
func (c *Compiler) CompileFiles(ctx context.Context, p Paths) (*Ruleset, error) {
	vigil := p.Rules
	if len(vigil) == 0 && len(p.Falco) == 0 {
		vigil = []string{rules.Builtin}
	}
	var srcs []rules.Source
	if len(vigil) > 0 {
		s, err := rules.Sources(vigil...)
		if err != nil {
			return nil, err
		}
		srcs = s
	}
	if len(p.Falco) > 0 {
		s, err := rules.FalcoSources(p.Falco...)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s...)
	}
	set, err := rules.LoadSources(srcs...)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.CompileContext(ctx, set)
}
