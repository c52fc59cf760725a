package engine

import (
	"net/netip"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// specialize is a plan-time decorator: a call of one of vigil's list
// functions whose list is a constant (a literal or a named list, after
// inlining) is replaced by a node holding the items as Go strings (and
// CIDRs already parsed), so evaluating it neither iterates a CEL list nor
// parses anything.
func specialize(i interpreter.Interpretable) (interpreter.Interpretable, error) {
	call, ok := i.(interpreter.InterpretableCall)
	if !ok || len(call.Args()) != 2 {
		return i, nil
	}
	c, ok := call.Args()[1].(interpreter.InterpretableConst)
	if !ok {
		return i, nil
	}
	target := call.Args()[0]
	switch id := call.OverloadID(); id {
	case "string_inCidr_string", "string_inCidrs_list":
		var prefixes []netip.Prefix
		for _, s := range constStrings(c.Value()) {
			if p, ok := parsePrefix(s); ok {
				prefixes = append(prefixes, p)
			}
		}
		return &cidrCall{id: call.ID(), target: target, prefixes: prefixes}, nil
	case "string_startsWithAny_list", "string_endsWithAny_list", "string_containsAny_list", "string_underAny_list":
		f := map[string]func(string, string) bool{
			"string_startsWithAny_list": strings.HasPrefix,
			"string_endsWithAny_list":   strings.HasSuffix,
			"string_containsAny_list":   strings.Contains,
			"string_underAny_list":      underDir,
		}[id]
		return &anyCall{id: call.ID(), target: target, items: constStrings(c.Value()), f: f}, nil
	}
	return i, nil
}

func constStrings(v ref.Val) []string {
	if s, ok := v.(types.String); ok {
		return []string{string(s)}
	}
	l, ok := v.(traits.Lister)
	if !ok {
		return nil
	}
	var out []string
	for it := l.Iterator(); it.HasNext() == types.True; {
		if s, ok := it.Next().(types.String); ok {
			out = append(out, string(s))
		}
	}
	return out
}

// anyCall is s.<f>Any(list) with a constant list.
type anyCall struct {
	id     int64
	target interpreter.InterpretableV2
	items  []string
	f      func(string, string) bool
}

func (c *anyCall) ID() int64 { return c.id }

func (c *anyCall) Eval(a interpreter.Activation) ref.Val { return evalV1(c, a) }

func (c *anyCall) Exec(f *interpreter.ExecutionFrame) ref.Val {
	v := c.target.Exec(f)
	s, ok := v.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	for _, item := range c.items {
		if c.f(string(s), item) {
			return types.True
		}
	}
	return types.False
}

// cidrCall is ip.inCidr(s) / ip.inCidrs(list) with constant prefixes.
type cidrCall struct {
	id       int64
	target   interpreter.InterpretableV2
	prefixes []netip.Prefix
}

func (c *cidrCall) ID() int64 { return c.id }

func (c *cidrCall) Eval(a interpreter.Activation) ref.Val { return evalV1(c, a) }

func (c *cidrCall) Exec(f *interpreter.ExecutionFrame) ref.Val {
	v := c.target.Exec(f)
	s, ok := v.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return types.False
	}
	for _, p := range c.prefixes {
		x := a
		if p.Addr().Is4() {
			x = a.Unmap()
		}
		if p.Contains(x) {
			return types.True
		}
	}
	return types.False
}

func evalV1(i interpreter.InterpretableV2, a interpreter.Activation) ref.Val {
	f, err := interpreter.NewExecutionFrame(a)
	if err != nil {
		return types.WrapErr(err)
	}
	defer f.Close()
	return i.Exec(f)
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
