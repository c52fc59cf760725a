package engine

import (
	"fmt"
	"math/bits"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/rules"
)

// Enforcement rules that would act on most of the system, or on the
// processes vigil protects, do not load unless the rule acknowledges it
// (i_understand: broad, protected). Both checks read the kernel form of the
// rule (Rule.policy, exceptions included as negated tests), alternative by
// alternative, so they judge exactly what the kernel will act on; the
// criteria are in docs/enforcement.md ("Broad and protected rules").

// The i_understand values (rules.Acknowledgements) these checks honour.
const (
	ackBroad     = "broad"
	ackProtected = "protected"
)

// systemDirs are directories nearly every process executes from or opens
// files under: a path test whose prefix takes in one of them selects
// nothing.
var systemDirs = []string{
	"/bin", "/sbin", "/lib", "/lib32", "/lib64",
	"/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/share",
	"/etc", "/dev", "/proc", "/sys", "/run", "/var",
}

// Below these prefix lengths an address test takes in too much of the
// address space to select a destination (0.0.0.0/1 and ::/0 do not; 10/8
// and 2001:db8::/32 do).
const (
	minSelectiveBits4 = 8
	minSelectiveBits6 = 16
)

// maxSelectivePorts is the most destination ports a selective port test
// may take in: half of them.
const maxSelectivePorts = 32768

// A protectedProc is a program vigil protects, with the executables it is
// installed as (their base names are the kernel's comm, proc.name). They
// run on the host (not in a container) as root.
type protectedProc struct {
	what string
	exes []string
}

var protectedProcs = []protectedProc{
	{"vigil", []string{"/usr/local/bin/vigil", "/usr/bin/vigil", "/vigil"}},
	{"PID 1", []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init", "/usr/sbin/init"}},
	{"containerd", []string{"/usr/bin/containerd", "/usr/local/bin/containerd"}},
	{"containerd-shim", []string{"/usr/bin/containerd-shim", "/usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v2",
		"/usr/local/bin/containerd-shim", "/usr/local/bin/containerd-shim-runc-v1", "/usr/local/bin/containerd-shim-runc-v2"}},
	{"dockerd", []string{"/usr/bin/dockerd", "/usr/local/bin/dockerd"}},
	{"runc", []string{"/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc"}},
	{"crun", []string{"/usr/bin/crun", "/usr/local/bin/crun"}},
	{"cri-o", []string{"/usr/bin/crio", "/usr/local/bin/crio"}},
	{"conmon", []string{"/usr/bin/conmon", "/usr/libexec/crio/conmon", "/usr/local/bin/conmon"}},
	{"sshd", []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd",
		"/usr/lib/openssh/sshd-session", "/usr/lib/openssh/sshd-auth", "/usr/libexec/openssh/sshd-session", "/usr/libexec/openssh/sshd-auth"}},
}

// comm is the kernel's name of a process running exe: its base name, cut
// to 15 bytes.
func comm(exe string) string {
	n := path.Base(exe)
	return n[:min(len(n), 15)]
}

// checkReach refuses a deny or kill rule whose kernel form would act on
// most of the system, or on a protected process, unless acknowledged.
func (k *compilation) checkReach(cr *Rule) {
	r := cr.src
	if !cr.Enabled || cr.policy == nil {
		return
	}
	item := fmt.Sprintf("rule %q", r.Name)
	pos := r.Condition.Pos(0)
	if !slices.Contains(r.Understood, ackBroad) {
		if t, conj, ok := cr.firstBroad(); ok {
			how := fmt.Sprintf("every %s event (nothing but evt.type is tested)", t)
			if len(conj) > 0 {
				how = fmt.Sprintf("most %s events (it holds whenever %s)", t, conjText(conj))
			}
			k.errorf(pos, item, rules.CodeBroad, "action %s would act on %s: it names no program (proc.exe, proc.name), file (file.path outside the system directories /, /usr, /etc, ...) or destination (net.dip, net.dport) to act on; narrow the condition, or add \"i_understand: %s\" to the rule to load it as it is",
				r.Action, how, ackBroad)
		}
	}
	if !slices.Contains(r.Understood, ackProtected) {
		if hit := cr.protectedHits(); hit.procs != nil {
			how := fmt.Sprintf("on every %s event", hit.typ)
			if len(hit.conj) > 0 {
				how = fmt.Sprintf("on %s events whenever %s", hit.typ, conjText(hit.conj))
			}
			k.errorf(pos, item, rules.CodeProtected, "action %s would act on processes vigil protects: %s (%s); exclude them (for instance with an exception whose condition is proc.name in [%s]), or add \"i_understand: %s\" to the rule",
				r.Action, strings.Join(hit.procs, ", "), how, strings.Join(hit.names, ", "), ackProtected)
		}
	}
}

