package kdc

import (
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

func login(t *testing.T, k *KDC, princ, ktPath string) error {
	t.Helper()
	cfg, err := config.Load(k.Krb5Conf)
	if err != nil {
		t.Fatalf("load krb5.conf: %v", err)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatalf("load keytab: %v", err)
	}
	cl := client.NewWithKeytab(princ, k.Realm, kt, cfg, client.DisablePAFXFAST(true))
	defer cl.Destroy()
	if err := cl.Login(); err != nil {
		return err
	}
	_, _, err = cl.GetServiceTicket("HTTP/ipa.example.test")
	return err
}

func TestKDC(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		stop    bool
		wantErr string
	}{
		{name: "login and service ticket"},
		{name: "clock skew", opts: []Option{WithClockOffset(2 * time.Hour)}, wantErr: "KRB_AP_ERR_SKEW"},
		{name: "stopped KDC is unreachable", stop: true, wantErr: "Networking_Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			k := Start(t, tc.opts...)
			k.AddPrincipal(t, "HTTP/client.example.test")
			k.AddPrincipal(t, "HTTP/ipa.example.test", NoAuthDataRequired())
			kt := k.Keytab(t, "client.keytab", "HTTP/client.example.test")
			t.Logf("realm ready on %s in %v", k.Addr, time.Since(start))
			if tc.stop {
				k.Stop()
			}
			err := login(t, k, "HTTP/client.example.test", kt)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("login: %v\nKDC log: %s", err, k.Log())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("login error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestKeytabKeepsKeys(t *testing.T) {
	k := Start(t)
	k.AddPrincipal(t, "HTTP/client.example.test", MaxLife(30*time.Second))
	k.AddPrincipal(t, "HTTP/ipa.example.test")
	first := k.Keytab(t, "a.keytab", "HTTP/client.example.test")
	second := k.Keytab(t, "b.keytab", "HTTP/client.example.test")
	for _, p := range []string{first, second} {
		if err := login(t, k, "HTTP/client.example.test", p); err != nil {
			t.Fatalf("login with %s: %v", p, err)
		}
	}
	if out := k.Kadmin(t, "getprinc HTTP/client.example.test"); !strings.Contains(out, "Maximum ticket life: 0 days 00:00:30") {
		t.Fatalf("max life not applied: %s", out)
	}
}
