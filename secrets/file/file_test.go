package file

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
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

func TestFetch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.yml")
	testkit.WriteFile(t, path, "username: admin\npassword: hunter2\ntargets:\n  \"192.0.2.9\":\n    username: cusadmin\n    password: other\n")
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
	testkit.WriteFile(t, path, "username: admin\npassword: rotated\n")
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
				testkit.WriteFile(t, path, tt.body)
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
	testkit.WriteFile(t, path, "username: admin\npassword: hunter2\n")
	p, err := newProvider(t, path)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, path, string(bytes.Repeat([]byte("x"), maxFileBytes+10)))
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

func TestChangesAreSeen(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		want   string
	}{
		{"renamed over, as Vault Agent and kubelet write", func(t *testing.T, path string) {
			tmp := path + ".tmp"
			testkit.WriteFile(t, tmp, "username: admin\npassword: renamed\n")
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "renamed"},
		{"rewritten in place, same size, at once", func(t *testing.T, path string) {
			// Coarse time stamps may leave the metadata unchanged: the read
			// before was within the racy window, so it is not trusted.
			testkit.WriteFile(t, path, "username: admin\npassword: hunter3\n")
		}, "hunter3"},
		{"rewritten in place, same size, time stamp set back", func(t *testing.T, path string) {
			testkit.WriteFile(t, path, "username: admin\npassword: hunter4\n")
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}, "hunter4"},
		{"unchanged", func(*testing.T, string) {}, "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds.yml")
			testkit.WriteFile(t, path, "username: admin\npassword: hunter2\n")
			p, err := newProvider(t, path)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, path)
			res, err := p.Fetch(context.Background(), "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Credentials.Password(); got != tt.want {
				t.Errorf("password %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUnchangedFileIsNotReadAgain shows the metadata check at work: once a
// file's modification is older than the racy window, a look-up whose
// metadata matches serves the parsed content without reading the file.
func TestUnchangedFileIsNotReadAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.yml")
	testkit.WriteFile(t, path, "username: admin\npassword: hunter2\n")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	p, err := newProvider(t, path)
	if err != nil {
		t.Fatal(err)
	}
	// Same inode, size and time stamp, different bytes: only a read would
	// see them.
	testkit.WriteFile(t, path, "username: admin\npassword: XXXXXXX\n")
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	res, err := p.Fetch(context.Background(), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Credentials.Password(); got != "hunter2" {
		t.Errorf("password %q: the file was read again", got)
	}
	// Any change of size or time stamp is read.
	testkit.WriteFile(t, path, "username: admin\npassword: rotated-longer\n")
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Fetch(context.Background(), "192.0.2.1"); err != nil || res.Credentials.Password() != "rotated-longer" {
		t.Errorf("after a change of size: %v", err)
	}
}
