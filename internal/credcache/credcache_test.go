package credcache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// countingProvider is a provider whose backend is a map; it counts calls.
type countingProvider struct {
	mu    sync.Mutex
	data  map[string]string
	fail  error
	delay time.Duration
	ttl   time.Duration
	calls atomic.Int32
}

func (p *countingProvider) Kind() string { return "test" }
func (p *countingProvider) Locate(r secrets.Request) (string, error) {
	if r.Target == "" {
		return "", errors.New("no target")
	}
	return "loc/" + r.Target, nil
}
func (p *countingProvider) Fetch(ctx context.Context, loc string) (secrets.Result, error) {
	p.calls.Add(1)
	time.Sleep(p.delay)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return secrets.Result{}, p.fail
	}
	pw, ok := p.data[loc]
	if !ok {
		return secrets.Result{}, secrets.Errorf(secrets.ReasonNotFound, "no secret at %s", loc)
	}
	return secrets.Result{Credentials: secrets.NewCredentials("admin", pw), TTL: p.ttl}, nil
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestCacheKeysByLocation(t *testing.T) {
	p := &countingProvider{data: map[string]string{"loc/a": "pa", "loc/b": "pb"}}
	c := NewCache("lab", p, CacheOptions{TTL: time.Minute})
	for _, tt := range []struct{ target, want string }{{"a", "pa"}, {"b", "pb"}, {"a", "pa"}} {
		l, err := c.Get(context.Background(), secrets.Request{Target: tt.target})
		if err != nil {
			t.Fatal(err)
		}
		if l.Credentials.Password() != tt.want {
			t.Fatalf("target %s got the wrong password", tt.target)
		}
	}
	if got := p.calls.Load(); got != 2 {
		t.Fatalf("backend calls = %d, want 2", got)
	}
}

