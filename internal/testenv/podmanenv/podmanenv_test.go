package podmanenv

import (
	"strings"
	"testing"
	"time"
)

// TestStandIns builds (or finds) the stand-in base images and checks their
// shape: the Go image compiles with /bin/sh from busybox; the runtime image
// runs as 65532 with CA certificates and time zones and no shell; the pause
// image stops on SIGTERM.
func TestStandIns(t *testing.T) {
	p := New(t)
	imgs := p.StandIns(t)
	run := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(p.Output(t, append(append([]string{"run", "--rm", "--network=none", "--read-only", "--cap-drop=all"}, Ulimits...), args...)...))
	}
	if got, want := run(imgs.Go, "go", "version"), "go version go"; !strings.HasPrefix(got, want) {
		t.Errorf("go image: go version = %q", got)
	}
	if got := run(imgs.Go, "sh", "-c", "echo $GOPATH $(id -u)"); got != "/go 0" {
		t.Errorf("go image: GOPATH and uid = %q, want /go 0", got)
	}
	// The runtime image has no shell: look inside with the host's static
	// busybox mounted in.
	bb := []string{"-v", "/bin/busybox:/busybox:ro", "--entrypoint", "/busybox"}
	if got := run(append(bb, imgs.Runtime, "id", "-u")...); got != "65532" {
		t.Errorf("runtime image: uid %q, want 65532", got)
	}
	if got := run(append(bb, imgs.Runtime, "ls", "/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo/Europe/Berlin")...); !strings.Contains(got, "Europe/Berlin") {
		t.Errorf("runtime image: ls = %q, want the CA bundle and zoneinfo", got)
	}
	if got := run(append(bb, imgs.Runtime, "ls", "-A", "/bin")...); got != "" {
		t.Errorf("runtime image: /bin holds %q, want nothing (no shell, like distroless)", got)
	}
	for arch, ref := range imgs.RuntimeFor {
		if got := strings.TrimSpace(p.Output(t, "image", "inspect", "--format", "{{.Architecture}} {{.Config.User}}", ref)); got != arch+" 65532:65532" {
			t.Errorf("%s: architecture and user %q, want %s 65532:65532", ref, got, arch)
		}
	}
	c := p.Start(t, "podmanenv-pause-"+randomSuffix(), "--network=none", "--read-only", "--cap-drop=all", imgs.Pause)
	time.Sleep(200 * time.Millisecond)
	c.Signal(t, "TERM")
	st, err := c.WaitExit(5 * time.Second)
	if err != nil || st.ExitCode != 0 {
		t.Errorf("pause image after SIGTERM: %+v %v", st, err)
	}
}
