// Package vault is the HashiCorp Vault credentials provider of
// hitron-exporter ("vault" in the auths: configuration).
//
// It reads a modem's username and password from a KV version 1 or 2 secrets
// engine at a path rendered per probe from a Go template. It logs in with a
// token, AppRole or Kubernetes service-account JWT, keeps the token alive with
// the Vault API's LifetimeWatcher and logs in again when renewal ends or the
// token turns out to be revoked. With auth method "agent" it holds no token
// at all and talks to a Vault Agent or Vault Proxy api_proxy listener that
// adds its auto-auth token.
//
// Errors are *secrets.Error values with stable reasons (not_found,
// permission_denied, backend_unavailable, backend_auth_failed, timeout,
// invalid_secret, invalid_target, config); no error or log line ever carries a
// token, secret ID, JWT or password.
package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/hashicorp/vault/api"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// KindName is the name the provider is registered under.
const KindName = "vault"

// Kind returns the provider kind to register as "vault".
func Kind() secrets.Kind { return secrets.Kind{New: New, Local: false} }

// Compile-time interface checks.
var (
	_ secrets.Provider = (*Provider)(nil)
	_ secrets.Starter  = (*Provider)(nil)
	_ secrets.Closer   = (*Provider)(nil)
)

// Provider reads credentials from Vault. Build it with New.
type Provider struct {
	profile string
	cfg     Config
	tmpl    *template.Template
	log     *zap.Logger
	client  *api.Client
	metrics *metrics

	loginMu sync.Mutex // serialises logins

	mu        sync.Mutex // guards the fields below
	loggedIn  bool
	gen       uint64      // incremented by every successful login
	token     string      // the token installed by the last login
	lastLogin time.Time   // time of the last successful login
	authSec   *api.Secret // the login's auth secret, for the watcher
	secrets   []string    // values to scrub from messages
	watching  bool
	closed    bool
	kick      chan struct{}
	stop      chan struct{}
	watchDone chan struct{}
}

// New builds a provider from its configuration block. It validates the
// configuration and builds the HTTP client (reading ca_file) but does no
// network I/O.
func New(opts secrets.Options) (secrets.Provider, error) {
	var cfg Config
	if opts.Decode != nil {
		if err := opts.Decode(&cfg); err != nil {
			return nil, &secrets.Error{Reason: secrets.ReasonConfig, Err: fmt.Errorf("vault profile %q: %w", opts.Profile, err)}
		}
	}
	cfg.applyDefaults()
	tmpl, err := cfg.validate()
	if err != nil {
		return nil, &secrets.Error{Reason: secrets.ReasonConfig, Err: fmt.Errorf("vault profile %q: %w", opts.Profile, err)}
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, &secrets.Error{Reason: secrets.ReasonConfig, Err: fmt.Errorf("vault profile %q: %w", opts.Profile, err)}
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Provider{
		profile:   opts.Profile,
		cfg:       cfg,
		tmpl:      tmpl,
		log:       log,
		client:    client,
		metrics:   newMetrics(opts.Profile),
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		watchDone: make(chan struct{}),
	}, nil
}

// newClient builds the Vault API client. It starts from api.DefaultConfig
// (which honours VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT/KEY,
// VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY and VAULT_NAMESPACE like the Vault
// CLI) but takes the address only from the configuration, disables the
// client's retries (the exporter's credential cache retries) and applies our timeout.
func newClient(cfg Config) (*api.Client, error) {
	vc := api.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client configuration from VAULT_* environment: %w", vc.Error)
	}
	vc.Address = cfg.Address
	vc.AgentAddress = ""
	vc.MaxRetries = 0
	vc.Timeout = cfg.Timeout
	if cfg.CAFile != "" {
		if err := vc.ConfigureTLS(&api.TLSConfig{CACert: cfg.CAFile}); err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
	}
	c, err := api.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	// NewClient picks up $VAULT_TOKEN; tokens are only set by login.
	c.ClearToken()
	c.SetMaxRetries(0)
	return c, nil
}

