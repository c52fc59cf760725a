package overlay

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       mount
		err        string
	}{
		{
			name: "container root",
			line: `73 48 0:40 / / rw,relatime master:9 - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w`,
			want: mount{dev: unix.Mkdev(0, 40), root: "/", point: "/", fstype: "overlay", super: "rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w"},
		},
		{
			name: "escaped paths, no optional fields",
			line: `80 73 259:3 /vol\040a /data\134x rw - ext4 /dev/nvme0n1p3 rw`,
			want: mount{dev: unix.Mkdev(259, 3), root: "/vol a", point: `/data\x`, fstype: "ext4", super: "rw"},
		},
		{
			name: "no superblock options",
			line: `81 73 0:50 / /x rw shared:1 master:2 - tmpfs`,
			want: mount{dev: unix.Mkdev(0, 50), root: "/", point: "/x", fstype: "tmpfs"},
		},
		{name: "no separator", line: `81 73 0:50 / /x rw tmpfs tmpfs rw`,
			err: `want 6 fields, optional fields, "-" and the filesystem type; got 9 fields and no separator`},
		{name: "separator too early", line: `81 73 0:50 / - tmpfs tmpfs rw`,
			err: `want 6 fields, optional fields, "-" and the filesystem type; got 8 fields and no separator`},
		{name: "nothing after separator", line: `81 73 0:50 / /x rw -`, err: `no filesystem type after "-"`},
		{name: "bad device", line: `81 73 0-50 / /x rw - tmpfs tmpfs rw`, err: `field 3 "0-50": not major:minor`},
		{name: "device out of range", line: `81 73 0:4294967296 / /x rw - tmpfs tmpfs rw`, err: `field 3 "0:4294967296": not major:minor`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLine(tc.line)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseMountinfoNamesTheLine(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
		"23 27 0:22 / /sys rw,relatime sysfs sysfs rw\n"
	_, err := parseMountinfo(strings.NewReader(in))
	want := `mountinfo line 2: want 6 fields, optional fields, "-" and the filesystem type; got 9 fields and no separator`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestParseMountinfoLongLine(t *testing.T) {
	// An image of 128 layers under long snapshot paths: past bufio's
	// default 64 KiB line limit.
	lower := strings.Repeat("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1234567/fs:", 1000)
	line := "73 48 0:40 / / rw - overlay overlay rw,lowerdir=" + lower + "/l,upperdir=/u,workdir=/w\n"
	m, err := parseMountinfo(strings.NewReader(line))
	if err != nil || len(m) != 1 {
		t.Fatalf("got %d mounts, %v", len(m), err)
	}
	if l := parseLayers(m[0].super); l.upper != "/u" || len(l.lower) != 1001 {
		t.Fatalf("upperdir %q and %d lower layers, want /u and 1001", l.upper, len(l.lower))
	}
}

func TestParseLayers(t *testing.T) {
	for _, tc := range []struct {
		name, super string
		want        layers
	}{
		{"plain", "rw,lowerdir=/l2:/l1,upperdir=/var/lib/u/diff,workdir=/w",
			layers{upper: "/var/lib/u/diff", hasUpper: true, lower: []string{"/l2", "/l1"}}},
		// What the kernel shows for upperdir=/tmp/up\,x\ 1 (overlayfs's
		// escape of a comma, then a space): \134 is the backslash, \054
		// the comma, \040 the space.
		{"both escapes", `rw,lowerdir=/l,upperdir=/tmp/up\134\054x\134\0401,workdir=/w`,
			layers{upper: "/tmp/up,x 1", hasUpper: true, lower: []string{"/l"}}},
		{"escaped backslash", `rw,upperdir=/a\134\134b`, layers{upper: `/a\b`, hasUpper: true}},
		{"trailing backslash dropped", `rw,upperdir=/a\134`, layers{upper: `/a`, hasUpper: true}},
		{"escaped comma keeps the option whole", `rw,upperdir=/a\054lowerdir=/b`, layers{upper: "/a,lowerdir=/b", hasUpper: true}},
		{"escaped colon in a lower layer", `rw,lowerdir=/a\134:b:/c\134\134:/d`, layers{lower: []string{"/a:b", `/c\`, "/d"}}},
		{"a lower layer's trailing backslash", `rw,lowerdir=/a:/b\134`, layers{lower: []string{"/a", "/b"}}},
		{"data-only layers left out", "rw,lowerdir=/l2:/l1::/data1::/data2,upperdir=/u",
			layers{upper: "/u", hasUpper: true, lower: []string{"/l2", "/l1"}}},
		{"relative, as runtimes pass long options", "rw,lowerdir=l/A:l/B,upperdir=123/diff,workdir=123/work",
			layers{upper: "123/diff", hasUpper: true, lower: []string{"l/A", "l/B"}}},
		{"read-only overlay", "rw,lowerdir=/l1:/l2", layers{lower: []string{"/l1", "/l2"}}},
		{"a prefix is not the option", "rw,xupperdir=/u,lowerdirs=/l", layers{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseLayers(tc.super)
			if got.upper != tc.want.upper || got.hasUpper != tc.want.hasUpper || !slices.Equal(got.lower, tc.want.lower) {
				t.Fatalf("parseLayers(%q) = %+v; want %+v", tc.super, got, tc.want)
			}
		})
	}
}

// FuzzParseMountinfo checks that no input panics and that a parsed line's
// fields come from the line.
func FuzzParseMountinfo(f *testing.F) {
	f.Add("73 48 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u\\134\\054,workdir=/w\n")
	f.Add("80 73 259:3 /vol\\040a /data rw shared:1 - ext4 /dev/x rw\n22 27 0:21 / /proc rw - proc proc rw\n")
	f.Add("1 2 3:4 / / rw -\n")
	f.Fuzz(func(t *testing.T, in string) {
		mounts, err := parseMountinfo(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range mounts {
			if m.fstype == "" || !strings.Contains(in, m.fstype) {
				t.Fatalf("fstype %q not from the input", m.fstype)
			}
			for _, d := range parseLayers(m.super).lower {
				if d == "" {
					t.Fatalf("an empty lower layer from %q", m.super)
				}
			}
		}
	})
}
