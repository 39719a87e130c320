//go:build ipacli

// This fidelity test runs the real Debian `ipa vault-retrieve` (python3-ipaclient
// 4.9.11) against the emulator, to show that the emulator answers as a real
// server does. It needs root (port 443 on 127.0.0.1, and a private mount
// namespace for /etc/hosts and /etc/resolv.conf), the Debian packages
// python3-ipaclient, krb5-user, krb5-kdc and krb5-admin-server, and runs with
//
//	go test -tags ipacli ./internal/testenv/ipaemu/
package ipaemu

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/kdc"
)

const cliHint = "install python3-ipaclient krb5-user and run as root"

func TestRealIPACLI(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatalf("the ipa CLI test needs root (port 443, mount namespace): %s", cliHint)
	}
	// Debian's interpreter, not one earlier in PATH (pyenv and the like).
	const python = "/usr/bin/python3"
	for _, bin := range []string{python, "kinit", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: %s", bin, cliHint)
		}
	}
	if out, err := exec.Command(python, "-I", "-c", "import ipaclient").CombinedOutput(); err != nil {
		t.Fatalf("python3 cannot import ipaclient (%s): %s", bytes.TrimSpace(out), cliHint)
	}
	const (
		fqdn   = "ipa.example.test"
		client = "HTTP/hitron-exporter.example.test"
		owner  = "host/cm-hitron.example.test"
		secret = "S3cr3t-modem-pw!\n"
	)
	k := kdc.Start(t)
	k.AddPrincipal(t, client)
	k.AddPrincipal(t, "HTTP/"+fqdn)
	clientKT := k.Keytab(t, "client.keytab", client)
	svcKT := k.Keytab(t, "http.keytab", "HTTP/"+fqdn)

	// The CLI looks up _ldap._tcp.<domain> SRV records: answer NXDOMAIN
	// from loopback at once rather than let it time out or leave the host.
	dnsAddr := nxdomainServer(t)

	tests := []struct {
		name      string
		opts      Options
		symmetric bool
		wantErr   string // expected CLI error text; "" means success
	}{
		{name: "AES via schema"},
		{name: "legacy server, 3DES", opts: Options{Legacy: true}},
		{name: "strict Referer", opts: Options{StrictReferer: true}},
		{name: "symmetric vault", symmetric: true},
		{name: "not a member", opts: Options{DenyMembership: true}, wantErr: "usr: vault not found"},
		{name: "OAEP-mode KRA (4.9.11 has no fallback)", opts: Options{KRAOAEP: true}, wantErr: "Unable to retrieve key"},
		{name: "KRA disabled", opts: Options{KRADisabled: true}, wantErr: "KRA service is not enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.ListenAddr = "127.0.0.1:443"
			emu := Start(t, fqdn, k.Realm, svcKT, opts)
			defer emu.Close()
			member := k.Principal(client)
			if tc.symmetric {
				if err := emu.ArchiveSymmetric("service:"+owner, "usr", []byte(secret), "correct horse", member); err != nil {
					t.Fatal(err)
				}
			} else {
				emu.ArchiveStandard("service:"+owner, "usr", []byte(secret), member)
			}
			dir := t.TempDir()
			hosts := filepath.Join(dir, "hosts")
			hostname, _ := os.Hostname()
			writeTest(t, hosts, "127.0.0.1 localhost "+fqdn+" hitron-exporter.example.test "+hostname+"\n")
			resolv := filepath.Join(dir, "resolv.conf")
			writeTest(t, resolv, "nameserver "+dnsAddr+"\n")
			pwFile := filepath.Join(dir, "pw")
			writeTest(t, pwFile, "correct horse\n")
			out := filepath.Join(dir, "out")
			env := append(os.Environ(),
				"KRB5_CONFIG="+k.Krb5Conf,
				"KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"),
				"IPA_CONFDIR="+filepath.Dir(emu.DefaultConf),
				"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
				"HOME="+dir,
				"LC_ALL=C.UTF-8",
			)
			args := []string{"vault-retrieve", "usr", "--service", owner, "--out", out}
			if tc.symmetric {
				args = append(args, "--password-file", pwFile)
			}
			script := `set -e
mount --bind "$1" /etc/hosts
mount --bind "$2" /etc/resolv.conf
kinit -kt "$3" "$4"
shift 4
exec /usr/bin/python3 -I -m ipaclient "$@"`
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "unshare", append([]string{"-m", "sh", "-c", script, "sh", hosts, resolv, clientKT, client}, args...)...)
			cmd.Env = env
			output, err := cmd.CombinedOutput()
			t.Logf("emulator calls: %v\n%s", emu.CallCounts(), output)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(output), tc.wantErr) {
					t.Fatalf("ipa CLI: err %v, output:\n%s\nwant an error containing %q", err, output, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ipa vault-retrieve failed: %v\n%s", err, output)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != secret {
				t.Fatalf("CLI retrieved %q, want %q", got, secret)
			}
		})
	}
}

func writeTest(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nxdomainServer answers every DNS query over UDP with NXDOMAIN, on a
// loopback address, and returns that address (port 53, as resolv.conf
// cannot name another).
func nxdomainServer(t *testing.T) string {
	t.Helper()
	var conn net.PacketConn
	var err error
	for _, ip := range []string{"127.53.53.53", "127.0.0.1"} {
		if conn, err = net.ListenPacket("udp", ip+":53"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("listen for DNS on loopback port 53: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x80 | (buf[2] & 0x79) // QR, keep opcode and RD
			resp[3] = 0x80 | 3               // RA, RCODE NXDOMAIN
			// Keep the question; no answer, authority or additional records.
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			resp = resp[:12+questionLen(resp[12:])]
			_, _ = conn.WriteTo(resp, addr)
		}
	}()
	host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
	return host
}

// questionLen returns the length of the first question in b (name, type,
// class).
func questionLen(b []byte) int {
	i := 0
	for i < len(b) && b[i] != 0 {
		i += int(b[i]) + 1
	}
	return min(i+1+4, len(b))
}
