package engine

import (
	"context"

	"github.com/vigil-project/vigil/rules"
)

// CompilePaths loads the rules files at paths (rules.Sources; none means
// the built-in set) and compiles them: what every command that judges
// events, and every test of the built-in rules, starts from.
func CompilePaths(o Options, paths ...string) (*Ruleset, error) {
	return CompilePathsContext(context.Background(), o, paths...)
}

// CompilePathsContext is CompilePaths that gives up once ctx is done.
func CompilePathsContext(ctx context.Context, o Options, paths ...string) (*Ruleset, error) {
	if len(paths) == 0 {
		paths = []string{rules.Builtin}
	}
	set, err := rules.Load(paths...)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := NewCompiler(o)
	if err != nil {
		return nil, err
	}
	return c.CompileContext(ctx, set)
}
