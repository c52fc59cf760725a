package bpf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/bpf/mountinfo"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Mechanisms are the enforcement hooks this kernel gives vigil.
type Mechanisms struct {
	// LSM: BPF LSM programs enforce (bpf is an active LSM): exec, open and
	// connect can be denied before they happen.
	LSM bool
	// CgroupConnect: cgroup connect4/connect6 programs are attached to the
	// cgroup v2 root: connect can be denied (EPERM) without LSM.
	CgroupConnect bool
	// Kill: bpf_send_signal from the tracepoints (always, with them).
	Kill bool
	// Why LSM or CgroupConnect are not available.
	LSMReason, CgroupReason string
}

// Mechanisms reports what the loaded probes can enforce.
func (p *Probes) Mechanisms() Mechanisms {
	return Mechanisms{Kill: true, CgroupConnect: p.cgConnect, CgroupReason: p.cgReason, LSM: p.lsm, LSMReason: p.lsmReason}
}

// attachLSM loads and attaches the BPF LSM programs (vigillsm_*) where bpf
// is an active LSM, sharing the main object's maps. Failure is not fatal:
// deny on exec and open is then unavailable, and says why.
func (p *Probes) attachLSM() {
	ok, why := features.BPFLSM()
	if !ok {
		p.lsmReason = why
		return
	}
	spec, err := loadVigilLsm()
	if err != nil {
		p.lsmReason = "parse the LSM object: " + err.Error()
		return
	}
	repl := map[string]*ebpf.Map{}
	v := reflect.ValueOf(&p.objs.vigilMaps).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("ebpf")
		// Only the maps the LSM object has (it shares common.h and
		// policy.h, not the hook families' own maps such as vg_setid_old).
		if m, ok := v.Field(i).Interface().(*ebpf.Map); ok && m != nil && spec.Maps[name] != nil {
			repl[name] = m
		}
	}
	// Its own .bss stays its own: its wakeup bookkeeping only rates the
	// rare denied-exec records it sends. Sizes set at load (the ring
	// buffer's) must match the maps replacing them.
	for name, m := range repl {
		if ms, ok := spec.Maps[name]; ok {
			ms.MaxEntries = m.MaxEntries()
		}
	}
	var progs vigilLsmPrograms
	opts := &ebpf.CollectionOptions{MapReplacements: repl}
	if os.Getenv("VIGIL_BPF_STATS") != "" {
		opts.Programs.LogLevel = ebpf.LogLevelStats
	}
	start := time.Now()
	defer func() {
		if os.Getenv("VIGIL_BPF_STATS") != "" {
			fmt.Fprintf(os.Stderr, "LSM load %v: %s\n", time.Since(start), p.lsmReason)
			for _, pr := range []*ebpf.Program{progs.LsmExec, progs.LsmOpen, progs.LsmConnect} {
				if pr != nil {
					fmt.Fprintf(os.Stderr, "%s\n", pr.VerifierLog)
				}
			}
		}
	}()
	if err := spec.LoadAndAssign(&progs, opts); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) && os.Getenv("VIGIL_BPF_STATS") != "" {
			fmt.Fprintf(os.Stderr, "%+v\n", verr)
		}
		p.lsmReason = "load the LSM programs: " + err.Error()
		return
	}
	for _, prog := range []*ebpf.Program{progs.LsmExec, progs.LsmOpen, progs.LsmConnect} {
		l, err := link.AttachLSM(link.LSMOptions{Program: prog})
		if err != nil {
			progs.Close()
			p.lsmReason = "attach the LSM programs: " + err.Error()
			return
		}
		p.links = append(p.links, l)
	}
	p.lsmProgs = progs
	p.lsm = true
}

// attachCgroupConnect attaches the connect4/connect6 programs to the cgroup
// v2 root. Failure is not fatal: connect deny is then unavailable.
func (p *Probes) attachCgroupConnect() {
	root, err := cgroup2Root()
	if err != nil {
		p.cgReason = err.Error()
		return
	}
	for _, a := range []struct {
		prog *ebpf.Program
		typ  ebpf.AttachType
	}{
		{p.objs.CgConnect4, ebpf.AttachCGroupInet4Connect},
		{p.objs.CgConnect6, ebpf.AttachCGroupInet6Connect},
	} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: root, Attach: a.typ, Program: a.prog})
		if err != nil {
			p.cgReason = fmt.Sprintf("attach cgroup connect hook to %s: %v", root, err)
			return
		}
		p.links = append(p.links, l)
	}
	p.cgConnect = true
}

