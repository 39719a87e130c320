package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	build := func(Options) (Provider, error) { return nil, errors.New("unused") }
	r := NewRegistry()
	r.Register("vault", Kind{New: build})
	r.Register("freeipa", Kind{New: build, Params: []string{"ipa_vault_namespace"}})
	r.Register("env", Kind{New: build, Local: true, Params: []string{"x_site", "ipa_vault_namespace"}})
	if got := r.Names(); !slices.Equal(got, []string{"env", "freeipa", "vault"}) {
		t.Fatalf("Names: %v", got)
	}
	if got := r.Params(); !slices.Equal(got, []string{"ipa_vault_namespace", "x_site"}) {
		t.Fatalf("Params: %v", got)
	}
	if k, ok := r.Lookup("env"); !ok || !k.Local {
		t.Fatalf("Lookup: %+v %v", k, ok)
	}
	if _, ok := r.Lookup("file"); ok {
		t.Fatal("Lookup found a kind never registered")
	}
	for _, bad := range []struct {
		name string
		kind Kind
	}{{"vault", Kind{New: build}}, {"", Kind{New: build}}, {"nofactory", Kind{}}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, %+v) did not panic", bad.name, bad.kind)
				}
			}()
			r.Register(bad.name, bad.kind)
		}()
	}
}

func TestReasonOf(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{Errorf(ReasonNotFound, "no secret at %s", "x"), ReasonNotFound},
		{fmt.Errorf("profile lab: %w", Errorf(ReasonPermissionDenied, "denied")), ReasonPermissionDenied},
		{fmt.Errorf("fetch: %w", context.DeadlineExceeded), ReasonTimeout},
		{errors.New("plain"), ReasonUnknown},
		{&Error{Err: errors.New("no reason")}, ReasonUnknown},
	}
	for _, tt := range tests {
		if got := ReasonOf(tt.err); got != tt.want {
			t.Errorf("ReasonOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
