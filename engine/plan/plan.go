package plan

import (
	"slices"

	"github.com/vigil-project/vigil/engine/event"
)

// Plan is everything the kernel must do for one rule set and config.
type Plan struct {
	// Types are the event types some enabled rule can match, sorted.
	// exec, fork and exit are traced whatever it says (the process
	// table needs them).
	Types []event.Type
	// Open is the open filter: which opens some rule can match.
	Open OpenFilter
	// Args are the argument and path filters of the other types.
	Args ArgFilter
	// Env is the environment exec records carry.
	Env Env
	// Policy is what deny and kill rules enforce.
	Policy Policy
}

// Env says how much of each new image's environment the kernel sends
// and which values are kept. Names are always kept; a value only for a
// name in Values, because values hold secrets (tokens, passwords) and
// names do not.
type Env struct {
	// Bytes of the environment read at each exec, at most MaxEnvBytes;
	// 0 turns collection off.
	Bytes int
	// Values are the names whose values are kept.
	Values []string
}

// MaxEnvBytes bounds Env.Bytes (the kernel's copy is one read).
const MaxEnvBytes = 4095

// DefaultEnvValues are the variables whose values are kept by default:
// the dynamic loader's, which the loader-abuse rules read, the shell's
// history settings, which attackers point at /dev/null or empty to leave
// no trace, and none that holds secrets.
var DefaultEnvValues = []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_BIND_NOW", "LD_DEBUG",
	"LD_PROFILE", "LD_ORIGIN_PATH", "GLIBC_TUNABLES", "PATH",
	"HISTFILE", "HISTSIZE", "HISTFILESIZE", "HISTCONTROL", "HISTIGNORE"}

// EnvCollect says when exec records carry the environment.
type EnvCollect uint8

// Collection modes (config environment.collect).
const (
	EnvAuto   EnvCollect = iota // while an enabled rule reads proc.env
	EnvAlways                   // always
	EnvNever                    // never
)

// EnvSettings are the config's environment settings; For turns them and
// the rules' need into an Env.
type EnvSettings struct {
	Collect EnvCollect
	// Bytes read at each exec; 0 means MaxEnvBytes.
	Bytes int
	// Values kept; nil means DefaultEnvValues.
	Values []string
}

// For is the Env to collect when the rules do (needed) or do not read
// proc.env.
func (s EnvSettings) For(needed bool) Env {
	if s.Collect == EnvNever || (s.Collect == EnvAuto && !needed) {
		return Env{}
	}
	e := Env{Bytes: s.Bytes, Values: s.Values}
	if e.Bytes == 0 {
		e.Bytes = MaxEnvBytes
	}
	if e.Values == nil {
		e.Values = DefaultEnvValues
	}
	return e
}

// Options are what shapes a plan besides the rules: the config's
// limits and enforcement settings.
type Options struct {
	// Events limits the traced types (config events); nil: no limit.
	Events []event.Type
	Env    EnvSettings
	// Audit makes every deny and kill rule audit-only.
	Audit bool
	// Allow lists executables never denied or killed.
	Allow []string
}

// Union is a plan that drops nothing either plan keeps: while a reload
// swaps rule sets, an event is judged by the old set or the new one and
// must not be dropped by the kernel for the one that judges it. The
// policy is b's: enforcement switches in one step (the kernel flips a
// generation), it is never the sum of two rule sets.
func Union(a, b Plan) Plan {
	u := Plan{Policy: b.Policy}
	u.Types = append(slices.Clone(a.Types), b.Types...)
	slices.Sort(u.Types)
	u.Types = slices.Compact(u.Types)
	u.Open = unionOpen(a.Open, b.Open)
	u.Args = unionArgs(a.Args, b.Args)
	u.Env = unionEnv(a.Env, b.Env)
	return u
}

// unionMasks is the union of two per-index bit masks; nil (no filter)
// when either is.
func unionMasks(a, b []uint16) []uint16 {
	if a == nil || b == nil {
		return nil
	}
	u := slices.Clone(a)
	for i := range min(len(u), len(b)) {
		u[i] |= b[i]
	}
	return u
}

func unionOpen(a, b OpenFilter) OpenFilter {
	if a.All || b.All {
		return OpenFilter{All: true}
	}
	return OpenFilter{Paths: uniq(append(slices.Clone(a.Paths), b.Paths...))}
}

// unionArgs keeps a type's filter only where both plans filter it: a
// filter one side lacks means that side needs every event of the type.
func unionArgs(a, b ArgFilter) ArgFilter {
	u := ArgFilter{
		PtraceRequests: unionNums(a.PtraceRequests, b.PtraceRequests),
		BPFCmds:        unionNums(a.BPFCmds, b.BPFCmds),
		PrctlOptions:   unionNums(a.PrctlOptions, b.PrctlOptions),
		SocketTypes:    unionMasks(a.SocketTypes, b.SocketTypes),
		SetidToRoot:    a.SetidToRoot && b.SetidToRoot,
		NoSetidOld:     a.NoSetidOld && b.NoSetidOld,
	}
	for t, an := range a.Names {
		if bn, ok := b.Names[t]; ok {
			if u.Names == nil {
				u.Names = map[event.Type][]string{}
			}
			u.Names[t] = uniq(append(slices.Clone(an), bn...))
		}
	}
	for t, af := range a.Files {
		if bf, ok := b.Files[t]; ok {
			if u.Files == nil {
				u.Files = map[event.Type]FileFilter{}
			}
			u.Files[t] = FileFilter{
				First:  uniq(append(slices.Clone(af.First), bf.First...)),
				Second: uniq(append(slices.Clone(af.Second), bf.Second...)),
			}
		}
	}
	return u
}

// unionNums joins two allow-lists; nil (everything) absorbs the other.
func unionNums(a, b []uint32) []uint32 {
	if a == nil || b == nil {
		return nil
	}
	u := append(slices.Clone(a), b...)
	slices.Sort(u)
	return slices.Compact(u)
}

func unionEnv(a, b Env) Env {
	if a.Bytes == 0 {
		return b
	}
	if b.Bytes == 0 {
		return a
	}
	return Env{Bytes: max(a.Bytes, b.Bytes), Values: uniq(append(slices.Clone(a.Values), b.Values...))}
}

// uniq returns s without repeated items, first occurrence first.
func uniq[T comparable](s []T) []T {
	seen := make(map[T]bool, len(s))
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
