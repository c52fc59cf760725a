package bpf

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/vigil-project/vigil/engine/event"
)

// PathRule is one entry of the kernel's open filter: a path prefix, or an
// exact path, and the open flags of which an open must have one (0: any).
type PathRule struct {
	Path     string
	Exact    bool
	AnyFlags uint32
}

// FilterPathMax is the longest path the open filter can hold (the kernel
// passes opens of longer paths).
const FilterPathMax = 254

// OpenFilter says which opens user space wants. With All set (the zero
// value is not: use AllOpens) every open is copied; otherwise opens of
// clean absolute paths that match no rule are dropped in the kernel and
// counted as filtered.
type OpenFilter struct {
	All   bool
	Paths []PathRule
}

// AllOpens is the filter that drops nothing.
var AllOpens = OpenFilter{All: true}

// lpmKey is the trie key of a rule: prefix bytes, or the path and its NUL.
func (r PathRule) lpmKey() (vigilVgPathKey, error) {
	var k vigilVgPathKey
	b := []byte(r.Path)
	if r.Exact {
		b = append(b, 0)
	}
	if len(r.Path) > FilterPathMax {
		return k, fmt.Errorf("open filter path %q is longer than %d bytes", r.Path, FilterPathMax)
	}
	copy(k.Data[:], b)
	k.Prefixlen = uint32(len(b) * 8)
	return k, nil
}

// trieValues computes what each key holds. The trie answers with the
// longest matching entry only, so an entry also carries the flags of every
// shorter prefix that covers it: an open is wanted if any covering rule
// wants it, and "any of A" or "any of B" is "any of A|B" (0 stays 0: any).
func trieValues(paths []PathRule) map[PathRule]uint32 {
	vals := map[PathRule]uint32{}
	for _, r := range paths {
		key := PathRule{Path: r.Path, Exact: r.Exact}
		need, seen := vals[key]
		vals[key] = mergeFlags(need, seen, r.AnyFlags)
	}
	out := map[PathRule]uint32{}
	for key := range vals {
		var need uint32
		seen := false
		for other, flags := range vals {
			covers := other == key || (!other.Exact && strings.HasPrefix(key.Path, other.Path))
			if covers {
				need = mergeFlags(need, seen, flags)
				seen = true
			}
		}
		out[key] = need
	}
	return out
}

func mergeFlags(cur uint32, seen bool, add uint32) uint32 {
	if !seen {
		return add
	}
	if cur == 0 || add == 0 {
		return 0
	}
	return cur | add
}

// SetOpenFilter replaces the kernel's open filter in place. Entries are
// added before stale ones are removed and the filter is switched on last
// (off first), so during the change the kernel drops only opens that both
// the old and the new filter drop.
func (p *Probes) SetOpenFilter(f OpenFilter) error {
	m := p.objs.VgOpenPaths
	if f.All {
		p.cfg.OpenFilter = 0
		return p.writeConfig()
	}
	want := map[vigilVgPathKey]uint32{}
	for r, need := range trieValues(f.Paths) {
		k, err := r.lpmKey()
		if err != nil {
			return err
		}
		want[k] = need
	}
	for k, v := range want {
		if err := m.Update(&k, &v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("update open filter: %w", err)
		}
	}
	var stale []vigilVgPathKey
	var k vigilVgPathKey
	var v uint32
	it := m.Iterate()
	for it.Next(&k, &v) {
		if _, ok := want[k]; !ok {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read open filter: %w", err)
	}
	for _, k := range stale {
		if err := m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("update open filter: %w", err)
		}
	}
	p.cfg.OpenFilter = 1
	return p.writeConfig()
}

// Filtered returns the events the kernel-side filters dropped, per type.
func (p *Probes) Filtered() (map[event.Type]uint64, error) {
	return sumPerCPU(p.objs.VgFiltered)
}

func sumPerCPU(m *ebpf.Map) (map[event.Type]uint64, error) {
	out := make(map[event.Type]uint64)
	var percpu []uint64
	for _, t := range event.Types() {
		if err := m.Lookup(uint32(t), &percpu); err != nil {
			return nil, fmt.Errorf("read counters: %w", err)
		}
		var sum uint64
		for _, n := range percpu {
			sum += n
		}
		out[t] = sum
	}
	return out, nil
}

// sortedRules is for stable test output.
func sortedRules(m map[PathRule]uint32) []PathRule {
	return slices.SortedFunc(maps.Keys(m), func(a, b PathRule) int { return strings.Compare(a.Path+fmt.Sprint(a.Exact), b.Path+fmt.Sprint(b.Exact)) })
}
