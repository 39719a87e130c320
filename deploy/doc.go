// Package deploy holds no code: it is the home of the deployment artefacts
// (Containerfile checks, Prometheus configuration and rules, Grafana
// dashboard, systemd and podman units, Kubernetes manifests and Helm chart)
// and of the tests that validate them with real tools (promtool, a real
// Prometheus, systemd-analyze, dockerfilelint). The Kubernetes and Helm
// checks live in the separate module deploy/validate to keep the main
// module's dependencies light.
package deploy