// cgroup2Root finds the mounted cgroup v2 root.
func cgroup2Root() (string, error) {
	ms, err := mountinfo.Read()
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.FSType == "cgroup2" && m.Root == "/" {
			return m.Point, nil
		}
	}
	return "", errors.New("no cgroup v2 root is mounted")
}

// policyState is the installed policy, by generation, for naming the rule
// behind a record's policy word.
type policyState struct {
	gen   [2]*plan.Policy
	keys  [2]polKeys
	ports [2][]uint64 // connect atoms by port as written, nil: all zero
}

// polKeys are the map keys written for one generation, to remove them
// when the generation is reused.
type polKeys struct {
	paths []vigilVgPolPathKey
	ips   []vigilVgPolIpKey
	names []vigilVgPolNameKey
	uids  []vigilVgPolUidKey
}

// polPathMax is the longest path the kernel's policy tries hold.
const polPathMax = 253

// SetPolicy installs pol in the generation not in force, seeds the exe
// memberships of running processes for it, then switches the kernel to
// it: a reload never leaves a moment without a complete policy. It fails
// when pol asks for what this kernel cannot do.
func (p *Probes) SetPolicy(pol plan.Policy) error {
	p.polMu.Lock()
	defer p.polMu.Unlock()
	mech := p.Mechanisms()
	if err := checkMechanisms(pol, mech); err != nil {
		return err
	}
	st := &p.pol
	g := uint8(1 - p.cfg.PolGen)
	if err := p.clearGen(g); err != nil {
		return err
	}
	var types uint32
	var descs [len(plan.PolicyTypes)]vigilVgPolDesc
	paths := map[string]*vigilVgPolMasks{} // class byte + path (+ NUL when exact)
	ips := map[netip.Prefix]*vigilVgPolMasks{}
	names := map[string]*vigilVgPolMasks{}
	uids := map[uint32]*vigilVgPolMasks{}
	var ports []uint64
	var family [3]uint64
	entry := func(m map[string]*vigilVgPolMasks, k string) *vigilVgPolMasks {
		if m[k] == nil {
			m[k] = &vigilVgPolMasks{}
		}
		return m[k]
	}
	for ti, tp := range pol.Types {
		d := &descs[ti]
		for i, a := range tp.Atoms {
			bit := uint64(1) << i
			if a.Neg {
				d.Neg[a.Class] |= bit
			} else {
				d.Pos[a.Class] |= bit
			}
			switch a.Class {
			case plan.PolExe, plan.PolFile:
				for _, r := range a.Paths {
					k, err := polPathKey(a.Class, r)
					if err != nil {
						return err
					}
					entry(paths, k).M[ti] |= bit
				}
			case plan.PolName:
				for _, n := range a.Names {
					entry(names, n).M[ti] |= bit
				}
			case plan.PolUID:
				for _, u := range a.UIDs {
					if uids[u] == nil {
						uids[u] = &vigilVgPolMasks{}
					}
					uids[u].M[ti] |= bit
				}
			case plan.PolDIP:
				for _, n := range a.Nets {
					n = n.Masked()
					if ips[n] == nil {
						ips[n] = &vigilVgPolMasks{}
					}
					ips[n].M[ti] |= bit
				}
			case plan.PolDPort:
				if ports == nil {
					ports = make([]uint64, 65536)
				}
				for _, r := range a.Ports {
					for port := int(r[0]); port <= int(r[1]); port++ {
						ports[port] |= bit
					}
				}
			case plan.PolFamily:
				for _, n := range a.Names {
					family[map[string]int{"ipv4": 0, "ipv6": 1, "unix": 2}[n]] |= bit
				}
			}
		}
		for j, c := range tp.Conjs {
			bit := uint64(1) << j
			for _, i := range c.Atoms {
				d.Conj[j] |= 1 << i
			}
			act := c.Action
			if act == "deny" && c.Fallback == "kill" && kernelCannotDeny(plan.PolicyTypes[ti], mech) {
				act = "kill"
			}
			if act == "kill" {
				d.Kill |= bit
			} else {
				d.Deny |= bit
			}
			if c.Enforce {
				d.Enforce |= bit
			}
		}
		d.Nconj = uint32(len(tp.Conjs))
		if len(tp.Conjs) > 0 {
			types |= 1 << ti
		}
	}
	for _, a := range pol.Allow {
		k, err := polPathKey(plan.PolExe, plan.PathRule{Path: a, Exact: true})
		if err != nil {
			return fmt.Errorf("allow-list: %w", err)
		}
		entry(paths, k).Allow = 1
	}
	propagatePaths(paths)
	propagateIPs(ips)

	// Write the new generation.
	var keys polKeys
	for k, m := range paths {
		key := vigilVgPolPathKey{Prefixlen: uint32(8 * (2 + len(k) - 1)), Gen: g, Cls: k[0]}
		copy(key.Path[:], k[1:])
		if err := p.objs.VgPolPath.Update(&key, m, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy paths: %w", err)
		}
		keys.paths = append(keys.paths, key)
	}
	for n, m := range ips {
		key := vigilVgPolIpKey{Gen: g}
		if n.Addr().Is4() {
			key.Family = 4
			a := n.Addr().As4()
			copy(key.Addr[:], a[:])
		} else {
			key.Family = 6
			a := n.Addr().As16()
			copy(key.Addr[:], a[:])
		}
		key.Prefixlen = uint32(16 + n.Bits())
		if err := p.objs.VgPolIp.Update(&key, m, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy addresses: %w", err)
		}
		keys.ips = append(keys.ips, key)
	}
	for n, m := range names {
		key := vigilVgPolNameKey{Gen: g}
		for i := 0; i < len(n) && i < len(key.Comm)-1; i++ {
			key.Comm[i] = int8(n[i])
		}
		if err := p.objs.VgPolName.Update(&key, m, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy names: %w", err)
		}
		keys.names = append(keys.names, key)
	}
	for u, m := range uids {
		key := vigilVgPolUidKey{Gen: uint32(g), Uid: u}
		if err := p.objs.VgPolUid.Update(&key, m, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy uids: %w", err)
		}
		keys.uids = append(keys.uids, key)
	}
	for port, v := range ports {
		if v != 0 {
			if err := p.objs.VgPolPort.Update(uint32(int(g)*65536+port), v, ebpf.UpdateAny); err != nil {
				return fmt.Errorf("policy ports: %w", err)
			}
		}
	}
	for f, v := range family {
		if err := p.objs.VgPolFamily.Update(uint32(int(g)*4+f), v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy families: %w", err)
		}
	}
	for ti := range descs {
		if err := p.objs.VgPolDescs.Update(uint32(int(g)*len(descs)+ti), &descs[ti], ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy: %w", err)
		}
	}
	if types != 0 {
		if err := p.seedProcs(g, paths); err != nil {
			return err
		}
	}
	polCopy := pol
	st.gen[g] = &polCopy
	st.keys[g] = keys
	st.ports[g] = ports
	p.polView.Store(&policyView{gen: st.gen})

	// Switch.
	p.cfg.PolGen = uint32(g)
	p.cfg.PolTypes = types
	return p.writeConfig()
}

