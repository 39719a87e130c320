package deploy

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// buildFromContainerfile runs every RUN of the Containerfile's build stage
// in order from the repository root (ARG defaults substituted; the go build
// line's -o redirected into a temp dir) and returns the binary's path.
func buildFromContainerfile(t *testing.T) string {
	t.Helper()
	ins := containerfile(t)
	args := map[string]string{}
	for _, in := range ins {
		if in.Cmd == "ARG" {
			k, v, _ := strings.Cut(in.Args, "=")
			args[k] = v
		}
	}
	expand := func(line string) string {
		return os.Expand(line, func(k string) string {
			v, ok := args[k]
			if !ok {
				t.Fatalf("RUN line uses ${%s}, which has no ARG default", k)
			}
			return v
		})
	}
	goBuildLine(t, ins) // exactly one
	out := filepath.Join(t.TempDir(), "hitron-exporter")
	re := regexp.MustCompile(`-o\s+\S+`)
	st := stagesOf(ins)
	ran := 0
	for _, in := range st[0].Ins {
		if in.Cmd != "RUN" {
			continue
		}
		line := expand(in.Args)
		if strings.Contains(line, "go build") {
			if len(re.FindAllString(line, -1)) != 1 {
				t.Fatalf("go build line %q needs exactly one -o", line)
			}
			line = re.ReplaceAllString(line, "-o "+out)
		}
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = repoRoot(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("Containerfile line %d: %s: %v\n%s", in.Line, line, err, b)
		}
		ran++
	}
	if _, err := os.Stat(out); err != nil || ran < 2 {
		t.Fatalf("the build stage's %d RUN lines produced no binary: %v", ran, err)
	}
	return out
}

// TestContainerfileBuildsStaticBinary proves the build stage's command
// works and yields a static binary that runs on distroless/static: no
// program interpreter, no shared libraries, and the version stamped in by
// -ldflags.
func TestContainerfileBuildsStaticBinary(t *testing.T) {
	t.Parallel()
	bin := buildFromContainerfile(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a PT_INTERP segment: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v (%v)", libs, err)
	}
	if _, err := exec.LookPath("file"); err == nil {
		if out, _ := exec.Command("file", bin).Output(); !bytes.Contains(out, []byte("statically linked")) {
			t.Errorf("file(1) says: %s", out)
		}
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("0.0.0-dev")) || !bytes.Contains(out, []byte("revision: unknown")) {
		t.Errorf("%s --version: %v\n%s\nwant the ARG VERSION/REVISION defaults stamped in", bin, err, out)
	}

	t.Run("flags used by deploy artefacts exist", func(t *testing.T) {
		help, err := exec.Command(bin, "--help-long").CombinedOutput()
		if err != nil {
			help, _ = exec.Command(bin, "--help").CombinedOutput()
		}
		for flag, where := range deployedFlags(t) {
			if !regexp.MustCompile(`(?m)^\s+(-\w, )?` + regexp.QuoteMeta(flag) + `\b`).Match(help) {
				t.Errorf("%s passes %s, which hitron-exporter --help does not list", where, flag)
			}
		}
	})

	t.Run("config.check accepts the shipped configs", func(t *testing.T) {
		dirT := t.TempDir()
		creds := filepath.Join(dirT, "credentials.yml")
		if err := os.WriteFile(creds, readFile(t, filepath.Join(dir(t), "systemd", "credentials.yml.example")), 0o600); err != nil {
			t.Fatal(err)
		}
		filePath := regexp.MustCompile(`(?m)^(\s+path:\s+)/\S+credentials\.yml\s*$`)
		cfgs := map[string][]byte{
			"systemd/hitron-exporter.yml":              readFile(t, filepath.Join(dir(t), "systemd", "hitron-exporter.yml")),
			"podman/hitron-exporter-file.yml":          readFile(t, filepath.Join(dir(t), "podman", "hitron-exporter-file.yml")),
			"kubernetes/vault-agent-proxy (via agent)": exporterConfigs(t)[filepath.Join(dir(t), "kubernetes", "vault-agent-proxy", "configmap.yaml")],
		}
		for name, raw := range cfgs {
			// Point file profiles at a real credentials file; the rest is
			// checked as shipped.
			raw = filePath.ReplaceAll(raw, []byte("${1}"+creds))
			p := filepath.Join(dirT, strings.NewReplacer("/", "_", " ", "_").Replace(name))
			if err := os.WriteFile(p, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "--config.check", "--config.file="+p).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("OK")) {
				t.Errorf("%s: --config.check: %v\n%s", name, err, out)
			}
		}
	})
}

// deployedFlags returns the exporter flags passed by the Containerfile, the
// systemd and Quadlet units and the Kubernetes manifests and Helm chart,
// with where each was seen.
func deployedFlags(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	flagRe := regexp.MustCompile(`--[a-z][a-z0-9.-]*`)
	addAll := func(where, text string) {
		for _, f := range flagRe.FindAllString(text, -1) {
			out[f] = where
		}
	}
	for _, in := range containerfile(t) {
		if in.Cmd == "CMD" || in.Cmd == "ENTRYPOINT" {
			addAll("Containerfile "+in.Cmd, in.Args)
		}
	}
	u := unitFile(t, readFile(t, filepath.Join(dir(t), "systemd", "hitron-exporter.service")))
	addAll("systemd ExecStart", strings.Join(u["Service"]["ExecStart"], " "))
	q := unitFile(t, readFile(t, filepath.Join(dir(t), "podman", "hitron-exporter.container")))
	addAll("Quadlet Exec", strings.Join(q["Container"]["Exec"], " "))
	manifests, _ := filepath.Glob(filepath.Join(dir(t), "kubernetes", "*", "deployment.yaml"))
	for _, f := range manifests {
		var d struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args []string `yaml:"args"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(readFile(t, f), &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			addAll(f, strings.Join(c.Args, " "))
		}
	}
	addAll("helm deployment template", string(readFile(t, filepath.Join(dir(t), "helm", "hitron-exporter", "templates", "deployment.yaml"))))
	var vals struct {
		ExtraArgs []string `yaml:"extraArgs"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(dir(t), "helm", "hitron-exporter", "values.yaml")), &vals); err != nil {
		t.Fatal(err)
	}
	addAll("helm values extraArgs", strings.Join(vals.ExtraArgs, " "))
	if len(out) < 3 {
		flags := make([]string, 0, len(out))
		for f := range out {
			flags = append(flags, f)
		}
		sort.Strings(flags)
		t.Fatalf("found only flags %v", flags)
	}
	return out
}
