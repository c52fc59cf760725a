package containers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/vigil-project/vigil/engine/event"
)

// Docker is a client of the Docker Engine API on a unix socket; podman's
// API service speaks it too.
type Docker struct {
	name   string
	socket string
	http   *http.Client
}

// NewDocker returns a client of the Docker API at socket, named name
// (docker or podman) in logs and metrics. It does not connect yet.
func NewDocker(name, socket string) *Docker {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns: 2,
	}
	return &Docker{name: name, socket: socket, http: &http.Client{Transport: tr}}
}

func (d *Docker) Name() string { return d.name }

func (d *Docker) Close() error {
	d.http.CloseIdleConnections()
	return nil
}

// maxInspect bounds the answer read from the runtime.
const maxInspect = 4 << 20

func (d *Docker) Lookup(ctx context.Context, id string) (Meta, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/containers/"+url.PathEscape(id)+"/json", nil)
	if err != nil {
		return Meta{}, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return Meta{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Meta{}, ErrNotFound
	default:
		return Meta{}, fmt.Errorf("%s: GET /containers/%s/json: %s", d.name, id, resp.Status)
	}
	m, err := decodeInspect(io.LimitReader(resp.Body, maxInspect))
	if err != nil {
		return Meta{}, fmt.Errorf("%s: decode container %s: %w", d.name, id, err)
	}
	return m, nil
}

// decodeInspect reads the answer of GET /containers/<id>/json. Mounts
// lists the binds, volumes and tmpfs mounts the user asked for, not the
// ones every container gets (proc, dev, sysfs).
func decodeInspect(r io.Reader) (Meta, error) {
	var c struct {
		Name   string
		Config struct {
			Image  string
			Labels map[string]string
		}
		HostConfig struct{ Privileged bool }
		Mounts     []struct {
			Source      string
			Destination string
			RW          bool
		}
	}
	if err := json.NewDecoder(r).Decode(&c); err != nil {
		return Meta{}, err
	}
	m := Meta{Name: trimName(c.Name), Image: c.Config.Image, Labels: c.Config.Labels, Privileged: c.HostConfig.Privileged}
	for _, x := range c.Mounts {
		m.Mounts = append(m.Mounts, event.ContainerMount{Source: x.Source, Dest: x.Destination, RW: x.RW})
	}
	podFromLabels(&m)
	return m, nil
}

// Watch follows GET /events for container create events.
func (d *Docker) Watch(ctx context.Context, created func(id, runtime string)) error {
	filters := url.QueryEscape(`{"type":["container"],"event":["create"]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/events?filters="+filters, nil)
	if err != nil {
		return err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: GET /events: %s", d.name, resp.Status)
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var ev struct {
			Type   string
			Action string
			Actor  struct{ ID string }
			ID     string `json:"id"`
		}
		if err := dec.Decode(&ev); err != nil {
			return err
		}
		id := ev.Actor.ID
		if id == "" {
			id = ev.ID
		}
		if ev.Action == "create" && id != "" {
			created(id, d.name)
		}
	}
}
