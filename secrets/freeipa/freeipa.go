// Package freeipa is a secrets provider that reads a modem's username and
// password from FreeIPA vaults, as `ipa vault-retrieve` does, in pure Go.
//
// The exporter logs in to Kerberos from a keytab (renewing its ticket in the
// background), authenticates to the IPA server with SPNEGO, keeps the
// ipa_session cookie, and calls the JSON-RPC commands vault_show,
// vaultconfig_show and vault_retrieve_internal. The vault data is carried
// under a fresh session key wrapped with the KRA's transport certificate
// (AES-128-CBC, or 3DES for servers older than 4.9.9; RSA PKCS#1 v1.5, or
// RSA-OAEP when the KRA asks for it). Standard and symmetric (password)
// vaults are supported.
//
// A probe's vault owner is service:PRINCIPAL or user:NAME: the
// ipa_vault_namespace probe parameter when given, else the vault_owner
// template rendered over the target.
package freeipa

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// KindName is the name the provider is registered under in `auths:`.
const KindName = "freeipa"

// NamespaceParam is the probe parameter that selects the vault owner, as in
// the original exporter: service:<principal> or user:<name>.
const NamespaceParam = "ipa_vault_namespace"

// Kind returns the FreeIPA provider kind for a secrets.Registry.
// It declares NamespaceParam, so the exporter passes that probe parameter
// on to Locate.
func Kind() secrets.Kind {
	return secrets.Kind{New: New, Local: false, Params: []string{NamespaceParam}}
}

// Provider reads credentials from FreeIPA vaults. Build it with New.
type Provider struct {
	profile string
	s       *settings
	logger  *zap.Logger
	m       *metrics
	krb     *kerberos
	ipa     *ipaClient

	kraMu   sync.Mutex
	kra     *kraConfig
	oaep    bool // the KRA refused PKCS#1 v1.5 before: start with OAEP
	legacy  bool // the server refused wrapping_algo: use 3DES without it
	startMu sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
}

var (
	_ secrets.Provider  = (*Provider)(nil)
	_ secrets.Starter   = (*Provider)(nil)
	_ secrets.Closer    = (*Provider)(nil)
	_ secrets.Collector = (*Provider)(nil)
)

// New builds a provider from the profile's `freeipa:` block. It checks the
// configuration and reads local files only (keytab, CA file, krb5.conf,
// default.conf, vault password file): no network I/O.
func New(opts secrets.Options) (secrets.Provider, error) {
	return newProvider(opts, os.Getenv, nil)
}

func newProvider(opts secrets.Options, getenv func(string) string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*Provider, error) {
	var c Config
	if opts.Decode != nil {
		if err := opts.Decode(&c); err != nil {
			return nil, secrets.Errorf(secrets.ReasonConfig, "freeipa: %v", err)
		}
	}
	s, err := resolve(c, getenv)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	p := &Provider{profile: opts.Profile, s: s, logger: logger}
	p.m = newMetrics(opts.Profile, func() time.Time { return p.krb.expiry() })
	p.krb = newKerberos(s, logger, p.m)
	p.ipa = newIPAClient(s, p.krb, p.m, logger, dial)
	return p, nil
}

// Kind implements secrets.Provider.
func (p *Provider) Kind() string { return KindName }

// Start implements secrets.Starter: it logs in to Kerberos and starts the
// background TGT renewal. When the first login fails, Start returns its
// error but the provider keeps retrying in the background, and Fetch logs
// in on demand, so a caller may treat the error as a warning.
func (p *Provider) Start(ctx context.Context) error {
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.cancel != nil {
		return nil
	}
	_, err := p.krb.login(ctx)
	if err != nil {
		p.countErr(err)
	}
	bg, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		p.krb.run(bg, p.countErr)
	}()
	return err
}

// Close implements secrets.Closer: it stops the TGT renewal, closes idle
// connections and drops the TGT and the IPA session from memory.
func (p *Provider) Close() error {
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
	p.ipa.hc.CloseIdleConnections()
	p.ipa.forget()
	p.krb.forget()
	return nil
}

// String describes the provider without any of its state (keys, tickets,
// session), so that printing it cannot leak secrets.
func (p *Provider) String() string {
	return fmt.Sprintf("freeipa provider %q (server %s, principal %s)", p.profile, p.s.fqdn, p.krb.principal)
}