// conjText writes an alternative as a condition would, for messages.
func conjText(conj []plan.PolicyAtom) string {
	parts := make([]string, len(conj))
	for i, a := range conj {
		parts[i] = atomText(a)
	}
	return strings.Join(parts, " && ")
}

// firstBroad returns the first alternative, in type order, that selects
// nothing.
func (cr *Rule) firstBroad() (event.Type, []plan.PolicyAtom, bool) {
	for _, t := range plan.PolicyTypes {
		for _, conj := range cr.policy[t].atoms {
			if !selective(conj) {
				return t, conj, true
			}
		}
	}
	return 0, nil, false
}

// selective reports whether an alternative names what it acts on: a
// program (a proc.exe or proc.name test that must hold), a file (a
// file.path test that must hold and takes in no system directory) or a
// destination (a net.dip test that must hold, with prefixes no shorter than
// /8 for IPv4 or /16 for IPv6; or port tests that leave at most half the
// ports). Negated tests (exceptions, !=) only exclude: they never select.
func selective(conj []plan.PolicyAtom) bool {
	var ports *portSet
	for _, a := range conj {
		if a.Class == plan.PolDPort {
			if ports == nil {
				ports = allPorts()
			}
			ports.restrict(a)
			continue
		}
		if a.Neg {
			continue
		}
		switch a.Class {
		case plan.PolName:
			return true
		case plan.PolExe, plan.PolFile:
			if !slices.ContainsFunc(a.Paths, coversSystemDir) {
				return true
			}
		case plan.PolDIP:
			if !slices.ContainsFunc(a.Nets, wideNet) {
				return true
			}
		}
	}
	return ports != nil && ports.count() <= maxSelectivePorts
}

// coversSystemDir reports whether a path test takes in a system directory
// (a prefix such as "/", "/usr/" or "/e").
func coversSystemDir(r plan.PathRule) bool {
	if r.Exact {
		return false
	}
	for _, d := range systemDirs {
		if strings.HasPrefix(d+"/", r.Path) {
			return true
		}
	}
	return false
}

func wideNet(p netip.Prefix) bool {
	if p.Addr().Is4In6() {
		return p.Bits()-96 < minSelectiveBits4
	}
	if p.Addr().Is4() {
		return p.Bits() < minSelectiveBits4
	}
	return p.Bits() < minSelectiveBits6
}

// portSet is a set of destination ports, one bit each.
type portSet [65536 / 64]uint64

func allPorts() *portSet {
	var s portSet
	for i := range s {
		s[i] = ^uint64(0)
	}
	return &s
}

// restrict keeps the ports for which the port test a holds.
func (s *portSet) restrict(a plan.PolicyAtom) {
	var in portSet
	for _, r := range a.Ports {
		for p := int(r[0]); p <= int(r[1]); {
			if p%64 == 0 && p+63 <= int(r[1]) {
				in[p/64] = ^uint64(0) // a whole word at once
				p += 64
				continue
			}
			in[p/64] |= 1 << (p % 64)
			p++
		}
	}
	for i := range s {
		if a.Neg {
			s[i] &^= in[i]
		} else {
			s[i] &= in[i]
		}
	}
}

