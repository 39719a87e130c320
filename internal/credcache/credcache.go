// Package credcache is the exporter's cache in front of a credentials
// provider: entries keyed by the provider's location, concurrent look-ups
// of one location coalesced into one backend call, stale values served
// while a backend is down, and an entry dropped when the modem rejects it.
// Its metrics are the hitron_exporter_credential_* counters on /metrics.
package credcache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// CacheOptions configure a Cache.
type CacheOptions struct {
	// TTL is how long fetched credentials are served without asking the
	// backend again, unless the provider returned its own TTL. Zero disables
	// caching: every Get calls Fetch (concurrent calls still share one).
	TTL time.Duration
	// StaleIfError serves expired credentials for this long past their
	// expiry when the backend fails.
	StaleIfError time.Duration
	// FetchTimeout bounds one backend call; it is independent of any single
	// caller's context so that one impatient probe does not fail the others
	// waiting on the same call. Zero means 30 s.
	FetchTimeout time.Duration
	// MaxEntries caps the entries kept (0: DefaultMaxEntries). A provider
	// whose location names the target has one entry per target, and
	// anyone who can reach /probe chooses targets: when the cache is full,
	// entries past their stale window go first, else the eighth of the
	// cap that expires soonest (hitron_exporter_credential_cache_evictions_total).
	MaxEntries int
	// Metrics, when set, receives cache and backend counters.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxEntries is the default cap on a cache's entries: as many as
// the modems the prober keeps state for (--probe.max-modems), a few
// hundred bytes each.
const DefaultMaxEntries = 16384

// Source tells where a Get's credentials came from.
type Source string

// Sources of a Lookup.
const (
	SourceHit   Source = "hit"
	SourceMiss  Source = "miss"
	SourceStale Source = "stale"
)

// Lookup is the result of Cache.Get.
type Lookup struct {
	Credentials secrets.Credentials
	// Location is the provider's location for the request (use it to
	// Invalidate).
	Location string
	Source   Source
}

// Cache sits in front of one provider. Entries are keyed by the provider's
// location for a request, so two targets never share credentials unless the
// provider says they live in the same place. Concurrent Gets of one location
// cause one backend call.
type Cache struct {
	profile  string
	provider secrets.Provider
	opts     CacheOptions
	group    singleflight.Group

	mu      sync.Mutex
	entries map[string]cacheEntry
	served  atomic.Bool
}

// Served reports whether the provider has returned credentials at least
// once (readiness of a provider that failed to start).
func (c *Cache) Served() bool { return c.served.Load() }

type cacheEntry struct {
	creds   secrets.Credentials
	expires time.Time
}

// NewCache returns a cache in front of provider for the named profile.
func NewCache(profile string, provider secrets.Provider, opts CacheOptions) *Cache {
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	return &Cache{profile: profile, provider: provider, opts: opts, entries: map[string]cacheEntry{}}
}

// Provider returns the provider behind the cache.
func (c *Cache) Provider() secrets.Provider { return c.provider }

// Get returns credentials for req, from the cache when fresh, else from the
// provider; when the provider fails and an entry expired less than
// StaleIfError ago, that entry is served.
func (c *Cache) Get(ctx context.Context, req secrets.Request) (Lookup, error) {
	loc, err := c.provider.Locate(req)
	if err != nil {
		return Lookup{}, err
	}
	now := c.opts.Now()
	c.mu.Lock()
	e, ok := c.entries[loc]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		c.count(SourceHit)
		return Lookup{Credentials: e.creds, Location: loc, Source: SourceHit}, nil
	}
	ch := c.group.DoChan(loc, func() (any, error) { return c.fetch(ctx, loc) })
	select {
	case <-ctx.Done():
		return Lookup{}, fmt.Errorf("waiting for credentials: %w", ctx.Err())
	case res := <-ch:
		if res.Err == nil {
			c.count(SourceMiss)
			return Lookup{Credentials: res.Val.(secrets.Credentials), Location: loc, Source: SourceMiss}, nil
		}
		if ok && c.opts.StaleIfError > 0 && now.Before(e.expires.Add(c.opts.StaleIfError)) {
			c.count(SourceStale)
			return Lookup{Credentials: e.creds, Location: loc, Source: SourceStale}, nil
		}
		return Lookup{}, res.Err
	}
}

