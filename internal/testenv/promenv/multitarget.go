package promenv

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// RetargetJob prepares a shipped multi-target configuration for a test: it
// keeps only the scrape job named job, replaces its service discovery with
// one static_configs entry listing targets, and points every relabel rule
// whose target_label is __address__ at exporterAddr (host:port of the
// exporter under test). Everything else, the relabeling that turns the
// target into __param_target and instance in particular, is kept as shipped.
func RetargetJob(config []byte, job string, targets []string, exporterAddr string) (string, error) {
	var full map[string]any
	if err := yaml.Unmarshal(config, &full); err != nil {
		return "", fmt.Errorf("parse config: %w", err)
	}
	jobs, _ := full["scrape_configs"].([]any)
	var found map[string]any
	for _, j := range jobs {
		if m, ok := j.(map[string]any); ok && m["job_name"] == job {
			found = m
			break
		}
	}
	if found == nil {
		return "", fmt.Errorf("no scrape job %q in config", job)
	}
	for k := range found {
		if k == "static_configs" || k == "file_sd_configs" || k == "http_sd_configs" || k == "dns_sd_configs" {
			delete(found, k)
		}
	}
	ts := make([]any, len(targets))
	for i, t := range targets {
		ts[i] = t
	}
	found["static_configs"] = []any{map[string]any{"targets": ts}}
	rewired := false
	rules, _ := found["relabel_configs"].([]any)
	for _, r := range rules {
		if m, ok := r.(map[string]any); ok && m["target_label"] == "__address__" {
			m["replacement"] = exporterAddr
			rewired = true
		}
	}
	if !rewired {
		return "", fmt.Errorf("scrape job %q has no relabel rule with target_label __address__", job)
	}
	full["scrape_configs"] = []any{found}
	out, err := yaml.Marshal(full)
	if err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	return string(out), nil
}
