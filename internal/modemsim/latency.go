package modemsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// LongTail is a per-request delay with a long tail, like a cable modem's
// embedded web server: Min plus a log-normal part whose median is an eighth
// of Max−Min and whose 99th percentile is Max−Min, capped at Max. For
// 30 ms–300 ms the median request waits about 64 ms, the mean about 80 ms,
// and one request in a hundred the whole 300 ms. The draws come from a
// generator seeded with Seed, so a run is reproducible.
type LongTail struct {
	Min, Max time.Duration
	Seed     uint64
}

// Zero reports whether no long tail is configured.
func (l LongTail) Zero() bool { return l.Max <= 0 }

// z99 is the standard normal's 99th percentile.
const z99 = 2.3263478740408408

// latencySource draws a simulator's per-request delays.
type latencySource struct {
	fixed time.Duration
	tail  LongTail
	mu    sync.Mutex
	rng   *rand.Rand
}

func newLatencySource(fixed time.Duration, tail LongTail) *latencySource {
	return &latencySource{fixed: fixed, tail: tail, rng: rand.New(rand.NewPCG(tail.Seed, 0x6d6f64656d73696d))}
}

// next is the delay of the next request.
func (l *latencySource) next() time.Duration {
	d := l.fixed
	if l.tail.Zero() {
		return d
	}
	span := float64(l.tail.Max - l.tail.Min)
	if span <= 0 {
		return d + l.tail.Min
	}
	l.mu.Lock()
	z := l.rng.NormFloat64()
	l.mu.Unlock()
	median := span / 8
	sigma := math.Log(8) / z99
	x := min(median*math.Exp(sigma*z), span)
	return d + l.tail.Min + time.Duration(x)
}

// ParseLatency reads a latency model as the load harness's -latency flag
// writes it: "0" or "" (none), a duration ("20ms", fixed per request),
// "longtail:MIN-MAX" ("longtail:30ms-300ms"), or both joined by "+"
// ("5ms+longtail:30ms-300ms"). The long tail's seed is left zero.
func ParseLatency(s string) (fixed time.Duration, tail LongTail, err error) {
	for _, part := range strings.Split(strings.TrimSpace(s), "+") {
		part = strings.TrimSpace(part)
		switch {
		case part == "" || part == "0":
		case strings.HasPrefix(part, "longtail:"):
			lo, hi, ok := strings.Cut(strings.TrimPrefix(part, "longtail:"), "-")
			if !ok {
				return 0, LongTail{}, fmt.Errorf("latency %q: want longtail:MIN-MAX", s)
			}
			if tail.Min, err = time.ParseDuration(lo); err != nil {
				return 0, LongTail{}, fmt.Errorf("latency %q: %w", s, err)
			}
			if tail.Max, err = time.ParseDuration(hi); err != nil {
				return 0, LongTail{}, fmt.Errorf("latency %q: %w", s, err)
			}
			if tail.Min < 0 || tail.Max <= tail.Min {
				return 0, LongTail{}, fmt.Errorf("latency %q: want 0 <= MIN < MAX", s)
			}
		default:
			if fixed, err = time.ParseDuration(part); err != nil {
				return 0, LongTail{}, fmt.Errorf("latency %q: %w", s, err)
			}
			if fixed < 0 {
				return 0, LongTail{}, fmt.Errorf("latency %q: negative", s)
			}
		}
	}
	return fixed, tail, nil
}
