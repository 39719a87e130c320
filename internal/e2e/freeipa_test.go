package e2e

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/ipaemu"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/kdc"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

const exporterPrincipal = "HTTP/hitron-exporter.example.test"

// freeIPASetup starts a real KDC, the IPA emulator (as "localhost", so no
// DNS is needed) and a modem whose credentials are archived in the vaults
// usr and pwd of service:host/127.0.0.1.
func freeIPASetup(t *testing.T, kdcOpts ...kdc.Option) (*modemsim.Simulator, *ipaemu.Server, string) {
	sim, emu, cfg, _ := freeIPASetupKDC(t, kdcOpts...)
	return sim, emu, cfg
}

// freeIPASetupKDC is freeIPASetup that also returns the KDC.
func freeIPASetupKDC(t *testing.T, kdcOpts ...kdc.Option) (*modemsim.Simulator, *ipaemu.Server, string, *kdc.KDC) {
	t.Helper()
	k := kdc.Start(t, kdcOpts...)
	k.AddPrincipal(t, exporterPrincipal)
	k.AddPrincipal(t, "HTTP/localhost")
	keytab := k.Keytab(t, "exporter.keytab", exporterPrincipal)
	emu := ipaemu.Start(t, "localhost", k.Realm, k.Keytab(t, "ipa-http.keytab", "HTTP/localhost"), ipaemu.Options{StrictReferer: true})
	member := k.Principal(exporterPrincipal)
	emu.ArchiveStandard("service:host/127.0.0.1", "usr", []byte("admin\n"), member)
	emu.ArchiveStandard("service:host/127.0.0.1", "pwd", []byte(modemPassword+"\n"), member)
	// The original exporter's explicit namespace form.
	emu.ArchiveStandard("service:host/cm-hitron.example.test", "usr", []byte("admin"), member)
	emu.ArchiveStandard("service:host/cm-hitron.example.test", "pwd", []byte(modemPassword), member)

	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	dir := t.TempDir()
	cfg := testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), `auths:
  corp:
    freeipa:
      server: `+emu.Server()+`
      ca_file: `+emu.CAFile+`
      keytab: `+keytab+`
      principal: `+exporterPrincipal+`
      krb5_conf: `+k.Krb5Conf+`
      vault_owner: "service:host/{{ .Host }}"
targets:
  "`+sim.Addr()+`":
    auth: corp
    fingerprint: "`+sim.Fingerprint().String()+`"
`)
	return sim, emu, cfg, k
}

