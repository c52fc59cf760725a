package containers

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// containerCreate encodes a containerd.events.ContainerCreate: id (1),
// image (2), runtime (3, a message).
func containerCreate(id, image string) []byte {
	var b []byte
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, image)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "io.containerd.runc.v2"))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendString(b, id)
}

func TestCreatedID(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{"create", containerCreate("web-1", "docker.io/library/nginx:1.27"), "web-1"},
		{"empty", nil, ""},
		{"truncated", containerCreate("web-1", "x")[:5], ""},
		{"varint id", protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7), ""},
		{"garbage", []byte{0xff, 0xff, 0xff}, ""},
	} {
		if got := createdID(tt.in); got != tt.want {
			t.Errorf("%s: createdID = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// FuzzCreatedID: whatever the event stream carries, createdID returns
// without panicking, and only ids that are in the input.
func FuzzCreatedID(f *testing.F) {
	f.Add(containerCreate("web-1", "docker.io/library/nginx:1.27"))
	f.Add([]byte{0x0a, 0x03, 'a', 'b', 'c'})
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		id := createdID(b)
		if len(id) > len(b) {
			t.Fatalf("id %q longer than the input", id)
		}
	})
}
