// Package config loads and validates the exporter's YAML configuration:
// credential profiles under auths:, and known modems under targets:. A
// loaded Config is never modified; a reload builds a new one.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/target"
)

// DefaultAuth is the profile used when a probe and its target name none.
const DefaultAuth = "default"

// Config is a loaded configuration.
type Config struct {
	Auths   map[string]*Auth   `yaml:"auths"`
	Targets map[string]*Target `yaml:"targets"`
	// Source is the file it was read from ("" for an empty default).
	Source string `yaml:"-"`

	// byKey and byAddress index targets by canonical target and dial
	// address (see target.Canonical).
	byKey     map[string]*Target
	byAddress map[string]*Target
}

// Lookup returns the configuration of target, matched by its canonical
// form so that respelling a configured modem (https://, :443, case, a
// trailing dot) still finds it; nil when the target is not configured.
func (c *Config) Lookup(name string) *Target {
	return c.byKey[target.Canonical(name)]
}

// ByAddress returns the configured target whose address: (the host:port
// actually dialled) is hostPort, if any.
func (c *Config) ByAddress(hostPort string) *Target {
	return c.byAddress[target.Canonical(hostPort)]
}

// Auth is one credential profile.
type Auth struct {
	// Provider is the provider kind: the profile's one key that is not a
	// common option. Which kinds exist is the provider registry's to say
	// (probe.Build checks it, and lists them); "" when the profile has none.
	Provider string `yaml:"-"`
	// Block is the provider's own configuration.
	Block yaml.Node `yaml:"-"`
	// RequireFingerprint, when unset, defaults by provider: true for secret
	// brokers, false for local files.
	RequireFingerprint *bool `yaml:"require_fingerprint"`
	// Cache controls the credential cache.
	Cache CacheConfig `yaml:"cache"`
	// Timeout caps probes that use this profile.
	Timeout time.Duration `yaml:"timeout"`
	// AllowedTargets, when set, are the only targets this profile's
	// credentials may be sent to (exact target strings or regexp: patterns).
	AllowedTargets []string `yaml:"allowed_targets"`
	// Line is where the profile starts in the file.
	Line int `yaml:"-"`

	allowed []allowRule
}

// allowRule is one allowed_targets entry: an exact canonical target, or a
// regular expression over the host (and over host:port).
type allowRule struct {
	exact string
	rx    *regexp.Regexp
}

// CacheConfig controls a profile's credential cache.
type CacheConfig struct {
	// TTL of cached credentials; unset: 5m for brokers, 0 (re-read on every
	// probe) for files.
	TTL *time.Duration `yaml:"ttl"`
	// StaleIfError serves expired credentials this long when the backend is
	// down; unset: 1h for brokers, 0 for files.
	StaleIfError *time.Duration `yaml:"stale_if_error"`
	// MaxEntries caps the credentials kept (one per location: per target
	// for a provider whose path names the target); unset: 16384.
	MaxEntries int `yaml:"max_entries"`
}

// Target says how to probe one known modem.
type Target struct {
	// Auth names the profile used when the probe names none.
	Auth string `yaml:"auth,omitempty"`
	// Fingerprint is the pinned SHA-256 of the modem's certificate.
	Fingerprint string `yaml:"fingerprint,omitempty"`
	// Address, when set, is the host:port connected to instead of the
	// target's own (probe a name, connect to an IP).
	Address string `yaml:"address,omitempty"`
	// Force sends forcelogoff=1, taking over a session a person left open.
	Force bool `yaml:"force,omitempty"`
	// Timeout caps probes of this target.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// TLS options for old firmware.
	TLS TLSConfig `yaml:"tls,omitempty"`
	// DatasetNames overrides the data pages fetched, in order, as the
	// configuration spells them (getSysInfo or /data/getSysInfo.asp);
	// Datasets is the parsed list.
	DatasetNames []string `yaml:"datasets,omitempty"`
	// Timezone of the modem's clock (an IANA name); default UTC.
	Timezone string `yaml:"timezone,omitempty"`
	// Dialect is the firmware's login dialect: auto (the default), cgn,
	// open, coda-userid or rest (see hitron.DialectNames).
	Dialect string `yaml:"dialect,omitempty"`
	// PasswordField is the coda-userid login's password form field: pws
	// (Rogers firmware, the default) or pwd (Shaw firmware).
	PasswordField string `yaml:"password_field,omitempty"`
	// InsecureHTTP allows this target to be an http:// URL: the modem is
	// then reached without TLS, so nothing authenticates it, and profiles
	// that require a fingerprint send it no credentials.
	InsecureHTTP bool `yaml:"insecure_http,omitempty"`

	// Parsed forms.
	Pin      pin.Pin          `yaml:"-"`
	Location *time.Location   `yaml:"-"`
	Datasets []hitron.Dataset `yaml:"-"`
	Line     int              `yaml:"-"`

	fieldLines map[string]int
}