func TestFreeIPAProfileEndToEnd(t *testing.T) {
	sim, emu, cfg := freeIPASetup(t)
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfg)
	probe := "/probe?target=" + sim.Addr()

	// 30 concurrent probes and a few more: one IPA round trip per owner.
	var wg sync.WaitGroup
	failed := make(chan string, 30)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, body := e.get(probe); !testkit.HasLine(body, "probe_success 1") {
				failed <- body
			}
		}()
	}
	wg.Wait()
	close(failed)
	for body := range failed {
		t.Fatalf("a probe failed:\n%s", body)
	}
	for i := 0; i < 3; i++ {
		if _, body := e.get(probe); !testkit.HasLine(body, "probe_success 1") {
			t.Fatalf("sequential probe:\n%s", body)
		}
	}
	if got := emu.Calls("vault_retrieve_internal"); got != 2 {
		t.Fatalf("vault_retrieve_internal called %d times, want 2 (usr and pwd, once per TTL)", got)
	}

	// The original exporter's ipa_vault_namespace parameter picks the owner.
	ns := "&ipa_vault_namespace=" + url.QueryEscape("service:host/cm-hitron.example.test")
	if _, body := e.get(probe + ns); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("ipa_vault_namespace:\n%s", body)
	}
	if got := emu.Calls("vault_retrieve_internal"); got != 4 {
		t.Fatalf("the namespace did not select another owner: %d retrievals", got)
	}
	if code, body := e.get(probe + "&ipa_vault_namespace=shared:x"); code != 400 || !strings.Contains(body, "cannot locate credentials") {
		t.Fatalf("bad namespace kind: %d\n%s", code, body)
	}
	_, metrics := e.get("/metrics")
	for _, want := range []string{"hitron_exporter_freeipa_tgt_expiry_timestamp_seconds{", `hitron_exporter_credential_fetches_total{profile="corp",provider="freeipa"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestFreeIPAFaults: broker failures give probe_success 0 with a precise
// provider reason and never reach the modem; recoverable ones (an expired
// IPA session answered 401, a KRA that refuses PKCS#1 v1.5 with 3001) are
// handled inside the provider and the probe succeeds.
func TestFreeIPAFaults(t *testing.T) {
	tests := []struct {
		name    string
		kdcOpts []kdc.Option
		setup   func(*ipaemu.Server, *kdc.KDC)
		reason  string // "" = the probe succeeds
		// expireAfterFirst: probe, end the IPA sessions, then probe another
		// vault owner (a cache miss) so that the server answers 401.
		expireAfterFirst bool
	}{
		{name: "not a member (4001)", setup: func(e *ipaemu.Server, _ *kdc.KDC) { e.Set(func(o *ipaemu.Options) { o.DenyMembership = true }) }, reason: "vault_not_found"},
		{name: "KRA absent (3000)", setup: func(e *ipaemu.Server, _ *kdc.KDC) { e.Set(func(o *ipaemu.Options) { o.KRADisabled = true }) }, reason: "kra_unavailable"},
		{name: "KDC down", setup: func(_ *ipaemu.Server, k *kdc.KDC) { k.Stop() }, reason: "kdc_unreachable"},
		{name: "clock skew", kdcOpts: []kdc.Option{kdc.WithClockOffset(2 * time.Hour)}, reason: "clock_skew"},
		{name: "IPA session expired (401)", expireAfterFirst: true},
		{name: "KRA refuses PKCS#1 v1.5 (3001)", setup: func(e *ipaemu.Server, _ *kdc.KDC) { e.Set(func(o *ipaemu.Options) { o.KRAOAEP = true }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, emu, cfg, k := freeIPASetupKDC(t, tt.kdcOpts...)
			if tt.setup != nil {
				tt.setup(emu, k)
			}
			e := startExporter(t, []string{modemPassword}, "--config.file="+cfg)
			code, body := e.get("/probe?target=" + sim.Addr())
			if tt.reason == "" {
				if code != 200 || !testkit.HasLine(body, "probe_success 1") {
					t.Fatalf("HTTP %d\n%s", code, body)
				}
				if tt.expireAfterFirst {
					emu.ExpireSessions()
					ns := "&ipa_vault_namespace=" + url.QueryEscape("service:host/cm-hitron.example.test")
					if _, body := e.get("/probe?target=" + sim.Addr() + ns); !testkit.HasLine(body, "probe_success 1") {
						t.Fatalf("after the IPA session expired:\n%s", body)
					}
				}
				return
			}
			if code != 200 || !testkit.HasLine(body, "probe_success 0") || !testkit.HasLine(body, `hitron_probe_failure_info{reason="credentials"} 1`) {
				t.Fatalf("HTTP %d\n%s", code, body)
			}
			_, metrics := e.get("/metrics")
			if !strings.Contains(metrics, `hitron_exporter_credential_fetch_errors_total{profile="corp",provider="freeipa",reason="`+tt.reason+`"}`) {
				t.Fatalf("/metrics lacks the %s reason:\n%s", tt.reason, grepLines(metrics, "fetch_errors"))
			}
			// The target's dialect is auto: its first probe asks the modem
			// its dialect (GET /) before it looks credentials up; nothing more.
			if st := sim.Stats(); st.Requests > 1 || st.LoginRequests != 0 || st.SessionActive {
				t.Fatalf("the modem received %d requests (%d logins) without credentials", st.Requests, st.LoginRequests)
			}
			if code, _ := e.get("/-/healthy"); code != 200 {
				t.Fatal("the exporter stopped serving")
			}
		})
	}
}

func grepLines(body, sub string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestFreeIPAWrongPasswordReachesTheModemOnce(t *testing.T) {
	sim, _, cfg := freeIPASetup(t)
	sim.SetPassword("the-modem-was-changed")
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfg)
	for i := 0; i < 4; i++ {
		if _, body := e.get("/probe?target=" + sim.Addr()); !testkit.HasLine(body, "probe_success 0") {
			t.Fatalf("probe %d:\n%s", i, body)
		}
	}
	if n := len(sim.Stats().LoginAttempts); n != 1 {
		t.Fatalf("the modem saw %d logins with the vault's stale password, want 1 per cache invalidation", n)
	}
}
