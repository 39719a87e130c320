// Package vaultenv starts a real HashiCorp Vault server (and Vault Agent or
// Vault Proxy processes) on 127.0.0.1 for tests, and offers helpers to set it
// up: KV mounts and secrets, policies, tokens, AppRole, Kubernetes auth with a
// locally generated JWT signing key, a file audit device and sealing.
//
// The Vault binary is not part of the repository: scripts/build-vault.sh
// builds it from the Go module proxy into
// ${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}/vault-v1.21.4/vault, or the
// VAULT_BIN environment variable names one. When neither is there the test
// fails (it does not skip) and says which script to run.
//
// Every process is started in t.TempDir() on a free loopback port and is
// stopped by its PID in t.Cleanup.
package vaultenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// Version is the Vault release scripts/build-vault.sh builds.
const Version = "v1.21.4"

// EnvBinary names the environment variable that overrides the binary path.
const EnvBinary = "VAULT_BIN"

// BuildScript is the script that provides the Vault binary.
const BuildScript = "scripts/build-vault.sh"

// startTimeout bounds how long a server, agent or proxy may take to come up.
const startTimeout = 30 * time.Second

// BinaryPath returns the path where the Vault binary is expected: $VAULT_BIN
// if set, else the cache path used by scripts/build-vault.sh. It does not
// check that the file exists.
func BinaryPath() string {
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	cache := os.Getenv("HITRON_CACHE_DIR")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "hitron-exporter")
	}
	return filepath.Join(cache, "vault-"+Version, "vault")
}

// Binary returns the Vault binary's path, failing the test with set-up
// instructions when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	p := BinaryPath()
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("vaultenv: no Vault binary at %s: run %s (about 11-15 min cold, under a minute warm) or set %s", p, BuildScript, EnvBinary)
	}
	return p
}

// Server is a running `vault server -dev` on 127.0.0.1.
type Server struct {
	// Addr is the server's URL, http://127.0.0.1:PORT.
	Addr string
	// RootToken is the dev server's root token.
	RootToken string
	// Dir is the server's private temporary directory.
	Dir string
	// Bin is the Vault binary used.
	Bin string
	// CACert is the PEM CA file of a TLS server (StartTLS); empty otherwise.
	CACert string

	logPath   string
	unsealKey string
	proc      *process
}

// Start starts a dev-mode Vault server with a random root token, waits until
// it is healthy and registers its shutdown with t.Cleanup. Dev mode mounts
// secret/ as KV version 2.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartTLS is Start with `-dev-tls`: the server listens on
// https://127.0.0.1:PORT with a certificate for 127.0.0.1 signed by the CA in
// CACert.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startServer(t, bin, dir, attempt, useTLS)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("vaultenv: starting vault server: %v", lastErr)
	return nil
}

func startServer(t testing.TB, bin, dir string, attempt int, useTLS bool) (*Server, error) {
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	scheme := "http"
	var extra []string
	if useTLS {
		scheme = "https"
		certDir := filepath.Join(dir, fmt.Sprintf("tls-%d", attempt))
		if err := os.MkdirAll(certDir, 0o700); err != nil {
			return nil, err
		}
		extra = []string{"-dev-tls", "-dev-tls-cert-dir=" + certDir}
	}
	s := &Server{
		Addr:      fmt.Sprintf("%s://127.0.0.1:%d", scheme, port),
		RootToken: "root-" + RandomString(12),
		Dir:       dir,
		Bin:       bin,
		logPath:   filepath.Join(dir, fmt.Sprintf("server-%d.log", attempt)),
	}
	args := append([]string{"server", "-dev", "-dev-no-store-token",
		"-dev-listen-address=127.0.0.1:" + fmt.Sprint(port),
		"-dev-root-token-id=" + s.RootToken,
		"-log-level=info",
	}, extra...)
	s.proc, err = startProcess(t, bin, dir, s.logPath, "server", args...)
	if err != nil {
		return nil, err
	}
	if useTLS {
		s.CACert = filepath.Join(dir, fmt.Sprintf("tls-%d", attempt), "vault-ca.pem")
	}
	if err := waitHTTP(s.Addr+"/v1/sys/health", s.proc, startTimeout); err != nil {
		s.proc.stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(s.logPath))
	}
	s.unsealKey = findUnsealKey(s.logPath)
	return s, nil
}

// Client returns a new API client for the server using the root token. It
// ignores VAULT_* environment variables.
func (s *Server) Client(t testing.TB) *api.Client {
	t.Helper()
	return s.ClientWithToken(t, s.RootToken)
}

// ClientWithToken returns a new API client for the server using token.
func (s *Server) ClientWithToken(t testing.TB, token string) *api.Client {
	t.Helper()
	c := NewClient(t, s.Addr, token)
	if s.CACert != "" {
		cfg := c.CloneConfig()
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: s.CACert}); err != nil {
			t.Fatalf("vaultenv: TLS client: %v", err)
		}
		var err error
		if c, err = api.NewClient(cfg); err != nil {
			t.Fatalf("vaultenv: TLS client: %v", err)
		}
		c.SetToken(token)
	}
	return c
}

