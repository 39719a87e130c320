package vaultenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// Template is one Vault Agent template stanza.
type Template struct {
	// Destination is the rendered file; a relative name is put in the
	// agent's directory.
	Destination string
	// Contents is the consul-template text, such as
	// `{{ with secret "secret/data/hitron/modem" }}...{{ end }}`.
	Contents string
}

// AgentOptions configure StartAgent and StartProxy. Both log in with
// auto_auth approle, expose api_proxy with use_auto_auth_token on a loopback
// listener and write their token to a file sink.
type AgentOptions struct {
	// RoleID and SecretID are the AppRole credentials for auto_auth.
	RoleID, SecretID string
	// AppRoleMount is the AppRole mount; default "approle".
	AppRoleMount string
	// Templates are rendered by `vault agent` (Vault Proxy has no templates).
	Templates []Template
	// StaticSecretRenderInterval is how often KV secrets are re-read by the
	// template engine; default 1s.
	StaticSecretRenderInterval time.Duration
	// UseAutoAuthToken is the api_proxy use_auto_auth_token value; default
	// "true" (the auto-auth token is used when a request carries none);
	// "force" makes it replace any request token.
	UseAutoAuthToken string
}

// Agent is a running `vault agent` or `vault proxy`.
type Agent struct {
	// Addr is the api_proxy listener's URL, http://127.0.0.1:PORT.
	Addr string
	// Dir is the agent's private directory (config, sink, templates).
	Dir string
	// SinkPath is the file the auto-auth token is written to.
	SinkPath string
	// Templates holds each template's absolute destination, in order.
	Templates []string

	logPath string
	proc    *process
}

// StartAgent starts `vault agent` against s and waits until its listener
// answers and every template has been rendered.
func (s *Server) StartAgent(t testing.TB, o AgentOptions) *Agent {
	t.Helper()
	return s.startAgent(t, "agent", o)
}

// StartProxy starts `vault proxy` (api_proxy only; templates are not allowed)
// against s and waits until its listener answers.
func (s *Server) StartProxy(t testing.TB, o AgentOptions) *Agent {
	t.Helper()
	if len(o.Templates) > 0 {
		t.Fatalf("vaultenv: vault proxy has no template stanza; use StartAgent")
	}
	return s.startAgent(t, "proxy", o)
}

func (s *Server) startAgent(t testing.TB, mode string, o AgentOptions) *Agent {
	t.Helper()
	if o.AppRoleMount == "" {
		o.AppRoleMount = "approle"
	}
	if o.StaticSecretRenderInterval == 0 {
		o.StaticSecretRenderInterval = time.Second
	}
	if o.UseAutoAuthToken == "" {
		o.UseAutoAuthToken = "true"
	}
	dir := t.TempDir()
	port, err := testkit.FreePort()
	if err != nil {
		t.Fatalf("vaultenv: %v", err)
	}
	a := &Agent{
		Addr:     fmt.Sprintf("http://127.0.0.1:%d", port),
		Dir:      dir,
		SinkPath: filepath.Join(dir, "token-sink"),
		logPath:  filepath.Join(dir, mode+".log"),
	}
	write := func(name, content string) string { return testkit.WriteFile(t, filepath.Join(dir, name), content) }
	roleIDPath := write("role_id", o.RoleID)
	secretIDPath := write("secret_id", o.SecretID)

	useAuto := o.UseAutoAuthToken
	if useAuto != "force" {
		useAuto = strconv.FormatBool(useAuto == "true")
	} else {
		useAuto = strconv.Quote(useAuto)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "pid_file = %q\n", filepath.Join(dir, mode+".pid"))
	if s.CACert != "" {
		fmt.Fprintf(&b, "vault {\n  address = %q\n  ca_cert = %q\n}\n", s.Addr, s.CACert)
	} else {
		fmt.Fprintf(&b, "vault {\n  address = %q\n}\n", s.Addr)
	}
	fmt.Fprintf(&b, `auto_auth {
  method "approle" {
    mount_path = %q
    config = {
      role_id_file_path                   = %q
      secret_id_file_path                 = %q
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config = {
      path = %q
      mode = 0600
    }
  }
}
`, "auth/"+o.AppRoleMount, roleIDPath, secretIDPath, a.SinkPath)
	fmt.Fprintf(&b, "api_proxy {\n  use_auto_auth_token = %s\n}\n", useAuto)
	fmt.Fprintf(&b, "listener \"tcp\" {\n  address = \"127.0.0.1:%d\"\n  tls_disable = true\n}\n", port)
	if mode == "agent" {
		fmt.Fprintf(&b, "exit_after_auth = false\n")
		fmt.Fprintf(&b, "template_config {\n  exit_on_retry_failure = true\n  static_secret_render_interval = %q\n}\n",
			o.StaticSecretRenderInterval.String())
		for _, tp := range o.Templates {
			dest := tp.Destination
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(dir, dest)
			}
			a.Templates = append(a.Templates, dest)
			src := write(fmt.Sprintf("template-%d.ctmpl", len(a.Templates)), tp.Contents)
			fmt.Fprintf(&b, "template {\n  source = %q\n  destination = %q\n  perms = \"0600\"\n}\n", src, dest)
		}
	}
	cfg := write(mode+".hcl", b.String())

	a.proc, err = startProcess(t, s.Bin, dir, a.logPath, "vault "+mode, mode, "-config="+cfg, "-log-level=info")
	if err != nil {
		t.Fatalf("vaultenv: %v", err)
	}
	if err := waitHTTP(a.Addr+"/v1/sys/health", a.proc, startTimeout); err != nil {
		t.Fatalf("vaultenv: vault %s: %v\n%s", mode, err, tail(a.logPath))
	}
	WaitFor(t, startTimeout, "vault "+mode+" auto-auth token sink", func() bool {
		fi, err := os.Stat(a.SinkPath)
		return (err == nil && fi.Size() > 0) || a.proc.exited()
	})
	for _, dest := range a.Templates {
		WaitFor(t, startTimeout, "vault agent to render "+dest, func() bool {
			fi, err := os.Stat(dest)
			return (err == nil && fi.Size() > 0) || a.proc.exited()
		})
	}
	if a.proc.exited() {
		t.Fatalf("vaultenv: vault %s exited: %v\n%s", mode, a.proc.err, tail(a.logPath))
	}
	return a
}

// Stop stops the agent now (it is also stopped by t.Cleanup).
func (a *Agent) Stop() { a.proc.stop() }

// LogTail returns the last lines of the agent's log.
func (a *Agent) LogTail() string { return tail(a.logPath) }
