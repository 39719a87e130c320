// Package kdc starts a real MIT Kerberos KDC for tests: its own realm in a
// temporary directory, principals and keytabs made with kadmin.local, and
// krb5kdc listening on a free 127.0.0.1 TCP port. Every process it starts is
// stopped in t.Cleanup.
//
// It needs Debian's krb5-kdc and krb5-admin-server packages (and faketime
// for WithClockOffset); when they are missing the test fails, it does not
// skip.
package kdc

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// InstallHint is the setup step that provides the KDC binaries.
const InstallHint = "install krb5-kdc krb5-admin-server (scripts/test.sh does)"

// FaketimeHint is the setup step that provides libfaketime for WithClockOffset.
const FaketimeHint = "install faketime (scripts/test.sh does)"

// DefaultRealm is the realm Start creates unless WithRealm says otherwise.
const DefaultRealm = "EXAMPLE.TEST"

// DefaultEnctypes are the encryption types of the realm and its keys.
var DefaultEnctypes = []string{"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"}

type options struct {
	realm       string
	maxLife     time.Duration
	clockOffset time.Duration
	enctypes    []string
}

// Option changes how Start builds the realm.
type Option func(*options)

// WithRealm sets the realm name (default DefaultRealm).
func WithRealm(realm string) Option { return func(o *options) { o.realm = realm } }

// WithMaxLife sets the realm's maximum ticket lifetime (default 10h). Use
// MaxLife on a principal for a short-lived TGT of one client only.
func WithMaxLife(d time.Duration) Option { return func(o *options) { o.maxLife = d } }

// WithClockOffset runs krb5kdc with its clock shifted by d (through
// libfaketime), so that clients see a clock skew error.
func WithClockOffset(d time.Duration) Option { return func(o *options) { o.clockOffset = d } }

// WithEnctypes sets the realm's encryption types (default DefaultEnctypes).
func WithEnctypes(enctypes ...string) Option {
	return func(o *options) { o.enctypes = append([]string(nil), enctypes...) }
}

// KDC is a running MIT KDC with its own realm.
type KDC struct {
	// Realm is the realm name.
	Realm string
	// Dir is the temporary directory holding the database, configs and logs.
	Dir string
	// Addr is the KDC's TCP address, 127.0.0.1:port.
	Addr string
	// Krb5Conf is the path of a client krb5.conf naming this KDC.
	Krb5Conf string
	// KDCConf is the path of the KDC's kdc.conf (KRB5_KDC_PROFILE).
	KDCConf string

	opts options
	env  []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start creates a realm in t.TempDir(), starts krb5kdc on a free loopback
// port and stops it when the test ends. It fails the test with InstallHint
// when the MIT binaries are missing.
func Start(t testing.TB, opts ...Option) *KDC {
	t.Helper()
	o := options{realm: DefaultRealm, maxLife: 10 * time.Hour, enctypes: DefaultEnctypes}
	for _, opt := range opts {
		opt(&o)
	}
	for _, bin := range []string{"krb5kdc", "kdb5_util", "kadmin.local"} {
		if _, err := lookPath(bin); err != nil {
			t.Fatalf("kdc: %s not found: %s", bin, InstallHint)
		}
	}
	k := &KDC{Realm: o.realm, Dir: t.TempDir(), opts: o}
	k.Krb5Conf = filepath.Join(k.Dir, "krb5.conf")
	k.KDCConf = filepath.Join(k.Dir, "kdc.conf")
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Krb5Conf, "KRB5_KDC_PROFILE="+k.KDCConf)

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := testkit.FreePort()
		if err != nil {
			t.Fatalf("kdc: pick a port: %v", err)
		}
		k.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := k.writeConfigs(); err != nil {
			t.Fatalf("kdc: %v", err)
		}
		if attempt == 0 {
			if err := os.WriteFile(filepath.Join(k.Dir, "kadm5.acl"), nil, 0o600); err != nil {
				t.Fatalf("kdc: %v", err)
			}
			if out, err := k.run("kdb5_util", "create", "-s", "-r", o.realm, "-P", "kdc-test-master-key"); err != nil {
				t.Fatalf("kdc: kdb5_util create: %v: %s", err, out)
			}
		}
		if lastErr = k.startDaemon(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("kdc: start krb5kdc: %v (log: %s)", lastErr, k.Log())
	}
	t.Cleanup(k.Stop)
	return k
}

func lookPath(bin string) (string, error) {
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	// kadmin.local and krb5kdc live in /usr/sbin, which a non-root PATH may lack.
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, bin)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func (k *KDC) writeConfigs() error {
	enc := strings.Join(k.opts.enctypes, " ")
	var supported []string
	for _, e := range k.opts.enctypes {
		supported = append(supported, e+":normal")
	}
	krb5 := fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    default_ccache_name = FILE:%[2]s/ccache
    default_tkt_enctypes = %[3]s
    default_tgs_enctypes = %[3]s
    permitted_enctypes = %[3]s
[realms]
    %[1]s = {
        kdc = %[4]s
    }
[domain_realm]
    .example.test = %[1]s
    example.test = %[1]s
`, k.Realm, k.Dir, enc, k.Addr)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
    kdc_listen = ""
    kdc_tcp_listen = %[3]s
[realms]
    %[1]s = {
        database_name = %[2]s/principal
        key_stash_file = %[2]s/stash
        acl_file = %[2]s/kadm5.acl
        kdc_listen = ""
        kdc_tcp_listen = %[3]s
        max_life = %[4]ds
        max_renewable_life = 7d 0h 0m 0s
        master_key_type = %[5]s
        supported_enctypes = %[6]s
        default_principal_flags = +preauth
    }
[logging]
    kdc = FILE:%[2]s/kdc.log
    default = FILE:%[2]s/krb5lib.log
`, k.Realm, k.Dir, k.Addr, int(k.opts.maxLife/time.Second), k.opts.enctypes[0], strings.Join(supported, " "))
	if err := os.WriteFile(k.Krb5Conf, []byte(krb5), 0o644); err != nil {
		return fmt.Errorf("write krb5.conf: %w", err)
	}
	if err := os.WriteFile(k.KDCConf, []byte(kdcConf), 0o600); err != nil {
		return fmt.Errorf("write kdc.conf: %w", err)
	}
	return nil
}

