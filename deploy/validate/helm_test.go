package validate

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func chartDir() string { return filepath.Join(deployDir(), "helm", "hitron-exporter") }

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir())
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// render renders the chart as `helm template hitron-exporter -n monitoring
// -f valuesFile` would and decodes every manifest strictly.
func render(t *testing.T, d *decoder, c *chart.Chart, vals map[string]any) ([]object, error) {
	t.Helper()
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: "hitron-exporter", Namespace: "monitoring", Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	out, err := engine.Render(c, rv)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []object
	for _, n := range names {
		if strings.HasSuffix(n, "NOTES.txt") || strings.HasPrefix(filepath.Base(n), "_") {
			continue
		}
		o, err := d.decodeAll(n, []byte(out[n]))
		if err != nil {
			t.Fatalf("rendered %s:\n%s\n%v", n, out[n], err)
		}
		objs = append(objs, o...)
	}
	return objs, nil
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

func TestHelmLint(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(chartDir(), "ci", "*-values.yaml"))
	cases := map[string]map[string]any{"default values": nil}
	for _, f := range files {
		cases[filepath.Base(f)] = readValues(t, f)
	}
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			res := lint.All(chartDir(), vals, "monitoring", false)
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestHelmChartMatchesManifests renders the chart with each
// ci/<variant>-values.yaml, validates the objects like the plain manifests,
// and requires them to match deploy/kubernetes/base + <variant> in every
// field that matters to the exporter (labels added by Helm aside).
func TestHelmChartMatchesManifests(t *testing.T) {
	d := newDecoder(t)
	c := loadChart(t)
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			got, err := render(t, d, c, readValues(t, filepath.Join(chartDir(), "ci", v+"-values.yaml")))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range check(got, external) {
				t.Errorf("rendered chart: %s", p)
			}
			want := append(d.loadDir(t, filepath.Join(deployDir(), "kubernetes", "base")),
				d.loadDir(t, filepath.Join(deployDir(), "kubernetes", v))...)
			compare(t, want, got)
		})
	}
}

func TestHelmDefaultValuesRender(t *testing.T) {
	d := newDecoder(t)
	objs, err := render(t, d, loadChart(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[fmt.Sprintf("%T", o.Obj)]++
	}
	want := map[string]int{"*v1.Deployment": 1, "*v1.Service": 1, "*v1.ConfigMap": 1, "*v1.ServiceAccount": 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("default render kinds = %v, want %v", kinds, want)
	}
	for _, p := range check(objs, external) {
		t.Errorf("default render: %s", p)
	}
}

func TestHelmRejectsBadValues(t *testing.T) {
	d := newDecoder(t)
	c := loadChart(t)
	tests := []struct {
		name string
		vals string
		want string
	}{
		{"unknown mode", "credentials: {mode: ticket-cache}", "credentials.mode must be"},
		{"probe without targets", "probe: {enabled: true}", "probe.targets must list"},
		{"ipa config without krb5.conf", "credentials: {mode: keytab}\nkeytab: {ipa: {defaultConf: x}}", "keytab.ipa.krb5Conf is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var vals map[string]any
			if err := yaml.Unmarshal([]byte(tc.vals), &vals); err != nil {
				t.Fatal(err)
			}
			_, err := render(t, d, c, vals)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("render error = %v, want %q", err, tc.want)
			}
		})
	}
}

// compare matches objects by kind and name and compares the fields the
// exporter depends on.
func compare(t *testing.T, want, got []object) {
	t.Helper()
	key := func(o object) string {
		return fmt.Sprintf("%T/%s", o.Obj, o.Obj.(interface{ GetName() string }).GetName())
	}
	gotBy := map[string]object{}
	for _, o := range got {
		gotBy[key(o)] = o
	}
	for _, w := range want {
		k := key(w)
		g, ok := gotBy[k]
		if !ok {
			// The headless Service is for a Prometheus outside the operator;
			// the chart leaves it out.
			if !strings.HasSuffix(k, "/hitron-exporter-headless") {
				t.Errorf("chart does not render %s (from %s)", k, w.Source)
			}
			continue
		}
		delete(gotBy, k)
		for _, diff := range diffObjects(w.Obj, g.Obj) {
			t.Errorf("%s: %s (plain %s, chart %s)", k, diff, w.Source, g.Source)
		}
	}
	for k, g := range gotBy {
		if !strings.HasPrefix(k, "*v1.ServiceAccount/") {
			t.Errorf("chart renders %s (%s) that the plain manifests lack", k, g.Source)
		}
	}
}

