package freeipa

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// Config is the `freeipa:` block of an `auths:` profile.
type Config struct {
	// Server is the IPA server as host[:port]. Default: `server` (or the
	// host of `xmlrpc_uri`) from /etc/ipa/default.conf ($IPA_CONFDIR).
	Server string `yaml:"server"`
	// CAFile is the PEM file of CAs that sign the server's certificate.
	// Default: /etc/ipa/ca.crt ($IPA_CONFDIR/ca.crt).
	CAFile string `yaml:"ca_file"`
	// Keytab holds the exporter's Kerberos keys. Default: $KRB5_CLIENT_KTNAME.
	Keytab string `yaml:"keytab"`
	// Principal is the exporter's principal, with or without @REALM.
	// Default: the keytab's first principal.
	Principal string `yaml:"principal"`
	// Krb5Conf is the Kerberos configuration. Default: $KRB5_CONFIG, else
	// /etc/krb5.conf.
	Krb5Conf string `yaml:"krb5_conf"`
	// VaultOwner is a template, over .Target and .Host, rendering to
	// service:PRINCIPAL or user:NAME: the container holding the vaults. The
	// probe parameter ipa_vault_namespace overrides it.
	// Default: service:host/{{ .Host }}.
	VaultOwner string `yaml:"vault_owner"`
	// UsernameVault is the vault holding the modem's username. Default: usr.
	UsernameVault string `yaml:"username_vault"`
	// PasswordVault is the vault holding the modem's password. Default: pwd.
	PasswordVault string `yaml:"password_vault"`
	// VaultPasswordFile holds the password of symmetric vaults (trailing
	// newlines are ignored). Standard vaults need none.
	VaultPasswordFile string `yaml:"vault_password_file"`
	// Timeout bounds one retrieval (both vaults). Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Defaults applied by New.
const (
	DefaultUsernameVault = "usr"
	DefaultPasswordVault = "pwd"
	DefaultVaultOwner    = "service:host/{{ .Host }}"
	DefaultTimeout       = 10 * time.Second
	defaultConfDir       = "/etc/ipa"
	defaultKrb5Conf      = "/etc/krb5.conf"
)

// settings is a validated Config with defaults applied and files loaded.
type settings struct {
	cfg       Config
	fqdn      string // server host name: SPN, TLS name, Referer host
	addr      string // host:port to dial
	roots     *x509.CertPool
	krb5      *config.Config
	keytab    *keytab.Keytab
	principal types.PrincipalName
	realm     string
	owner     *template.Template
}

func configErr(format string, args ...any) error {
	return secrets.Errorf(secrets.ReasonConfig, "freeipa: "+format, args...)
}

// resolve validates c, applies defaults and loads the local files it names
// (default.conf, CA file, krb5.conf, keytab). getenv reads the environment.
func resolve(c Config, getenv func(string) string) (*settings, error) {
	confDir := getenv("IPA_CONFDIR")
	if confDir == "" {
		confDir = defaultConfDir
	}
	s := &settings{cfg: c}

	// Server.
	if c.Server == "" {
		server, err := serverFromDefaultConf(filepath.Join(confDir, "default.conf"))
		if err != nil {
			return nil, configErr("server is not set and %v", err)
		}
		c.Server = server
	}
	host, port, err := splitServer(c.Server)
	if err != nil {
		return nil, configErr("server %q: %v", c.Server, err)
	}
	s.fqdn, s.addr = host, net.JoinHostPort(host, port)

	// CA file.
	if c.CAFile == "" {
		c.CAFile = filepath.Join(confDir, "ca.crt")
	}
	if s.roots, err = loadCAs(c.CAFile); err != nil {
		return nil, configErr("ca_file: %v", err)
	}

	// krb5.conf.
	if c.Krb5Conf == "" {
		c.Krb5Conf = defaultKrb5Conf
		if env := getenv("KRB5_CONFIG"); env != "" {
			c.Krb5Conf = strings.Split(env, ":")[0]
		}
	}
	if s.krb5, err = config.Load(c.Krb5Conf); err != nil {
		return nil, configErr("krb5_conf %s: %v", c.Krb5Conf, err)
	}

	// Keytab and principal.
	if c.Keytab == "" {
		c.Keytab = getenv("KRB5_CLIENT_KTNAME")
		if c.Keytab == "" {
			return nil, secrets.Errorf(ReasonKeytab, "freeipa: keytab is not set and KRB5_CLIENT_KTNAME is empty")
		}
	}
	if c.Keytab, err = keytabPath(c.Keytab); err != nil {
		return nil, secrets.Errorf(ReasonKeytab, "freeipa: keytab: %v", err)
	}
	if s.keytab, err = loadKeytab(c.Keytab); err != nil {
		return nil, err
	}
	if s.principal, s.realm, err = pickPrincipal(s.keytab, c.Principal, c.Keytab); err != nil {
		return nil, err
	}
	c.Principal = s.principal.PrincipalNameString() + "@" + s.realm
	addSHA2Enctypes(s.krb5, keytabEnctypes(s.keytab, s.principal.PrincipalNameString(), s.realm))

	// Vaults.
	if c.UsernameVault == "" {
		c.UsernameVault = DefaultUsernameVault
	}
	if c.PasswordVault == "" {
		c.PasswordVault = DefaultPasswordVault
	}
	for key, name := range map[string]string{"username_vault": c.UsernameVault, "password_vault": c.PasswordVault} {
		if err := validName(name); err != nil {
			return nil, configErr("%s %q: %v", key, name, err)
		}
	}
	if c.VaultPasswordFile != "" {
		if _, err := readVaultPassword(c.VaultPasswordFile); err != nil {
			return nil, configErr("vault_password_file: %v", err)
		}
	}
	if c.VaultOwner == "" {
		c.VaultOwner = DefaultVaultOwner
	}
	if s.owner, err = template.New("vault_owner").Option("missingkey=error").Parse(c.VaultOwner); err != nil {
		return nil, configErr("vault_owner: %v", err)
	}
	// Render once with a sample target so that errors show at load time.
	if _, err := renderOwner(s.owner, secrets.Request{Target: "modem.example.com", Host: "modem.example.com"}); err != nil {
		return nil, configErr("vault_owner %q: %v", c.VaultOwner, err)
	}
	switch {
	case c.Timeout < 0:
		return nil, configErr("timeout must not be negative")
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	}
	s.cfg = c
	return s, nil
}

// splitServer splits host[:port] and checks the host is a DNS name.
func splitServer(server string) (host, port string, err error) {
	if strings.Contains(server, "/") {
		return "", "", errors.New("want host[:port], without scheme or path")
	}
	host, port = server, "443"
	if h, p, err := net.SplitHostPort(server); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("bad port %q", p)
		}
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return "", "", errors.New("empty host")
	}
	if net.ParseIP(host) != nil {
		return "", "", errors.New("must be the server's DNS name (it names the Kerberos service HTTP/<server>), not an IP address")
	}
	return host, port, nil
}

