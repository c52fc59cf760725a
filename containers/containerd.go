package containers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	eventsapi "github.com/containerd/containerd/api/services/events/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// Containerd is a client of containerd's native API. It finds a container
// in whichever containerd namespace holds it (default for ctr, k8s.io for
// CRI, moby for Docker).
type Containerd struct {
	conn *grpc.ClientConn

	mu     sync.Mutex
	ns     []string
	nsTime time.Time
}

// nsHeader is the gRPC metadata key that selects a containerd namespace.
const nsHeader = "containerd-namespace"

// NewContainerd returns a client of containerd at socket. It does not
// connect yet.
func NewContainerd(socket string) (*Containerd, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("containerd %s: %w", socket, err)
	}
	return &Containerd{conn: conn}, nil
}

func (c *Containerd) Name() string { return "containerd" }

func (c *Containerd) Close() error { return c.conn.Close() }

// namespaces returns containerd's namespaces, listed at most every 5 s.
func (c *Containerd) namespaces(ctx context.Context, fresh bool) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.ns != nil && time.Since(c.nsTime) < 5*time.Second {
		return c.ns, nil
	}
	resp, err := namespacesapi.NewNamespacesClient(c.conn).List(ctx, &namespacesapi.ListNamespacesRequest{})
	if err != nil {
		return nil, fmt.Errorf("containerd: list namespaces: %w", err)
	}
	ns := make([]string, 0, len(resp.Namespaces))
	for _, n := range resp.Namespaces {
		ns = append(ns, n.Name)
	}
	c.ns, c.nsTime = ns, time.Now()
	return ns, nil
}

func (c *Containerd) Lookup(ctx context.Context, id string) (Meta, error) {
	for _, fresh := range []bool{false, true} {
		nss, err := c.namespaces(ctx, fresh)
		if err != nil {
			return Meta{}, err
		}
		for _, ns := range nss {
			m, err := c.get(ctx, ns, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return m, err
		}
	}
	return Meta{}, ErrNotFound
}

func (c *Containerd) get(ctx context.Context, ns, id string) (Meta, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, nsHeader, ns)
	resp, err := containersapi.NewContainersClient(c.conn).Get(ctx, &containersapi.GetContainerRequest{ID: id})
	if status.Code(err) == codes.NotFound {
		return Meta{}, ErrNotFound
	}
	if err != nil {
		return Meta{}, fmt.Errorf("containerd: get container %s/%s: %w", ns, id, err)
	}
	ct := resp.GetContainer()
	m := Meta{Name: ct.GetID(), Image: ct.GetImage(), Labels: ct.GetLabels()}
	podFromLabels(&m)
	if spec := ct.GetSpec().GetValue(); len(spec) > 0 {
		// containerd stores the OCI spec as JSON in its Any.
		if m.Privileged, m.Mounts, err = parseSpec(spec); err != nil {
			return Meta{}, fmt.Errorf("containerd: container %s/%s: %w", ns, id, err)
		}
	}
	return m, nil
}

// Watch follows /containers/create events of every namespace. Containers
// of the k8s.io namespace are announced as CRI's, of moby as Docker's.
func (c *Containerd) Watch(ctx context.Context, created func(id, runtime string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := eventsapi.NewEventsClient(c.conn).Subscribe(ctx, &eventsapi.SubscribeRequest{Filters: []string{`topic=="/containers/create"`}})
	if err != nil {
		return fmt.Errorf("containerd: subscribe: %w", err)
	}
	for {
		env, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("containerd: events: %w", err)
		}
		if env.GetEvent() == nil {
			continue
		}
		if id := createdID(env.GetEvent().GetValue()); id != "" {
			switch env.GetNamespace() {
			case "k8s.io":
				created(id, "cri")
			case "moby":
				created(id, "docker")
			default:
				created(id, "containerd")
			}
		}
	}
}

// createdID returns field 1 (id) of an encoded containerd.events.ContainerCreate,
// or "" when b is not one. Decoding the one field by hand spares the
// events package's dependencies (typeurl, gogo protobuf).
func createdID(b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ""
			}
			return string(v)
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}
