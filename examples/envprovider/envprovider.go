// Package envprovider is an example credentials provider for
// hitron-exporter, written the way a third party would write one: in a
// module of its own, against the public secrets package only. It reads a
// modem's username and password from environment variables.
//
//	auths:
//	  default:
//	    env:
//	      prefix: HITRON   # HITRON_USERNAME, HITRON_PASSWORD
//
// A probe may add env_site=<SITE> (a parameter the kind declares) to read
// <prefix>_<SITE>_USERNAME and <prefix>_<SITE>_PASSWORD instead; the site
// is upper-cased and must be letters, digits and underscores, so a probe
// URL can only choose among the variables under the configured prefix.
package envprovider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// KindName is the key that selects the provider in an auths: profile.
const KindName = "env"

// SiteParam is the probe parameter that selects a site's variables.
const SiteParam = "env_site"

// Kind returns the provider kind to register in a secrets.Registry. The
// variables never leave the machine, so the kind is Local.
func Kind() secrets.Kind {
	return secrets.Kind{New: New, Local: true, Params: []string{SiteParam}}
}

// Config is the provider's block under auths.<profile>.env.
type Config struct {
	// Prefix starts the names of the variables read.
	Prefix string `yaml:"prefix"`
}

// name is what a variable prefix and a site may be made of.
var name = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// Provider reads credentials from the process environment.
type Provider struct {
	prefix string
	getenv func(string) (string, bool)
}

var _ secrets.Provider = (*Provider)(nil)

// New builds a provider from its configuration block.
func New(opts secrets.Options) (secrets.Provider, error) {
	var c Config
	if err := opts.Decode(&c); err != nil {
		return nil, err
	}
	if !name.MatchString(c.Prefix) {
		return nil, fmt.Errorf("prefix %q: want upper-case letters, digits and underscores, starting with a letter", c.Prefix)
	}
	return &Provider{prefix: c.Prefix, getenv: os.LookupEnv}, nil
}

// Kind implements secrets.Provider.
func (*Provider) Kind() string { return KindName }

// Locate returns the prefix of the variables that hold req's credentials:
// the configured prefix, with the env_site parameter's site when given.
func (p *Provider) Locate(req secrets.Request) (string, error) {
	site, ok := req.Params[SiteParam]
	if !ok {
		return p.prefix, nil
	}
	site = strings.ToUpper(site)
	if !name.MatchString(site) {
		return "", secrets.Errorf(secrets.ReasonConfig, "%s must be letters, digits and underscores, starting with a letter", SiteParam)
	}
	return p.prefix + "_" + site, nil
}

// Fetch reads <location>_USERNAME and <location>_PASSWORD. Its errors name
// the variables, never their values.
func (p *Provider) Fetch(_ context.Context, location string) (secrets.Result, error) {
	user, okUser := p.getenv(location + "_USERNAME")
	pass, okPass := p.getenv(location + "_PASSWORD")
	if !okUser || !okPass || pass == "" {
		return secrets.Result{}, secrets.Errorf(secrets.ReasonNotFound, "%s_USERNAME and a non-empty %s_PASSWORD must be set", location, location)
	}
	return secrets.Result{Credentials: secrets.NewCredentials(user, pass)}, nil
}