// GoString implements fmt.GoStringer like String.
func (p *Provider) GoString() string { return p.String() }

// Format implements fmt.Formatter: every verb prints String.
func (p *Provider) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.String()) }

// Describe implements prometheus.Collector.
func (p *Provider) Describe(ch chan<- *prometheus.Desc) { p.m.Describe(ch) }

// Collect implements prometheus.Collector.
func (p *Provider) Collect(ch chan<- prometheus.Metric) { p.m.Collect(ch) }

// owner is a vault container: service:PRINCIPAL or user:NAME.
type owner struct {
	kind string // "service" or "user"
	name string
}

func (o owner) String() string { return o.kind + ":" + o.name }

// options returns the JSON-RPC options that select the container.
func (o owner) options() map[string]any {
	if o.kind == "user" {
		return map[string]any{"username": o.name}
	}
	return map[string]any{"service": o.name}
}

func parseOwner(s string) (owner, error) {
	kind, name, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || (kind != "service" && kind != "user") {
		return owner{}, fmt.Errorf("%q is not service:<principal> or user:<name>", s)
	}
	if name == "" {
		return owner{}, fmt.Errorf("%q names no %s", s, kind)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_/@$", r)
		if !ok {
			return owner{}, fmt.Errorf("%q: invalid character %q in the %s name", s, r, kind)
		}
	}
	if kind == "user" && strings.ContainsAny(name, "/@") {
		return owner{}, fmt.Errorf("%q: a user name has no / or @", s)
	}
	if len(name) > 255 {
		return owner{}, fmt.Errorf("%s name is too long", kind)
	}
	return owner{kind: kind, name: name}, nil
}

func renderOwner(t *template.Template, req secrets.Request) (owner, error) {
	var b strings.Builder
	if err := t.Execute(&b, struct{ Target, Host string }{req.Target, req.Host}); err != nil {
		return owner{}, err
	}
	return parseOwner(b.String())
}

// Locate implements secrets.Provider: the location is the vault owner,
// e.g. service:host/cm.example.com. The ipa_vault_namespace parameter wins
// over the vault_owner template.
func (p *Provider) Locate(req secrets.Request) (string, error) {
	if ns, ok := req.Params[NamespaceParam]; ok {
		o, err := parseOwner(ns)
		if err != nil {
			return "", secrets.Errorf(secrets.ReasonConfig, "freeipa: probe parameter %s: %v", NamespaceParam, err)
		}
		return o.String(), nil
	}
	o, err := renderOwner(p.s.owner, req)
	if err != nil {
		return "", secrets.Errorf(secrets.ReasonConfig, "freeipa: vault_owner for target %q: %v", req.Target, err)
	}
	return o.String(), nil
}

// Fetch implements secrets.Provider: it retrieves the username and password
// vaults of the owner at location, and trims trailing CR/LF from both.
func (p *Provider) Fetch(ctx context.Context, location string) (secrets.Result, error) {
	res, err := p.fetch(ctx, location)
	if err != nil {
		p.countErr(err)
		p.logger.Debug("FreeIPA vault retrieval failed", zap.String("owner", location),
			zap.String("reason", secrets.ReasonOf(err)), zap.Error(err))
	}
	return res, err
}

