package freeipa

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/ipaemu"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/kdc"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// TestTGTRenewal gives the client a 3-second TGT and checks that the
// provider renews it in the background, before it expires and without any
// probe asking.
func TestTGTRenewal(t *testing.T) {
	e := newEnv(t, ipaemu.Options{}, withClientPrincipal(kdc.MaxLife(3*time.Second)))
	p := e.started(t)
	first := p.krb.expiry()
	if life := time.Until(first); life <= 0 || life > 4*time.Second {
		t.Fatalf("first TGT lives %v, want about 3s (MaxLife not applied?)", life)
	}
	deadline := time.Now().Add(8 * time.Second)
	for p.krb.expiry().Equal(first) {
		if time.Now().After(deadline) {
			t.Fatalf("TGT not renewed within 8s (expiry still %v)", first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	renewedAt := time.Now()
	if !renewedAt.Before(first) {
		t.Errorf("TGT renewed at %v, after it expired at %v", renewedAt, first)
	}
	if !p.krb.expiry().After(first) {
		t.Errorf("renewed TGT expires %v, not after %v", p.krb.expiry(), first)
	}
	if n := requests(t, p, "kdc_as_req"); n < 2 {
		t.Errorf("AS requests = %v, want >= 2", n)
	}
	if n := e.emu.Calls("login"); n != 0 {
		t.Errorf("renewal touched the IPA server (%d logins)", n)
	}
	got, err := fetch(t, p, modemHost)
	if err != nil {
		t.Fatalf("fetch after renewal: %v", err)
	}
	wantCreds(t, got, modemUser, modemPass)
	gauge := gatherValue(t, p, "hitron_exporter_freeipa_tgt_expiry_timestamp_seconds", "")
	if want := float64(p.krb.expiry().UnixNano()) / 1e9; gauge != want {
		t.Errorf("tgt expiry gauge = %v, want %v", gauge, want)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStartRetriesInBackground starts with the KDC down: Start reports
// the failure, and once the KDC is back the provider logs in by itself.
func TestStartRetriesInBackground(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	p, err := e.provider(t)
	if err != nil {
		t.Fatal(err)
	}
	e.kdc.Stop()
	if err := p.Start(context.Background()); reasonOf(err) != ReasonKDCUnreachable {
		t.Fatalf("Start = %v, want %s", err, ReasonKDCUnreachable)
	}
	e.kdc.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for p.krb.expiry().IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("no background login within 5s of the KDC coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := gatherValue(t, p, "hitron_exporter_freeipa_errors_total", ReasonKDCUnreachable); n < 1 {
		t.Errorf("errors_total{reason=kdc_unreachable} = %v, want >= 1", n)
	}
}

// TestMetrics checks the provider's collector after a fetch and a failure.
func TestMetrics(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	p := e.started(t)
	if _, err := fetch(t, p, modemHost); err != nil {
		t.Fatal(err)
	}
	if _, err := fetch(t, p, modemHost, NamespaceParam+"=user:nobody"); reasonOf(err) != ReasonVaultNotFound {
		t.Fatalf("fetch of a missing vault = %v", err)
	}
	if problems, err := testutil.CollectAndLint(p); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	for method, want := range map[string]float64{
		"kdc_as_req": 1, "kdc_tgs_req": 1, "login_kerberos": 1,
		"vault_show": 3, "vaultconfig_show": 1, "vault_retrieve_internal": 2,
	} {
		if got := requests(t, p, method); got != want {
			t.Errorf("requests_total{method=%q} = %v, want %v", method, got, want)
		}
	}
	if got := gatherValue(t, p, "hitron_exporter_freeipa_errors_total", ReasonVaultNotFound); got != 1 {
		t.Errorf("errors_total{reason=vault_not_found} = %v, want 1", got)
	}
	if got := gatherValue(t, p, "hitron_exporter_freeipa_tgt_expiry_timestamp_seconds", ""); got < float64(time.Now().Unix()) {
		t.Errorf("tgt expiry = %v, want a future timestamp", got)
	}
	if n := testutil.CollectAndCount(p, "hitron_exporter_freeipa_request_duration_seconds"); n != 6 {
		t.Errorf("latency histograms = %d, want 6 (one per method)", n)
	}
}

// gatherValue returns the value of metric name (with label reason when
// given) from the provider's collector.
func gatherValue(t *testing.T, p *Provider, name, reason string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestNoSecretsLeak runs successful and failing retrievals with debug
// logging and checks that no secret, cookie, ticket or key shows up in
// logs, errors, metrics or the printed provider.
func TestNoSecretsLeak(t *testing.T) {
	e := newEnv(t, ipaemu.Options{SessionTTL: 300 * time.Millisecond})
	if err := e.emu.ArchiveSymmetric("user:alice", "usr", []byte(aliceUser), vaultPass, e.member); err != nil {
		t.Fatal(err)
	}
	p := e.started(t, "vault_password_file: "+e.pwFile)
	var texts []string
	record := func(err error) {
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	for _, params := range [][]string{nil, {NamespaceParam + "=user:alice"}, {NamespaceParam + "=user:nobody"}} {
		creds, err := fetch(t, p, modemHost, params...)
		record(err)
		texts = append(texts, fmt.Sprintf("%v %+v %#v", creds, creds, creds))
	}
	time.Sleep(400 * time.Millisecond) // session expires: 401, re-login
	_, err := fetch(t, p, modemHost)
	record(err)
	wrong := testkit.WriteFile(t, filepath.Join(e.dir, "wrong"), "wrong password")
	p2 := e.started(t, "vault_password_file: "+wrong)
	_, err = fetch(t, p2, modemHost, NamespaceParam+"=user:alice")
	if reasonOf(err) != ReasonVaultPassword {
		t.Fatalf("wrong password: %v", err)
	}
	record(err)

	var metrics bytes.Buffer
	reg := prometheus.NewRegistry()
	reg.MustRegister(p)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&metrics, mf)
	}
	texts = append(texts, e.logText(), metrics.String(), fmt.Sprintf("%v %+v %#v %d %x", p, p, p, p, p))
	all := strings.Join(texts, "\n")

	forbidden := []string{modemUser, modemPass, aliceUser, vaultPass, "MagBearerToken", "Negotiate "}
	forbidden = append(forbidden, e.emu.SessionCookies()...)
	forbidden = append(forbidden, keytabKeys(t, e.keytab)...)
	forbidden = append(forbidden, keytabKeys(t, e.svcKT)...)
	if len(e.emu.SessionCookies()) < 2 {
		t.Fatalf("expected at least two sessions, got %d", len(e.emu.SessionCookies()))
	}
	for _, f := range forbidden {
		if f != "" && strings.Contains(all, f) {
			t.Errorf("secret %q leaked into logs, errors, metrics or printed values", f)
		}
	}
	if !strings.Contains(e.logText(), "Kerberos login succeeded") {
		t.Errorf("expected the login to be logged; logs:\n%s", e.logText())
	}
}

// keytabKeys returns each key in the keytab as hex and base64.
func keytabKeys(t *testing.T, path string) []string {
	t.Helper()
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range kt.Entries {
		v := en.Key.KeyValue
		out = append(out, hex.EncodeToString(v), base64.StdEncoding.EncodeToString(v), fmt.Sprint(v))
	}
	return out
}

// TestLocalhostServer uses the emulator under the name localhost, which
// resolves without a dialer hook, as the exporter's end-to-end tests do.
func TestLocalhostServer(t *testing.T) {
	k := kdc.Start(t)
	k.AddPrincipal(t, clientPrinc)
	k.AddPrincipal(t, "HTTP/localhost")
	clientKT := k.Keytab(t, "client.keytab", clientPrinc)
	emu := ipaemu.Start(t, "localhost", k.Realm, k.Keytab(t, "http.keytab", "HTTP/localhost"), ipaemu.Options{StrictReferer: true})
	emu.ArchiveStandard(modemOwner, "usr", []byte(modemUser), k.Principal(clientPrinc))
	emu.ArchiveStandard(modemOwner, "pwd", []byte(modemPass), k.Principal(clientPrinc))
	// Defaults from the environment: IPA_CONFDIR (default.conf names
	// "localhost" without a port, so server is set), KRB5_CONFIG and
	// KRB5_CLIENT_KTNAME; the principal is the keytab's first.
	env := map[string]string{
		"KRB5_CONFIG":        k.Krb5Conf,
		"KRB5_CLIENT_KTNAME": "FILE:" + clientKT,
		"IPA_CONFDIR":        strings.TrimSuffix(emu.CAFile, "/ca.crt"),
	}
	doc := "server: " + emu.Server() + "\n"
	p, err := newProvider(secrets.Options{Profile: "lh", Decode: decoder(doc)}, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := fetch(t, p, modemHost)
	if err != nil {
		t.Fatal(err)
	}
	wantCreds(t, got, modemUser, modemPass)
	if p.krb.principal != k.Principal(clientPrinc) {
		t.Errorf("principal = %s, want the keytab's first, %s", p.krb.principal, k.Principal(clientPrinc))
	}
}

// TestSHA2Realm logs in to a realm with only the SHA-2 AES enctypes
// (FreeIPA on RHEL 9) using a krb5.conf that lists no enctypes, which fails
// with gokrb5's defaults alone.
func TestSHA2Realm(t *testing.T) {
	e := newEnv(t, ipaemu.Options{}, withKDC(kdc.WithEnctypes("aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128")))
	conf, err := os.ReadFile(e.kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(conf), "\n") {
		if !strings.Contains(l, "enctypes") {
			kept = append(kept, l)
		}
	}
	plain := testkit.WriteFile(t, filepath.Join(e.dir, "krb5-no-enctypes.conf"), strings.Join(kept, "\n"))
	p := e.started(t, "krb5_conf: "+plain)
	got, err := fetch(t, p, modemHost)
	if err != nil {
		t.Fatalf("fetch: %v\nKDC log:\n%s", err, e.kdc.Log())
	}
	wantCreds(t, got, modemUser, modemPass)
}