// NewClient returns an API client for addr that ignores VAULT_* environment
// variables, does not retry and uses token (no token when empty).
func NewClient(t testing.TB, addr, token string) *api.Client {
	t.Helper()
	cfg := &api.Config{Address: addr, Timeout: 10 * time.Second, MaxRetries: 0}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("vaultenv: api client: %v", err)
	}
	c.SetMaxRetries(0)
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	return c
}

// LogTail returns the last lines of the server's log, for failure messages.
func (s *Server) LogTail() string { return tail(s.logPath) }

// Stop stops the server now (it is also stopped by t.Cleanup). A stopped
// server's address refuses connections.
func (s *Server) Stop() { s.proc.stop() }

// EnableKV mounts a KV secrets engine of the given version (1 or 2) at mount.
func (s *Server) EnableKV(t testing.TB, mount string, version int) {
	t.Helper()
	err := s.Client(t).Sys().MountWithContext(ctx(t), mount, &api.MountInput{
		Type:    "kv",
		Options: map[string]string{"version": fmt.Sprint(version)},
	})
	if err != nil {
		t.Fatalf("vaultenv: mount kv v%d at %s: %v", version, mount, err)
	}
}

// WriteSecret writes data at path in the KV mount of the given version. For
// KV version 1 a "ttl" entry in data becomes the read's lease_duration.
func (s *Server) WriteSecret(t testing.TB, mount string, version int, path string, data map[string]any) {
	t.Helper()
	c := s.Client(t)
	var err error
	switch version {
	case 1:
		err = c.KVv1(mount).Put(ctx(t), path, data)
	case 2:
		_, err = c.KVv2(mount).Put(ctx(t), path, data)
	default:
		err = fmt.Errorf("unknown kv version %d", version)
	}
	if err != nil {
		t.Fatalf("vaultenv: write %s/%s: %v", mount, path, err)
	}
}

// PutPolicy creates or replaces the ACL policy name with the given HCL.
func (s *Server) PutPolicy(t testing.TB, name, hcl string) {
	t.Helper()
	if err := s.Client(t).Sys().PutPolicyWithContext(ctx(t), name, hcl); err != nil {
		t.Fatalf("vaultenv: put policy %s: %v", name, err)
	}
}

// ReadPolicy returns a policy granting read on paths (Vault API paths such as
// "secret/data/hitron/*"). It is a convenience for PutPolicy.
func ReadPolicy(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "path %q {\n  capabilities = [\"read\"]\n}\n", p)
	}
	return b.String()
}

// TokenOptions describe a token created by CreateToken.
type TokenOptions struct {
	// Policies attached to the token; "default" is always added by Vault.
	Policies []string
	// TTL of the token, such as "1h" or "3s"; empty means the default TTL.
	TTL string
	// ExplicitMaxTTL caps renewals, such as "10s"; empty means no cap.
	ExplicitMaxTTL string
	// NotRenewable creates a token that cannot be renewed.
	NotRenewable bool
}

// CreateToken creates an orphan token and returns it.
func (s *Server) CreateToken(t testing.TB, o TokenOptions) string {
	t.Helper()
	renewable := !o.NotRenewable
	sec, err := s.Client(t).Auth().Token().CreateOrphanWithContext(ctx(t), &api.TokenCreateRequest{
		Policies:       o.Policies,
		TTL:            o.TTL,
		ExplicitMaxTTL: o.ExplicitMaxTTL,
		Renewable:      &renewable,
	})
	if err != nil || sec == nil || sec.Auth == nil {
		t.Fatalf("vaultenv: create token: %v", err)
	}
	return sec.Auth.ClientToken
}

// RevokeToken revokes token (and its children).
func (s *Server) RevokeToken(t testing.TB, token string) {
	t.Helper()
	if err := s.Client(t).Auth().Token().RevokeTreeWithContext(ctx(t), token); err != nil {
		t.Fatalf("vaultenv: revoke token: %v", err)
	}
}

// TokenTTL returns the remaining TTL of token as the server sees it.
func (s *Server) TokenTTL(t testing.TB, token string) time.Duration {
	t.Helper()
	sec, err := s.Client(t).Auth().Token().LookupWithContext(ctx(t), token)
	if err != nil {
		t.Fatalf("vaultenv: lookup token: %v", err)
	}
	ttl, err := sec.TokenTTL()
	if err != nil {
		t.Fatalf("vaultenv: token ttl: %v", err)
	}
	return ttl
}

// EnableAuth enables an auth method of type typ at mount (for example
// "approle" at "approle").
func (s *Server) EnableAuth(t testing.TB, mount, typ string) {
	t.Helper()
	err := s.Client(t).Sys().EnableAuthWithOptionsWithContext(ctx(t), mount, &api.EnableAuthOptions{Type: typ})
	if err != nil {
		t.Fatalf("vaultenv: enable auth %s at %s: %v", typ, mount, err)
	}
}