func same(name string, a, b any) []string {
	if reflect.DeepEqual(a, b) {
		return nil
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return nil
	}
	return []string{fmt.Sprintf("%s differs:\n  plain: %s\n  chart: %s", name, ja, jb)}
}

func diffObjects(w, g any) []string {
	var out []string
	switch w := w.(type) {
	case *appsv1.Deployment:
		g := g.(*appsv1.Deployment)
		wp, gp := w.Spec.Template.Spec, g.Spec.Template.Spec
		ann := func(m map[string]string) map[string]string {
			r := map[string]string{}
			for k, v := range m {
				if !strings.HasPrefix(k, "checksum/") {
					r[k] = v
				}
			}
			return r
		}
		out = append(out, same("pod annotations", ann(w.Spec.Template.Annotations), ann(g.Spec.Template.Annotations))...)
		out = append(out, same("replicas", w.Spec.Replicas, g.Spec.Replicas)...)
		out = append(out, same("pod securityContext", wp.SecurityContext, gp.SecurityContext)...)
		out = append(out, same("volumes", wp.Volumes, gp.Volumes)...)
		wc, gc := wp.Containers[0], gp.Containers[0]
		out = append(out, same("container image", wc.Image, gc.Image)...)
		out = append(out, same("container args", wc.Args, gc.Args)...)
		out = append(out, same("container env", wc.Env, gc.Env)...)
		out = append(out, same("container ports", wc.Ports, gc.Ports)...)
		out = append(out, same("liveness probe", wc.LivenessProbe, gc.LivenessProbe)...)
		out = append(out, same("readiness probe", wc.ReadinessProbe, gc.ReadinessProbe)...)
		out = append(out, same("resources", wc.Resources, gc.Resources)...)
		out = append(out, same("container securityContext", wc.SecurityContext, gc.SecurityContext)...)
		out = append(out, same("volumeMounts", wc.VolumeMounts, gc.VolumeMounts)...)
		if wp.ServiceAccountName != "" {
			out = append(out, same("serviceAccountName", wp.ServiceAccountName, gp.ServiceAccountName)...)
		}
	case *corev1.ConfigMap:
		g := g.(*corev1.ConfigMap)
		if len(w.Data) != len(g.Data) {
			out = append(out, fmt.Sprintf("data keys differ: %d vs %d", len(w.Data), len(g.Data)))
		}
		for k, wv := range w.Data {
			var a, b any
			errA := yaml.Unmarshal([]byte(wv), &a)
			errB := yaml.Unmarshal([]byte(g.Data[k]), &b)
			if errA == nil && errB == nil && strings.HasSuffix(k, ".yml") {
				out = append(out, same("data "+k, a, b)...)
			} else {
				out = append(out, same("data "+k, strings.TrimSpace(wv), strings.TrimSpace(g.Data[k]))...)
			}
		}
	case *corev1.Service:
		g := g.(*corev1.Service)
		out = append(out, same("ports", w.Spec.Ports, g.Spec.Ports)...)
		out = append(out, same("type", w.Spec.Type, g.Spec.Type)...)
		out = append(out, same("sessionAffinity", w.Spec.SessionAffinity, g.Spec.SessionAffinity)...)
	case *monitoringv1.Probe:
		g := g.(*monitoringv1.Probe)
		out = append(out, same("spec", w.Spec, g.Spec)...)
	case *monitoringv1.ServiceMonitor:
		g := g.(*monitoringv1.ServiceMonitor)
		out = append(out, same("endpoints", w.Spec.Endpoints, g.Spec.Endpoints)...)
	case *corev1.ServiceAccount:
	default:
		out = append(out, fmt.Sprintf("no comparison for %T", w))
	}
	return out
}