// kernelCannotDeny reports whether a deny of t must fall back to kill.
func kernelCannotDeny(t event.Type, m Mechanisms) bool {
	// (LSM denies all three; without it, connect needs the cgroup hooks.)
	if m.LSM {
		return false
	}
	return t != event.TypeConnect || !m.CgroupConnect
}

// checkMechanisms refuses a policy this kernel cannot carry out.
func checkMechanisms(pol plan.Policy, m Mechanisms) error {
	for ti, tp := range pol.Types {
		t := plan.PolicyTypes[ti]
		for _, c := range tp.Conjs {
			if c.Action != "deny" || !kernelCannotDeny(t, m) || c.Fallback == "kill" || !c.Enforce {
				continue
			}
			why := m.LSMReason
			if t == event.TypeConnect && m.CgroupReason != "" {
				why += "; " + m.CgroupReason
			}
			return &UnavailableError{Rule: c.Rule, Type: t, Why: why}
		}
	}
	return nil
}

// UnavailableError is a deny the kernel cannot make.
type UnavailableError struct {
	Rule string
	Type event.Type
	Why  string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("rule %q: this kernel cannot deny %s (%s); add \"fallback: kill\" to kill the process instead, or \"enforce: false\" to only alert",
		e.Rule, e.Type, e.Why)
}

// polPathKey is the map key of a path rule: class byte, path, NUL when exact.
func polPathKey(c plan.PolicyClass, r plan.PathRule) (string, error) {
	if len(r.Path) > polPathMax {
		return "", fmt.Errorf("path %q is longer than the %d bytes the kernel's policy holds", r.Path, polPathMax)
	}
	if strings.IndexByte(r.Path, 0) >= 0 {
		return "", fmt.Errorf("path %q has a NUL byte", r.Path)
	}
	k := string([]byte{byte(c)}) + r.Path
	if r.Exact {
		k += "\x00"
	}
	return k, nil
}

