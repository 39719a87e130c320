// Package podmanenv runs podman for tests on machines like the project's CI:
// Debian's podman 4.3 with the runc runtime (crun refuses their hybrid
// cgroups), vfs storage, cgroupfs, explicit ulimits (the defaults exceed the
// hard limits) and no registry. Base images cannot be pulled, so StandIns
// builds local ones of the same shape from the host's own files and caches
// them.
//
// Storage lives under ${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}/containers
// so that images survive between runs; the run root is under /tmp. Every
// container a test starts is removed by t.Cleanup. A missing podman or runc,
// or a user other than root, fails the test (scripts/test.sh installs them;
// CI runs it as root).
package podmanenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Ulimits are the explicit limits every `podman run` and `podman build`
// passes: podman's defaults (nofile 1048576) exceed the CI machines' hard
// limits, and runc then fails with "error setting rlimits".
var Ulimits = []string{"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"}

// Podman runs the podman binary with this machine's global flags.
type Podman struct {
	// Bin is the podman binary.
	Bin string
	// Global are the flags put before every subcommand: --runtime runc,
	// --storage-driver vfs, the cached storage root and a run root.
	Global []string
	// Env is the environment of every podman command (CONTAINERS_CONF
	// points at the containers.conf written for the tests).
	Env []string
	// Cache is the directory holding storage, containers.conf and locks.
	Cache string
}

// CacheDir is ${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}.
func CacheDir() string {
	if d := os.Getenv("HITRON_CACHE_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "hitron-exporter")
}

// New finds podman and runc and prepares the storage and configuration.
func New(t testing.TB) *Podman {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("podmanenv: the container tests run podman as root (they give mounted files to uid 65532); run scripts/test.sh as root, as CI does")
	}
	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podmanenv: podman is not installed (scripts/test.sh installs Debian's podman and runc): %v", err)
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatalf("podmanenv: runc is not installed (scripts/test.sh installs it): %v", err)
	}
	cache := filepath.Join(CacheDir(), "containers")
	runRoot := filepath.Join(os.TempDir(), "hitron-exporter-podman-"+strconv.Itoa(os.Getuid()))
	for _, d := range []string{cache, runRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("podmanenv: %v", err)
		}
	}
	conf := filepath.Join(cache, "containers.conf")
	if err := writeIfChanged(conf, containersConf(runc)); err != nil {
		t.Fatalf("podmanenv: %v", err)
	}
	return &Podman{
		Bin: bin,
		Global: []string{"--runtime", runc, "--storage-driver", "vfs",
			"--root", filepath.Join(cache, "storage"), "--runroot", filepath.Join(runRoot, "run"),
			"--tmpdir", filepath.Join(runRoot, "libpod"), "--cgroup-manager", "cgroupfs", "--events-backend", "file"},
		Env:   append(os.Environ(), "CONTAINERS_CONF="+conf),
		Cache: cache,
	}
}

// containersConf is the containers.conf the tests use: the same settings as
// the global flags, for commands that take no flags of their own (`podman
// kube play` has no --ulimit), and the pod infrastructure image.
func containersConf(runc string) string {
	return fmt.Sprintf(`# Written by internal/testenv/podmanenv for the tests.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
infra_image = %q
infra_command = "/pause"

[engine.runtimes]
runc = [%q]
`, PauseImage, runc)
}

func writeIfChanged(path, content string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	return os.WriteFile(path, []byte(content), 0o600)
}

// Command returns an unstarted podman command with the global flags.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.Bin, append(append([]string{}, p.Global...), args...)...)
	cmd.Env = p.Env
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// Output runs podman to completion (bounded by 20 minutes) and returns its
// standard output; a failure fails the test with the command's error output.
func (p *Podman) Output(t testing.TB, args ...string) string {
	t.Helper()
	out, err := p.Try(args...)
	if err != nil {
		t.Fatalf("podmanenv: %v", err)
	}
	return out
}

// Try is Output that returns the error instead of failing the test.
func (p *Podman) Try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := p.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), lastBytes(stderr.String(), 8000))
	}
	return stdout.String(), nil
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ImageExists reports whether ref is in the local storage.
func (p *Podman) ImageExists(ref string) bool {
	cmd := p.Command(context.Background(), "image", "exists", ref)
	return cmd.Run() == nil
}

// Labels returns an image's labels.
func (p *Podman) Labels(t testing.TB, ref string) map[string]string {
	t.Helper()
	var out []struct {
		Labels map[string]string `json:"Labels"`
	}
	if err := json.Unmarshal([]byte(p.Output(t, "image", "inspect", ref)), &out); err != nil || len(out) != 1 {
		t.Fatalf("podmanenv: image inspect %s: %v", ref, err)
	}
	return out[0].Labels
}

// Container is a container started by Start.
type Container struct {
	p    *Podman
	Name string
	t    testing.TB
}

// Start runs `podman run -d --name NAME [Ulimits] args...` (args end with
// the image and its arguments) and removes the container at cleanup,
// printing its log if the test failed.
func (p *Podman) Start(t testing.TB, name string, args ...string) *Container {
	t.Helper()
	c := &Container{p: p, Name: name, t: t}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container %s log:\n%s", name, c.Logs())
		}
		_, _ = p.Try("rm", "--force", "--time", "0", name)
	})
	run := append(append([]string{"run", "-d", "--name", name}, Ulimits...), args...)
	p.Output(t, run...)
	return c
}

// Logs returns the container's output so far.
func (c *Container) Logs() string {
	out, err := c.p.Command(context.Background(), "logs", c.Name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(podman logs: %v) %s", err, out)
	}
	return string(out)
}

// State is a container's state from podman inspect.
type State struct {
	Status     string    `json:"Status"`
	Running    bool      `json:"Running"`
	ExitCode   int       `json:"ExitCode"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
}

// Inspect returns the container's state.
func (c *Container) Inspect() (State, error) {
	out, err := c.p.Try("inspect", "--format", "{{json .State}}", c.Name)
	if err != nil {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return State{}, fmt.Errorf("podman inspect %s: %w", c.Name, err)
	}
	return s, nil
}

// Config returns fields of the container's configuration as podman inspect
// prints them for a Go template such as {{.Config.User}}.
func (c *Container) Config(t testing.TB, format string) string {
	t.Helper()
	return strings.TrimSpace(c.p.Output(t, "inspect", "--format", format, c.Name))
}

// ErrStillRunning is returned by StopWithin when the container outlived the
// deadline.
var ErrStillRunning = errors.New("container still running")

// Signal sends sig (such as "TERM") to the container's main process.
func (c *Container) Signal(t testing.TB, sig string) {
	t.Helper()
	c.p.Output(t, "kill", "--signal", sig, c.Name)
}

// WaitExit waits until the container has exited or the deadline passes and
// returns its final state.
func (c *Container) WaitExit(deadline time.Duration) (State, error) {
	end := time.Now().Add(deadline)
	for {
		s, err := c.Inspect()
		if err != nil {
			return s, err
		}
		if !s.Running && s.Status != "running" {
			return s, nil
		}
		if time.Now().After(end) {
			return s, ErrStillRunning
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// randomSuffix returns 8 random hex digits for unique container names.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Name returns prefix-XXXXXXXX, a container or pod name unique to one test.
func Name(prefix string) string { return prefix + "-" + randomSuffix() }
