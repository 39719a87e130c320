package freeipa

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	yaml "go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/ipaemu"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/kdc"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// Test identities and secrets. The secrets are distinctive so that leak
// checks can search for them.
const (
	ipaFQDN      = "ipa.example.test"
	clientPrinc  = "HTTP/hitron-exporter.example.test"
	modemHost    = "cm-hitron.example.test"
	modemOwner   = "service:host/" + modemHost
	modemUser    = "modem-admin-7q"
	modemPass    = "S3cr3t-modem-pw!"
	vaultPass    = "correct horse battery"
	aliceUser    = "alice-modem-user"
	alicePass    = "alice-Pa55-word"
	otherUser    = "other-modem-user"
	otherPass    = "other-Pa55-word"
	otherService = "host/other.example.test"
)

// testEnv is a real KDC, the IPA emulator and the client keytab.
type testEnv struct {
	kdc      *kdc.KDC
	emu      *ipaemu.Server
	keytab   string // client keytab
	svcKT    string // HTTP/ipa keytab used by the emulator
	dir      string
	pwFile   string
	member   string // client principal with realm
	logs     *observer.ObservedLogs
	logger   *zap.Logger
	kdcOpts  []kdc.Option
	clientPO []kdc.PrincipalOption
}

type envOption func(*testEnv)

func withKDC(opts ...kdc.Option) envOption {
	return func(e *testEnv) { e.kdcOpts = append(e.kdcOpts, opts...) }
}

func withClientPrincipal(opts ...kdc.PrincipalOption) envOption {
	return func(e *testEnv) { e.clientPO = append(e.clientPO, opts...) }
}

// newEnv starts a KDC with the client and IPA service principals, an
// emulator with the modem's vaults, and a zap observer.
func newEnv(t *testing.T, emuOpts ipaemu.Options, opts ...envOption) *testEnv {
	t.Helper()
	e := &testEnv{dir: t.TempDir()}
	for _, o := range opts {
		o(e)
	}
	e.kdc = kdc.Start(t, e.kdcOpts...)
	e.kdc.AddPrincipal(t, clientPrinc, e.clientPO...)
	e.kdc.AddPrincipal(t, "HTTP/"+ipaFQDN)
	e.keytab = e.kdc.Keytab(t, "client.keytab", clientPrinc)
	e.svcKT = e.kdc.Keytab(t, "ipa-http.keytab", "HTTP/"+ipaFQDN)
	e.member = e.kdc.Principal(clientPrinc)
	e.emu = ipaemu.Start(t, ipaFQDN, e.kdc.Realm, e.svcKT, emuOpts)
	e.emu.ArchiveStandard(modemOwner, "usr", []byte(modemUser+"\n"), e.member)
	e.emu.ArchiveStandard(modemOwner, "pwd", []byte(modemPass+"\n"), e.member)
	e.emu.ArchiveStandard("user:alice", "usr", []byte(aliceUser), e.member)
	e.emu.ArchiveStandard("user:alice", "pwd", []byte(alicePass+"\r\n"), e.member)
	e.emu.ArchiveStandard("service:"+otherService, "usr", []byte(otherUser), e.member)
	e.emu.ArchiveStandard("service:"+otherService, "pwd", []byte(otherPass), e.member)
	e.pwFile = filepath.Join(e.dir, "vault-password")
	if err := os.WriteFile(e.pwFile, []byte(vaultPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e.logs, e.logger = logs, zap.New(core)
	return e
}

// config returns the provider YAML for this environment plus extra lines.
func (e *testEnv) config(extra ...string) string {
	lines := []string{
		"server: " + e.emu.Server(),
		"ca_file: " + e.emu.CAFile,
		"keytab: " + e.keytab,
		"principal: " + clientPrinc,
		"krb5_conf: " + e.kdc.Krb5Conf,
		`vault_owner: "service:host/{{ .Host }}"`,
		"username_vault: usr",
		"password_vault: pwd",
	}
	// Later keys replace earlier ones.
	for _, x := range extra {
		k, _, _ := strings.Cut(x, ":")
		replaced := false
		for i, l := range lines {
			if strings.HasPrefix(l, k+":") {
				lines[i], replaced = x, true
			}
		}
		if !replaced {
			lines = append(lines, x)
		}
	}
	var out []string
	for _, l := range lines {
		if !strings.HasSuffix(l, ": ") && !strings.HasSuffix(l, ":") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// decoder decodes YAML strictly, as the exporter's config loader does.
func decoder(doc string) func(any) error {
	return func(into any) error {
		d := yaml.NewDecoder(bytes.NewBufferString(doc))
		d.KnownFields(true)
		return d.Decode(into)
	}
}

// provider builds a provider over the emulator (dialled without DNS).
func (e *testEnv) provider(t *testing.T, extra ...string) (*Provider, error) {
	t.Helper()
	p, err := newProvider(secrets.Options{Profile: "corp", Decode: decoder(e.config(extra...)), Logger: e.logger},
		func(string) string { return "" }, e.emu.DialContext)
	if err == nil {
		t.Cleanup(func() { _ = p.Close() })
	}
	return p, err
}

// started builds and starts a provider, failing the test on error.
func (e *testEnv) started(t *testing.T, extra ...string) *Provider {
	t.Helper()
	p, err := e.provider(t, extra...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatalf("Start: %v\nKDC log:\n%s", err, e.kdc.Log())
	}
	return p
}

// fetch locates and fetches the credentials for target (with optional
// probe parameters as key=value).
func fetch(t *testing.T, p *Provider, target string, params ...string) (secrets.Credentials, error) {
	t.Helper()
	req := secrets.Request{Target: target, Host: target, Params: map[string]string{}}
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		req.Params[k] = v
	}
	loc, err := p.Locate(req)
	if err != nil {
		return secrets.Credentials{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := p.Fetch(ctx, loc)
	return res.Credentials, err
}

func wantCreds(t *testing.T, got secrets.Credentials, user, pass string) {
	t.Helper()
	if got.Username() != user || got.Password() != pass {
		t.Fatalf("credentials = %q/%q, want %q/%q", got.Username(), got.Password(), user, pass)
	}
}

func wantCalls(t *testing.T, emu *ipaemu.Server, want map[string]int) {
	t.Helper()
	got := emu.CallCounts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("emulator calls[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func reasonOf(err error) string {
	if err == nil {
		return "<nil>"
	}
	return secrets.ReasonOf(err)
}

// logText returns every observed log entry with its fields, as text.
func (e *testEnv) logText() string {
	var b strings.Builder
	for _, en := range e.logs.All() {
		fmt.Fprintf(&b, "%s %s", en.Level, en.Message)
		for k, v := range en.ContextMap() {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
		b.WriteString("\n")
	}
	return b.String()
}
