package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// dir returns the absolute path of the deploy/ directory.
func dir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate deploy_test.go")
	}
	return filepath.Dir(file)
}

// repoRoot returns the repository root (the parent of deploy/).
func repoRoot(t *testing.T) string {
	t.Helper()
	return filepath.Dir(dir(t))
}

// tool finds an external program or fails naming the step that installs it.
func tool(t *testing.T, name, envVar, hint string) string {
	t.Helper()
	if envVar != "" {
		if p := os.Getenv(envVar); p != "" {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s=%q: %v; %s", envVar, p, err, hint)
			}
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: %s", name, hint)
	}
	return p
}

// run executes a command and fails the test with its output on error.
func run(t *testing.T, wd string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = wd
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const promtoolHint = "install Debian's prometheus package (apt-get install -y --no-install-recommends prometheus), which provides promtool; .ci/run does this"
