package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Containerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper-case
	Args string
}

// parseContainerfile splits a Containerfile into instructions, dropping
// comments and joining backslash continuations.
func parseContainerfile(t *testing.T, data []byte) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continuation
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Containerfile ends inside a continuation starting at line %d", start)
	}
	return out
}

func containerfile(t *testing.T) []instruction {
	t.Helper()
	return parseContainerfile(t, readFile(t, filepath.Join(repoRoot(t), "Containerfile")))
}

// stages groups instructions by FROM.
type stage struct {
	From, Name string
	Line       int
	Ins        []instruction
}

func stagesOf(ins []instruction) []stage {
	var out []stage
	for _, in := range ins {
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			s := stage{From: f[len(f)-1], Line: in.Line}
			for i, w := range f {
				if strings.EqualFold(w, "AS") && i+1 < len(f) {
					s.From, s.Name = f[i-1], f[i+1]
				}
			}
			if s.Name == "" {
				s.From = f[0]
				for _, w := range f {
					if !strings.HasPrefix(w, "--") {
						s.From = w
						break
					}
				}
			}
			out = append(out, s)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Ins = append(out[len(out)-1].Ins, in)
		}
	}
	return out
}

// TestContainerfileRules applies hadolint-style rules that matter for this
// image (hadolint itself is not packaged for Debian).
func TestContainerfileRules(t *testing.T) {
	ins := containerfile(t)
	st := stagesOf(ins)
	if len(st) < 2 {
		t.Fatalf("want a multi-stage build, got %d stages", len(st))
	}
	names := map[string]bool{}
	// The base images are build arguments declared before the first FROM
	// (the tests pass local stand-ins); their defaults must be the pinned
	// upstream images.
	global := map[string]string{}
	for _, in := range ins {
		if in.Cmd == "FROM" {
			break
		}
		if in.Cmd == "ARG" {
			k, v, _ := strings.Cut(in.Args, "=")
			global[k] = v
		}
	}
	for i := range st {
		arg := strings.TrimSuffix(strings.TrimPrefix(st[i].From, "${"), "}")
		if arg == st[i].From || global[arg] == "" {
			t.Errorf("line %d: FROM %s: the base image must be a build argument with a default (ARG NAME=image before the first FROM)", st[i].Line, st[i].From)
			continue
		}
		st[i].From = global[arg]
	}
	pinned := regexp.MustCompile(`^[a-z0-9.-]+(\.[a-z]+)+(:\d+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$`)
	for _, s := range st {
		// DL3006/DL3007: explicit tag or digest, never latest; fully qualified
		// names so podman does not ask which registry to use.
		if !pinned.MatchString(s.From) || !(strings.Contains(s.From[strings.LastIndex(s.From, "/"):], ":") || strings.Contains(s.From, "@sha256:")) {
			t.Errorf("line %d: base image %q must be fully qualified and tagged or pinned by digest", s.Line, s.From)
		}
		if strings.HasSuffix(s.From, ":latest") {
			t.Errorf("line %d: base image %q uses latest", s.Line, s.From)
		}
		if s.Name != "" {
			names[s.Name] = true
		}
	}
	final := st[len(st)-1]
	if !strings.Contains(final.From, "distroless/static") && final.From != "scratch" {
		t.Errorf("final stage %q: want a static/distroless runtime image", final.From)
	}
	got := map[string][]instruction{}
	for _, in := range final.Ins {
		got[in.Cmd] = append(got[in.Cmd], in)
	}
	for _, in := range ins {
		switch in.Cmd {
		case "ADD":
			t.Errorf("line %d: use COPY, not ADD (DL3020)", in.Line)
		case "MAINTAINER":
			t.Errorf("line %d: MAINTAINER is deprecated (DL4000)", in.Line)
		case "WORKDIR":
			if !strings.HasPrefix(in.Args, "/") {
				t.Errorf("line %d: WORKDIR must be absolute (DL3000)", in.Line)
			}
		case "RUN":
			for _, bad := range []string{"sudo ", "cd ", "apt-get upgrade", "curl ", "wget "} {
				if strings.Contains(in.Args, bad) {
					t.Errorf("line %d: RUN uses %q (DL3004/DL3003/DL3005; no downloads in the build)", in.Line, strings.TrimSpace(bad))
				}
			}
		case "COPY":
			for _, f := range strings.Fields(in.Args) {
				if from, ok := strings.CutPrefix(f, "--from="); ok && !names[from] {
					t.Errorf("line %d: COPY --from=%s names no earlier stage (DL3022)", in.Line, from)
				}
			}
		}
	}
	// Non-root user in the final image (DL3002).
	users := got["USER"]
	if len(users) == 0 {
		t.Error("final stage sets no USER")
	} else if u := strings.Split(users[len(users)-1].Args, ":")[0]; u == "root" || u == "0" {
		t.Errorf("final USER %q is root", u)
	}
	exposed := false
	for _, in := range got["EXPOSE"] {
		for _, p := range strings.Fields(in.Args) {
			if p == "9938" || p == "9938/tcp" {
				exposed = true
			}
		}
	}
	if !exposed {
		t.Error("final stage does not EXPOSE 9938")
	}
	// DL3025: exec (JSON) form for ENTRYPOINT and CMD.
	for _, cmd := range []string{"ENTRYPOINT", "CMD"} {
		if len(got[cmd]) != 1 {
			t.Errorf("final stage needs exactly one %s", cmd)
			continue
		}
		var argv []string
		if err := json.Unmarshal([]byte(got[cmd][0].Args), &argv); err != nil {
			t.Errorf("line %d: %s must use the JSON exec form: %v", got[cmd][0].Line, cmd, err)
		}
		if cmd == "ENTRYPOINT" && (len(argv) != 1 || argv[0] != "/bin/hitron-exporter") {
			t.Errorf("ENTRYPOINT = %v, want [/bin/hitron-exporter]", argv)
		}
		if cmd == "CMD" && (len(argv) == 0 || !strings.HasPrefix(argv[0], "--config.file=/etc/hitron-exporter/")) {
			t.Errorf("CMD = %v, want the config file under /etc/hitron-exporter first", argv)
		}
	}
	labels := ""
	for _, in := range got["LABEL"] {
		labels += " " + in.Args
	}
	for _, l := range []string{"title", "description", "version", "revision", "source"} {
		if !strings.Contains(labels, "org.opencontainers.image."+l+"=") {
			t.Errorf("final stage lacks LABEL org.opencontainers.image.%s", l)
		}
	}
	line := goBuildLine(t, ins)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/hitron-exporter", "-o "} {
		if !strings.Contains(line, want) {
			t.Errorf("go build line %q lacks %q", line, want)
		}
	}
}

