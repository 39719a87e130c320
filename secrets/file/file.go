// Package file is the secrets provider that reads modem credentials from a
// YAML file: the home-lab set-up, and the file a Vault Agent sidecar renders.
//
// The file holds a default username and password and, optionally, per-target
// ones:
//
//	username: admin
//	password: hunter2
//	targets:
//	  "192.0.2.1":
//	    username: cusadmin
//	    password: other
//
// Every look-up checks the file's metadata and reads it again when it may
// have changed, so a rotated password or a re-rendered template is used
// without a restart. Its contents never appear in errors or logs.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// maxFileBytes bounds the credentials file.
const maxFileBytes = 1 << 20

// Config is the provider's block in the exporter configuration.
type Config struct {
	// Path of the credentials file.
	Path string `yaml:"path"`
}

// Kind describes the provider for a secrets.Registry.
func Kind() secrets.Kind { return secrets.Kind{New: New, Local: true} }

// Provider reads credentials from a file.
type Provider struct {
	path string

	mu      sync.Mutex
	raw     []byte
	content *content
	// info is the file's metadata when raw was read, at readAt.
	info   fs.FileInfo
	readAt time.Time
}

type entry struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

type content struct {
	entry   `yaml:",inline"`
	Targets map[string]entry `yaml:"targets"`

	// byKey indexes Targets by canonical target.
	byKey map[string]entry
}

// New builds a provider from its configuration block and checks that the
// file can be read and parsed now.
func New(opts secrets.Options) (secrets.Provider, error) {
	var cfg Config
	if err := opts.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("file: path is required")
	}
	p := &Provider{path: cfg.Path}
	if _, err := p.load(); err != nil {
		return nil, err
	}
	return p, nil
}

// Kind returns "file".
func (*Provider) Kind() string { return "file" }

// Locate returns the canonical target (secrets.CanonicalTarget): the file
// may hold an entry for it, under any spelling of the modem.
func (p *Provider) Locate(req secrets.Request) (string, error) {
	return secrets.CanonicalTarget(req.Target), nil
}

// Fetch returns the target's entry, or the file's default entry.
func (p *Provider) Fetch(ctx context.Context, target string) (secrets.Result, error) {
	if err := ctx.Err(); err != nil {
		return secrets.Result{}, err
	}
	c, err := p.load()
	if err != nil {
		return secrets.Result{}, err
	}
	e, ok := c.byKey[secrets.CanonicalTarget(target)]
	if !ok {
		e = c.entry
	}
	if e.Username == "" || e.Password == "" {
		return secrets.Result{}, secrets.Errorf(secrets.ReasonNotFound,
			"credentials file %s has no username and password for target %q and no default", p.path, target)
	}
	return secrets.Result{Credentials: secrets.NewCredentials(e.Username, e.Password)}, nil
}

// racyWindow is how close to a read a file's modification time must be for
// its metadata not to be trusted: file systems stamp times coarsely, so a
// write just before or after the read may leave them unchanged (git's
// "racily clean" entries).
const racyWindow = 2 * time.Second

// load returns the file's parsed content. When the file's metadata (the same
// file, size and modification time) is unchanged since the last read, and
// that modification was well before the read, the file is not read again;
// otherwise it is read, and parsed when its bytes changed.
func (p *Provider) load() (*content, error) {
	info, statErr := os.Stat(p.path)
	if statErr == nil {
		if c := p.unchanged(info); c != nil {
			return c, nil
		}
	}
	readAt := time.Now()
	raw, err := readLimited(p.path)
	if err != nil {
		reason := secrets.ReasonUnavailable
		if errors.Is(err, fs.ErrNotExist) {
			reason = secrets.ReasonNotFound
		} else if errors.Is(err, fs.ErrPermission) {
			reason = secrets.ReasonPermissionDenied
		}
		return nil, &secrets.Error{Reason: reason, Err: fmt.Errorf("credentials file: %w", err)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if statErr != nil {
		info = nil
	}
	if p.content != nil && bytes.Equal(raw, p.raw) {
		p.info, p.readAt = info, readAt
		return p.content, nil
	}
	c, err := parse(raw)
	if err != nil {
		p.info = nil
		return nil, &secrets.Error{Reason: secrets.ReasonInvalid, Err: fmt.Errorf("credentials file %s: %w", p.path, err)}
	}
	p.raw, p.content, p.info, p.readAt = raw, c, info, readAt
	return c, nil
}

// unchanged returns the cached content when info shows the file as it was
// at the last read, or nil.
func (p *Provider) unchanged(info fs.FileInfo) *content {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.info
	if p.content == nil || old == nil || !os.SameFile(old, info) || old.Size() != info.Size() ||
		!old.ModTime().Equal(info.ModTime()) || !info.ModTime().Before(p.readAt.Add(-racyWindow)) {
		return nil
	}
	return p.content
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	raw, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(raw) > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFileBytes)
	}
	return raw, nil
}

// parse decodes the file strictly. YAML errors quote the offending text, so
// only their line number is kept: the file holds passwords.
func parse(raw []byte) (*content, error) {
	var c content
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid YAML%s (contents not shown)", lineOf(err))
	}
	c.byKey = make(map[string]entry, len(c.Targets))
	for t, e := range c.Targets {
		if e.Username == "" || e.Password == "" {
			return nil, fmt.Errorf("target %q needs both username and password", t)
		}
		key := secrets.CanonicalTarget(t)
		if _, dup := c.byKey[key]; dup {
			return nil, fmt.Errorf("two entries under targets name the same modem (%s)", key)
		}
		c.byKey[key] = e
	}
	if (c.Username == "") != (c.Password == "") {
		return nil, errors.New("the default entry needs both username and password")
	}
	if c.Username == "" && len(c.Targets) == 0 {
		return nil, errors.New("no credentials: set username and password, or targets")
	}
	return &c, nil
}

// lineOf extracts " at line N" from a YAML error without its message.
func lineOf(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		j := i + len("line ")
		for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
			j++
		}
		if j > i+len("line ") {
			return " at " + msg[i:j]
		}
	}
	return ""
}