func TestCacheSingleflight(t *testing.T) {
	p := &countingProvider{data: map[string]string{"loc/a": "pa"}, delay: 50 * time.Millisecond}
	reg := prometheus.NewPedanticRegistry()
	c := NewCache("lab", p, CacheOptions{TTL: time.Minute, Metrics: NewMetrics(reg)})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Get(context.Background(), secrets.Request{Target: "a"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := p.calls.Load(); got != 1 {
		t.Fatalf("100 concurrent look-ups made %d backend calls, want 1", got)
	}
	if n := testutil.CollectAndCount(reg, "hitron_exporter_credential_fetches_total"); n != 1 {
		t.Fatalf("fetch series = %d", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

func TestCacheExpiryStaleAndInvalidate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	p := &countingProvider{data: map[string]string{"loc/a": "old"}}
	c := NewCache("lab", p, CacheOptions{TTL: time.Minute, StaleIfError: 10 * time.Minute, Now: clock.now})
	get := func() (Lookup, error) { return c.Get(context.Background(), secrets.Request{Target: "a"}) }

	steps := []struct {
		name       string
		advance    time.Duration
		fail       error
		password   string
		wantSource Source
		wantPass   string
		wantErr    bool
	}{
		{"first fetch", 0, nil, "", SourceMiss, "old", false},
		{"fresh hit", 30 * time.Second, nil, "", SourceHit, "old", false},
		{"expired, backend down: stale", time.Minute, secrets.Errorf(secrets.ReasonUnavailable, "down"), "", SourceStale, "old", false},
		{"past stale window: error", 11 * time.Minute, secrets.Errorf(secrets.ReasonUnavailable, "down"), "", "", "", true},
		{"backend back with rotation", 0, nil, "new", SourceMiss, "new", false},
	}
	for _, s := range steps {
		clock.t = clock.t.Add(s.advance)
		p.mu.Lock()
		p.fail = s.fail
		if s.password != "" {
			p.data["loc/a"] = s.password
		}
		p.mu.Unlock()
		l, err := get()
		if (err != nil) != s.wantErr {
			t.Fatalf("%s: err = %v", s.name, err)
		}
		if err != nil {
			continue
		}
		if l.Source != s.wantSource || l.Credentials.Password() != s.wantPass {
			t.Fatalf("%s: source %s password ok=%v", s.name, l.Source, l.Credentials.Password() == s.wantPass)
		}
	}
	l, _ := get()
	if c.Invalidate(l.Location, secrets.NewCredentials("admin", "something else")) {
		t.Fatal("invalidated an entry holding other credentials")
	}
	if !c.Invalidate(l.Location, l.Credentials) {
		t.Fatal("did not invalidate")
	}
	before := p.calls.Load()
	if l, err := get(); err != nil || l.Source != SourceMiss {
		t.Fatalf("after invalidation: %v %v", l.Source, err)
	}
	if p.calls.Load() != before+1 {
		t.Fatal("invalidation did not cause a re-fetch")
	}
}

func TestCacheProviderTTLAndCallerTimeout(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	p := &countingProvider{data: map[string]string{"loc/a": "pa"}, ttl: 10 * time.Second}
	c := NewCache("lab", p, CacheOptions{TTL: time.Hour, Now: clock.now})
	_, _ = c.Get(context.Background(), secrets.Request{Target: "a"})
	clock.t = clock.t.Add(11 * time.Second)
	_, _ = c.Get(context.Background(), secrets.Request{Target: "a"})
	if got := p.calls.Load(); got != 2 {
		t.Fatalf("lease TTL not honoured: %d calls", got)
	}
	slow := &countingProvider{data: map[string]string{"loc/a": "pa"}, delay: 200 * time.Millisecond}
	c = NewCache("lab", slow, CacheOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, secrets.Request{Target: "a"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline: %v", err)
	}
}

// TestCacheIsBounded: a caller who chooses targets (anyone who can reach
// /probe, against a provider whose location names the target) cannot grow
// the cache past MaxEntries; entries that can serve no one go first, and a
// full cache of live entries drops the one that expires soonest.
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	data := map[string]string{}
	for i := range 1000 {
		data["loc/t"+strconv.Itoa(i)] = "pw"
	}
	tests := []struct {
		name string
		// before runs against a cache of 4 entries (t0..t3, each fetched a
		// second after the last, TTL 1m, stale window 1m) and returns the
		// targets that must still be cached.
		before func(clk *fakeClock) []string
		gets   []string
		evicts float64
	}{
		{"a flood of distinct targets keeps at most MaxEntries",
			func(*fakeClock) []string { return nil }, targets(4, 1000), 996},
		{"entries past their stale window go first, all of them",
			func(clk *fakeClock) []string { clk.t = clk.t.Add(3 * time.Minute); return nil }, []string{"t900"}, 4},
		{"live entries: the one that expires soonest goes",
			func(*fakeClock) []string { return []string{"t1", "t2", "t3"} }, []string{"t900"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			clk := &fakeClock{t: time.Unix(1e9, 0)}
			c := NewCache("lab", &countingProvider{data: data}, CacheOptions{TTL: time.Minute, StaleIfError: time.Minute, MaxEntries: 4, Metrics: m, Now: clk.now})
			for _, target := range targets(0, 4) {
				if _, err := c.Get(ctx, secrets.Request{Target: target}); err != nil {
					t.Fatal(err)
				}
				clk.t = clk.t.Add(time.Second)
			}
			kept := tt.before(clk)
			for _, target := range tt.gets {
				if _, err := c.Get(ctx, secrets.Request{Target: target}); err != nil {
					t.Fatal(err)
				}
			}
			if n := c.Len(); n > 4 {
				t.Fatalf("%d entries, cap 4", n)
			}
			if got := testutil.ToFloat64(m.evictions.WithLabelValues("lab", "test")); got != tt.evicts {
				t.Fatalf("%v evictions, want %v", got, tt.evicts)
			}
			for _, target := range kept {
				c.mu.Lock()
				_, ok := c.entries["loc/"+target]
				c.mu.Unlock()
				if !ok {
					t.Errorf("%s was evicted", target)
				}
			}
		})
	}
}

// targets are t<from> … t<to-1>.
func targets(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, "t"+strconv.Itoa(i))
	}
	return out
}
