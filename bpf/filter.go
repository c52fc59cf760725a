package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// lpmKey is the trie key of a rule: prefix bytes, or the path and its NUL.
func lpmKey(r plan.PathRule) (vigilVgPathKey, error) {
	var k vigilVgPathKey
	b := []byte(r.Path)
	if r.Exact {
		b = append(b, 0)
	}
	if len(r.Path) > plan.FilterPathMax {
		return k, fmt.Errorf("open filter path %q is longer than %d bytes", r.Path, plan.FilterPathMax)
	}
	copy(k.Data[:], b)
	k.Prefixlen = uint32(len(b) * 8)
	return k, nil
}

// suffixKey is the vg_suffixes key of an end-of-path rule under a tag
// (the vg_file_paths tag; VG_OPEN << 1 for opens): the tag, then the end
// reversed.
func suffixKey(tag uint8, r plan.PathRule) (vigilVgSuffixKey, error) {
	var k vigilVgSuffixKey
	if len(r.Path) > plan.SuffixMax || len(r.Path) == 0 {
		return k, fmt.Errorf("path filter end %q is empty or longer than %d bytes", r.Path, plan.SuffixMax)
	}
	k.Data[0] = tag
	for i := range len(r.Path) {
		k.Data[1+i] = r.Path[len(r.Path)-1-i]
	}
	k.Prefixlen = uint32(1+len(r.Path)) * 8
	return k, nil
}

// setSuffixes makes the entries of vg_suffixes whose tag ours accepts
// exactly want, adding before removing.
func (p *Probes) setSuffixes(want map[vigilVgSuffixKey]uint32, ours func(tag uint8) bool) error {
	m := p.objs.VgSuffixes
	for k, v := range want {
		if err := m.Update(&k, &v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("update path end filter: %w", err)
		}
	}
	var stale []vigilVgSuffixKey
	var k vigilVgSuffixKey
	var v uint32
	it := m.Iterate()
	for it.Next(&k, &v) {
		if _, ok := want[k]; !ok && ours(k.Data[0]) {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read path end filter: %w", err)
	}
	// The ends bitmap covers the old entries and the new until the stale
	// ones are gone, then the new alone.
	if err := p.writeSuffixEnds(); err != nil {
		return err
	}
	for _, k := range stale {
		if err := m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("update path end filter: %w", err)
		}
	}
	return p.writeSuffixEnds()
}

// suffixEnds is vg_suffix_ends: bit b<<8|c set when some entry of
// vg_suffixes can match a path ending in the bytes b, c.
type suffixEnds [1024]uint64

func (e *suffixEnds) set(b, c int) { e[(b<<8|c)>>6] |= 1 << ((b<<8 | c) & 63) }

// add marks what an entry matches: its data holds the tag, then the path
// end reversed, prefixlen bits of both.
func (e *suffixEnds) add(k vigilVgSuffixKey) {
	n := int(k.Prefixlen/8) - 1
	switch {
	case n <= 0: // every path
		for i := range e {
			e[i] = ^uint64(0)
		}
	case n == 1: // a one-byte end: any byte before it
		for b := range 256 {
			e.set(b, int(k.Data[1]))
		}
	default:
		e.set(int(k.Data[2]), int(k.Data[1]))
	}
}

// writeSuffixEnds rewrites vg_suffix_ends from the entries of
// vg_suffixes.
func (p *Probes) writeSuffixEnds() error {
	var ends suffixEnds
	var k vigilVgSuffixKey
	var v uint32
	it := p.objs.VgSuffixes.Iterate()
	for it.Next(&k, &v) {
		ends.add(k)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read path end filter: %w", err)
	}
	zero := uint32(0)
	if err := p.objs.VgSuffixEnds.Update(&zero, &ends, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("update path end filter: %w", err)
	}
	return nil
}

// openTag is the vg_suffixes tag of opens.
const openTag = uint8(event.TypeOpen) << 1

