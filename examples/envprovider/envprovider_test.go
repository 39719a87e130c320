package envprovider

import (
	"context"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

func TestLocateAndFetch(t *testing.T) {
	env := map[string]string{
		"HITRON_USERNAME": "admin", "HITRON_PASSWORD": "default-pass",
		"HITRON_LAB_USERNAME": "cusadmin", "HITRON_LAB_PASSWORD": "lab-pass",
		"HITRON_EMPTY_USERNAME": "admin", "HITRON_EMPTY_PASSWORD": "",
	}
	p := &Provider{prefix: "HITRON", getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tests := []struct {
		name, site, wantUser, wantPass, wantReason string
	}{
		{name: "default", wantUser: "admin", wantPass: "default-pass"},
		{name: "site, any case", site: "lab", wantUser: "cusadmin", wantPass: "lab-pass"},
		{name: "unset site", site: "other", wantReason: secrets.ReasonNotFound},
		{name: "empty password", site: "empty", wantReason: secrets.ReasonNotFound},
		{name: "site outside the prefix", site: "../PATH", wantReason: secrets.ReasonConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := secrets.Request{Target: "192.0.2.1", Host: "192.0.2.1"}
			if tt.site != "" {
				req.Params = map[string]string{SiteParam: tt.site}
			}
			loc, err := p.Locate(req)
			var res secrets.Result
			if err == nil {
				res, err = p.Fetch(context.Background(), loc)
			}
			if tt.wantReason != "" {
				if got := secrets.ReasonOf(err); got != tt.wantReason {
					t.Fatalf("reason %q (%v), want %q", got, err, tt.wantReason)
				}
				if strings.Contains(err.Error(), "-pass") || strings.Contains(err.Error(), "admin") {
					t.Fatalf("the error shows a value: %v", err)
				}
				return
			}
			if err != nil || res.Credentials.Username() != tt.wantUser || res.Credentials.Password() != tt.wantPass {
				t.Fatalf("got %s/%v, want %s", res.Credentials.Username(), err, tt.wantUser)
			}
		})
	}
}

func TestNewRefusesABadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "lower", "HAS-DASH", "1ST"} {
		_, err := New(secrets.Options{Profile: "p", Decode: func(into any) error {
			into.(*Config).Prefix = prefix
			return nil
		}})
		if err == nil {
			t.Errorf("prefix %q accepted", prefix)
		}
	}
}
