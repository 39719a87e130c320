package probe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/target"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// Request is what a /probe call asks for, already split into fields.
type Request struct {
	// Target as given in target= (with _port applied).
	Target string
	// Auth names a profile; "" means the target's or "default".
	Auth string
	// Fingerprint from the URL ("" when absent).
	Fingerprint string
	// Force sends forcelogoff=1.
	Force bool
	// URLCredentials are usr/pwd from the URL, only when the operator
	// allowed them; nil otherwise.
	URLCredentials *secrets.Credentials
	// Params are the probe parameters the registered provider kinds declare
	// (secrets.Kind.Params, such as ipa_vault_namespace).
	Params map[string]string
	// Timeout is the scrape's budget (header minus offset); 0 means none given.
	Timeout time.Duration
}

// DefaultTimeout is the probe budget when Prometheus sends no scrape timeout.
const DefaultTimeout = 30 * time.Second

// Plan is a checked, resolved probe.
type Plan struct {
	Target  target.Target
	Profile *Profile // nil with URL credentials
	Creds   *secrets.Credentials
	Pin     pin.Pin
	// PinConfigured is true when the pin comes from targets: (not the URL).
	PinConfigured bool
	// Configured is true for a target listed under targets: (its modem
	// always gets per-modem state, however full the table is).
	Configured bool
	Force      bool
	Datasets   []hitron.Dataset
	Address    string
	TLS        config.TLSConfig
	Location   *time.Location
	Timeout    time.Duration
	// Params are the request's probe parameters that the profile's kind
	// declares: what its provider sees.
	Params map[string]string
	// CredentialLocation is where the profile's provider finds the
	// credentials (secrets.Provider.Locate); "" with URL credentials.
	CredentialLocation string
	// Key identifies probes that may share one modem session and result.
	Key string
	// StateKey identifies the device (dial address) for serialisation.
	StateKey string
	// Dialect is the configured login dialect (hitron.DialectAuto unless
	// the target's entry names one); PasswordField the coda-userid field.
	Dialect       string
	PasswordField string
}

