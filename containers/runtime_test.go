package containers

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/ctrtest"
	"github.com/vigil-project/vigil/internal/testenv"
)

// TestRealRuntimes asks a real containerd (native and CRI APIs) and a real
// dockerd about containers they run.
func TestRealRuntimes(t *testing.T) {
	testenv.SkipShort(t, "starts container runtimes")
	ctrd := ctrtest.StartContainerd(t)
	dockerd := ctrtest.StartDockerd(t, ctrd)
	cd, err := NewContainerd(ctrd.Socket)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := NewCRI(ctrd.Socket)
	if err != nil {
		t.Fatal(err)
	}
	dk := NewDocker("docker", dockerd.Socket)
	cache := New(Options{
		Sources: map[string][]Source{"containerd": {cd}, "docker": {dk, cd}, "cri": {cr}},
		Watch:   []Source{cd, dk},
		Retry:   50 * time.Millisecond,
	})
	t.Cleanup(cache.Close)
	ctx := context.Background()

	// get waits for the cache's answer about ct, counting the misses.
	get := func(t *testing.T, ct event.Container) (event.Container, int) {
		t.Helper()
		misses := 0
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, ok := cache.Get(ct)
			if ok {
				return got, misses
			}
			misses++
			if time.Now().After(deadline) {
				t.Fatalf("no answer for %s after 10 s: %+v", ct.FullID, cache.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	t.Run("ctr", func(t *testing.T) {
		ctrd.Ctr(t, "default", "run", "-d", "--label", "team=red", ctrtest.Ref, "ctr-web", "sleep", "60")
		want := Meta{Name: "ctr-web", Image: ctrtest.Ref, Labels: map[string]string{"team": "red"}}
		m, err := cd.Lookup(ctx, "ctr-web")
		if err != nil {
			t.Fatal(err)
		}
		checkMeta(t, m, want)
		got, _ := get(t, event.Container{ID: "ctr-web", FullID: "ctr-web", Runtime: "containerd"})
		if !got.Known || got.Name != "ctr-web" || got.Image != ctrtest.Ref || got.ID != "ctr-web" || got.Runtime != "containerd" {
			t.Errorf("cache: %+v", got)
		}
	})

	t.Run("docker", func(t *testing.T) {
		id := strings.TrimSpace(dockerd.Run(t, "run", "-d", "--network", "none", "--name", "web1", "--label", "team=green", ctrtest.DockerRef, "sleep", "60"))
		m, err := dk.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkMeta(t, m, Meta{Name: "web1", Image: ctrtest.DockerRef, Labels: map[string]string{"team": "green"}})
		got, _ := get(t, event.Container{ID: id[:12], FullID: id, Runtime: "docker"})
		if got.Name != "web1" || got.Image != ctrtest.DockerRef || got.ID != id[:12] {
			t.Errorf("cache: %+v", got)
		}
	})

	t.Run("cri", func(t *testing.T) {
		pod := ctrd.RunPod(t, "shop", "cart-7d9f", "0f0e0d0c-0b0a-4909-8807-060504030201")
		id := pod.Start(t, "cart", "sleep", "60")
		want := Meta{Name: "cart", Image: ctrtest.Ref, PodNS: "shop", PodName: "cart-7d9f", Labels: map[string]string{"team": "blue"}}
		m, err := cr.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkMeta(t, m, want)
		got, _ := get(t, event.Container{ID: id[:12], FullID: id, Runtime: "cri"})
		if got.Name != "cart" || got.PodNS != "shop" || got.PodName != "cart-7d9f" || got.Image != ctrtest.Ref {
			t.Errorf("cache: %+v", got)
		}
	})

	t.Run("privileged and mounts", func(t *testing.T) {
		dir := t.TempDir()
		ro := event.ContainerMount{Source: dir, Dest: "/data", RW: false}
		// ctr's plain container has the spec's default mounts only.
		plain, err := cd.Lookup(ctx, "ctr-web")
		if err != nil {
			t.Fatal(err)
		}
		if plain.Privileged || !slices.Contains(plain.Mounts, event.ContainerMount{Source: "proc", Dest: "/proc", RW: true}) || slices.ContainsFunc(plain.Mounts, func(m event.ContainerMount) bool { return m.Dest == "/data" }) {
			t.Errorf("ctr-web: privileged %v, mounts %+v", plain.Privileged, plain.Mounts)
		}
		ctrd.Ctr(t, "default", "run", "-d", "--privileged", "--mount", "type=bind,src="+dir+",dst=/data,options=rbind:ro", ctrtest.Ref, "ctr-priv", "sleep", "60")
		m, err := cd.Lookup(ctx, "ctr-priv")
		if err != nil {
			t.Fatal(err)
		}
		if !m.Privileged || !slices.Contains(m.Mounts, ro) {
			t.Errorf("ctr-priv: privileged %v, mounts %+v", m.Privileged, m.Mounts)
		}

		// Docker lists the mounts the user asked for, no others. The
		// container is created, not started: a privileged one asks for
		// every capability, more than a test host may have.
		id := strings.TrimSpace(dockerd.Run(t, "create", "--network", "none", "--privileged", "-v", dir+":/data:ro", "-v", dir+":/rw", "--name", "priv1", ctrtest.DockerRef, "sleep", "60"))
		m, err = dk.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := []event.ContainerMount{ro, {Source: dir, Dest: "/rw", RW: true}}; !m.Privileged || !sameMounts(m.Mounts, want) {
			t.Errorf("docker priv1: privileged %v, mounts %+v, want %+v", m.Privileged, m.Mounts, want)
		}
		got, _ := get(t, event.Container{ID: id[:12], FullID: id, Runtime: "docker"})
		if !got.Privileged || !sameMounts(got.Mounts, m.Mounts) {
			t.Errorf("cache: %+v", got)
		}
		web1 := strings.TrimSpace(dockerd.Run(t, "ps", "-q", "--no-trunc", "--filter", "name=^web1$"))
		if m, err := dk.Lookup(ctx, web1); err != nil || m.Privileged || len(m.Mounts) != 0 {
			t.Errorf("docker web1: %+v, %v", m, err)
		}

		// CRI: a privileged container needs a privileged pod.
		pod := ctrd.RunPod(t, "ops", "node-agent-x1", "0f0e0d0c-0b0a-4909-8807-0605040302ff", func(c *cri.PodSandboxConfig) {
			c.Linux.SecurityContext.Privileged = true
		})
		id = pod.StartConfig(t, "agent", func(c *cri.ContainerConfig) {
			c.Linux = &cri.LinuxContainerConfig{SecurityContext: &cri.LinuxContainerSecurityContext{Privileged: true}}
			c.Mounts = []*cri.Mount{{ContainerPath: "/data", HostPath: dir, Readonly: true}}
		}, "sleep", "60")
		m, err = cr.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Privileged || !sameMounts(m.Mounts, []event.ContainerMount{ro}) || m.PodNS != "ops" {
			t.Errorf("cri agent: %+v", m)
		}
		id = pod.StartConfig(t, "sidecar", func(c *cri.ContainerConfig) {
			c.Mounts = []*cri.Mount{{ContainerPath: "/rw", HostPath: dir}}
		}, "sleep", "60")
		if m, err := cr.Lookup(ctx, id); err != nil || m.Privileged || !sameMounts(m.Mounts, []event.ContainerMount{{Source: dir, Dest: "/rw", RW: true}}) {
			t.Errorf("cri sidecar: %+v, %v", m, err)
		}
	})

	t.Run("miss then fill", func(t *testing.T) {
		// Without create events, the first Get of a container misses and
		// starts the lookup; a later one carries the answer.
		cd2, err := NewContainerd(ctrd.Socket)
		if err != nil {
			t.Fatal(err)
		}
		cold := New(Options{Sources: map[string][]Source{"containerd": {cd2}}}) // Close closes cd2
		defer cold.Close()
		ct := event.Container{ID: "ctr-web", FullID: "ctr-web", Runtime: "containerd"}
		if got, ok := cold.Get(ct); ok || got.Known {
			t.Fatalf("first Get answered: %+v", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, ok := cold.Get(ct)
			if ok {
				if got.Name != "ctr-web" || got.Labels["team"] != "red" {
					t.Errorf("filled: %+v", got)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("never filled")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if s := cold.Stats(); s.Misses < 1 || s.Hits != 1 || s.Lookups != 1 || s.Found != 1 {
			t.Errorf("stats %+v", s)
		}
	})

	t.Run("prefetch", func(t *testing.T) {
		before := cache.Stats()
		ctrd.Ctr(t, "default", "run", "-d", ctrtest.Ref, "ctr-early", "sleep", "60")
		// The create event alone fills the cache: the first Get hits.
		deadline := time.Now().Add(10 * time.Second)
		for cache.Stats().Prefetch == before.Prefetch || cache.Stats().Lookups == before.Lookups {
			if time.Now().After(deadline) {
				t.Fatalf("no prefetch: %+v", cache.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // let the lookup finish
		got, ok := cache.Get(event.Container{ID: "ctr-early", FullID: "ctr-early", Runtime: "containerd"})
		if !ok || got.Name != "ctr-early" {
			t.Errorf("Get after prefetch = %+v, %v; stats %+v", got, ok, cache.Stats())
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, s := range []Source{cd, cr, dk} {
			if _, err := s.Lookup(ctx, strings.Repeat("ab", 32)); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", s.Name(), err)
			}
		}
		// After NotFoundTries answers the empty metadata is final.
		got, misses := get(t, event.Container{ID: "gone", FullID: "gone", Runtime: "containerd"})
		if !got.Known || got.Name != "" || misses == 0 {
			t.Errorf("got %+v after %d misses", got, misses)
		}
	})
}

// TestRuntimeDown: a runtime that is not there costs a miss and an error
// per retry, never a wait.
func TestRuntimeDown(t *testing.T) {
	dir := t.TempDir()
	cd, err := NewContainerd(filepath.Join(dir, "none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	cache := New(Options{Sources: map[string][]Source{"containerd": {cd}, "docker": {NewDocker("docker", filepath.Join(dir, "d.sock"))}}, Retry: time.Hour})
	defer cache.Close()
	for _, rt := range []string{"containerd", "docker"} {
		ct := event.Container{ID: "x-" + rt, FullID: "x-" + rt, Runtime: rt}
		if _, ok := cache.Get(ct); ok {
			t.Errorf("%s: answered without a runtime", rt)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for cache.Stats().Errors < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", cache.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := cache.Stats()
	if s.Misses != 2 || s.Hits != 0 {
		t.Errorf("stats %+v", s)
	}
	// A runtime vigil has no source for is known at once, with no metadata.
	got, ok := cache.Get(event.Container{ID: "l1", FullID: "l1", Runtime: "lxc"})
	if !ok || !got.Known || got.Name != "" {
		t.Errorf("lxc: %+v %v", got, ok)
	}
}

// sameMounts compares mounts in any order: runtimes keep them in maps.
func sameMounts(a, b []event.ContainerMount) bool {
	cmp := func(x, y event.ContainerMount) int { return strings.Compare(x.Dest, y.Dest) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

func checkMeta(t *testing.T, got, want Meta) {
	t.Helper()
	if got.Name != want.Name || got.Image != want.Image || got.PodNS != want.PodNS || got.PodName != want.PodName {
		t.Errorf("meta = %+v\nwant  %+v", got, want)
	}
	for k, v := range want.Labels {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, got.Labels[k], v, got.Labels)
		}
	}
}
