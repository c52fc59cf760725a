package containers

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigil-project/vigil/engine/event"
)

// CRI is a client of a Kubernetes CRI runtime service (containerd's CRI
// plugin, CRI-O) on a unix socket.
type CRI struct {
	conn *grpc.ClientConn
	rt   cri.RuntimeServiceClient
}

// NewCRI returns a client of the CRI runtime service at socket. It does
// not connect yet.
func NewCRI(socket string) (*CRI, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("cri %s: %w", socket, err)
	}
	return &CRI{conn: conn, rt: cri.NewRuntimeServiceClient(conn)}, nil
}

func (c *CRI) Name() string { return "cri" }

func (c *CRI) Close() error { return c.conn.Close() }

// Lookup lists the container (for its pod sandbox id, name, image and
// labels), then asks for its pod sandbox's status (namespace and name):
// the kubelet's io.kubernetes.pod.* labels are not there when something
// else created the container.
func (c *CRI) Lookup(ctx context.Context, id string) (Meta, error) {
	resp, err := c.rt.ListContainers(ctx, &cri.ListContainersRequest{Filter: &cri.ContainerFilter{Id: id}})
	if err != nil {
		return Meta{}, fmt.Errorf("cri: list container %s: %w", id, err)
	}
	var ct *cri.Container
	for _, x := range resp.GetContainers() {
		if x.GetId() == id {
			ct = x
		}
	}
	if ct == nil {
		return Meta{}, ErrNotFound
	}
	m := Meta{Name: ct.GetMetadata().GetName(), Image: ct.GetImage().GetImage(), Labels: ct.GetLabels()}
	if m.Image == "" {
		m.Image = ct.GetImageRef()
	}
	podFromLabels(&m)
	if m.Name == "" {
		m.Name = ct.GetMetadata().GetName()
	}
	if err := c.status(ctx, id, &m); err != nil {
		return Meta{}, err
	}
	if sb := ct.GetPodSandboxId(); sb != "" && (m.PodNS == "" || m.PodName == "") {
		st, err := c.rt.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: sb})
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return Meta{}, fmt.Errorf("cri: pod sandbox status %s: %w", sb, err)
		default:
			m.PodNS = st.GetStatus().GetMetadata().GetNamespace()
			m.PodName = st.GetStatus().GetMetadata().GetName()
		}
	}
	return m, nil
}

// status fills in the mounts and the privileged flag from the container's
// verbose status. A container removed since it was listed keeps the rest.
func (c *CRI) status(ctx context.Context, id string, m *Meta) error {
	st, err := c.rt.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	switch {
	case status.Code(err) == codes.NotFound:
		return nil
	case err != nil:
		return fmt.Errorf("cri: container status %s: %w", id, err)
	}
	for _, x := range st.GetStatus().GetMounts() {
		m.Mounts = append(m.Mounts, event.ContainerMount{Source: x.GetHostPath(), Dest: x.GetContainerPath(), RW: !x.GetReadonly()})
	}
	if info, ok := st.GetInfo()["info"]; ok {
		if m.Privileged, err = parseCRIInfo(info); err != nil {
			return fmt.Errorf("cri: container %s: %w", id, err)
		}
	}
	return nil
}

// Watch is not offered: CRI's event stream is optional and containerd's
// own events already announce CRI containers.
func (c *CRI) Watch(ctx context.Context, _ func(id, runtime string)) error {
	return errors.ErrUnsupported
}
