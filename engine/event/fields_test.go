package event

import "testing"

// An image reference splits as the runtimes write it: a registry's port is
// not a tag, and a digest goes.
func TestSplitImage(t *testing.T) {
	for image, want := range map[string][2]string{
		"nginx:1.27":                          {"nginx", "1.27"},
		"docker.io/library/nginx":             {"docker.io/library/nginx", ""},
		"registry:5000/team/app":              {"registry:5000/team/app", ""},
		"registry:5000/team/app:v2":           {"registry:5000/team/app", "v2"},
		"quay.io/x/y:1@sha256:abcd":           {"quay.io/x/y", "1"},
		"ghcr.io/x/y@sha256:0123456789abcdef": {"ghcr.io/x/y", ""},
		"":                                    {"", ""},
	} {
		if r, tag := splitImage(image); r != want[0] || tag != want[1] {
			t.Errorf("splitImage(%q) = %q, %q; want %q, %q", image, r, tag, want[0], want[1])
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[uint32]string{0: "", 0o755: "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR", 0o4700: "S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"} {
		if got := ModeString(m); got != want {
			t.Errorf("ModeString(%o) = %q, want %q", m, got, want)
		}
	}
}