// lineOf returns the line of a field of the target, or the target's line.
func (t *Target) lineOf(field string) int {
	if l, ok := t.fieldLines[field]; ok {
		return l
	}
	return t.Line
}

// TLSConfig holds per-target TLS options.
type TLSConfig struct {
	// MinVersion: "1.0", "1.1", "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version,omitempty"`
	// CipherSuites are extra suites to offer, by Go/IANA name.
	CipherSuites []string `yaml:"cipher_suites,omitempty"`

	MinVersionID uint16   `yaml:"-"`
	CipherIDs    []uint16 `yaml:"-"`
}

// IsZero reports whether no TLS option was given (so /config leaves the
// block out).
func (t TLSConfig) IsZero() bool { return t.MinVersion == "" && len(t.CipherSuites) == 0 }

// Error is a configuration error with its place in the file.
type Error struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// profileKeys are the keys of an auths entry that are not provider kinds.
var profileKeys = map[string]bool{"require_fingerprint": true, "cache": true, "timeout": true, "allowed_targets": true}

// UnmarshalYAML reads a profile: at most one provider key plus the common
// options (a profile without one is refused when it is built).
func (a *Auth) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &Error{Line: n.Line, Err: errors.New("an auths entry must be a mapping")}
	}
	a.Line = n.Line
	common := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if profileKeys[k.Value] {
			common.Content = append(common.Content, k, v)
			continue
		}
		if a.Provider != "" {
			return &Error{Line: k.Line, Err: fmt.Errorf("more than one provider (%s and %s): a profile has exactly one", a.Provider, k.Value)}
		}
		a.Provider, a.Block = k.Value, *v
	}
	for i := 0; i+1 < len(common.Content); i += 2 {
		if k, v := common.Content[i], common.Content[i+1]; k.Value == "cache" {
			if err := checkKeys(v, "cache", "ttl", "stale_if_error", "max_entries"); err != nil {
				return err
			}
		}
	}
	type plain Auth
	if err := common.Decode((*plain)(a)); err != nil {
		return &Error{Line: n.Line + lineIn(err) - 1, Err: stripLine(err)}
	}
	return nil
}

// checkKeys rejects keys of mapping n other than allowed.
func checkKeys(n *yaml.Node, field string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return &Error{Line: n.Line, Field: field, Err: errors.New("must be a mapping")}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			return &Error{Line: k.Line, Field: field, Err: fmt.Errorf("unknown field %q (known: %s)", k.Value, strings.Join(allowed, ", "))}
		}
	}
	return nil
}

// strictDecode decodes n into out rejecting unknown fields, keeping n's line
// numbers in the error.
func strictDecode(n *yaml.Node, out any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	_ = enc.Close()
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	err := dec.Decode(out)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Line: n.Line + lineIn(err) - 1, Err: stripLine(err)}
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

func lineIn(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 1
}

func stripLine(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(yamlLine.ReplaceAllString(msg, ""))
	return errors.New(msg)
}

// DecodeBlock strictly decodes a provider's block into out.
func (a *Auth) DecodeBlock(out any) error {
	if a.Block.Kind == 0 {
		return nil
	}
	return strictDecode(&a.Block, out)
}

// Load reads and validates a configuration file. A missing file is an empty
// configuration only when missingOK is set (the default path).
func Load(path string, missingOK bool) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if missingOK && errors.Is(err, os.ErrNotExist) {
			return &Config{Auths: map[string]*Auth{}, Targets: map[string]*Target{}}, nil
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(raw)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
			return nil, ce
		}
		return nil, &Error{File: path, Err: err}
	}
	cfg.Source = path
	return cfg, nil
}

// Parse decodes and validates configuration text.
func Parse(raw []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, &Error{Line: lineIn(err), Err: stripLine(err)}
	}
	cfg := &Config{}
	if root.Kind != 0 && len(root.Content) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			var ce *Error
			if errors.As(err, &ce) {
				return nil, ce
			}
			return nil, &Error{Line: lineIn(err), Err: stripLine(err)}
		}
		recordLines(root.Content[0], cfg)
	}
	if cfg.Auths == nil {
		cfg.Auths = map[string]*Auth{}
	}
	if cfg.Targets == nil {
		cfg.Targets = map[string]*Target{}
	}
	return cfg, cfg.resolve()
}

