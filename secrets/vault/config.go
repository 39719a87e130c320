package vault

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"
)

// Auth methods accepted in auth.method.
const (
	MethodToken      = "token"
	MethodAppRole    = "approle"
	MethodKubernetes = "kubernetes"
	MethodAgent      = "agent"
)

// DefaultJWTFile is where Kubernetes mounts a pod's service-account token.
const DefaultJWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// DefaultConfig holds the defaults applied before a profile's block is
// decoded.
var DefaultConfig = Config{
	Mount:       "secret",
	KVVersion:   2,
	Path:        "hitron/{{ .Target }}",
	UsernameKey: "username",
	PasswordKey: "password",
	Timeout:     5 * time.Second,
}

// Config is the `vault:` block of an auths: profile.
type Config struct {
	// Address is the Vault (or Vault Agent / Proxy listener) URL; default
	// $VAULT_ADDR.
	Address string `yaml:"address"`
	// CAFile is a PEM CA bundle to verify Vault's certificate; default
	// $VAULT_CACERT (and the other VAULT_ TLS variables the Vault CLI reads).
	CAFile string `yaml:"ca_file"`
	// Auth selects how the provider logs in.
	Auth AuthConfig `yaml:"auth"`
	// Mount is the KV secrets engine's mount path; default "secret".
	Mount string `yaml:"mount"`
	// KVVersion is the KV engine version, 1 or 2; default 2.
	KVVersion int `yaml:"kv_version"`
	// Path is a Go text/template rendered per request with {{ .Target }} and
	// {{ .Host }}, relative to Mount; default "hitron/{{ .Target }}".
	Path string `yaml:"path"`
	// UsernameKey and PasswordKey name the secret's fields; defaults
	// "username" and "password".
	UsernameKey string `yaml:"username_key"`
	PasswordKey string `yaml:"password_key"`
	// Timeout bounds every request to Vault (an earlier context deadline
	// wins); default 5s.
	Timeout time.Duration `yaml:"timeout"`
}

// AuthConfig is the `auth:` block of a vault profile.
type AuthConfig struct {
	// Method is token, approle, kubernetes or agent.
	Method string `yaml:"method"`
	// TokenFile holds a Vault token (method token); default $VAULT_TOKEN.
	TokenFile string `yaml:"token_file"`
	// RoleIDFile and SecretIDFile hold the AppRole credentials (method
	// approle). SecretIDFile may be empty for roles with bind_secret_id=false.
	RoleIDFile   string `yaml:"role_id_file"`
	SecretIDFile string `yaml:"secret_id_file"`
	// Mount is the auth method's mount; default "approle" or "kubernetes".
	Mount string `yaml:"mount"`
	// Role is the Kubernetes auth role (method kubernetes).
	Role string `yaml:"role"`
	// JWTFile is the service-account token (method kubernetes); default
	// DefaultJWTFile.
	JWTFile string `yaml:"jwt_file"`
}

// applyDefaults fills in unset fields, including those taken from the
// environment.
func (c *Config) applyDefaults() {
	if c.Address == "" {
		c.Address = os.Getenv("VAULT_ADDR")
	}
	if c.Mount == "" {
		c.Mount = DefaultConfig.Mount
	}
	if c.KVVersion == 0 {
		c.KVVersion = DefaultConfig.KVVersion
	}
	if c.Path == "" {
		c.Path = DefaultConfig.Path
	}
	if c.UsernameKey == "" {
		c.UsernameKey = DefaultConfig.UsernameKey
	}
	if c.PasswordKey == "" {
		c.PasswordKey = DefaultConfig.PasswordKey
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultConfig.Timeout
	}
	switch c.Auth.Method {
	case MethodAppRole:
		if c.Auth.Mount == "" {
			c.Auth.Mount = "approle"
		}
	case MethodKubernetes:
		if c.Auth.Mount == "" {
			c.Auth.Mount = "kubernetes"
		}
		if c.Auth.JWTFile == "" {
			c.Auth.JWTFile = DefaultJWTFile
		}
	}
	c.Mount = strings.Trim(c.Mount, "/")
	c.Auth.Mount = strings.Trim(c.Auth.Mount, "/")
}

// validate checks the configuration and parses the path template. It does
// no I/O except reading the environment.
func (c *Config) validate() (*template.Template, error) {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("address must be set (or $VAULT_ADDR)"))
	}
	if c.KVVersion != 1 && c.KVVersion != 2 {
		errs = append(errs, fmt.Errorf("kv_version must be 1 or 2, not %d", c.KVVersion))
	}
	if c.Mount == "" || !validVaultPath(c.Mount) {
		errs = append(errs, fmt.Errorf("mount %q is not a valid Vault mount path", c.Mount))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	a := c.Auth
	only := func(method string, fields map[string]string) {
		for name, v := range fields {
			if v != "" {
				errs = append(errs, fmt.Errorf("auth.%s is not used by method %s", name, method))
			}
		}
	}
	switch a.Method {
	case MethodToken:
		if a.TokenFile == "" && os.Getenv("VAULT_TOKEN") == "" {
			errs = append(errs, errors.New("auth.token_file must be set (or $VAULT_TOKEN) for method token"))
		}
		only(a.Method, map[string]string{"role_id_file": a.RoleIDFile, "secret_id_file": a.SecretIDFile,
			"mount": a.Mount, "role": a.Role, "jwt_file": a.JWTFile})
	case MethodAppRole:
		if a.RoleIDFile == "" {
			errs = append(errs, errors.New("auth.role_id_file must be set for method approle"))
		}
		only(a.Method, map[string]string{"token_file": a.TokenFile, "role": a.Role, "jwt_file": a.JWTFile})
	case MethodKubernetes:
		if a.Role == "" {
			errs = append(errs, errors.New("auth.role must be set for method kubernetes"))
		}
		only(a.Method, map[string]string{"token_file": a.TokenFile, "role_id_file": a.RoleIDFile,
			"secret_id_file": a.SecretIDFile})
	case MethodAgent:
		only(a.Method, map[string]string{"token_file": a.TokenFile, "role_id_file": a.RoleIDFile,
			"secret_id_file": a.SecretIDFile, "mount": a.Mount, "role": a.Role, "jwt_file": a.JWTFile})
	case "":
		errs = append(errs, errors.New("auth.method must be set (token, approle, kubernetes or agent)"))
	default:
		errs = append(errs, fmt.Errorf("auth.method %q is unknown (want token, approle, kubernetes or agent)", a.Method))
	}
	if a.Mount != "" && !validVaultPath(a.Mount) {
		errs = append(errs, fmt.Errorf("auth.mount %q is not a valid Vault mount path", a.Mount))
	}
	if c.UsernameKey == c.PasswordKey {
		errs = append(errs, errors.New("username_key and password_key must differ"))
	}
	tmpl, err := template.New("path").Option("missingkey=error").Parse(c.Path)
	if err != nil {
		errs = append(errs, fmt.Errorf("path: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tmpl, nil
}