// fetch calls the provider once for all waiting callers.
func (c *Cache) fetch(ctx context.Context, loc string) (secrets.Credentials, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.FetchTimeout)
	defer cancel()
	start := time.Now()
	res, err := c.provider.Fetch(ctx, loc)
	c.opts.Metrics.observeFetch(c.profile, c.provider.Kind(), time.Since(start), err)
	if err != nil {
		return secrets.Credentials{}, err
	}
	if res.Credentials.IsZero() {
		return secrets.Credentials{}, secrets.Errorf(secrets.ReasonInvalid, "%s provider returned empty credentials", c.provider.Kind())
	}
	c.served.Store(true)
	ttl := c.opts.TTL
	if res.TTL > 0 && (ttl == 0 || res.TTL < ttl) {
		ttl = res.TTL
	}
	if ttl > 0 || c.opts.StaleIfError > 0 {
		c.mu.Lock()
		if _, ok := c.entries[loc]; !ok && len(c.entries) >= c.opts.MaxEntries {
			c.makeRoomLocked()
		}
		c.entries[loc] = cacheEntry{creds: res.Credentials, expires: c.opts.Now().Add(ttl)}
		c.mu.Unlock()
	}
	return res.Credentials, nil
}

// makeRoomLocked frees entries of a full cache: every entry past its stale
// window (it can serve no one), or else an eighth of the cap (at least
// one), those that expire soonest. Freeing a batch keeps a flood of new
// locations from costing a scan of the whole cache each. c.mu is held.
func (c *Cache) makeRoomLocked() {
	now := c.opts.Now()
	type live struct {
		loc     string
		expires time.Time
	}
	var alive []live
	dropped := 0
	for loc, e := range c.entries {
		if !now.Before(e.expires.Add(c.opts.StaleIfError)) {
			delete(c.entries, loc)
			dropped++
			continue
		}
		alive = append(alive, live{loc, e.expires})
	}
	if dropped == 0 {
		slices.SortFunc(alive, func(a, b live) int { return a.expires.Compare(b.expires) })
		for _, e := range alive[:min(len(alive), max(1, c.opts.MaxEntries/8))] {
			delete(c.entries, e.loc)
			dropped++
		}
	}
	c.opts.Metrics.countEvictions(c.profile, c.provider.Kind(), dropped)
}

// Len is the number of entries the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Invalidate drops the entry at location if it still holds rejected (so a
// rejection seen by a slow probe does not drop credentials that another
// probe has already refreshed). It reports whether an entry was dropped.
func (c *Cache) Invalidate(location string, rejected secrets.Credentials) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[location]
	if !ok || !e.creds.Equal(rejected) {
		return false
	}
	delete(c.entries, location)
	c.opts.Metrics.countInvalidation(c.profile, c.provider.Kind())
	return true
}

func (c *Cache) count(src Source) { c.opts.Metrics.countRequest(c.profile, c.provider.Kind(), src) }

// Metrics are the credential caches' counters, shared by every cache of an
// exporter (they survive configuration reloads).
type Metrics struct {
	requests      *prometheus.CounterVec
	invalidations *prometheus.CounterVec
	evictions     *prometheus.CounterVec
	fetches       *prometheus.CounterVec
	fetchErrors   *prometheus.CounterVec
	fetchDuration *prometheus.HistogramVec
}

// NewMetrics creates the credential caches' metrics and registers them on reg
// (when reg is not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_credential_cache_requests_total",
			Help: "Credential look-ups by profile, provider and result (hit, miss = fetched from the backend, stale = served past expiry because the backend failed).",
		}, []string{"profile", "provider", "result"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_credential_cache_invalidations_total",
			Help: "Cached credentials dropped because the modem rejected them.",
		}, []string{"profile", "provider"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_credential_cache_evictions_total",
			Help: "Cached credentials dropped to keep a profile's cache within cache.max_entries (expired ones first, then the soonest to expire).",
		}, []string{"profile", "provider"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_credential_fetches_total",
			Help: "Calls to a credential backend.",
		}, []string{"profile", "provider"}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_credential_fetch_errors_total",
			Help: "Failed calls to a credential backend, by reason.",
		}, []string{"profile", "provider", "reason"}),
		fetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hitron_exporter_credential_fetch_duration_seconds",
			Help:    "Latency of calls to a credential backend.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"profile", "provider"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.invalidations, m.evictions, m.fetches, m.fetchErrors, m.fetchDuration)
	}
	return m
}

func (m *Metrics) countRequest(profile, provider string, src Source) {
	if m != nil {
		m.requests.WithLabelValues(profile, provider, string(src)).Inc()
	}
}

func (m *Metrics) countInvalidation(profile, provider string) {
	if m != nil {
		m.invalidations.WithLabelValues(profile, provider).Inc()
	}
}

func (m *Metrics) countEvictions(profile, provider string, n int) {
	if m != nil && n > 0 {
		m.evictions.WithLabelValues(profile, provider).Add(float64(n))
	}
}

func (m *Metrics) observeFetch(profile, provider string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.fetches.WithLabelValues(profile, provider).Inc()
	m.fetchDuration.WithLabelValues(profile, provider).Observe(d.Seconds())
	if err != nil {
		m.fetchErrors.WithLabelValues(profile, provider, secrets.ReasonOf(err)).Inc()
	}
}