// recordLines notes where each target starts, for error messages.
func recordLines(root *yaml.Node, cfg *Config) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "targets" {
			continue
		}
		m := root.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			if t, ok := cfg.Targets[m.Content[j].Value]; ok && t != nil {
				t.Line = m.Content[j].Line
				t.fieldLines = map[string]int{}
				if v := m.Content[j+1]; v.Kind == yaml.MappingNode {
					for k := 0; k+1 < len(v.Content); k += 2 {
						t.fieldLines[v.Content[k].Value] = v.Content[k].Line
					}
				}
			}
		}
	}
}

// resolve checks the configuration and fills in its parsed forms: the
// profiles' allow-lists, each target's pin, dial address, TLS versions and
// suites, data sets, dialect (auto when unset) and time zone, and the
// lookup tables by canonical target and by address. The first problem is
// returned as an *Error naming its line and field.
func (c *Config) resolve() error {
	for name, a := range c.Auths {
		if a == nil {
			return &Error{Field: "auths." + name, Err: errors.New("empty profile")}
		}
		for _, pattern := range a.AllowedTargets {
			if re, ok := strings.CutPrefix(pattern, "regexp:"); ok {
				rx, err := regexp.Compile("^(?:" + re + ")$")
				if err != nil {
					return &Error{Line: a.Line, Field: "auths." + name + ".allowed_targets", Err: err}
				}
				a.allowed = append(a.allowed, allowRule{rx: rx})
			} else {
				a.allowed = append(a.allowed, allowRule{exact: target.Canonical(pattern)})
			}
		}
		if a.Timeout < 0 {
			return &Error{Line: a.Line, Field: "auths." + name + ".timeout", Err: errors.New("must not be negative")}
		}
		if a.Cache.MaxEntries < 0 {
			return &Error{Line: a.Line, Field: "auths." + name + ".cache.max_entries", Err: errors.New("must not be negative")}
		}
	}
	names := make([]string, 0, len(c.Targets))
	for name := range c.Targets {
		names = append(names, name)
	}
	sort.Strings(names)
	c.byKey, c.byAddress = map[string]*Target{}, map[string]*Target{}
	for _, name := range names {
		t := c.Targets[name]
		field := fmt.Sprintf("targets[%q]", name)
		if t == nil {
			t = &Target{}
			c.Targets[name] = t
		}
		parsed, err := target.Parse(name)
		if err != nil {
			return &Error{Line: t.Line, Field: field, Err: err}
		}
		key := target.Canonical(name)
		if _, dup := c.byKey[key]; dup {
			return &Error{Line: t.Line, Field: field, Err: fmt.Errorf("names the same modem as another target (%s); keep one", key)}
		}
		c.byKey[key] = t
		if t.Auth != "" {
			if _, ok := c.Auths[t.Auth]; !ok {
				return &Error{Line: t.lineOf("auth"), Field: field + ".auth", Err: fmt.Errorf("no profile named %q under auths", t.Auth)}
			}
		}
		if t.Fingerprint != "" {
			fp, err := pin.Parse(t.Fingerprint)
			if err != nil {
				return &Error{Line: t.lineOf("fingerprint"), Field: field + ".fingerprint", Err: err}
			}
			t.Pin = pin.Require(fp)
		}
		if t.Address != "" {
			host, port, err := target.SplitHostPort(t.Address)
			if err != nil {
				return &Error{Line: t.lineOf("address"), Field: field + ".address", Err: err}
			}
			if port == 0 {
				port = parsed.Port // the target's port when the address names none
			}
			t.Address = net.JoinHostPort(host, strconv.Itoa(port))
			c.byAddress[target.Canonical(t.Address)] = t
		}
		if t.Timeout < 0 {
			return &Error{Line: t.lineOf("timeout"), Field: field + ".timeout", Err: errors.New("must not be negative")}
		}
		if t.TLS.MinVersion != "" {
			v, err := pin.VersionByName(t.TLS.MinVersion)
			if err != nil {
				return &Error{Line: t.lineOf("tls"), Field: field + ".tls.min_version", Err: err}
			}
			t.TLS.MinVersionID = v
		}
		for _, s := range t.TLS.CipherSuites {
			id, err := pin.CipherSuiteByName(s)
			if err != nil {
				return &Error{Line: t.lineOf("tls"), Field: field + ".tls.cipher_suites", Err: err}
			}
			t.TLS.CipherIDs = append(t.TLS.CipherIDs, id)
		}
		for _, d := range t.DatasetNames {
			ds := hitron.Dataset(strings.TrimSuffix(strings.TrimPrefix(d, "/data/"), ".asp"))
			if !knownDataset(ds) {
				return &Error{Line: t.lineOf("datasets"), Field: field + ".datasets", Err: fmt.Errorf("unknown dataset %q", d)}
			}
			t.Datasets = append(t.Datasets, ds)
		}
		if err := t.resolveDialect(field, parsed); err != nil {
			return err
		}
		t.Location = time.UTC
		if t.Timezone != "" {
			loc, err := time.LoadLocation(t.Timezone)
			if err != nil {
				return &Error{Line: t.lineOf("timezone"), Field: field + ".timezone", Err: err}
			}
			t.Location = loc
		}
	}
	return nil
}