func (p *Provider) fetch(ctx context.Context, location string) (secrets.Result, error) {
	o, err := parseOwner(location)
	if err != nil {
		return secrets.Result{}, secrets.Errorf(secrets.ReasonConfig, "freeipa: location: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.s.cfg.Timeout)
	defer cancel()
	user, err := p.retrieve(ctx, o, p.s.cfg.UsernameVault)
	if err != nil {
		return secrets.Result{}, err
	}
	pass, err := p.retrieve(ctx, o, p.s.cfg.PasswordVault)
	if err != nil {
		return secrets.Result{}, err
	}
	u, pw := strings.TrimRight(string(user), "\r\n"), strings.TrimRight(string(pass), "\r\n")
	for name, v := range map[string]string{p.s.cfg.UsernameVault: u, p.s.cfg.PasswordVault: pw} {
		if v == "" {
			return secrets.Result{}, secrets.Errorf(secrets.ReasonInvalid,
				"freeipa: vault %q of %s is empty: archive the secret with ipa vault-archive", name, o)
		}
	}
	p.logger.Debug("FreeIPA vaults retrieved", zap.String("owner", o.String()))
	return secrets.Result{Credentials: secrets.NewCredentials(u, pw)}, nil
}

func (p *Provider) countErr(err error) {
	p.m.errors.WithLabelValues(secrets.ReasonOf(err)).Inc()
}

// vaultInfo is the part of vault_show's answer the client needs.
type vaultInfo struct {
	Type []string   `json:"ipavaulttype"`
	Salt []ipaBytes `json:"ipavaultsalt"`
}

// kraConfigFor returns the cached KRA configuration, asking the server
// (vaultconfig_show) when there is none or refresh is set.
func (p *Provider) kraConfigFor(ctx context.Context, refresh bool) (*kraConfig, bool, bool, error) {
	p.kraMu.Lock()
	kc, oaep, legacy := p.kra, p.oaep, p.legacy
	p.kraMu.Unlock()
	if kc != nil && !refresh {
		return kc, oaep, legacy, nil
	}
	var res struct {
		Cert      ipaBytes `json:"transport_cert"`
		Default   strList  `json:"wrapping_default_algorithm"`
		Supported strList  `json:"wrapping_supported_algorithms"`
	}
	if err := p.ipa.call(ctx, "vaultconfig_show", []any{}, nil, &res); err != nil {
		return nil, false, false, p.mapRPC(err, "vaultconfig_show", "", owner{})
	}
	kc, err := parseKRAConfig(res.Cert, res.Default, res.Supported)
	if err != nil {
		return nil, false, false, secrets.Errorf(ReasonIPA, "freeipa: vaultconfig_show: %v", err)
	}
	p.kraMu.Lock()
	p.kra = kc
	p.kraMu.Unlock()
	return kc, oaep, legacy, nil
}

// retrieve reads one vault: vault_show (type, salt), then
// vault_retrieve_internal with a fresh wrapped session key, following the
// reference's retry rules (§4.7).
func (p *Provider) retrieve(ctx context.Context, o owner, name string) ([]byte, error) {
	var info vaultInfo
	if err := p.ipa.call(ctx, "vault_show", []any{name}, o.options(), &info); err != nil {
		return nil, p.mapRPC(err, "vault_show", name, o)
	}
	vtype := "standard"
	if len(info.Type) > 0 {
		vtype = info.Type[0]
	}
	var password string
	switch vtype {
	case "standard":
	case "symmetric":
		if p.s.cfg.VaultPasswordFile == "" {
			return nil, secrets.Errorf(ReasonWrongVaultType, "freeipa: vault %q of %s is symmetric: set vault_password_file", name, o)
		}
		if len(info.Salt) == 0 {
			return nil, secrets.Errorf(ReasonIPA, "freeipa: symmetric vault %q of %s has no salt", name, o)
		}
		pw, err := readVaultPassword(p.s.cfg.VaultPasswordFile)
		if err != nil {
			return nil, secrets.Errorf(secrets.ReasonConfig, "freeipa: vault_password_file: %v", err)
		}
		password = pw
	default:
		return nil, secrets.Errorf(ReasonWrongVaultType, "freeipa: vault %q of %s is %s: only standard and symmetric vaults are supported", name, o, vtype)
	}

	var (
		refreshed, toggled, fellBack bool
		refresh                      bool
	)
	for attempt := 0; attempt < 5; attempt++ {
		kc, oaep, legacy, err := p.kraConfigFor(ctx, refresh)
		if err != nil {
			return nil, err
		}
		refresh = false
		algo, err := chooseAlgo(kc)
		if err != nil {
			return nil, secrets.Errorf(ReasonIPA, "freeipa: %v", err)
		}
		if legacy {
			algo = algo3DES
		}
		key, err := newSessionKey(algo)
		if err != nil {
			return nil, err
		}
		wrapped, err := wrapSessionKey(kc.transport, key, oaep)
		if err != nil {
			return nil, secrets.Errorf(ReasonIPA, "freeipa: wrap session key: %v", err)
		}
		opts := o.options()
		opts["session_key"] = ipaBytes(wrapped)
		if algo != algo3DES {
			opts["wrapping_algo"] = algo
		}
		var res struct {
			Data  ipaBytes `json:"vault_data"`
			Nonce ipaBytes `json:"nonce"`
		}
		err = p.ipa.call(ctx, "vault_retrieve_internal", []any{name}, opts, &res)
		var re *rpcError
		switch {
		case err == nil:
		case errors.As(err, &re) && re.Code == 3001 && !toggled:
			// The KRA could not unwrap the key: try the other RSA padding.
			toggled = true
			p.kraMu.Lock()
			p.oaep = !oaep
			p.kraMu.Unlock()
			p.logger.Info("KRA refused the session key wrapping, switching padding",
				zap.String("server", p.s.fqdn), zap.Bool("oaep", !oaep))
			continue
		case errors.As(err, &re) && re.Code == 3005 && strings.Contains(re.Message, "wrapping_algo") && !fellBack:
			fellBack = true
			p.kraMu.Lock()
			p.legacy = true
			p.kraMu.Unlock()
			continue
		case errors.As(err, &re) && !refreshed && (re.Code == 903 || re.Code == 5000 || (re.Code >= 4000 && re.Code < 5000 && re.Code != 4001)):
			refreshed, refresh = true, true
			continue
		default:
			return nil, p.mapRPC(err, "vault_retrieve_internal", name, o)
		}
		plain, err := decryptTransport(algo, key, res.Nonce, res.Data)
		if err != nil {
			return nil, secrets.Errorf(secrets.ReasonInvalid, "freeipa: vault %q of %s: cannot decrypt the KRA's answer: %v", name, o, err)
		}
		payload, err := vaultPayload(plain)
		if err != nil {
			var wt errWrongType
			if errors.As(err, &wt) {
				return nil, secrets.Errorf(ReasonWrongVaultType, "freeipa: vault %q of %s: %v", name, o, err)
			}
			return nil, secrets.Errorf(secrets.ReasonInvalid, "freeipa: vault %q of %s: %v", name, o, err)
		}
		if vtype == "symmetric" {
			k, err := symmetricKey(password, info.Salt[0])
			if err != nil {
				return nil, err
			}
			payload, err = fernetDecrypt(k, payload)
			switch {
			case errors.Is(err, errFernetAuth):
				return nil, secrets.Errorf(ReasonVaultPassword, "freeipa: vault %q of %s: the password in vault_password_file is wrong", name, o)
			case err != nil:
				return nil, secrets.Errorf(secrets.ReasonInvalid, "freeipa: symmetric vault %q of %s: %v", name, o, err)
			}
		}
		return payload, nil
	}
	return nil, secrets.Errorf(ReasonIPA, "freeipa: vault %q of %s: gave up after repeated KRA errors", name, o)
}

// mapRPC turns a JSON-RPC error answer into a *secrets.Error; other errors
// (already *secrets.Error) pass through.
func (p *Provider) mapRPC(err error, method, vault string, o owner) error {
	var re *rpcError
	if !errors.As(err, &re) {
		return err
	}
	switch {
	case re.Code == 4001 && strings.Contains(re.Message, "No archived data"):
		return secrets.Errorf(ReasonVaultEmpty, "freeipa: vault %q of %s holds no archived data: archive the secret with ipa vault-archive", vault, o)
	case re.Code == 4001:
		return secrets.Errorf(ReasonVaultNotFound,
			"freeipa: vault %q of %s not found: it does not exist, or %s is not a member or owner of it (ipa vault-add-member %s --%s %s --services %s)",
			vault, o, p.krb.principal, vault, o.kind, o.name, strings.SplitN(p.krb.principal, "@", 2)[0])
	case re.Code == 2100:
		return secrets.Errorf(ReasonNotMember, "freeipa: %s: %s may not read vault %q of %s: %s", method, p.krb.principal, vault, o, re.Message)
	case re.Code == 3000:
		return secrets.Errorf(ReasonKRAUnavailable, "freeipa: %s: the IPA server has no KRA (vault service) enabled: %s", method, re.Message)
	case re.Code == 3001:
		return secrets.Errorf(ReasonIPA, "freeipa: %s: the KRA could not unwrap the session key with PKCS#1 v1.5 nor RSA-OAEP: %s", method, re.Message)
	case re.Code == 911:
		return secrets.Errorf(ReasonIPA, "freeipa: %s: the server refused the Referer https://%s/ipa: server must be the IPA server's own FQDN", method, p.s.fqdn)
	}
	return secrets.Errorf(ReasonIPA, "freeipa: %s: %v", method, re)
}
