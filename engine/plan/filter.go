package plan

import (
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// PathRule is one entry of the kernel's open filter: a path prefix, an
// exact path, or (Suffix) the end of a path, and the open flags of which
// an open must have one (0: any).
type PathRule struct {
	Path  string
	Exact bool
	// Suffix: the path ends with Path ("/.bashrc" is file.name ==
	// ".bashrc"); at most SuffixMax bytes.
	Suffix   bool
	AnyFlags uint32
}

// SocketDomains is the number of entries of ArgFilter.SocketTypes.
const SocketDomains = 64

// FilterPathMax is the longest path the kernel's open filter holds; opens
// of longer paths always reach user space.
const FilterPathMax = 254

// SuffixMax is the longest path end the kernel's suffix filter holds.
const SuffixMax = 63

// coveredBy says whether every path r matches, other matches too: a
// shorter prefix, or a shorter end, of the same kind.
func (r PathRule) coveredBy(other PathRule) bool {
	switch {
	case other == r:
		return true
	case r.Suffix || other.Suffix:
		return r.Suffix && other.Suffix && strings.HasSuffix(r.Path, other.Path)
	}
	return !other.Exact && strings.HasPrefix(r.Path, other.Path)
}

// Matches says whether path p is one r names.
func (r PathRule) Matches(p string) bool {
	switch {
	case r.Suffix:
		return strings.HasSuffix(p, r.Path)
	case r.Exact:
		return p == r.Path
	}
	return strings.HasPrefix(p, r.Path)
}

// ArgFilter is what the kernel may drop of the types with argument
// filters (event.TypeInfo.Filters) because no enabled rule can match it.
type ArgFilter struct {
	// Names: for a type listed, only processes of these command names
	// (comm) are reported; a type not listed is not filtered by name.
	Names map[event.Type][]string
	// PtraceRequests: when non-nil, only these ptrace requests are
	// reported.
	PtraceRequests []uint32
	// SetidToRoot: only setuid/setgid family calls that ask for id 0
	// are reported.
	SetidToRoot bool
	// BPFCmds: when non-nil, only these bpf(2) commands are reported.
	BPFCmds []uint32
	// PrctlOptions: when non-nil, only these prctl(2) options are
	// reported.
	PrctlOptions []uint32
	// SocketTypes: when non-nil (SocketDomains entries), only socket(2)
	// calls whose type (bit type & event.SockTypeMask) is set in the
	// entry of their domain are reported; domains from SocketDomains-1
	// up share the last entry.
	SocketTypes []uint16
	// NoSetidOld: no rule reads setid.old_*, so the set*id entry
	// programs, which only save the ids before the call, may stay off
	// (they make every syscall of every process pass the kernel's
	// sys_enter hook).
	NoSetidOld bool
	// Files: for a path type listed (unlink, mkdir, rename, link,
	// symlink, chmod), only events whose file.path the First rules admit,
	// or whose second path (file.newpath, file.target) the Second rules
	// admit. Flags are ignored.
	Files map[event.Type]FileFilter
}

// FileFilter is the path filter of one event type.
type FileFilter struct {
	First, Second []PathRule
}

// OpenFilter says which opens user space wants; the engine derives it from
// the rules and the kernel applies it. With All set every open is copied.
// Otherwise an open of a clean absolute path that matches no rule is
// dropped in the kernel.
type OpenFilter struct {
	All   bool
	Paths []PathRule
}

// TrieValues computes what each distinct entry holds in the kernel's LPM
// trie. The trie answers with the longest matching entry only, so an entry
// also carries the flags of every shorter prefix that covers it: an open is
// wanted if any covering rule wants it, and "any of A" or "any of B" is
// "any of A|B" (0, any open, absorbs the rest).
func (f OpenFilter) TrieValues() map[PathRule]uint32 {
	vals := map[PathRule]uint32{}
	for _, r := range f.Paths {
		key := PathRule{Path: r.Path, Exact: r.Exact, Suffix: r.Suffix}
		need, seen := vals[key]
		vals[key] = mergeFlags(need, seen, r.AnyFlags)
	}
	out := make(map[PathRule]uint32, len(vals))
	for key := range vals {
		var need uint32
		seen := false
		for other, flags := range vals {
			if key.coveredBy(other) {
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

// Wants is the kernel's decision (bpf/c/file.c, open_wanted) in Go: the
// model the soundness tests check rules against. vals is TrieValues().
func (f OpenFilter) Wants(vals map[PathRule]uint32, raw string, flags uint32) bool {
	if f.All || len(raw) == 0 || raw[0] != '/' || len(raw) > FilterPathMax {
		return true
	}
	// Longest matching entry: the exact path, else the longest prefix;
	// then, in the other trie, the longest end.
	need, found := vals[PathRule{Path: raw, Exact: true}]
	if !found {
		need, found = longest(vals, raw, false)
	}
	if found && (need == 0 || flags&need != 0) {
		return true
	}
	if need, found := longest(vals, raw, true); found && (need == 0 || flags&need != 0) {
		return true
	}
	return !CleanForFilter(raw)
}

// longest is the value of the longest prefix (or, with suffix, end) entry
// that matches raw.
func longest(vals map[PathRule]uint32, raw string, suffix bool) (need uint32, found bool) {
	best := -1
	for k, v := range vals {
		if !k.Exact && k.Suffix == suffix && len(k.Path) > best && k.Matches(raw) {
			best, need, found = len(k.Path), v, true
		}
	}
	return need, found
}

// CleanForFilter reports whether the kernel may judge raw as it is: it has
// no "//", no "/." and no trailing "/", so cleaning it would not change it.
func CleanForFilter(raw string) bool {
	if len(raw) > 1 && raw[len(raw)-1] == '/' {
		return false
	}
	return !strings.Contains(raw, "//") && !strings.Contains(raw, "/.")
}

// Wants is the kernel's path filter decision (bpf/c/file.c, file_wanted)
// in Go, for an event whose file.path is path as passed and whose second
// path (file.newpath, file.target; "" for none) is second.
func (f FileFilter) Wants(path, second string) bool {
	return pathWanted(f.First, path) || (second != "" && pathWanted(f.Second, second))
}

func pathWanted(rules []PathRule, raw string) bool {
	// The kernel's key holds the tag, at most 254 bytes and the NUL; it
	// cannot tell a 254-byte path from a longer one, so those pass.
	if len(raw) == 0 || raw[0] != '/' || len(raw) >= FilterPathMax || !CleanForFilter(raw) {
		return true
	}
	for _, r := range rules {
		if r.Matches(raw) {
			return true
		}
	}
	return false
}
