package mountinfo

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Mount
		wantErr bool
	}{
		{
			name: "hybrid cgroup host",
			in: "25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n" +
				"40 35 0:35 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw\n" +
				"41 35 0:36 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n",
			want: []Mount{
				{Root: "/", Point: "/sys", FSType: "sysfs", Super: "rw"},
				{Root: "/", Point: "/sys/fs/cgroup/unified", FSType: "cgroup2", Super: "rw"},
				{Root: "/", Point: "/sys/fs/cgroup/cpu", FSType: "cgroup", Super: "rw,cpu"},
			},
		},
		{
			name: "no optional fields, escaped space and backslash",
			in:   `50 25 0:40 /sub\040dir /mnt/a\134b rw - tracefs none rw` + "\n",
			want: []Mount{{Root: "/sub dir", Point: `/mnt/a\b`, FSType: "tracefs", Super: "rw"}},
		},
		{
			name: "several optional fields",
			in:   "60 25 0:41 / /x rw shared:1 master:2 propagate_from:3 - tmpfs tmpfs rw\n",
			want: []Mount{{Root: "/", Point: "/x", FSType: "tmpfs", Super: "rw"}},
		},
		{name: "empty"},
		{name: "no separator", in: "60 25 0:41 / /x rw shared:1 tmpfs tmpfs rw\n", wantErr: true},
		{name: "nothing after separator", in: "60 25 0:41 / /x rw -\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		"/plain":        "/plain",
		`/a\040b`:       "/a b",
		`/tab\011`:      "/tab\t",
		`/trailing\04`:  `/trailing\04`,
		`/notoctal\09x`: `/notoctal\09x`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
