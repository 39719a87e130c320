package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/loadtest"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// binary is the exporter built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hitron-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hitron-exporter")
	if err := loadtest.BuildExporter(binary, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	removeBuiltImage()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// exporter is a running hitron-exporter process.
type exporter struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	scheme string
	client *http.Client
	out    *testkit.LogBuffer
	// secrets that must never appear in output or logs.
	secrets []string
}

// startExporter runs the binary with args plus a loopback listen address and
// waits until it answers /-/healthy.
func startExporter(t *testing.T, secrets []string, args ...string) *exporter {
	t.Helper()
	return startExporterBinary(t, binary, nil, secrets, args...)
}

// startExporterBinary is startExporter for another exporter binary (one
// built with providers of its own), with env added to its environment.
func startExporterBinary(t *testing.T, bin string, env, secrets []string, args ...string) *exporter {
	t.Helper()
	addr := testkit.MustFreeAddr(t)
	e := &exporter{t: t, addr: addr, scheme: "http", out: &testkit.LogBuffer{}, secrets: secrets,
		client: &http.Client{Timeout: 30 * time.Second}}
	for _, a := range args {
		if web, ok := strings.CutPrefix(a, "--web.config.file="); ok && webConfigHasTLS(t, web) {
			e.scheme = "https"
			e.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test CA
		}
	}
	e.cmd = exec.Command(bin, append([]string{"--web.listen-address=" + addr, "--log.level=debug"}, args...)...)
	if env != nil {
		e.cmd.Env = append(os.Environ(), env...)
	}
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = e.cmd.Process.Kill()
			<-done
		}
		for _, s := range e.secrets {
			if strings.Contains(e.out.String(), s) {
				t.Errorf("a secret appears in the exporter's log")
			}
		}
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, e.url("/-/healthy"), nil)
		req.SetBasicAuth("prometheus", "scrape-pass")
		if resp, err := e.client.Do(req); err == nil {
			_ = resp.Body.Close()
			return e
		}
		if e.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("exporter did not come up:\n%s", e.out.String())
	return nil
}

// webConfigHasTLS reports whether an exporter-toolkit web configuration
// turns TLS on.
func webConfigHasTLS(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "tls_server_config")
}

func (e *exporter) url(path string) string { return e.scheme + "://" + e.addr + path }

// do sends a request and checks that no secret is in the answer.
func (e *exporter) do(method, path string, header map[string]string, user, pass string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.url(path), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	for _, s := range e.secrets {
		if strings.Contains(string(body), s) {
			e.t.Fatalf("%s %s: the answer contains a secret", method, path)
		}
	}
	return resp.StatusCode, string(body)
}

func (e *exporter) get(path string) (int, string) { return e.do(http.MethodGet, path, nil, "", "") }
