package ctrtest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod is a pod created through the CRI API.
type Pod struct {
	Namespace, Name, UID string
	ID                   string // sandbox id
	cfg                  *cri.PodSandboxConfig
	rt                   cri.RuntimeServiceClient
}

// RunPod creates a pod through containerd's CRI API, on the host network
// (no CNI) and in the cgroupfs layout the kubelet uses; edit, if given,
// changes its config first. t's cleanup stops and removes it.
func (c *Containerd) RunPod(t testing.TB, namespace, name, uid string, edit ...func(*cri.PodSandboxConfig)) *Pod {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+c.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &Pod{Namespace: namespace, Name: name, UID: uid, rt: cri.NewRuntimeServiceClient(conn)}
	p.cfg = &cri.PodSandboxConfig{
		Metadata: &cri.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: uid},
		Labels:   map[string]string{"app": name},
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/besteffort/pod" + uid,
			SecurityContext: &cri.LinuxSandboxSecurityContext{
				NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE},
			},
		},
	}
	for _, f := range edit {
		f(p.cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := p.rt.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: p.cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, c.Log())
	}
	p.ID = resp.PodSandboxId
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.ID})
		p.rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.ID})
	})
	return p
}

// Start creates and starts a container named name in the pod, running
// the test image with args, and returns its id.
func (p *Pod) Start(t testing.TB, name string, args ...string) string {
	t.Helper()
	return p.StartConfig(t, name, nil, args...)
}

// StartConfig is Start with edit, if not nil, changing the container's
// config first.
func (p *Pod) StartConfig(t testing.TB, name string, edit func(*cri.ContainerConfig), args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: name},
		Image:    &cri.ImageSpec{Image: Ref},
		Command:  args,
		Labels:   map[string]string{"team": "blue"},
	}
	if edit != nil {
		edit(cfg)
	}
	cc, err := p.rt.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: p.ID, Config: cfg, SandboxConfig: p.cfg})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := p.rt.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: cc.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return cc.ContainerId
}
