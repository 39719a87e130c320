package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/vaultenv"
)

// dialectModem is one simulated modem of TestDialectsEndToEnd and how its
// targets: entry names its dialect.
type dialectModem struct {
	name string
	sim  modemsim.Config
	// entry is added to the target's entry (dialect, password field …).
	entry string
	// want is the dialect the probe must report.
	want string
	// open: the modem needs no credentials.
	open bool
}

// TestDialectsEndToEnd probes a modem of every login dialect through the
// binary, with the dialect detected (auto) and given: each answers
// probe_success 1 with channel, OFDM and provisioning metrics (and the rest
// dialect its event-log metrics). The open
// modems are probed first: a real Vault's audit log shows no read at all
// for them, and they receive no login request. The modems that log in
// receive the password only in their login request, over the pinned
// connection.
func TestDialectsEndToEnd(t *testing.T) {
	v := vaultenv.Start(t)
	audit := v.EnableFileAudit(t)
	v.WriteSecret(t, "secret", 2, "hitron/127.0.0.1", map[string]any{"username": "admin", "password": modemPassword})
	v.PutPolicy(t, "hitron-read", vaultenv.ReadPolicy("secret/data/hitron/*"))
	token := v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}})

	// CODA-45 pages (channels, OFDM, provisioning) served in every dialect.
	modems := []dialectModem{
		{"open, detected", modemsim.Config{Dialect: modemsim.DialectOpen, DataSet: "CODA-45"}, "", "open", true},
		{"open, given", modemsim.Config{Dialect: modemsim.DialectOpen, DataSet: "CODA-56"}, "    dialect: open\n", "open", true},
		{"open, given, plain HTTP", modemsim.Config{Dialect: modemsim.DialectOpen, DataSet: "CODA-56", PlainHTTP: true}, "    dialect: open\n    insecure_http: true\n", "open", true},
		{"cgn, detected", modemsim.Config{DataSet: "CODA-45"}, "", "cgn", false},
		{"cgn, given", modemsim.Config{DataSet: "CODA-45"}, "    dialect: cgn\n", "cgn", false},
		{"coda-userid, pws", modemsim.Config{Dialect: modemsim.DialectCODAUserID, DataSet: "CODA-45"}, "    dialect: coda-userid\n", "coda-userid", false},
		{"coda-userid, pwd", modemsim.Config{Dialect: modemsim.DialectCODAUserID, PasswordField: "pwd", DataSet: "CODA-45"},
			"    dialect: coda-userid\n    password_field: pwd\n", "coda-userid", false},
		// The REST family serves its own data set (CODA-4680).
		{"rest, detected", modemsim.Config{Dialect: modemsim.DialectREST}, "", "rest", false},
		{"rest, given", modemsim.Config{Dialect: modemsim.DialectREST}, "    dialect: rest\n", "rest", false},
	}
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `auths:
  default:
    vault:
      address: %s
      auth:
        method: token
        token_file: %s
      mount: secret
      kv_version: 2
      path: "hitron/{{ .Host }}"
targets:
`, v.Addr, testkit.WriteFile(t, filepath.Join(dir, "token"), token))
	sims := make([]*modemsim.Simulator, len(modems))
	targets := make([]string, len(modems))
	for i, m := range modems {
		m.sim.Password = modemPassword
		sims[i] = testkit.StartSim(t, m.sim)
		targets[i] = sims[i].Addr()
		if m.sim.PlainHTTP {
			targets[i] = sims[i].URL()
			fmt.Fprintf(&cfg, "  %q:\n%s", targets[i], m.entry)
			continue
		}
		fmt.Fprintf(&cfg, "  %q:\n    fingerprint: %q\n%s", targets[i], sims[i].Fingerprint().String(), m.entry)
	}
	e := startExporter(t, []string{modemPassword, token}, "--config.file="+testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), cfg.String()))

	probe := func(t *testing.T, i int) {
		t.Helper()
		m := modems[i]
		for round := 0; round < 2; round++ { // the second auto probe uses the remembered dialect
			_, body := e.fetch(t, "/probe?target="+targets[i], nil)
			for _, line := range []string{"probe_success 1", `hitron_modem_dialect_info{dialect="` + m.want + `"} 1`} {
				if !testkit.HasLine(body, line) {
					t.Fatalf("round %d: no %q in\n%s", round, line, body)
				}
			}
			families := []string{"hitron_downstream_power_dbmv{", "hitron_downstream_ofdm_snr_db{", "hitron_cm_init_step_success{"}
			if m.want == "rest" {
				// The REST data set's OFDM rows carry no SNR (as hitron_coda's
				// test body); locks, PLC power and the OFDMA channels they do.
				families = []string{"hitron_downstream_power_dbmv{", "hitron_downstream_ofdm_plc_power_dbmv{", "hitron_upstream_ofdma_power_dbmv{",
					"hitron_cm_init_step_success{", "hitron_upstream_power_dbmv{"}
			}
			for _, family := range families {
				if !strings.Contains(body, family) {
					t.Fatalf("round %d: no %s series in\n%s", round, family, body)
				}
			}
			if m.want == "rest" {
				// The event log: its entries, and counters that start at 0
				// (the first log is the baseline, the second has nothing new).
				for _, line := range []string{`hitron_event_log_entries{priority="critical"} 6`, "hitron_docsis_t3_timeouts_total 0",
					"hitron_docsis_t4_timeouts_total 0", `hitron_scrape_collector_success{collector="status_log"} 1`,
					// What only this family reports: CM/SysInfo's data rates (bits/s ÷ 8).
					`hitron_cm_data_rate_bytes_per_second{direction="downstream"} 1.3e+08`,
					`hitron_cm_data_rate_bytes_per_second{direction="upstream"} 3.9e+06`} {
					if !testkit.HasLine(body, line) {
						t.Fatalf("round %d: no %q in\n%s", round, line, body)
					}
				}
				if !strings.Contains(body, `hitron_event_log_last_event_timestamp_seconds{priority="critical"} `) {
					t.Fatalf("round %d: no last-event timestamp in\n%s", round, body)
				}
			}
			insecure := "hitron_tls_insecure 0"
			if m.sim.PlainHTTP {
				insecure = "hitron_tls_insecure 1"
			} else if !testkit.HasLine(body, "hitron_tls_pin_match 1") {
				t.Fatalf("round %d: the pin did not match:\n%s", round, body)
			}
			if !testkit.HasLine(body, insecure) {
				t.Fatalf("round %d: no %q in\n%s", round, insecure, body)
			}
			if m.open && !testkit.HasLine(body, `hitron_credential_source_info{profile="",source="none"} 1`) {
				t.Fatalf("round %d: an open target names a credential source:\n%s", round, body)
			}
		}
		st := sims[i].Stats()
		if st.PasswordElsewhere != 0 {
			t.Fatalf("the password reached the modem in %d requests other than a login", st.PasswordElsewhere)
		}
		if st.SessionActive {
			t.Fatal("the modem's session was left open")
		}
		if m.open {
			if st.LoginRequests != 0 || st.LoginAttempts != nil {
				t.Fatalf("an open modem received %d login requests", st.LoginRequests)
			}
			return
		}
		if st.LoginRequests != 2 || len(st.LoginAttempts) != 2 {
			t.Fatalf("%d login requests, want one per probe", st.LoginRequests)
		}
		for _, a := range st.LoginAttempts {
			if a.Password != modemPassword || a.Result != "success" {
				t.Fatalf("login attempt: result %q, the right password: %v", a.Result, a.Password == modemPassword)
			}
		}
	}

	// The open modems first: nothing has read the secret yet.
	for i, m := range modems {
		if m.open {
			t.Run(m.name, func(t *testing.T) { probe(t, i) })
		}
	}
	if reads := audit.Count(t, "read", "secret/data/hitron/127.0.0.1"); reads != 0 {
		t.Fatalf("probes of open modems made %d Vault reads, want none", reads)
	}
	for i, m := range modems {
		if !m.open {
			t.Run(m.name, func(t *testing.T) { probe(t, i) })
		}
	}
	// The audit log does record reads: the modems that log in caused one
	// (then served from the cache).
	if reads := audit.Count(t, "read", "secret/data/hitron/127.0.0.1"); reads != 1 {
		t.Fatalf("%d Vault reads for the modems that log in, want 1", reads)
	}
}