func (k *KDC) run(bin string, args ...string) ([]byte, error) {
	p, err := lookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s not found: %s", bin, InstallHint)
	}
	cmd := exec.Command(p, args...)
	cmd.Env = k.env
	cmd.Dir = k.Dir
	cmd.Stdin = nil
	return cmd.CombinedOutput()
}

func (k *KDC) startDaemon() error {
	p, err := lookPath("krb5kdc")
	if err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(k.Dir, "krb5kdc.out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(p, "-n", "-r", k.Realm, "-P", filepath.Join(k.Dir, "krb5kdc.pid"))
	cmd.Env = k.env
	if k.opts.clockOffset != 0 {
		lib, err := faketimeLib()
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "LD_PRELOAD="+lib,
			fmt.Sprintf("FAKETIME=%+ds", int64(k.opts.clockOffset/time.Second)),
			"FAKETIME_DONT_RESET=1", "DONT_FAKE_MONOTONIC=1")
	}
	cmd.Dir = k.Dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("krb5kdc: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("krb5kdc exited early: %s", readFile(out.Name()))
		default:
		}
		c, err := net.DialTimeout("tcp", k.Addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("krb5kdc did not listen on %s within 10s", k.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.mu.Lock()
	k.cmd, k.done = cmd, done
	k.mu.Unlock()
	return nil
}

func faketimeLib() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/*/faketime/libfaketime.so.1")
	matches2, _ := filepath.Glob("/usr/lib/faketime/libfaketime.so.1")
	matches = append(matches, matches2...)
	if len(matches) == 0 {
		return "", errors.New("libfaketime.so.1 not found: " + FaketimeHint)
	}
	return matches[0], nil
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(bytes.TrimSpace(b))
}

// Log returns the KDC's log file contents, for test failure messages.
func (k *KDC) Log() string {
	return readFile(filepath.Join(k.Dir, "kdc.log")) + "\n" + readFile(filepath.Join(k.Dir, "krb5kdc.out"))
}

// Stop stops the KDC and waits for it to exit. It is safe to call twice;
// tests call it to make the KDC unreachable.
func (k *KDC) Stop() {
	k.mu.Lock()
	cmd, done := k.cmd, k.done
	k.cmd = nil
	k.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts the KDC again on the same address after Stop.
func (k *KDC) Restart(t testing.TB) {
	t.Helper()
	k.Stop()
	if err := k.startDaemon(); err != nil {
		t.Fatalf("kdc: restart krb5kdc: %v (log: %s)", err, k.Log())
	}
}

// PrincipalOption changes how AddPrincipal creates a principal.
type PrincipalOption func(*[]string)

// MaxLife caps the principal's ticket lifetime, for TGT renewal tests.
func MaxLife(d time.Duration) PrincipalOption {
	return func(args *[]string) {
		*args = append(*args, "-maxlife", fmt.Sprintf("%d seconds", int(d/time.Second)))
	}
}

// NoAuthDataRequired sets +no_auth_data_required, so tickets for this
// service carry no PAC.
func NoAuthDataRequired() PrincipalOption {
	return func(args *[]string) { *args = append(*args, "+no_auth_data_required") }
}

// Kadmin runs one kadmin.local query and returns its output.
func (k *KDC) Kadmin(t testing.TB, query string) string {
	t.Helper()
	out, err := k.run("kadmin.local", "-r", k.Realm, "-q", query)
	if err != nil {
		t.Fatalf("kdc: kadmin.local -q %q: %v: %s", query, err, out)
	}
	return string(out)
}

// AddPrincipal creates principal name (without realm) with a random key.
func (k *KDC) AddPrincipal(t testing.TB, name string, opts ...PrincipalOption) {
	t.Helper()
	args := []string{"addprinc", "-randkey"}
	for _, o := range opts {
		o(&args)
	}
	args = append(args, name)
	out := k.Kadmin(t, strings.Join(quoteAll(args), " "))
	if !strings.Contains(out, "created") {
		t.Fatalf("kdc: addprinc %s: %s", name, out)
	}
}

// Keytab exports the current keys of principals (without changing them)
// into a keytab named file in the realm directory and returns its path.
func (k *KDC) Keytab(t testing.TB, file string, principals ...string) string {
	t.Helper()
	p := filepath.Join(k.Dir, file)
	for _, princ := range principals {
		k.Kadmin(t, fmt.Sprintf("ktadd -norandkey -k %s %s", p, princ))
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("kdc: keytab %s not written: %v", p, err)
	}
	return p
}

// Principal returns name qualified with the realm.
func (k *KDC) Principal(name string) string { return name + "@" + k.Realm }

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t\"") {
			a = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		out[i] = a
	}
	return out
}
