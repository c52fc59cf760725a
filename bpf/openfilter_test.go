package bpf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Opens that no entry wants are dropped in the kernel, but only when the
// raw path is absolute and clean; everything else reaches user space.
func TestOpenFilterLive(t *testing.T) {
	needRoot(t)
	c := startCollector(t, DefaultOptions())
	d := tempDir(t)
	for _, sub := range []string{"keep", "w", "other"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	before, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	filter := plan.OpenFilter{Paths: []plan.PathRule{
		{Path: d + "/keep/"},
		{Path: d + "/exact.txt", Exact: true},
		{Path: d + "/w/", AnyFlags: unix.O_WRONLY | unix.O_RDWR},
		// Ends of paths: a name anywhere, an extension with a flag.
		{Path: "/vigil-name.rc", Suffix: true},
		{Path: ".vlog", Suffix: true, AnyFlags: unix.O_TRUNC},
		{Path: "/deep/" + strings.Repeat("n", 40) + ".x", Suffix: true},
		{Path: "Q", Suffix: true}, // one byte: any byte may come before it
	}}
	if err := c.probes.SetOpenFilter(filter); err != nil {
		t.Fatal(err)
	}
	const rd, wr = unix.O_RDONLY, unix.O_WRONLY | unix.O_CREAT
	cases := []struct {
		req  openReq
		want bool
	}{
		{openReq{Path: d + "/keep/a", Flags: wr}, true},
		{openReq{Path: d + "/keep", Flags: rd}, false}, // the prefix is "keep/"
		{openReq{Path: d + "/exact.txt", Flags: wr}, true},
		{openReq{Path: d + "/exact.txt2", Flags: wr}, false},
		{openReq{Path: d + "/w/x", Flags: rd}, false}, // needs a write flag
		{openReq{Path: d + "/w/x", Flags: wr}, true},
		{openReq{Path: d + "/other/x", Flags: wr}, false},
		{openReq{Path: d + "/other/../exact.txt", Flags: rd}, true}, // unclean: user space decides
		{openReq{Path: d + "//other/y", Flags: wr}, true},
		{openReq{Path: d + "/other/.hidden", Flags: wr}, true},
		{openReq{Path: d + "/other/", Flags: rd | unix.O_DIRECTORY}, true},
		{openReq{Path: "other/z", Flags: wr, Dir: d}, true}, // relative
		{openReq{Path: d + "/other/vigil-name.rc", Flags: rd}, true},
		{openReq{Path: d + "/other/xvigil-name.rc", Flags: rd}, false}, // another name
		{openReq{Path: d + "/other/a.vlog", Flags: wr | unix.O_TRUNC}, true},
		{openReq{Path: d + "/other/b.vlog", Flags: wr}, false}, // needs O_TRUNC
		{openReq{Path: d + "/w/c.vlog", Flags: rd}, false},     // neither the prefix's flags nor the end's
		{openReq{Path: d + "/w/d.vlog", Flags: wr}, true},      // the prefix's flags
		// An end longer than most names, matched on the path's last bytes.
		{openReq{Path: d + "/other/deep/" + strings.Repeat("n", 40) + ".x", Flags: rd}, true},
		{openReq{Path: d + "/other/deep/" + strings.Repeat("n", 39) + ".x", Flags: rd}, false},
		{openReq{Path: d + "/other/zQ", Flags: rd}, true},
		{openReq{Path: d + "/other/Q", Flags: rd}, true},
		{openReq{Path: d + "/other/Qz", Flags: rd}, false},
	}
	for _, sub := range []string{"other/deep"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	var reqs []openReq
	for _, c := range cases {
		reqs = append(reqs, c.req)
	}
	arg, _ := json.Marshal(reqs)
	_, pid := runHelperCmd(t, "openpaths", string(arg))
	c.waitFor(t, "the helper's closing connect", func(e *event.Event) bool {
		return e.Type == event.TypeConnect && e.Proc.PID == uint32(pid)
	})
	type key struct {
		path  string
		write bool
	}
	seen := map[key]bool{}
	for _, e := range c.all(func(e *event.Event) bool { return e.Type == event.TypeOpen && e.Proc.PID == uint32(pid) }) {
		seen[key{e.File.RawPath, e.File.Write()}] = true
	}
	dropped := uint64(0)
	for _, tc := range cases {
		if got := seen[key{tc.req.Path, tc.req.Flags&unix.O_ACCMODE != 0}]; got != tc.want {
			t.Errorf("open %q flags %#x: delivered=%v, want %v", tc.req.Path, tc.req.Flags, got, tc.want)
		}
		// The Go model the rule soundness tests rely on agrees with the kernel.
		if tc.req.Dir == "" && filter.Wants(filter.TrieValues(), tc.req.Path, uint32(tc.req.Flags)) != tc.want {
			t.Errorf("plan.OpenFilter.Wants(%q, %#x) disagrees with the kernel (%v)", tc.req.Path, tc.req.Flags, tc.want)
		}
		if !tc.want {
			dropped++
		}
	}
	after, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	// Other processes' opens are filtered too, so at least ours.
	if n := after[event.TypeOpen] - before[event.TypeOpen]; n < dropped {
		t.Errorf("filtered counter rose by %d, want at least %d", n, dropped)
	}

	// Switching the filter off lets everything through again.
	if err := c.probes.SetOpenFilter(plan.OpenFilter{All: true}); err != nil {
		t.Fatal(err)
	}
	arg, _ = json.Marshal([]openReq{{Path: d + "/other/x", Flags: wr}})
	_, pid = runHelperCmd(t, "openpaths", string(arg))
	c.waitFor(t, "open with the filter off", openOf(pid, d+"/other/x"))
}
