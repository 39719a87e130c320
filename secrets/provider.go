package secrets

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Request is what a provider may use to find a target's credentials.
type Request struct {
	// Target is the modem as the probe's target= parameter names it
	// (host, host:port or https://host:port).
	Target string
	// Host is the target's host name or IP address without scheme or port.
	Host string
	// Params holds the probe parameters that the provider's Kind declares
	// (Kind.Params) and that the probe gave, such as ipa_vault_namespace.
	// It never holds credentials.
	Params map[string]string
}

// Result is what a provider returns for one location.
type Result struct {
	// Credentials are the username and password found.
	Credentials Credentials
	// TTL, when positive, is how long the credentials may be cached (for
	// example a Vault lease); zero means the cache's configured TTL.
	TTL time.Duration
}

// Provider resolves credentials from one backend. Implementations must be
// safe for concurrent use and must never put a secret in an error.
type Provider interface {
	// Kind names the provider type ("file", "vault", "freeipa").
	Kind() string
	// Locate maps a request to the location that holds its credentials, for
	// example a Vault path or a FreeIPA vault owner. Requests with equal
	// locations share one cache entry. Locate does no I/O.
	Locate(req Request) (string, error)
	// Fetch reads the credentials at a location returned by Locate.
	Fetch(ctx context.Context, location string) (Result, error)
}

// Starter is implemented by providers that must initialise a backend (log
// in, obtain a ticket) before they are ready. Start is called once after the
// configuration is loaded; a provider is ready when Start has returned nil.
type Starter interface {
	Start(ctx context.Context) error
}

// Closer is implemented by providers that hold background resources (token
// renewers, ticket refreshers). Close is called when a configuration reload
// replaces the provider.
type Closer interface {
	Close() error
}

// Collector is implemented by providers that have metrics of their own (a
// token's or a ticket's expiry, backend errors). The exporter collects the
// current configuration's providers on /metrics, so a reload that replaces
// a provider replaces its series too. Metric names should start with
// hitron_exporter_ and the provider's kind.
type Collector interface {
	prometheus.Collector
}

// Options are what a Factory gets to build a provider.
type Options struct {
	// Profile is the name of the auths: entry being built.
	Profile string
	// Decode strictly decodes the provider's own configuration block (the
	// value under auths.<profile>.<kind>) into the value pointed to.
	Decode func(into any) error
	// Logger is the provider's logger, already named after the profile.
	Logger *zap.Logger
}

// Factory builds a provider from its configuration. A factory validates its
// configuration and may read local files, but does no network I/O: that
// belongs in Start or Fetch, so that --config.check works offline.
type Factory func(opts Options) (Provider, error)

// Kind describes a provider type that a Registry can build.
type Kind struct {
	// New builds a provider of this kind.
	New Factory
	// Local is true for providers whose secrets never leave the machine (the
	// file provider). Profiles of other kinds require a pinned, configured
	// target by default (require_fingerprint: true).
	Local bool
	// Params names the probe URL parameters (/probe?name=value) that this
	// kind's providers read from Request.Params, such as freeipa's
	// ipa_vault_namespace. A provider sees only the parameters its own kind
	// declares; a name must not be one of the exporter's own (target,
	// auth, fingerprint, force, debug, _port, usr, pwd).
	Params []string
}

// Registry maps provider kind names to their factories. Build one with
// NewRegistry and Register the kinds a binary supports.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]Kind{}} }

// Register adds a provider kind under name, the key that selects it in an
// auths: profile. It panics on a duplicate or empty name or a kind without
// New, which are programming errors.
func (r *Registry) Register(name string, k Kind) {
	if name == "" || k.New == nil {
		panic(fmt.Sprintf("secrets: provider kind %q registered without a name or a factory", name))
	}
	if _, dup := r.kinds[name]; dup {
		panic(fmt.Sprintf("secrets: provider kind %q registered twice", name))
	}
	r.kinds[name] = k
}

// Lookup returns the kind registered under name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the registered kind names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Params returns the probe parameters that the registered kinds declare,
// sorted and each once.
func (r *Registry) Params() []string {
	seen := map[string]bool{}
	var params []string
	for _, k := range r.kinds {
		for _, p := range k.Params {
			if !seen[p] {
				seen[p] = true
				params = append(params, p)
			}
		}
	}
	sort.Strings(params)
	return params
}

// Error is a provider failure with a short, stable reason that becomes a
// metric label (for example "not_found", "permission_denied",
// "backend_unavailable"). Its message must never contain a secret.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Reasons used by the built-in providers. Providers may add their own.
const (
	ReasonNotFound         = "not_found"
	ReasonPermissionDenied = "permission_denied"
	ReasonUnavailable      = "backend_unavailable"
	ReasonAuthFailed       = "backend_auth_failed"
	ReasonInvalid          = "invalid_secret"
	ReasonConfig           = "config"
	ReasonTimeout          = "timeout"
	ReasonUnknown          = "error"
)

// Errorf returns an *Error with reason and a formatted message.
func Errorf(reason, format string, args ...any) error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the reason of the first *Error in err's chain, "timeout"
// for context deadline errors and "error" otherwise.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ReasonTimeout
	}
	return ReasonUnknown
}