// serverFromDefaultConf reads `server`, or the host of `xmlrpc_uri`, from
// the [global] section of an IPA default.conf.
func serverFromDefaultConf(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	vals := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.ToLower(strings.Trim(line, "[] "))
		case section == "global":
			if k, v, ok := strings.Cut(line, "="); ok {
				vals[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	if vals["server"] != "" {
		return vals["server"], nil
	}
	if u, err := url.Parse(vals["xmlrpc_uri"]); err == nil && u.Host != "" {
		return u.Hostname(), nil
	}
	return "", fmt.Errorf("%s names no server", path)
}

func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// keytabPath turns a keytab name (FILE:/path or /path) into a path.
func keytabPath(name string) (string, error) {
	if i := strings.Index(name, ":"); i > 1 {
		switch strings.ToUpper(name[:i]) {
		case "FILE", "WRFILE":
			name = name[i+1:]
		default:
			return "", fmt.Errorf("keytab type %q is not supported, use a file path", name[:i])
		}
	}
	if name == "" {
		return "", errors.New("empty keytab path")
	}
	return name, nil
}

func loadKeytab(path string) (*keytab.Keytab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, secrets.Errorf(ReasonKeytab, "freeipa: cannot read keytab %s: %v", path, unwrapPathErr(err))
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		return nil, secrets.Errorf(ReasonKeytab, "freeipa: keytab %s is not a valid keytab file", path)
	}
	if len(kt.Entries) == 0 {
		return nil, secrets.Errorf(ReasonKeytab, "freeipa: keytab %s holds no keys", path)
	}
	return kt, nil
}

// unwrapPathErr keeps the cause of an *os.PathError (the path is printed
// by the caller already).
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// pickPrincipal finds the principal (name[@REALM]) in the keytab, or takes
// the keytab's first principal when name is empty.
func pickPrincipal(kt *keytab.Keytab, name, ktPath string) (types.PrincipalName, string, error) {
	if name == "" {
		e := kt.Entries[0]
		return types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, strings.Join(e.Principal.Components, "/")), e.Principal.Realm, nil
	}
	princ, realm, _ := strings.Cut(name, "@")
	want := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, princ)
	var seen []string
	for _, e := range kt.Entries {
		p := strings.Join(e.Principal.Components, "/")
		seen = append(seen, p+"@"+e.Principal.Realm)
		if p == want.PrincipalNameString() && (realm == "" || realm == e.Principal.Realm) {
			return want, e.Principal.Realm, nil
		}
	}
	return want, "", secrets.Errorf(ReasonPrincipalNotInKeytab,
		"freeipa: principal %s is not in keytab %s (it holds %s)", name, ktPath, strings.Join(dedup(seen), ", "))
}

