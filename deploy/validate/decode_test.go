package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// object is one decoded manifest with where it came from.
type object struct {
	Source string
	Obj    runtime.Object
}

// decoder strictly decodes YAML into the API types of the kinds we ship.
type decoder struct {
	ser *json.Serializer
}

func newDecoder(t *testing.T) *decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return &decoder{ser: json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})}
}

// decodeAll splits a multi-document YAML stream and decodes every
// non-empty document; an unknown kind, an unknown or duplicate field, or a
// wrong type is an error.
func (d *decoder) decodeAll(source string, data []byte) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if isEmptyYAML(doc) {
			continue
		}
		obj, gvk, err := d.ser.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if gvk == nil || gvk.Kind == "" {
			return nil, fmt.Errorf("%s: document %d has no kind", source, i)
		}
		out = append(out, object{Source: fmt.Sprintf("%s#%d", source, i), Obj: obj})
	}
}

func isEmptyYAML(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}

// loadDir decodes every *.yaml file directly in dir.
func (d *decoder) loadDir(t *testing.T, dir string) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	sort.Strings(files)
	var out []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := d.decodeAll(rel(f), data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objs...)
	}
	return out
}

// deployDir is the repository's deploy/ directory.
func deployDir() string {
	abs, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return abs
}

func rel(path string) string {
	if r, err := filepath.Rel(filepath.Dir(deployDir()), path); err == nil {
		return r
	}
	return path
}

func TestDecodeRejectsBadManifests(t *testing.T) {
	d := newDecoder(t)
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n", `unknown field "spec.portz"`},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n", `key "data" already set`},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n", "replicas"},
		{"unknown kind", "apiVersion: v1\nkind: Servce\nmetadata: {name: x}\n", "no kind \"Servce\""},
		{"typo in operator CRD", "apiVersion: monitoring.coreos.com/v1\nkind: Probe\nmetadata: {name: x}\nspec: {jobname: hitron}\n", `unknown field "spec.jobname"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.decodeAll("test.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	objs, err := d.decodeAll("ok.yaml", []byte("# comment only\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n"))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decodeAll = %v, %v; want one ServiceAccount", objs, err)
	}
}
