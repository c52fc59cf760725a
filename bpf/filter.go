package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-project/vigil/engine/event"
)

// lpmKey is the trie key of a rule: prefix bytes, or the path and its NUL.
func lpmKey(r event.PathRule) (vigilVgPathKey, error) {
	var k vigilVgPathKey
	b := []byte(r.Path)
	if r.Exact {
		b = append(b, 0)
	}
	if len(r.Path) > event.FilterPathMax {
		return k, fmt.Errorf("open filter path %q is longer than %d bytes", r.Path, event.FilterPathMax)
	}
	copy(k.Data[:], b)
	k.Prefixlen = uint32(len(b) * 8)
	return k, nil
}

// SetOpenFilter replaces the kernel's open filter in place. Entries are
// added before stale ones are removed and the filter is switched on last
// (off first), so during the change the kernel drops only opens that both
// the old and the new filter drop.
func (p *Probes) SetOpenFilter(f event.OpenFilter) error {
	m := p.objs.VgOpenPaths
	if f.All {
		p.cfg.OpenFilter = 0
		return p.writeConfig()
	}
	want := map[vigilVgPathKey]uint32{}
	for r, need := range f.TrieValues() {
		k, err := lpmKey(r)
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
