// Package probe runs one probe of one modem: it plans the probe from the
// configuration and the request (refusing what must be refused before any
// secret is fetched), resolves credentials through the credential cache, logs
// in over pinned TLS, fetches the data pages one at a time, always logs out,
// and returns a Result: a fresh set of samples (the device's metrics and the
// probe's own), the trace and the parsed data.
package probe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/credcache"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// Profile is a built credential profile.
type Profile struct {
	Name  string
	Auth  *config.Auth
	Cache *credcache.Cache
	// Local is true for providers whose secrets stay on the machine.
	Local bool
	// Params are the probe parameters the provider's kind declares: the
	// only ones its Locate sees.
	Params []string
}

// params returns the given probe parameters that the profile's kind
// declares; nil when there are none.
func (p *Profile) params(given map[string]string) map[string]string {
	var out map[string]string
	for _, name := range p.Params {
		if v, ok := given[name]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	return out
}

// Snapshot is an immutable, built configuration: what a reload swaps.
type Snapshot struct {
	Config   *config.Config
	Profiles map[string]*Profile
	Loaded   time.Time

	// startFailed names the profiles whose provider failed to start.
	startFailed map[string]bool

	// Reference count: a retired snapshot closes its providers when its
	// last probe ends.
	mu       sync.Mutex
	inflight int
	retired  bool
	closed   bool
}

// Acquire marks a probe as using the snapshot and reports whether it may:
// a retired snapshot (its providers closed or closing) is never acquired,
// so a reload between loading the current snapshot and acquiring it cannot
// close providers under the probe. Call Release when the probe ends, and
// only if Acquire returned true.
func (s *Snapshot) Acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	s.inflight++
	return true
}

// Release ends a probe's use of the snapshot.
func (s *Snapshot) Release() {
	s.mu.Lock()
	s.inflight--
	closeNow := s.retired && s.inflight == 0
	s.mu.Unlock()
	if closeNow {
		s.Close()
	}
}

// Retire marks the snapshot as replaced: its providers close as soon as no
// probe uses them (at once if none does).
func (s *Snapshot) Retire() {
	s.mu.Lock()
	s.retired = true
	closeNow := s.inflight == 0
	s.mu.Unlock()
	if closeNow {
		s.Close()
	}
}

// Build constructs the providers and caches of cfg. It does no network I/O
// (providers connect in Start), so it also serves --config.check.
func Build(cfg *config.Config, reg *secrets.Registry, metrics *credcache.Metrics, log *zap.Logger) (*Snapshot, error) {
	s := &Snapshot{Config: cfg, Profiles: map[string]*Profile{}, Loaded: time.Now()}
	names := make([]string, 0, len(cfg.Auths))
	for n := range cfg.Auths {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		a := cfg.Auths[name]
		kind, ok := reg.Lookup(a.Provider)
		if !ok {
			s.Close()
			err := fmt.Errorf("unknown provider %q: use one of %s", a.Provider, oneOf(reg.Names()))
			if a.Provider == "" {
				err = fmt.Errorf("no provider: add one of %s", oneOf(reg.Names()))
			}
			return nil, &config.Error{File: cfg.Source, Line: a.Line, Field: "auths." + name, Err: err}
		}
		prov, err := kind.New(secrets.Options{
			Profile: name,
			Decode:  a.DecodeBlock,
			Logger:  log.Named("secrets").With(zap.String("profile", name), zap.String("provider", a.Provider)),
		})
		if err != nil {
			s.Close()
			var ce *config.Error
			if errors.As(err, &ce) {
				ce.File = cfg.Source
				ce.Field = "auths." + name + "." + a.Provider
				return nil, ce
			}
			return nil, &config.Error{File: cfg.Source, Line: a.Block.Line, Field: "auths." + name + "." + a.Provider, Err: err}
		}
		ttl, stale := 5*time.Minute, time.Hour
		if kind.Local {
			ttl, stale = 0, 0
		}
		if a.Cache.TTL != nil {
			ttl = *a.Cache.TTL
		}
		if a.Cache.StaleIfError != nil {
			stale = *a.Cache.StaleIfError
		}
		s.Profiles[name] = &Profile{
			Name: name, Auth: a, Local: kind.Local, Params: kind.Params,
			Cache: credcache.NewCache(name, prov, credcache.CacheOptions{TTL: ttl, StaleIfError: stale, MaxEntries: a.Cache.MaxEntries, Metrics: metrics}),
		}
	}
	return s, nil
}

// Start initialises every provider that needs it (log in to Vault, get a
// Kerberos ticket). It returns the first error but starts all of them.
func (s *Snapshot) Start(ctx context.Context) error {
	var first error
	s.startFailed = map[string]bool{}
	for _, name := range s.profileNames() {
		if st, ok := s.Profiles[name].Cache.Provider().(secrets.Starter); ok {
			if err := st.Start(ctx); err != nil {
				s.startFailed[name] = true
				if first == nil {
					first = fmt.Errorf("start auth profile %q: %w", name, err)
				}
			}
		}
	}
	return first
}

// Ready reports whether every provider is usable: it started, or it has
// since served credentials (providers retry in the background and log in
// on demand, so a broker that was down at start-up recovers).
func (s *Snapshot) Ready() bool {
	for name := range s.startFailed {
		if !s.Profiles[name].Cache.Served() {
			return false
		}
	}
	return true
}

// Close releases provider resources; later calls do nothing.
func (s *Snapshot) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	done := s.closed
	s.closed = true
	s.mu.Unlock()
	if done {
		return
	}
	for _, p := range s.Profiles {
		if c, ok := p.Cache.Provider().(secrets.Closer); ok {
			_ = c.Close()
		}
	}
}

// oneOf joins names for an error message: "file, freeipa or vault".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func (s *Snapshot) profileNames() []string {
	names := make([]string, 0, len(s.Profiles))
	for n := range s.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Providers returns the providers of the snapshot by profile name.
func (s *Snapshot) Providers() map[string]secrets.Provider {
	out := make(map[string]secrets.Provider, len(s.Profiles))
	for n, p := range s.Profiles {
		out[n] = p.Cache.Provider()
	}
	return out
}
