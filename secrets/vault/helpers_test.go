package vault

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// strictDecode decodes block like the exporter's config loader: YAML v3 with
// unknown fields rejected.
func strictDecode(block string) func(any) error {
	return func(into any) error {
		dec := yaml.NewDecoder(strings.NewReader(block))
		dec.KnownFields(true)
		return dec.Decode(into)
	}
}

// newProvider builds a provider from a YAML block and returns it with its
// captured logs. It is closed at the end of the test.
func newProvider(t *testing.T, block string) (*Provider, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := New(secrets.Options{Profile: "test", Decode: strictDecode(block), Logger: zap.New(core)})
	if err != nil {
		t.Fatalf("New(%q) = %v", block, err)
	}
	vp := p.(*Provider)
	t.Cleanup(func() { _ = vp.Close() })
	return vp, logs
}

// fetch locates and fetches target with a 10 s deadline.
func fetch(t *testing.T, p *Provider, target string) (secrets.Result, error) {
	t.Helper()
	loc, err := p.Locate(secrets.Request{Target: target, Host: target})
	if err != nil {
		return secrets.Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Fetch(ctx, loc)
}

// wantCreds fails unless res holds user and pass.
func wantCreds(t *testing.T, res secrets.Result, err error, user, pass string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Fetch: unexpected error %v (reason %s)", err, secrets.ReasonOf(err))
	}
	if res.Credentials.Username() != user || res.Credentials.Password() != pass {
		t.Fatalf("Fetch = %q/<%d chars>, want %q/<%d chars>", res.Credentials.Username(),
			len(res.Credentials.Password()), user, len(pass))
	}
}

// wantReason fails unless err has the reason.
func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Fetch succeeded, want error with reason %q", reason)
	}
	if got := secrets.ReasonOf(err); got != reason {
		t.Fatalf("reason = %q (err %v), want %q", got, err, reason)
	}
	t.Logf("error (reason %s): %v", reason, err)
}

// logText renders every captured log entry with its fields.
func logText(logs *observer.ObservedLogs) string {
	var b strings.Builder
	for _, e := range logs.All() {
		b.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			b.WriteString(" " + k + "=")
			b.WriteString(strings.ReplaceAll(strings.TrimSpace(toString(v)), "\n", " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func toString(v any) string { return fmt.Sprint(v) }
