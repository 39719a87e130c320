package probe

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/secrets"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
)

const fpA = "AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA"
const fpB = "BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB"

func snapshot(t *testing.T, yaml string) *Snapshot {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	reg := secrets.NewRegistry()
	reg.Register("local", secrets.Kind{Local: true, New: func(secrets.Options) (secrets.Provider, error) { return localProvider{}, nil }})
	reg.Register("broker", secrets.Kind{New: func(secrets.Options) (secrets.Provider, error) { return localProvider{}, nil }})
	s, err := Build(cfg, reg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// planCase is one request to NewPlan: the refusal it must get (a
// substring), or a check of the plan it must make.
type planCase struct {
	name    string
	req     Request
	wantErr string
	check   func(t *testing.T, p *Plan)
}

// runPlanCases plans each case against s.
func runPlanCases(t *testing.T, s *Snapshot, tests []planCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(s, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a refusal containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestNewPlan(t *testing.T) {
	s := snapshot(t, `
auths:
  default: {local: {}}
  corp: {broker: {}, timeout: 4s}
  strict: {local: {}, require_fingerprint: true}
  limited: {local: {}, allowed_targets: ["192.0.2.1"]}
targets:
  "192.0.2.1":
    auth: corp
    fingerprint: "`+fpA+`"
    timeout: 7s
    force: true
    address: "198.51.100.1:8443"
  "192.0.2.2":
    timeout: 2s
`)
	tests := []planCase{
		{"configured target uses its profile, pin, address and caps", Request{Target: "192.0.2.1", Timeout: 10 * time.Second}, "", func(t *testing.T, p *Plan) {
			if p.Profile.Name != "corp" || !p.PinConfigured || !p.Force || p.Address != "198.51.100.1:8443" || p.StateKey != "198.51.100.1:8443" {
				t.Fatalf("plan: %+v", p)
			}
			if p.Timeout != 4*time.Second {
				t.Fatalf("timeout %s, want the profile's 4s", p.Timeout)
			}
		}},
		{"scrape timeout capped by target", Request{Target: "192.0.2.2", Timeout: 10 * time.Second}, "", func(t *testing.T, p *Plan) {
			if p.Timeout != 2*time.Second || p.Profile.Name != "default" {
				t.Fatalf("plan: %+v", p)
			}
		}},
		{"no header: default budget", Request{Target: "192.0.2.9"}, "", func(t *testing.T, p *Plan) {
			if p.Timeout != DefaultTimeout || p.Pin.IsSet() || p.Target.Port != 443 {
				t.Fatalf("plan: %+v", p)
			}
		}},
		{"URL pin on an unconfigured target with a local profile", Request{Target: "192.0.2.9", Fingerprint: fpB}, "", func(t *testing.T, p *Plan) {
			want, _ := pin.Parse(fpB)
			if !p.Pin.Matches(want) || p.PinConfigured {
				t.Fatalf("pin: %+v", p)
			}
		}},
		{"datasets default", Request{Target: "192.0.2.9"}, "", func(t *testing.T, p *Plan) {
			if len(p.Datasets) != len(hitron.DefaultDatasets) {
				t.Fatal("datasets")
			}
		}},
		{"broker profile on an unpinned target", Request{Target: "192.0.2.9", Auth: "corp", Fingerprint: fpA}, "cannot stand in for it", nil},
		{"local profile requiring a pin", Request{Target: "192.0.2.9", Auth: "strict"}, "targets: with a fingerprint", nil},
		{"allowed_targets", Request{Target: "192.0.2.9", Auth: "limited"}, "allowed_targets", nil},
		{"contradicting pin", Request{Target: "192.0.2.1", Fingerprint: fpB}, "does not match", nil},
		{"unknown profile", Request{Target: "192.0.2.1", Auth: "nope"}, `unknown auth profile "nope"`, nil},
		{"bad target", Request{Target: "ftp://192.0.2.1"}, "invalid target", nil},
		{"plain HTTP target not configured", Request{Target: "http://192.0.2.1"}, "insecure_http: true", nil},
		{"auth and URL credentials", Request{Target: "192.0.2.9", Auth: "default", URLCredentials: ptr(secrets.NewCredentials("a", "b"))}, "not both", nil},
	}
	runPlanCases(t, s, tests)
	empty := snapshot(t, "")
	if _, err := NewPlan(empty, Request{Target: "192.0.2.9"}); err == nil || !strings.Contains(err.Error(), "no auth profile") {
		t.Fatalf("no default profile: %v", err)
	}
}

// TestNewPlanDialects: an open target needs and resolves no credentials;
// a plain-HTTP target is probed only where insecure_http allows it, and
// never with a profile that requires a fingerprint.
func TestNewPlanDialects(t *testing.T) {
	s := snapshot(t, `
auths:
  default: {broker: {}}
  home: {local: {}}
targets:
  "192.0.2.10":
    dialect: open
  "http://192.0.2.11":
    insecure_http: true
    dialect: open
  "http://192.0.2.12":
    insecure_http: true
    dialect: coda-userid
    password_field: pwd
    auth: home
  "http://192.0.2.13":
    insecure_http: true
    dialect: cgn
  "192.0.2.14":
    dialect: coda-userid
    fingerprint: "`+fpA+`"
  "cm15.example.net":
    address: 192.0.2.15
    dialect: open
    fingerprint: "`+fpA+`"
`)
	tests := []planCase{
		{"open: no profile, no credentials, even with some in the URL",
			Request{Target: "192.0.2.10", URLCredentials: ptr(secrets.NewCredentials("admin", "hunter2"))}, "", func(t *testing.T, p *Plan) {
				if p.Profile != nil || p.Creds != nil || p.CredentialLocation != "" || p.Dialect != hitron.DialectOpen {
					t.Fatalf("plan: %+v", p)
				}
				if src, _ := p.SourceName(); src != "none" {
					t.Fatalf("source %q", src)
				}
			}},
		{"open over plain HTTP", Request{Target: "http://192.0.2.11"}, "", func(t *testing.T, p *Plan) {
			if !p.Target.Insecure() || p.Target.URL().String() != "http://192.0.2.11:80" || p.Profile != nil {
				t.Fatalf("plan: %+v", p)
			}
		}},
		{"coda-userid over plain HTTP with a local profile", Request{Target: "http://192.0.2.12"}, "", func(t *testing.T, p *Plan) {
			if p.Profile == nil || p.Profile.Name != "home" || p.PasswordField != "pwd" || p.Dialect != hitron.DialectCODAUserID {
				t.Fatalf("plan: %+v", p)
			}
		}},
		{"cgn over plain HTTP with a broker profile", Request{Target: "http://192.0.2.13"}, "sends credentials only over pinned TLS", nil},
		{"plain HTTP with a fingerprint parameter", Request{Target: "http://192.0.2.11", Fingerprint: fpA}, "cannot be checked", nil},
		{"https spelling of an http-only entry is another modem", Request{Target: "192.0.2.11:80", Auth: "home"}, "", func(t *testing.T, p *Plan) {
			if p.Target.Insecure() {
				t.Fatal("an https target became plain HTTP")
			}
		}},
		{"coda-userid over TLS with a broker profile", Request{Target: "192.0.2.14"}, "", func(t *testing.T, p *Plan) {
			if p.Profile.Name != "default" || p.Dialect != hitron.DialectCODAUserID || p.PasswordField != "" {
				t.Fatalf("plan: %+v", p)
			}
		}},
		{"the address of an open target keeps its dialect", Request{Target: "192.0.2.15"}, "", func(t *testing.T, p *Plan) {
			if p.Dialect != hitron.DialectOpen || p.Profile != nil || !p.PinConfigured {
				t.Fatalf("plan: dialect %q, profile %v, pinned %v", p.Dialect, p.Profile, p.PinConfigured)
			}
		}},
		{"unconfigured target is auto", Request{Target: "192.0.2.99", Auth: "home"}, "", func(t *testing.T, p *Plan) {
			if p.Dialect != hitron.DialectAuto {
				t.Fatalf("dialect %q", p.Dialect)
			}
		}},
	}
	runPlanCases(t, s, tests)
}

func TestPlanKeySeparatesCredentials(t *testing.T) {
	s := snapshot(t, "auths:\n  default: {local: {}}\n")
	a, _ := NewPlan(s, Request{Target: "x.example"})
	b, _ := NewPlan(s, Request{Target: "x.example"})
	c, _ := NewPlan(s, Request{Target: "x.example", Force: true})
	if a.Key != b.Key || a.Key == c.Key {
		t.Fatal("plan keys do not group identical probes only")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", pin.ErrMismatch), ReasonPinMismatch},
		{hitron.ErrBadCredentials, ReasonBadCredentials},
		{hitron.ErrSessionBusy, ReasonSessionBusy},
		{&hitron.LockedOutError{Failures: 5}, ReasonLockedOut},
		{fmt.Errorf("dsinfo: %w", hitron.ErrNotLoggedIn), ReasonNotLoggedIn},
		{&hitron.StatusError{Code: 500}, ReasonHTTPStatus},
		{fmt.Errorf("%w: junk", hitron.ErrBadResponse), ReasonBadResponse},
		{hitron.ErrTooLarge, ReasonTooLarge},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, ReasonConnect},
		{errors.New("remote error: tls: handshake failure"), ReasonTLS},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestSnapshotRetireAndAcquire: a retired snapshot is never acquired; one
// acquired before it was retired keeps its providers until released.
func TestSnapshotRetireAndAcquire(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials.yml")
	if err := os.WriteFile(creds, []byte("username: a\npassword: b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("auths:\n  default:\n    file:\n      path: " + creds + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	build := func(t *testing.T) *Snapshot {
		reg := secrets.NewRegistry()
		reg.Register("file", file.Kind())
		s, err := Build(cfg, reg, nil, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s *Snapshot)
	}{
		{"retired first", func(t *testing.T, s *Snapshot) {
			s.Retire()
			if s.Acquire() {
				t.Fatal("Acquire succeeded on a retired snapshot")
			}
		}},
		{"acquired first", func(t *testing.T, s *Snapshot) {
			if !s.Acquire() {
				t.Fatal("Acquire failed on a current snapshot")
			}
			s.Retire()
			if s.isClosed() {
				t.Fatal("providers closed under a probe")
			}
			s.Release()
			if !s.isClosed() {
				t.Fatal("providers not closed after the last probe")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, build(t)) })
	}
}

// isClosed reports whether Close has run.
func (s *Snapshot) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
