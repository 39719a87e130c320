package deploy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/promenv"
)

// shardConfig turns deploy/prometheus/sharding/prometheus-shard.yml into
// shard number shard of n, scraping targets through exporter.
func shardConfig(t *testing.T, shard, n int, targets []string, exporter string) string {
	t.Helper()
	raw := readFile(t, filepath.Join(dir(t), "prometheus", "sharding", "prometheus-shard.yml"))
	cfg, err := promenv.RetargetJob(raw, "hitron", targets, exporter)
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &full); err != nil {
		t.Fatal(err)
	}
	job := full["scrape_configs"].([]any)[0].(map[string]any)
	found := 0
	for _, r := range job["relabel_configs"].([]any) {
		rule := r.(map[string]any)
		switch rule["action"] {
		case "hashmod":
			rule["modulus"] = n
			found++
		case "keep":
			if rule["source_labels"].([]any)[0] == "__tmp_hash" {
				rule["regex"] = fmt.Sprint(shard)
				found++
			}
		}
	}
	if found != 2 {
		t.Fatalf("prometheus-shard.yml: want one hashmod and one keep on __tmp_hash, found %d", found)
	}
	full["rule_files"] = nil
	out, err := yaml.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestHashmodShardingPartitionsModems runs two real Prometheus shards, each
// with its own stand-in exporter: every modem is probed by exactly one
// shard, through that shard's exporter only.
func TestHashmodShardingPartitionsModems(t *testing.T) {
	t.Parallel()
	var targets []string
	for i := 1; i <= 12; i++ {
		targets = append(targets, fmt.Sprintf("198.51.100.%d", i))
	}
	const shards = 2
	seen := make([]map[string]bool, shards)
	var mu sync.Mutex
	proms := make([]*promenv.Server, shards)
	for s := 0; s < shards; s++ {
		s := s
		seen[s] = map[string]bool{}
		exp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[s][r.URL.Query().Get("target")] = true
			mu.Unlock()
			fmt.Fprint(w, "probe_success 1\n")
		}))
		t.Cleanup(exp.Close)
		proms[s] = promenv.Start(t, shardConfig(t, s, shards, targets, strings.TrimPrefix(exp.URL, "http://")))
	}
	// Service discovery hands targets over a few seconds after start.
	var owner map[string]int
	deadline := time.Now().Add(20 * time.Second)
	for {
		owner = map[string]int{}
		active := 0
		for s, p := range proms {
			ts, err := p.Targets(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range ts {
				active++
				inst := tg.Labels["instance"]
				if prev, dup := owner[inst]; dup {
					t.Fatalf("modem %s is scraped by shards %d and %d", inst, prev, s)
				}
				owner[inst] = s
			}
		}
		if active >= len(targets) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(owner) != len(targets) {
		t.Errorf("shards cover %d of %d modems: %v", len(owner), len(targets), owner)
	}
	for s := range proms {
		n := 0
		for _, o := range owner {
			if o == s {
				n++
			}
		}
		if n == 0 {
			t.Errorf("shard %d got no modems; hashmod is not spreading them", s)
		}
	}
	// Each shard's exporter is asked only for its own shard's modems.
	deadline = time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		total := len(seen[0]) + len(seen[1])
		mu.Unlock()
		if total == len(targets) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for s := range seen {
		for tg := range seen[s] {
			if owner[tg] != s {
				t.Errorf("exporter of shard %d was asked for %s, which belongs to shard %d", s, tg, owner[tg])
			}
		}
	}
	if got := len(seen[0]) + len(seen[1]); got != len(targets) {
		t.Errorf("exporters probed %d distinct modems, want %d", got, len(targets))
	}
}