// Kind returns "vault".
func (p *Provider) Kind() string { return KindName }

// Locate renders the path template for req. It rejects targets that could
// change the path's shape (containing "/", "..", "?", "%", spaces...) with
// reason invalid_target.
func (p *Provider) Locate(req secrets.Request) (string, error) {
	return renderPath(p.tmpl, req)
}

// Start logs in (except for method agent) and starts keeping the token
// alive. If Start fails, Fetch logs in on first use.
func (p *Provider) Start(ctx context.Context) error {
	if p.cfg.Auth.Method == MethodAgent {
		p.log.Info("Using Vault Agent/Proxy auto-auth", zap.String("address", p.cfg.Address))
		return nil
	}
	return p.login(ctx, p.generation())
}

// Close stops the token renewal and, for tokens the provider obtained itself
// (approle, kubernetes), revokes the token.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	watching := p.watching
	loggedIn := p.loggedIn
	close(p.stop)
	p.mu.Unlock()
	if watching {
		<-p.watchDone
	}
	if loggedIn && (p.cfg.Auth.Method == MethodAppRole || p.cfg.Auth.Method == MethodKubernetes) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.client.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
			p.log.Debug("Revoking Vault token on close failed", zap.String("err", p.scrub(err.Error())))
		}
	}
	p.client.ClearToken()
	return nil
}

// Fetch reads the secret at location (a path returned by Locate, relative to
// the KV mount) and returns its username and password. A 403 caused by a
// revoked or expired token triggers one login and one retry.
func (p *Provider) Fetch(ctx context.Context, location string) (secrets.Result, error) {
	if !validVaultPath(location) {
		return secrets.Result{}, &secrets.Error{Reason: ReasonInvalidTarget, Err: fmt.Errorf("vault: invalid location %q", location)}
	}
	if err := p.ensureLogin(ctx); err != nil {
		return secrets.Result{}, err
	}
	gen, tok := p.current()
	res, err := p.read(ctx, location)
	if err != nil && isStatus(err, 403) && p.cfg.Auth.Method != MethodAgent {
		switch {
		case p.generation() != gen:
			// Another caller logged in meanwhile: the read may have used
			// the old token.
			res, err = p.read(ctx, location)
		case p.tokenInvalid(ctx, tok):
			p.log.Info("Vault token rejected; logging in again")
			if lerr := p.login(ctx, gen); lerr != nil {
				return secrets.Result{}, lerr
			}
			res, err = p.read(ctx, location)
		}
	}
	if err != nil {
		return secrets.Result{}, err
	}
	return res, nil
}

// read reads and decodes one secret.
func (p *Provider) read(ctx context.Context, location string) (secrets.Result, error) {
	var (
		kv  *api.KVSecret
		err error
	)
	full := p.cfg.Mount + "/" + location
	if p.cfg.KVVersion == 1 {
		kv, err = p.client.KVv1(p.cfg.Mount).Get(ctx, location)
	} else {
		full = p.cfg.Mount + "/data/" + location
		kv, err = p.client.KVv2(p.cfg.Mount).Get(ctx, location)
	}
	if err != nil {
		return secrets.Result{}, p.classify(ctx, "reading "+full, err, false)
	}
	if kv == nil || kv.Data == nil {
		return secrets.Result{}, &secrets.Error{Reason: secrets.ReasonNotFound, Err: fmt.Errorf("vault: secret at %s has no current version (deleted or destroyed)", full)}
	}
	user, err := p.field(kv.Data, p.cfg.UsernameKey, full)
	if err != nil {
		return secrets.Result{}, err
	}
	pass, err := p.field(kv.Data, p.cfg.PasswordKey, full)
	if err != nil {
		return secrets.Result{}, err
	}
	var ttl time.Duration
	// KV v1 answers every read with a lease_duration: the secret's own "ttl"
	// field if it has one, else the mount's default lease TTL (768h unless
	// tuned). Only the explicit one says how long the value may be cached.
	if p.cfg.KVVersion == 1 && kv.Raw != nil && kv.Raw.LeaseDuration > 0 {
		if _, ok := kv.Data["ttl"]; ok {
			ttl = time.Duration(kv.Raw.LeaseDuration) * time.Second
		}
	}
	return secrets.Result{Credentials: secrets.NewCredentials(user, pass), TTL: ttl}, nil
}

