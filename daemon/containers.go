package daemon

import (
	"log/slog"
	"os"

	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/containers"
)

// Default runtime sockets, where the runtimes' packages put them.
const (
	defaultContainerd = "/run/containerd/containerd.sock"
	defaultDocker     = "/var/run/docker.sock"
	defaultPodman     = "/run/podman/podman.sock"
	defaultCRIO       = "/run/crio/crio.sock"
)

func orDefault(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// newContainerCache builds the metadata cache of the configured sources,
// or returns nil when container metadata is turned off. Sources connect
// lazily: a runtime that is not running yet is asked again later.
func newContainerCache(log *slog.Logger, c config.Containers) (*containers.Cache, error) {
	if c.Enabled != nil && !*c.Enabled {
		log.Info("container metadata lookups disabled")
		return nil, nil
	}
	crio := ""
	if _, err := os.Stat(defaultCRIO); err == nil {
		crio = defaultCRIO
	}
	ctrdSock := orDefault(c.Containerd, defaultContainerd)
	criSock := orDefault(c.CRI, firstNonEmpty(crio, ctrdSock))
	dockerSock := orDefault(c.Docker, defaultDocker)
	podmanSock := orDefault(c.Podman, defaultPodman)

	srcs := map[string][]containers.Source{}
	var watch []containers.Source
	var ctrd, cri containers.Source
	var err error
	if ctrdSock != "" {
		cd, err := containers.NewContainerd(ctrdSock)
		if err != nil {
			return nil, err
		}
		ctrd = cd
		watch = append(watch, cd)
		srcs["containerd"] = []containers.Source{cd}
	}
	if criSock != "" {
		if cri, err = containers.NewCRI(criSock); err != nil {
			return nil, err
		}
		srcs["cri"] = []containers.Source{cri}
		srcs["cri-o"] = []containers.Source{cri}
	}
	if ctrd != nil {
		srcs["cri"] = append(srcs["cri"], ctrd) // without the CRI plugin, containerd still knows the image
	}
	if dockerSock != "" {
		dk := containers.NewDocker("docker", dockerSock)
		watch = append(watch, dk)
		srcs["docker"] = []containers.Source{dk}
	}
	if ctrd != nil {
		srcs["docker"] = append(srcs["docker"], ctrd)
	}
	if podmanSock != "" {
		pm := containers.NewDocker("podman", podmanSock)
		watch = append(watch, pm)
		srcs["podman"] = []containers.Source{pm}
	}
	for _, s := range []struct{ name, path string }{{"containerd", ctrdSock}, {"cri", criSock}, {"docker", dockerSock}, {"podman", podmanSock}} {
		if s.path == "" {
			continue
		}
		_, err := os.Stat(s.path)
		log.Info("container runtime source", "source", s.name, "socket", s.path, "present", err == nil)
	}
	return containers.New(containers.Options{
		Sources: srcs, Watch: watch, Timeout: c.Timeout, MaxEntries: c.CacheSize, Logger: log,
	}), nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