// goBuildLine returns the RUN instruction that builds the binary.
func goBuildLine(t *testing.T, ins []instruction) string {
	t.Helper()
	var found []string
	for _, in := range ins {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			found = append(found, in.Args)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one RUN with go build, got %d", len(found))
	}
	return found[0]
}

// TestContainerignore checks that both ignore files (podman reads
// .containerignore, docker .dockerignore) hold the same patterns, keep the
// build inputs and drop the repository's history and secrets.
func TestContainerignore(t *testing.T) {
	patterns := func(name string) []string {
		var out []string
		for _, l := range strings.Split(string(readFile(t, filepath.Join(repoRoot(t), name))), "\n") {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	c, d := patterns(".containerignore"), patterns(".dockerignore")
	if strings.Join(c, "\n") != strings.Join(d, "\n") {
		t.Errorf(".containerignore and .dockerignore differ:\n%v\n%v", c, d)
	}
	has := map[string]bool{}
	for _, p := range c {
		has[strings.TrimPrefix(p, "/")] = true
		for _, keep := range []string{"go.mod", "go.sum", "cmd", "internal", "secrets", "*.go", "**/*.go"} {
			if strings.TrimPrefix(p, "/") == keep {
				t.Errorf("ignore pattern %q drops a build input", p)
			}
		}
	}
	for _, drop := range []string{".git", "**/*.keytab"} {
		if !has[drop] {
			t.Errorf("ignore files should exclude %s", drop)
		}
	}
}

// TestContainerfileDockerfilelint runs the npm dockerfilelint linter on
// both Containerfiles. dockerfilelint does not expand build arguments, so
// it reads a copy whose FROM lines name the arguments' defaults (the
// upstream images): its tag checks then apply to what a plain build uses.
func TestContainerfileDockerfilelint(t *testing.T) {
	lint := tool(t, "dockerfilelint", "DOCKERFILELINT",
		"install it with npm: npm install -g dockerfilelint@1.8.0 (done by .ci/run), or set DOCKERFILELINT")
	fromArg := regexp.MustCompile(`(?m)^FROM \$\{([A-Z_]+)\}`)
	for _, name := range []string{"Containerfile", "Containerfile.release"} {
		src := readFile(t, filepath.Join(repoRoot(t), name))
		defaults := map[string]string{}
		for _, in := range parseContainerfile(t, src) {
			if in.Cmd == "FROM" {
				break
			}
			if k, v, ok := strings.Cut(in.Args, "="); ok && in.Cmd == "ARG" {
				defaults[k] = v
			}
		}
		expanded := fromArg.ReplaceAllFunc(src, func(m []byte) []byte {
			arg := fromArg.FindSubmatch(m)[1]
			if defaults[string(arg)] == "" {
				t.Errorf("%s: %s has no default before the first FROM", name, m)
			}
			return []byte("FROM " + defaults[string(arg)])
		})
		if bytes.Equal(expanded, src) {
			t.Errorf("%s: no FROM ${ARG} lines: the base images must be build arguments", name)
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, expanded, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(lint, p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Issues: None found") {
			t.Errorf("dockerfilelint %s (FROM lines expanded): %v\n%s", name, err, out)
		}
	}
}