// resolveDialect checks dialect (auto when unset), password_field and
// insecure_http.
func (t *Target) resolveDialect(field string, parsed target.Target) error {
	if t.Dialect == "" {
		t.Dialect = hitron.DialectAuto
	}
	known := false
	for _, d := range hitron.DialectNames {
		known = known || d == t.Dialect
	}
	if !known {
		return &Error{Line: t.lineOf("dialect"), Field: field + ".dialect",
			Err: fmt.Errorf("unknown dialect %q (known: %s)", t.Dialect, strings.Join(hitron.DialectNames, ", "))}
	}
	if t.PasswordField != "" {
		if t.Dialect != hitron.DialectCODAUserID {
			return &Error{Line: t.lineOf("password_field"), Field: field + ".password_field",
				Err: fmt.Errorf("only the %s dialect has a password field choice (this target's dialect is %s)", hitron.DialectCODAUserID, t.Dialect)}
		}
		if t.PasswordField != hitron.PasswordFieldRogers && t.PasswordField != hitron.PasswordFieldShaw {
			return &Error{Line: t.lineOf("password_field"), Field: field + ".password_field",
				Err: fmt.Errorf("%q: must be %s (Rogers firmware) or %s (Shaw firmware)", t.PasswordField, hitron.PasswordFieldRogers, hitron.PasswordFieldShaw)}
		}
	}
	switch {
	case parsed.Scheme == "http" && !t.InsecureHTTP:
		return &Error{Line: t.Line, Field: field,
			Err: errors.New("an http:// target is reached without TLS: set insecure_http: true to allow it")}
	case parsed.Scheme != "http" && t.InsecureHTTP:
		return &Error{Line: t.lineOf("insecure_http"), Field: field + ".insecure_http",
			Err: errors.New("applies to http:// targets only; name the target http://host[:port]")}
	case parsed.Scheme == "http" && t.Pin.IsSet():
		return &Error{Line: t.lineOf("fingerprint"), Field: field + ".fingerprint",
			Err: errors.New("a plain-HTTP target presents no certificate to pin")}
	case parsed.Scheme == "http" && t.Dialect == hitron.DialectAuto:
		// Detection over plain HTTP believes whoever answers: a spoofed
		// preSession cookie would have the password sent in clear.
		return &Error{Line: t.Line, Field: field + ".dialect",
			Err: errors.New("an http:// target must name its dialect: open for a modem without login, or the login dialect " +
				"(cgn, coda-userid) to send its password in clear; auto-detection over plain HTTP would believe whoever answers")}
	}
	return nil
}

func knownDataset(d hitron.Dataset) bool {
	for _, k := range hitron.KnownDatasets {
		if k == d {
			return true
		}
	}
	return false
}

// Allows reports whether the profile may send credentials to target. Exact
// entries compare canonical forms; regexp: entries must match the whole
// host name (or host:port) of the canonical form.
func (a *Auth) Allows(name string) bool {
	if len(a.allowed) == 0 {
		return true
	}
	canonical := target.Canonical(name)
	host, _, _ := net.SplitHostPort(canonical)
	for _, r := range a.allowed {
		if r.rx == nil && r.exact == canonical || r.rx != nil && (r.rx.MatchString(host) || r.rx.MatchString(canonical)) {
			return true
		}
	}
	return false
}

// RequiresFingerprint reports the profile's effective require_fingerprint,
// given whether its provider is local.
func (a *Auth) RequiresFingerprint(local bool) bool {
	if a.RequireFingerprint != nil {
		return *a.RequireFingerprint
	}
	return !local
}