func dedup(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// keytabEnctypes returns the encryption types the keytab holds for
// principal@realm.
func keytabEnctypes(kt *keytab.Keytab, principal, realm string) map[int32]bool {
	out := map[int32]bool{}
	for _, e := range kt.Entries {
		if strings.Join(e.Principal.Components, "/") == principal && e.Principal.Realm == realm {
			out[e.Key.KeyType] = true
		}
	}
	return out
}

// addSHA2Enctypes adjusts enctype lists that krb5.conf leaves at gokrb5's
// defaults, which lack the SHA-2 AES types (RFC 8009) that FreeIPA on RHEL 9
// prefers: it puts them first, and limits the AS request to the types the
// keytab holds, so the KDC never answers with a key the keytab lacks.
func addSHA2Enctypes(c *config.Config, inKeytab map[int32]bool) {
	def := config.New().LibDefaults
	sha2 := []string{"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128"}
	fix := func(names *[]string, ids *[]int32, defNames []string, filter bool) {
		if strings.Join(*names, " ") != strings.Join(defNames, " ") {
			return
		}
		var newNames []string
		var newIDs []int32
		for _, n := range append(append([]string(nil), sha2...), defNames...) {
			id := etypeID.EtypeSupported(n)
			if id == 0 || (filter && !inKeytab[id]) || slices.Contains(newIDs, id) {
				continue
			}
			if !slices.Contains(sha2, n) && !slices.Contains(*ids, id) {
				continue // weak types gokrb5 left out
			}
			newNames, newIDs = append(newNames, n), append(newIDs, id)
		}
		if len(newIDs) > 0 {
			*names, *ids = newNames, newIDs
		}
	}
	l := &c.LibDefaults
	fix(&l.DefaultTktEnctypes, &l.DefaultTktEnctypeIDs, def.DefaultTktEnctypes, true)
	fix(&l.DefaultTGSEnctypes, &l.DefaultTGSEnctypeIDs, def.DefaultTGSEnctypes, false)
	fix(&l.PermittedEnctypes, &l.PermittedEnctypeIDs, def.PermittedEnctypes, false)
}

func validName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '/' || r == ',' || r == '=' {
			return fmt.Errorf("invalid character %q", r)
		}
	}
	return nil
}

// readVaultPassword reads a symmetric vault's password, as the ipa CLI
// does: UTF-8 with trailing newlines removed.
func readVaultPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, unwrapPathErr(err))
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return pw, nil
}