// AppRoleOptions describe a role created by AppRole.
type AppRoleOptions struct {
	// Mount is the AppRole auth mount; default "approle" (enabled on first use).
	Mount string
	// Policies attached to tokens of the role.
	Policies []string
	// TokenTTL and TokenMaxTTL such as "60s" and "10m"; empty for defaults.
	TokenTTL, TokenMaxTTL string
}

// AppRole creates (enabling the mount if needed) the AppRole role and returns
// its role_id and a fresh secret_id.
func (s *Server) AppRole(t testing.TB, role string, o AppRoleOptions) (roleID, secretID string) {
	t.Helper()
	if o.Mount == "" {
		o.Mount = "approle"
	}
	c := s.Client(t)
	auths, err := c.Sys().ListAuthWithContext(ctx(t))
	if err != nil {
		t.Fatalf("vaultenv: list auth: %v", err)
	}
	if _, ok := auths[o.Mount+"/"]; !ok {
		s.EnableAuth(t, o.Mount, "approle")
	}
	data := map[string]any{"token_policies": strings.Join(o.Policies, ",")}
	if o.TokenTTL != "" {
		data["token_ttl"] = o.TokenTTL
	}
	if o.TokenMaxTTL != "" {
		data["token_max_ttl"] = o.TokenMaxTTL
	}
	base := "auth/" + o.Mount + "/role/" + role
	if _, err := c.Logical().WriteWithContext(ctx(t), base, data); err != nil {
		t.Fatalf("vaultenv: write approle role %s: %v", role, err)
	}
	sec, err := c.Logical().ReadWithContext(ctx(t), base+"/role-id")
	if err != nil || sec == nil {
		t.Fatalf("vaultenv: read role-id: %v", err)
	}
	roleID, _ = sec.Data["role_id"].(string)
	return roleID, s.NewSecretID(t, o.Mount, role)
}

// NewSecretID generates a new secret_id for an AppRole role.
func (s *Server) NewSecretID(t testing.TB, mount, role string) string {
	t.Helper()
	sec, err := s.Client(t).Logical().WriteWithContext(ctx(t), "auth/"+mount+"/role/"+role+"/secret-id", nil)
	if err != nil || sec == nil {
		t.Fatalf("vaultenv: write secret-id: %v", err)
	}
	id, _ := sec.Data["secret_id"].(string)
	return id
}

// Seal seals the server; requests then fail with 503.
func (s *Server) Seal(t testing.TB) {
	t.Helper()
	if err := s.Client(t).Sys().SealWithContext(ctx(t)); err != nil {
		t.Fatalf("vaultenv: seal: %v", err)
	}
}

// Unseal unseals a sealed dev server with the unseal key it printed.
func (s *Server) Unseal(t testing.TB) {
	t.Helper()
	// The dev server prints its unseal key after it starts serving; on a
	// loaded machine the line can lag behind the health check.
	for deadline := time.Now().Add(10 * time.Second); s.unsealKey == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s.unsealKey = findUnsealKey(s.logPath)
	}
	if s.unsealKey == "" {
		t.Fatalf("vaultenv: no unseal key in the server log")
	}
	st, err := s.Client(t).Sys().UnsealWithContext(ctx(t), s.unsealKey)
	if err != nil || st.Sealed {
		t.Fatalf("vaultenv: unseal: %v", err)
	}
}

// WriteFile writes content to a new 0600 file named name in a fresh temporary
// directory and returns its path. Use it for token, role_id, secret_id and
// JWT files.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	return testkit.WriteFile(t, filepath.Join(t.TempDir(), name), content)
}

// RandomString returns n random bytes hex-encoded.
func RandomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ClosedAddr returns an http://127.0.0.1:PORT URL where nothing listens.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	p, err := testkit.FreePort()
	if err != nil {
		t.Fatalf("vaultenv: %v", err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", p)
}

// WaitFor polls cond every 50 ms until it returns true or timeout passes,
// then fails the test with msg.
func WaitFor(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vaultenv: timed out after %s waiting for %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

var unsealRE = regexp.MustCompile(`Unseal Key: (\S+)`)

func findUnsealKey(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	m := unsealRE.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// process is a child process whose output goes to a file.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProcess(t testing.TB, bin, dir, logPath, name string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// A minimal environment: no VAULT_* from the developer's shell, and HOME
	// in the temp dir so nothing touches ~/.vault-token.
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "VAULT_DISABLE_USER_LOCKOUT=true"}
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("vaultenv: %s log tail (%s):\n%s", name, logPath, tail(logPath))
		}
	})
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to 10 s, then SIGKILLs; it is idempotent.
func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(10 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitHTTP polls url until it answers any HTTP status (TLS is not verified:
// this only waits for the listener).
func waitHTTP(url string, p *process, timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // readiness poll on loopback only
	}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited early: %v", p.name, p.err)
		}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", p.name, timeout, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 40 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
