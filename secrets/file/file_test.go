package file

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

func newProvider(t *testing.T, path string) (secrets.Provider, error) {
	t.Helper()
	node := yaml.Node{}
	if err := yaml.Unmarshal([]byte("path: "+path), &node); err != nil {
		t.Fatal(err)
	}
	return New(secrets.Options{Profile: "lab", Decode: func(into any) error { return node.Decode(into) }})
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFetch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.yml")
	write(t, path, "username: admin\npassword: hunter2\ntargets:\n  \"192.0.2.9\":\n    username: cusadmin\n    password: other\n")
	p, err := newProvider(t, path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ target, user, pass string }{
		{"192.0.2.1", "admin", "hunter2"},
		{"192.0.2.9", "cusadmin", "other"},
		{"https://192.0.2.9:443/", "cusadmin", "other"},
		{"192.0.2.9:8443", "admin", "hunter2"},
	}
	for _, tt := range tests {
		loc, err := p.Locate(secrets.Request{Target: tt.target})
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Fetch(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		if res.Credentials.Username() != tt.user || res.Credentials.Password() != tt.pass {
			t.Errorf("%s: got %s/%s", tt.target, res.Credentials.Username(), res.Credentials.Password())
		}
	}
	// A rotation is seen without a restart.
	write(t, path, "username: admin\npassword: rotated\n")
	res, err := p.Fetch(context.Background(), "192.0.2.1")
	if err != nil || res.Credentials.Password() != "rotated" {
		t.Fatalf("after rotation: %v", err)
	}
}

func TestErrorsNeverShowContents(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, reason string
	}{
		{"malformed", "username: admin\npassword: [hunter2-secret\n", secrets.ReasonInvalid},
		{"unknown field", "username: admin\npasswort: hunter2-secret\n", secrets.ReasonInvalid},
		{"half entry", "username: admin\n", secrets.ReasonInvalid},
		{"target half", "targets:\n  a:\n    password: hunter2-secret\n", secrets.ReasonInvalid},
		{"empty", "", secrets.ReasonInvalid},
		{"missing", "", secrets.ReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if tt.name != "missing" {
				write(t, path, tt.body)
			}
			_, err := newProvider(t, path)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the file's contents: %v", err)
			}
			if got := secrets.ReasonOf(err); got != tt.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tt.reason, err)
			}
		})
	}
}

func TestBrokenLaterIsAnErrorNotAPanic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.yml")
	write(t, path, "username: admin\npassword: hunter2\n")
	p, err := newProvider(t, path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, string(bytes.Repeat([]byte("x"), maxFileBytes+10)))
	if _, err := p.Fetch(context.Background(), "t"); err == nil {
		t.Fatal("oversized file accepted")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = p.Fetch(context.Background(), "t")
	var se *secrets.Error
	if !errors.As(err, &se) || se.Reason != secrets.ReasonNotFound {
		t.Fatalf("removed file: %v", err)
	}
}
