// Package deploy holds vigil's deployment files (systemd unit and example
// configuration, container image, Kubernetes DaemonSet, Helm chart, Grafana
// dashboard) and the tests that check them: they parse every file and
// check what the daemon depends on (host mounts, capabilities, the config
// path, probe endpoints, metric names). It has no non-test code.
package deploy