// SetOpenFilter replaces the kernel's open filter in place. Entries are
// added before stale ones are removed and the filter is switched on last
// (off first), so during the change the kernel drops only opens that both
// the old and the new filter drop.
func (p *Probes) SetOpenFilter(f plan.OpenFilter) error {
	m := p.objs.VgOpenPaths
	if f.All {
		p.cfg.OpenFilter = 0
		return p.writeConfig()
	}
	want := map[vigilVgPathKey]uint32{}
	ends := map[vigilVgSuffixKey]uint32{}
	for r, need := range f.TrieValues() {
		if r.Suffix {
			k, err := suffixKey(openTag, r)
			if err != nil {
				return err
			}
			ends[k] = need
			continue
		}
		k, err := lpmKey(r)
		if err != nil {
			return err
		}
		want[k] = need
	}
	if err := p.setSuffixes(ends, func(tag uint8) bool { return tag == openTag }); err != nil {
		return err
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
	p.cfg.SuffixTypes &^= 1 << event.TypeOpen
	if len(ends) > 0 {
		p.cfg.SuffixTypes |= 1 << event.TypeOpen
	}
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

// SetArgFilter installs the argument and path filters: names
// are written before the config that turns them on and stale ones removed
// after, so the kernel lets through a superset while it changes.
func (p *Probes) SetArgFilter(f plan.ArgFilter) error {
	m := p.objs.VgNames
	want := map[vigilVgNameKey]bool{}
	var types uint64
	for t, names := range f.Names {
		if t == event.TypeNone || t >= event.Type(vigilVgTypeVG_TYPE_MAX) {
			return fmt.Errorf("name filter for event type %d: no kernel probe", t)
		}
		types |= 1 << t
		for _, n := range names {
			k := vigilVgNameKey{Type: uint32(t)}
			for i := 0; i < len(n) && i < len(k.Comm)-1; i++ { // comm keeps 15 bytes
				k.Comm[i] = int8(n[i])
			}
			want[k] = true
		}
	}
	one := uint8(1)
	for k := range want {
		if err := m.Update(&k, &one, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("update name filter: %w", err)
		}
	}
	files := map[vigilVgFpathKey]bool{}
	ends := map[vigilVgSuffixKey]uint32{}
	var fileTypes, endTypes uint64
	for t, ff := range f.Files {
		if t == event.TypeNone || t >= event.Type(vigilVgTypeVG_TYPE_MAX) {
			return fmt.Errorf("path filter for event type %d: no kernel probe", t)
		}
		fileTypes |= 1 << t
		for which, rules := range [2][]plan.PathRule{ff.First, ff.Second} {
			for _, r := range rules {
				if r.Suffix {
					k, err := suffixKey(uint8(t)<<1|uint8(which), r)
					if err != nil {
						return err
					}
					ends[k] = 0
					endTypes |= 1 << t
					continue
				}
				k, err := fileKey(uint8(t)<<1|uint8(which), r)
				if err != nil {
					return err
				}
				files[k] = true
			}
		}
	}
	fm := p.objs.VgFilePaths
	zero := uint32(0)
	for k := range files {
		if err := fm.Update(&k, &zero, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("update path filter: %w", err)
		}
	}
	if err := p.setSuffixes(ends, func(tag uint8) bool { return tag != openTag }); err != nil {
		return err
	}
	p.cfg.SuffixTypes = p.cfg.SuffixTypes&(1<<event.TypeOpen) | endTypes
	p.cfg.FileFilter = fileTypes
	p.cfg.NameTypes = types
	p.cfg.PtraceFilter, p.cfg.PtraceReqs = 0, 0
	if f.PtraceRequests != nil {
		p.cfg.PtraceFilter = 1
		for _, r := range f.PtraceRequests {
			p.cfg.PtraceReqs |= 1 << ptraceBit(r)
		}
	}
	p.cfg.BpfFilter, p.cfg.BpfCmds = 0, 0
	if f.BPFCmds != nil {
		p.cfg.BpfFilter = 1
		for _, c := range f.BPFCmds {
			if c < 64 {
				p.cfg.BpfCmds |= 1 << c
			}
		}
	}
	p.cfg.PrctlFilter, p.cfg.PrctlOpts = 0, [2]uint64{}
	if f.PrctlOptions != nil {
		p.cfg.PrctlFilter = 1
		for _, o := range f.PrctlOptions {
			b := prctlBit(o)
			p.cfg.PrctlOpts[b/64] |= 1 << (b % 64)
		}
	}
	p.cfg.SocketFilter, p.cfg.SocketTypes = 0, [plan.SocketDomains]uint16{}
	if f.SocketTypes != nil {
		p.cfg.SocketFilter = 1
		copy(p.cfg.SocketTypes[:], f.SocketTypes)
	}
	if f.NoSetidOld != p.noSetidOld {
		p.noSetidOld = f.NoSetidOld
		if err := p.syncHooks(p.cfg.TypeMask); err != nil {
			return err
		}
	}
	p.cfg.SetidRoot = 0
	if f.SetidToRoot {
		p.cfg.SetidRoot = 1
	}
	if err := p.writeConfig(); err != nil {
		return err
	}
	var stale []vigilVgNameKey
	var k vigilVgNameKey
	var v uint8
	it := m.Iterate()
	for it.Next(&k, &v) {
		if !want[k] {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read name filter: %w", err)
	}
	for _, k := range stale {
		if err := m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("update name filter: %w", err)
		}
	}
	var fstale []vigilVgFpathKey
	var fk vigilVgFpathKey
	var fv uint32
	fit := fm.Iterate()
	for fit.Next(&fk, &fv) {
		if !files[fk] {
			fstale = append(fstale, fk)
		}
	}
	if err := fit.Err(); err != nil {
		return fmt.Errorf("read path filter: %w", err)
	}
	for _, k := range fstale {
		if err := fm.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("update path filter: %w", err)
		}
	}
	return nil
}

// fileKey is the vg_file_paths key of a path rule under a tag (the
// event type << 1, | 1 for the second path).
func fileKey(tag uint8, r plan.PathRule) (vigilVgFpathKey, error) {
	var k vigilVgFpathKey
	if len(r.Path) > plan.FilterPathMax {
		return k, fmt.Errorf("path filter path %q is longer than %d bytes", r.Path, plan.FilterPathMax)
	}
	k.Data[0] = tag
	n := 1 + copy(k.Data[1:], r.Path)
	if r.Exact {
		n++ // the NUL, already zero
	}
	k.Prefixlen = uint32(n * 8)
	return k, nil
}

// ptraceBit mirrors ptrace_bit() in sys.c.
func ptraceBit(req uint32) uint {
	switch {
	case req < 32:
		return uint(req)
	case req >= 0x4200 && req < 0x421f:
		return 32 + uint(req-0x4200)
	}
	return 63
}

// prctlBit mirrors prctl_bit() in sys.c.
func prctlBit(opt uint32) uint {
	switch {
	case opt < 124:
		return uint(opt)
	case opt == prGetAuxv:
		return 124
	case opt == prSetVMA:
		return 125
	case opt == prSetPtracer:
		return 126
	}
	return 127
}

// The prctl(2) options with magic numbers (ASCII in the number).
const (
	prGetAuxv    = 0x41555856
	prSetVMA     = 0x53564d41
	prSetPtracer = 0x59616d61
)
