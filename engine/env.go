package engine

import (
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"

	"github.com/vigil-project/vigil/engine/event"
)

// celType is the CEL type of a field kind. Numbers are all CEL ints so that
// rule authors can write proc.uid == 0; IP addresses are strings, compared
// and matched with the inCidr functions.
func celType(k event.Kind) *cel.Type {
	switch k {
	case event.KindInt, event.KindUint:
		return cel.IntType
	case event.KindBool:
		return cel.BoolType
	case event.KindTime:
		return cel.TimestampType
	case event.KindStrings:
		return cel.ListType(cel.StringType)
	case event.KindMap:
		return cel.MapType(cel.StringType, cel.StringType)
	}
	return cel.StringType
}

// newBaseEnv declares every field and vigil's functions. Lists and macros
// of a rule set are declared on top of it (Extend) when compiling.
func newBaseEnv() (*cel.Env, error) { return newEnv(nil) }

// newEnv is newBaseEnv whose resolvesTo asks names.
func newEnv(names Names) (*cel.Env, error) {
	opts := []cel.EnvOption{
		ext.Strings(),
		cel.Lib(library{names: names}),
		cel.CrossTypeNumericComparisons(true),
		// m[?"k"].orValue(""): map fields (labels, env) read safely.
		cel.OptionalTypes(),
		// The rules package bounds conditions and lists (rules.MaxConditionBytes,
		// MaxListItems) with positioned messages; cel-go's own limits
		// (100,000 code points, 100,000 nodes) would refuse less, at no
		// position.
		cel.ParserExpressionSizeLimit(-1),
		cel.ExpressionNodeLimit(-1),
	}
	for _, f := range event.Fields {
		opts = append(opts, cel.Variable(f.Name, celType(f.Kind)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	return env, nil
}