func (p *Provider) field(data map[string]any, key, full string) (string, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return "", &secrets.Error{Reason: secrets.ReasonNotFound, Err: fmt.Errorf("vault: secret at %s has no key %q", full, key)}
	}
	s, ok := v.(string)
	if !ok {
		return "", &secrets.Error{Reason: secrets.ReasonInvalid, Err: fmt.Errorf("vault: key %q at %s is a %T, not a string", key, full, v)}
	}
	if s == "" {
		return "", &secrets.Error{Reason: secrets.ReasonInvalid, Err: fmt.Errorf("vault: key %q at %s is empty", key, full)}
	}
	return s, nil
}

// tokenInvalid reports whether Vault rejects tok (lookup-self answers 403),
// as opposed to a policy that denies one path.
func (p *Provider) tokenInvalid(ctx context.Context, tok string) bool {
	c, err := p.client.CloneWithHeaders()
	if err != nil {
		return false
	}
	c.SetToken(tok)
	_, err = c.Auth().Token().LookupSelfWithContext(ctx)
	return err != nil && isStatus(err, 403)
}

// generation returns the login generation.
func (p *Provider) generation() uint64 {
	gen, _ := p.current()
	return gen
}

// current returns the login generation and the token installed with it.
func (p *Provider) current() (uint64, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen, p.token
}

// ensureLogin logs in if no login has succeeded yet.
func (p *Provider) ensureLogin(ctx context.Context) error {
	if p.cfg.Auth.Method == MethodAgent {
		return nil
	}
	p.mu.Lock()
	ok, gen := p.loggedIn, p.gen
	p.mu.Unlock()
	if ok {
		return nil
	}
	return p.login(ctx, gen)
}

