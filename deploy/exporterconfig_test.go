package deploy

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
	"github.com/hitron-exporter/hitron-exporter/secrets/freeipa"
	"github.com/hitron-exporter/hitron-exporter/secrets/vault"
)

// exporterConfigs collects every exporter configuration shipped under
// deploy/: plain files, ConfigMap data and Helm values' config:.
func exporterConfigs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	glob := func(pattern string) []string {
		m, err := filepath.Glob(filepath.Join(dir(t), pattern))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, f := range append(glob("systemd/*.yml"), glob("podman/hitron-exporter-*.yml")...) {
		out[f] = readFile(t, f)
	}
	for _, f := range glob("kubernetes/*/*.yaml") {
		dec := yaml.NewDecoder(bytes.NewReader(readFile(t, f)))
		for {
			var doc struct {
				Kind string            `yaml:"kind"`
				Data map[string]string `yaml:"data"`
			}
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if c, ok := doc.Data["hitron-exporter.yml"]; ok && doc.Kind == "ConfigMap" {
				out[f] = []byte(c)
			}
		}
	}
	for _, f := range append(glob("helm/hitron-exporter/ci/*-values.yaml"), glob("helm/hitron-exporter/values.yaml")...) {
		var v struct {
			Config yaml.Node `yaml:"config"`
		}
		if err := yaml.Unmarshal(readFile(t, f), &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b, err := yaml.Marshal(&v.Config)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	// Credentials files are not configs; skip the systemd example.
	for f := range out {
		if strings.HasSuffix(f, "credentials.yml") {
			delete(out, f)
		}
	}
	if len(out) < 8 {
		t.Fatalf("found only %d exporter configs", len(out))
	}
	return out
}

// TestShippedExporterConfigs loads every example configuration with the
// exporter's own strict loader and decodes each provider block strictly
// into that provider's configuration type.
func TestShippedExporterConfigs(t *testing.T) {
	for path, raw := range exporterConfigs(t) {
		name, _ := filepath.Rel(dir(t), path)
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Parse(raw)
			if err != nil {
				t.Fatalf("config.Parse: %v\n%s", err, raw)
			}
			for pname, a := range cfg.Auths {
				var block any
				switch a.Provider {
				case "file":
					block = &file.Config{}
				case "vault":
					block = &vault.Config{}
				case "freeipa":
					block = &freeipa.Config{}
				default:
					t.Errorf("profile %s: unknown provider %q", pname, a.Provider)
					continue
				}
				if err := a.DecodeBlock(block); err != nil {
					t.Errorf("profile %s (%s): %v", pname, a.Provider, err)
				}
				if fc, ok := block.(*file.Config); ok && !filepath.IsAbs(fc.Path) {
					t.Errorf("profile %s: file path %q must be absolute", pname, fc.Path)
				}
			}
			for tname, tg := range cfg.Targets {
				auth := tg.Auth
				if auth == "" {
					auth = config.DefaultAuth
				}
				a, ok := cfg.Auths[auth]
				if !ok {
					t.Errorf("target %s: no profile %q", tname, auth)
					continue
				}
				if a.RequiresFingerprint(a.Provider == "file") && tg.Fingerprint == "" {
					t.Errorf("target %s: profile %s requires a fingerprint", tname, auth)
				}
			}
		})
	}
}
