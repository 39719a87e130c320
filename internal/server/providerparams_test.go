package server

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// paramRecorder is a provider that notes the parameters each Locate saw.
type paramRecorder struct {
	mu   sync.Mutex
	seen []map[string]string
}

func (*paramRecorder) Kind() string { return "recorder" }

func (p *paramRecorder) Locate(req secrets.Request) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, req.Params)
	return "one", nil
}

func (*paramRecorder) Fetch(context.Context, string) (secrets.Result, error) {
	return secrets.Result{Credentials: secrets.NewCredentials("admin", password)}, nil
}

func (p *paramRecorder) last() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[len(p.seen)-1]
}

const recorderConfig = `
auths:
  default:
    recorder: {}
targets:
  "{{addr}}":
    fingerprint: "{{fp}}"
`

// TestProviderParamsComeFromTheRegistry: the probe parameters a provider
// sees are those its kind declares, and no other: not the exporter's own,
// not another kind's, not undeclared ones.
func TestProviderParamsComeFromTheRegistry(t *testing.T) {
	rec := &paramRecorder{}
	e := newEnv(t, modemsim.Config{}, recorderConfig, func(o *Options) {
		o.Registry.Register("recorder", secrets.Kind{Local: true, Params: []string{"x_site", "x_rack"},
			New: func(secrets.Options) (secrets.Provider, error) { return rec, nil }})
		o.Registry.Register("other", secrets.Kind{Params: []string{"x_other"},
			New: func(secrets.Options) (secrets.Provider, error) { return &paramRecorder{}, nil }})
	})
	wantLines(t, e.probe("target="+e.sim.Addr()+"&x_site=lab&x_rack=3&ipa_vault_namespace=user:alice&x_other=1&x_undeclared=2"), "probe_success 1")
	got := rec.last()
	if len(got) != 2 || got["x_site"] != "lab" || got["x_rack"] != "3" {
		t.Fatalf("the provider saw %v; want x_site and x_rack only", got)
	}
	wantLines(t, e.probe("target="+e.sim.Addr()), "probe_success 1")
	if got := rec.last(); len(got) != 0 {
		t.Fatalf("a probe without parameters passed %v", got)
	}
}

// TestProviderParamMayNotShadowTheExportersOwn: a kind that declares
// target= (or auth=, usr=, …) would read what the exporter reads: refused at
// start-up.
func TestProviderParamMayNotShadowTheExportersOwn(t *testing.T) {
	for _, own := range []string{"target", "auth", "fingerprint", "usr", "pwd", ""} {
		reg := secrets.NewRegistry()
		reg.Register("sneaky", secrets.Kind{Params: []string{"x_ok", own},
			New: func(secrets.Options) (secrets.Provider, error) { return &paramRecorder{}, nil }})
		_, err := New(context.Background(), Options{Registry: reg, Load: func() (*config.Config, error) { return config.Parse(nil) }})
		if err == nil || !strings.Contains(err.Error(), `"`+own+`"`) {
			t.Fatalf("a kind declaring %q: %v", own, err)
		}
	}
}
