// Package validate checks the Kubernetes manifests in deploy/kubernetes and
// the Helm chart in deploy/helm/hitron-exporter: every object is decoded
// strictly into the Kubernetes (and prometheus-operator) API types, cross
// references between objects are checked, the chart is linted and rendered
// with each ci/*-values.yaml, and each rendering must match the plain
// manifests of the same variant.
//
// It is a separate Go module so that the main module does not depend on
// k8s.io/api and helm.sh/helm: run it with
//
//	cd deploy/validate && go test ./...
package validate
