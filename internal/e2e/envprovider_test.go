package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// exampleModule is the example provider's module: a module of its own, as
// a third party's would be, that uses only the exporter's public packages.
const exampleModule = "../../examples/envprovider"

// buildExample runs go in the example module, offline: the module's
// dependencies are the exporter's, already in the module cache. It works on
// copies of go.mod and go.sum, so that an exporter whose requirements moved
// on updates the copies, not the checkout.
func buildExample(t *testing.T, args ...string) {
	t.Helper()
	tmp := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(exampleModule, f))
		if err != nil {
			t.Fatal(err)
		}
		testkit.WriteFile(t, filepath.Join(tmp, f), string(b))
	}
	cmd := exec.Command("go", append([]string{args[0], "-modfile=" + filepath.Join(tmp, "go.mod"), "-mod=mod"}, args[1:]...)...)
	cmd.Dir = exampleModule
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), exampleModule, err, out)
	}
}

// TestExampleProviderBuildsAWorkingExporter: a provider written in its own
// module (examples/envprovider, reading credentials from environment
// variables) is built into an exporter binary with the public exporter and
// secrets packages, and that binary probes a modem with it, the kind's own
// probe parameter included.
func TestExampleProviderBuildsAWorkingExporter(t *testing.T) {
	const labPassword = "lab-Pa55-from-the-environment"
	buildExample(t, "test", "./...")
	bin := filepath.Join(t.TempDir(), "hitron-exporter-env")
	buildExample(t, "build", "-o", bin, "./cmd/hitron-exporter-env")

	home := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	lab := testkit.StartSim(t, modemsim.Config{Password: labPassword})
	dir := t.TempDir()
	cfg := testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), `auths:
  default:
    env:
      prefix: HITRON
targets:
  "`+home.Addr()+`":
    fingerprint: "`+home.Fingerprint().String()+`"
  "`+lab.Addr()+`":
    fingerprint: "`+lab.Fingerprint().String()+`"
`)
	if out, err := exec.Command(bin, "--config.file="+cfg, "--config.check").CombinedOutput(); err != nil || !strings.Contains(string(out), "OK (1 auth profiles") {
		t.Fatalf("--config.check: %v\n%s", err, out)
	}
	bad := testkit.WriteFile(t, filepath.Join(dir, "bad.yml"), "auths:\n  default:\n    environment: {prefix: HITRON}\n")
	out, err := exec.Command(bin, "--config.file="+bad, "--config.check").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown provider "environment": use one of env, file, freeipa or vault`) {
		t.Fatalf("an unknown kind: %v\n%s", err, out)
	}

	env := []string{"HITRON_USERNAME=admin", "HITRON_PASSWORD=" + modemPassword,
		"HITRON_LAB_USERNAME=admin", "HITRON_LAB_PASSWORD=" + labPassword}
	e := startExporterBinary(t, bin, env, []string{modemPassword, labPassword}, "--config.file="+cfg)
	for _, tt := range []struct{ name, query, want string }{
		{"the prefix's variables", "target=" + home.Addr(), "probe_success 1"},
		{"env_site selects the site's variables", "target=" + lab.Addr() + "&env_site=lab", "probe_success 1"},
		{"an unset site fails the probe, not the exporter", "target=" + lab.Addr() + "&env_site=attic", `hitron_probe_failure_info{reason="credentials"} 1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := e.get("/probe?" + tt.query); code != 200 || !testkit.HasLine(body, tt.want) {
				t.Fatalf("HTTP %d, want %q:\n%s", code, tt.want, body)
			}
		})
	}
	if n := lab.Stats().Logins; n != 1 {
		t.Fatalf("the lab modem saw %d logins, want 1 (an unset site sends nothing)", n)
	}
}