// propagatePaths gives every entry the bits of the prefix entries (same
// class) that cover it: the trie answers with the longest match only.
func propagatePaths(paths map[string]*vigilVgPolMasks) {
	type kv struct {
		k string
		m vigilVgPolMasks
	}
	var prefixes []kv
	for k, m := range paths {
		if !strings.HasSuffix(k, "\x00") {
			prefixes = append(prefixes, kv{k, *m})
		}
	}
	for k, m := range paths {
		for _, p := range prefixes {
			if p.k != k && strings.HasPrefix(k, p.k) {
				for i := range m.M {
					m.M[i] |= p.m.M[i]
				}
			}
		}
	}
}

func propagateIPs(ips map[netip.Prefix]*vigilVgPolMasks) {
	type kv struct {
		n netip.Prefix
		m vigilVgPolMasks
	}
	var all []kv
	for n, m := range ips {
		all = append(all, kv{n, *m})
	}
	for n, m := range ips {
		for _, p := range all {
			if p.n != n && p.n.Bits() < n.Bits() && p.n.Addr().Is4() == n.Addr().Is4() && p.n.Contains(n.Addr()) {
				for i := range m.M {
					m.M[i] |= p.m.M[i]
				}
			}
		}
	}
}

// seedProcs writes generation g's exe memberships of every running
// process (the kernel computes them itself at each exec from now on).
func (p *Probes) seedProcs(g uint8, paths map[string]*vigilVgPolMasks) error {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range ents {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue // a kernel thread, or gone
		}
		m := exeMembership(paths, exe)
		var cur vigilVgPolProc
		key := uint32(pid)
		if err := p.objs.VgPolProcs.Lookup(&key, &cur); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("policy processes: %w", err)
		}
		cur.Gen[g] = m
		if err := p.objs.VgPolProcs.Update(&key, &cur, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("policy processes: %w", err)
		}
	}
	return nil
}

// exeMembership is the trie's answer for exe in Go: the longest matching
// entry, which carries the bits of its covering prefixes.
func exeMembership(paths map[string]*vigilVgPolMasks, exe string) vigilVgPolMasks {
	if len(exe) > polPathMax {
		return vigilVgPolMasks{}
	}
	full := string([]byte{byte(plan.PolExe)}) + exe + "\x00"
	best := -1
	var out vigilVgPolMasks
	for k, m := range paths {
		if strings.HasPrefix(full, k) && len(k) > best {
			best, out = len(k), *m
		}
	}
	return out
}

// clearGen removes what was written for generation g.
func (p *Probes) clearGen(g uint8) error {
	st := &p.pol
	k := st.keys[g]
	for i := range k.paths {
		p.objs.VgPolPath.Delete(&k.paths[i])
	}
	for i := range k.ips {
		p.objs.VgPolIp.Delete(&k.ips[i])
	}
	for i := range k.names {
		p.objs.VgPolName.Delete(&k.names[i])
	}
	for i := range k.uids {
		p.objs.VgPolUid.Delete(&k.uids[i])
	}
	for port, v := range st.ports[g] {
		if v != 0 {
			if err := p.objs.VgPolPort.Update(uint32(int(g)*65536+port), uint64(0), ebpf.UpdateAny); err != nil {
				return err
			}
		}
	}
	st.keys[g], st.ports[g] = polKeys{}, nil
	return nil
}

// policyView names the rules behind records' policy words; replaced
// whole on every SetPolicy (the reader reads it without locks).
type policyView struct {
	gen [2]*plan.Policy
}

// outcome decodes a record's policy word for event type t.
func (v *policyView) outcome(t event.Type, word uint32) event.Enforcement {
	if word == 0 || v == nil {
		return event.Enforcement{}
	}
	j := int(word&0xff) - 1
	out := word >> 8 & 0xf
	pol := v.gen[word>>12&1]
	ti := plan.PolicyTypeIndex(t)
	if pol == nil || ti < 0 || j < 0 || j >= len(pol.Types[ti].Conjs) {
		return event.Enforcement{}
	}
	return event.Enforcement{
		Rule:   pol.Types[ti].Conjs[j].Rule,
		Action: [...]string{"", "deny", "kill", "would deny", "would kill"}[min(out, 4)],
	}
}

// policyFields are Probes' enforcement state.
type policyFields struct {
	cgConnect bool
	cgReason  string
	lsm       bool
	lsmReason string
	lsmProgs  vigilLsmPrograms
	polMu     sync.Mutex // serialises SetPolicy
	pol       policyState
	polView   atomic.Pointer[policyView]
}
