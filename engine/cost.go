package engine

import (
	"strings"

	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
)

// estimator bounds the sizes of field values for cel-go's cost estimate:
// the kernel keeps at most 4095 bytes of a path or of argv, and argv has at
// most 2048 arguments in those bytes.
type estimator struct{}

func (estimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	switch {
	case len(n.Path()) == 0:
		return nil
	case n.Type().IsExactType(types.StringType):
		s := cost.RangedSizeEstimate(0, 4096)
		return &s
	case n.Type().Kind() == types.ListKind:
		max := uint64(2048)
		if f, ok := event.FieldByName(strings.Join(n.Path(), ".")); ok && f.MaxItems > 0 {
			max = uint64(f.MaxItems)
		}
		s := cost.RangedSizeEstimate(0, max)
		return &s
	}
	return nil
}

// EstimateCallCost prices vigil's functions: linear in the string, times
// the list for the *Any forms.
func (estimator) EstimateCallCost(fn, overload string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	switch overload {
	case "basename_string", "dirname_string":
		// Paths are at most 4095 bytes, so are their parts: without the
		// bound, a regex over basename(x) would cost "unbounded".
		size := cost.RangedSizeEstimate(0, 4096)
		return &cost.CallEstimate{CostEstimate: cost.RangedCostEstimate(1, 1+4096/100), ResultSize: &size}
	case "string_glob_string", "string_equalsIgnoreCase_string", "string_under_string", "string_inCidr_string":
		return &cost.CallEstimate{CostEstimate: cost.RangedCostEstimate(1, 1+4096/100)}
	case "string_resolvesTo_string":
		// An address parsed and one map lookup.
		return &cost.CallEstimate{CostEstimate: cost.FixedCostEstimate(2)}
	case "string_resolvesToAny_list":
		n := uint64(2048)
		if len(args) == 1 {
			if sz := args[0].ComputedSize(); sz != nil {
				n = sz.Max
			}
		}
		return &cost.CallEstimate{CostEstimate: cost.RangedCostEstimate(1, 2*n)}
	case "list_globIndex_string":
		n := uint64(2048)
		if target != nil {
			if sz := (*target).ComputedSize(); sz != nil {
				n = sz.Max
			}
		}
		return &cost.CallEstimate{CostEstimate: cost.RangedCostEstimate(1, n*(1+4096/100))}
	case "string_underAny_list", "string_inCidrs_list", "string_startsWithAny_list", "string_endsWithAny_list", "string_containsAny_list":
		n := uint64(2048)
		if len(args) == 1 {
			if sz := args[0].ComputedSize(); sz != nil {
				n = sz.Max
			}
		}
		return &cost.CallEstimate{CostEstimate: cost.RangedCostEstimate(1, n*(1+4096/100))}
	}
	return nil
}
