package exporter

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

type nopProvider struct{}

func (nopProvider) Kind() string                           { return "nop" }
func (nopProvider) Locate(secrets.Request) (string, error) { return "", nil }
func (nopProvider) Fetch(context.Context, string) (secrets.Result, error) {
	return secrets.Result{}, errors.New("unused")
}

// TestRunUsesTheGivenRegistry: Run checks a configuration against the kinds
// of the registry it is given, not the built-in ones.
func TestRunUsesTheGivenRegistry(t *testing.T) {
	reg := secrets.NewRegistry()
	reg.Register("nop", secrets.Kind{Local: true, New: func(secrets.Options) (secrets.Provider, error) { return nopProvider{}, nil }})
	dir := t.TempDir()
	write := func(name, body string) string { return testkit.WriteFile(t, filepath.Join(dir, name), body) }
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"its own kind", []string{"--config.check", "--config.file=" + write("nop.yml", "auths:\n  default:\n    nop: {}\n")}, 0},
		{"a built-in kind it was not given", []string{"--config.check", "--config.file=" + write("file.yml", "auths:\n  default:\n    file: {path: x}\n")}, 1},
		{"a bad flag", []string{"--no-such-flag"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Run(tt.args, reg); got != tt.want {
				t.Fatalf("Run(%q) = %d, want %d", tt.args, got, tt.want)
			}
		})
	}
}