// NewPlan resolves and checks a request against a configuration snapshot.
// Every refusal happens here, before any secret is fetched: every error it
// returns is one (the HTTP answer is 400).
func NewPlan(s *Snapshot, r Request) (*Plan, error) {
	tgt, err := target.Parse(r.Target)
	if err != nil {
		return nil, fmt.Errorf("invalid target: %w", err)
	}
	// Matched canonically: https://, :443, case or a trailing dot do not
	// make a configured modem look unconfigured.
	tcfg := s.Config.Lookup(tgt.HostPort())
	p := &Plan{Target: tgt, Force: r.Force, Datasets: hitron.DefaultDatasets, Location: time.UTC,
		Dialect: hitron.DialectAuto}
	if tcfg == nil {
		// A modem configured under another name but dialled at this
		// address keeps its pin and its dialect.
		if other := s.Config.ByAddress(tgt.HostPort()); other != nil && other.Pin.IsSet() {
			p.Pin, p.PinConfigured, p.Configured = other.Pin, true, true
			if other.Dialect != "" {
				p.Dialect, p.PasswordField = other.Dialect, other.PasswordField
			}
		}
	}
	if tcfg != nil {
		p.Configured = true
		p.Pin, p.PinConfigured = tcfg.Pin, tcfg.Pin.IsSet()
		p.Force = p.Force || tcfg.Force
		p.Address = tcfg.Address
		p.TLS = tcfg.TLS
		if len(tcfg.Datasets) > 0 {
			p.Datasets = tcfg.Datasets
		}
		if tcfg.Location != nil {
			p.Location = tcfg.Location
		}
		if tcfg.Dialect != "" {
			p.Dialect = tcfg.Dialect
		}
		p.PasswordField = tcfg.PasswordField
	}
	if tgt.Insecure() {
		if tcfg == nil || !tcfg.InsecureHTTP {
			return nil, fmt.Errorf("target %q is plain HTTP: only targets listed under targets: with insecure_http: true may be", r.Target)
		}
		if r.Fingerprint != "" {
			return nil, fmt.Errorf("a plain-HTTP target presents no certificate: fingerprint= cannot be checked")
		}
	}
	if r.Fingerprint != "" {
		fp, err := pin.Parse(r.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("invalid fingerprint: %w", err)
		}
		if p.PinConfigured && !p.Pin.Matches(fp) {
			//lint:ignore ST1005 it ends with the configuration key targets:
			return nil, fmt.Errorf("fingerprint does not match the one configured for target %q under targets:", r.Target)
		}
		p.Pin = pin.Require(fp)
	}

	authName := r.Auth
	if authName == "" && tcfg != nil {
		authName = tcfg.Auth
	}
	switch {
	case !hitron.NeedsCredentials(p.Dialect):
		// The modem needs no credentials (dialect open): none are
		// resolved, located or sent, whatever the request or the target
		// names.
	case r.URLCredentials != nil:
		if r.Auth != "" {
			return nil, fmt.Errorf("give either auth= or usr/pwd, not both")
		}
		p.Creds = r.URLCredentials
	default:
		if authName == "" {
			authName = config.DefaultAuth
		}
		prof, ok := s.Profiles[authName]
		if !ok {
			if authName == config.DefaultAuth && r.Auth == "" {
				return nil, fmt.Errorf("no auth profile: pass auth=<profile> or define a profile named %q under auths: in the configuration", config.DefaultAuth)
			}
			return nil, fmt.Errorf("unknown auth profile %q", authName)
		}
		if prof.Auth.RequiresFingerprint(prof.Local) && tgt.Insecure() {
			return nil, fmt.Errorf("auth profile %q sends credentials only over pinned TLS; %q is plain HTTP "+
				"(set the target's dialect: open if the modem needs no login, or use a profile with require_fingerprint: false)", authName, r.Target)
		}
		if prof.Auth.RequiresFingerprint(prof.Local) && !p.PinConfigured {
			return nil, fmt.Errorf("auth profile %q sends credentials only to targets listed under targets: with a fingerprint; "+
				"%q has none configured (a fingerprint= parameter cannot stand in for it)", authName, r.Target)
		}
		if !prof.Auth.Allows(r.Target) {
			return nil, fmt.Errorf("auth profile %q is not allowed for target %q (allowed_targets)", authName, r.Target)
		}
		p.Profile = prof
		p.Params = prof.params(r.Params)
		loc, err := prof.Cache.Provider().Locate(secrets.Request{Target: r.Target, Host: tgt.Host, Params: p.Params})
		if err != nil {
			return nil, fmt.Errorf("auth profile %q cannot locate credentials for this probe: %w", authName, err)
		}
		p.CredentialLocation = loc
	}

	p.Timeout = DefaultTimeout
	if r.Timeout > 0 {
		p.Timeout = r.Timeout
	}
	if tcfg != nil && tcfg.Timeout > 0 && tcfg.Timeout < p.Timeout {
		p.Timeout = tcfg.Timeout
	}
	if p.Profile != nil && p.Profile.Auth.Timeout > 0 && p.Profile.Auth.Timeout < p.Timeout {
		p.Timeout = p.Profile.Auth.Timeout
	}

	p.StateKey = tgt.HostPort()
	if p.Address != "" {
		p.StateKey = p.Address
	}
	p.Key = p.key()
	return p, nil
}

// key is what two probes must share to share one modem session.
func (p *Plan) key() string {
	h := sha256.New()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	write(p.Target.Raw)
	write(p.Pin.Key())
	write(strconv.FormatBool(p.Force))
	write(p.Dialect + "\x00" + p.PasswordField)
	for _, d := range p.Datasets {
		write(string(d))
	}
	if p.Profile != nil {
		// The location, not the raw parameters: parameters a provider
		// ignores must not split (or multiply) probes.
		write("profile:" + p.Profile.Name)
		write(p.CredentialLocation)
	} else if p.Creds != nil {
		write("url:" + p.Creds.Username() + "\x00" + p.Creds.Password())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SourceName is the credential source for the info metric.
func (p *Plan) SourceName() (source, profile string) {
	switch {
	case p.Profile == nil && p.Creds == nil:
		return "none", ""
	case p.Profile == nil:
		return "url", ""
	}
	return p.Profile.Auth.Provider, p.Profile.Name
}