func (s *portSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// protectedHit is what a rule would act on among the protected processes.
type protectedHit struct {
	procs []string // "sshd (/usr/sbin/sshd)", in table order
	names []string // the comms of every executable hit, quoted, for the advice
	typ   event.Type
	conj  []plan.PolicyAtom // the first alternative that hits
}

// protectedHits judges every alternative that names a program or selects
// nothing (one that names only a file or a destination acts on whoever
// touches it, which is the point of the rule) against each protected
// executable: the alternative hits it when its proc.exe, proc.name,
// user.uid and container tests can all hold for a root process on the host
// running it.
func (cr *Rule) protectedHits() protectedHit {
	var hit protectedHit
	first := make([]string, len(protectedProcs)) // the first executable hit, per process
	hitExes := map[string]bool{}
	for _, t := range plan.PolicyTypes {
		for _, conj := range cr.policy[t].atoms {
			if !namesProgram(conj) && selective(conj) {
				continue
			}
			for i, p := range protectedProcs {
				for _, exe := range p.exes {
					if !mayAct(conj, exe) {
						continue
					}
					if hit.conj == nil {
						hit.typ, hit.conj = t, conj
					}
					hitExes[exe] = true
					if first[i] == "" {
						first[i] = exe
					}
				}
			}
		}
	}
	for i, p := range protectedProcs {
		if first[i] == "" {
			continue
		}
		hit.procs = append(hit.procs, p.what+" ("+first[i]+")")
		for _, exe := range p.exes {
			if n := strconv.Quote(comm(exe)); hitExes[exe] && !slices.Contains(hit.names, n) {
				hit.names = append(hit.names, n)
			}
		}
	}
	return hit
}

func namesProgram(conj []plan.PolicyAtom) bool {
	return slices.ContainsFunc(conj, func(a plan.PolicyAtom) bool {
		return !a.Neg && (a.Class == plan.PolExe || a.Class == plan.PolName)
	})
}

// mayAct reports whether conj can hold for a root process on the host
// running exe: its process tests are judged as the kernel judges them
// (PolicyAtom.Holds), the others (file, destination) may hold.
func mayAct(conj []plan.PolicyAtom, exe string) bool {
	e := &event.Event{Proc: &event.Process{Exe: exe, Name: comm(exe)}}
	for _, a := range conj {
		switch a.Class {
		case plan.PolExe, plan.PolName, plan.PolUID, plan.PolScope:
			if !a.Holds(e) {
				return false
			}
		}
	}
	return true
}

// atomText writes a test as a condition would, for messages.
func atomText(a plan.PolicyAtom) string {
	var parts []string
	field := a.Class.String()
	switch a.Class {
	case plan.PolExe, plan.PolFile:
		for _, r := range a.Paths {
			if r.Exact {
				parts = append(parts, field+" == "+strconv.Quote(r.Path))
			} else {
				parts = append(parts, field+".startsWith("+strconv.Quote(r.Path)+")")
			}
		}
		if len(a.Paths) == 1 && a.Neg && a.Paths[0].Exact {
			return field + " != " + strconv.Quote(a.Paths[0].Path)
		}
		if len(parts) == 1 {
			if a.Neg {
				return "!" + parts[0]
			}
			return parts[0]
		}
		s := "(" + strings.Join(parts, " || ") + ")"
		if a.Neg {
			return "!" + s
		}
		return s
	case plan.PolScope:
		if a.Neg {
			return `container.id == ""`
		}
		return `container.id != ""`
	case plan.PolName, plan.PolFamily:
		for _, n := range a.Names {
			parts = append(parts, strconv.Quote(n))
		}
	case plan.PolUID:
		for _, u := range a.UIDs {
			parts = append(parts, strconv.FormatUint(uint64(u), 10))
		}
	case plan.PolDIP:
		for _, n := range a.Nets {
			parts = append(parts, strconv.Quote(n.String()))
		}
		s := "net.dip.inCidr(" + parts[0] + ")"
		if len(parts) > 1 {
			s = "net.dip.inCidrs([" + strings.Join(parts, ", ") + "])"
		}
		if a.Neg {
			return "!" + s
		}
		return s
	case plan.PolDPort:
		for _, r := range a.Ports {
			if r[0] == r[1] {
				parts = append(parts, strconv.Itoa(int(r[0])))
			} else {
				parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
			}
		}
		if len(a.Ports) == 1 && a.Ports[0][0] != a.Ports[0][1] {
			return field + " in " + parts[0]
		}
	}
	if len(parts) == 1 {
		if a.Neg {
			return field + " != " + parts[0]
		}
		return field + " == " + parts[0]
	}
	s := field + " in [" + strings.Join(parts, ", ") + "]"
	if a.Neg {
		return "!(" + s + ")"
	}
	return s
}