// login authenticates unless another login succeeded since the caller saw
// generation seen, installs the token and (re)starts the renewal.
func (p *Provider) login(ctx context.Context, seen uint64) error {
	p.loginMu.Lock()
	defer p.loginMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return &secrets.Error{Reason: secrets.ReasonUnavailable, Err: errors.New("vault: provider is closed")}
	}
	if p.gen != seen && p.loggedIn {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()

	sec, err := p.authenticate(ctx)
	if err != nil {
		p.metrics.logins.WithLabelValues("failure").Inc()
		p.log.Warn("Vault login failed", zap.String("method", p.cfg.Auth.Method), zap.String("err", err.Error()))
		return err
	}
	p.metrics.logins.WithLabelValues("success").Inc()
	ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
	p.metrics.setExpiry(ttl)

	p.mu.Lock()
	// Token and generation change together, so current() is consistent.
	p.client.SetToken(sec.Auth.ClientToken)
	p.token = sec.Auth.ClientToken
	p.loggedIn = true
	p.lastLogin = time.Now()
	p.gen++
	p.authSec = sec
	startWatch := !p.watching
	p.watching = true
	p.mu.Unlock()

	p.log.Info("Logged in to Vault", zap.String("method", p.cfg.Auth.Method),
		zap.Duration("ttl", ttl), zap.Bool("renewable", sec.Auth.Renewable),
		zap.Strings("policies", sec.Auth.Policies))
	if startWatch {
		go p.watch()
	} else {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// authenticate performs the configured login and returns its auth secret.
func (p *Provider) authenticate(ctx context.Context) (*api.Secret, error) {
	a := p.cfg.Auth
	// Log in on a token-less clone: a stale token must not ride along.
	lc, err := p.client.CloneWithHeaders()
	if err != nil {
		return nil, &secrets.Error{Reason: secrets.ReasonAuthFailed, Err: fmt.Errorf("vault login: %w", err)}
	}
	lc.ClearToken()
	switch a.Method {
	case MethodToken:
		tok, src, err := p.readToken()
		if err != nil {
			return nil, err
		}
		lc.SetToken(tok)
		sec, err := lc.Auth().Token().LookupSelfWithContext(ctx)
		if err != nil {
			return nil, p.classify(ctx, "checking token from "+src, err, true)
		}
		ttl, _ := sec.TokenTTL()
		renewable, _ := sec.TokenIsRenewable()
		policies, _ := sec.TokenPolicies()
		return &api.Secret{Auth: &api.SecretAuth{
			ClientToken: tok, LeaseDuration: int(ttl / time.Second), Renewable: renewable, Policies: policies,
		}}, nil
	case MethodAppRole:
		roleID, err := p.readSecretFile("role_id_file", a.RoleIDFile)
		if err != nil {
			return nil, err
		}
		data := map[string]any{"role_id": roleID}
		if a.SecretIDFile != "" {
			secretID, err := p.readSecretFile("secret_id_file", a.SecretIDFile)
			if err != nil {
				return nil, err
			}
			data["secret_id"] = secretID
		}
		return p.loginWrite(ctx, lc, data)
	case MethodKubernetes:
		jwt, err := p.readSecretFile("jwt_file", a.JWTFile)
		if err != nil {
			return nil, err
		}
		return p.loginWrite(ctx, lc, map[string]any{"role": a.Role, "jwt": jwt})
	}
	return nil, &secrets.Error{Reason: secrets.ReasonConfig, Err: fmt.Errorf("vault: auth method %q cannot log in", a.Method)}
}

func (p *Provider) loginWrite(ctx context.Context, lc *api.Client, data map[string]any) (*api.Secret, error) {
	path := "auth/" + p.cfg.Auth.Mount + "/login"
	sec, err := lc.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		return nil, p.classify(ctx, "logging in at "+path, err, true)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, &secrets.Error{Reason: secrets.ReasonAuthFailed, Err: fmt.Errorf("vault: logging in at %s: no token in the response", path)}
	}
	p.remember(sec.Auth.ClientToken)
	return sec, nil
}

// readToken returns the token from token_file, else $VAULT_TOKEN.
func (p *Provider) readToken() (tok, source string, err error) {
	if p.cfg.Auth.TokenFile != "" {
		tok, err = p.readSecretFile("token_file", p.cfg.Auth.TokenFile)
		return tok, "token_file", err
	}
	tok = strings.TrimSpace(os.Getenv("VAULT_TOKEN"))
	if tok == "" {
		return "", "", &secrets.Error{Reason: secrets.ReasonAuthFailed, Err: errors.New("vault: no token: auth.token_file is unset and $VAULT_TOKEN is empty")}
	}
	p.remember(tok)
	return tok, "$VAULT_TOKEN", nil
}

// readSecretFile reads a credential file, trimming surrounding white space;
// files are read at every login so rotated values are picked up.
func (p *Provider) readSecretFile(field, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &secrets.Error{Reason: secrets.ReasonAuthFailed, Err: fmt.Errorf("vault: reading auth.%s: %w", field, err)}
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", &secrets.Error{Reason: secrets.ReasonAuthFailed, Err: fmt.Errorf("vault: auth.%s %s is empty", field, path)}
	}
	p.remember(v)
	return v, nil
}

// remember records a secret value so that scrub removes it from messages.
func (p *Provider) remember(v string) {
	if len(v) < 4 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.secrets {
		if s == v {
			return
		}
	}
	p.secrets = append(p.secrets, v)
	if len(p.secrets) > 16 {
		p.secrets = p.secrets[len(p.secrets)-16:]
	}
}

// scrub replaces every remembered secret value in msg with <secret>.
func (p *Provider) scrub(msg string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.secrets {
		msg = strings.ReplaceAll(msg, s, secrets.Redacted)
	}
	return msg
}
