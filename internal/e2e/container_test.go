package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/podmanenv"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// imageUID is the image's user (distroless "nonroot"); mounted secrets must
// be readable by it.
const imageUID = 65532

// exporterImage is the image built from the Containerfile once for all
// container tests.
type exporterImage struct {
	p *podmanenv.Podman
	// Ref is the image's local name.
	Ref string
	// Version, Revision and Created are the build arguments stamped in.
	Version, Revision, Created string
	// Standins are the base images it was built on.
	Standins podmanenv.Images
	// BuildTime is how long `podman build` took.
	BuildTime time.Duration
}

var (
	imageOnce  sync.Once
	imageBuilt *exporterImage
	imageErr   error
)

// buildImage builds the exporter image with podman from the repository's
// Containerfile, on the local stand-in base images. Go modules come from
// the host's module cache, mounted read-only, and the build runs with
// --network=none: the build needs no registry and no proxy, and cannot
// fetch anything the host has not verified against go.sum. The host's build
// cache is mounted too, so a warm build only links.
func buildImage(t *testing.T) *exporterImage {
	t.Helper()
	imageOnce.Do(func() {
		p := podmanenv.New(t)
		img := &exporterImage{p: p, Standins: p.StandIns(t), Version: "0.0.0-container-test"}
		root, err := filepath.Abs("../..")
		if err != nil {
			imageErr = err
			return
		}
		img.Revision, img.Created = gitHead(t, root)
		goEnv, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE").Output()
		if err != nil {
			imageErr = fmt.Errorf("go env: %w", err)
			return
		}
		dirs := strings.Fields(string(goEnv))
		// The module cache must hold every module of go.sum.
		if out, err := exec.Command("go", "mod", "download").CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("go mod download: %w\n%s", err, out)
			return
		}
		img.Ref = "localhost/hitron-exporter:" + img.Version + "-" + podmanenv.Name("build")[6:]
		args := append([]string{"build"}, podmanenv.Ulimits...)
		args = append(args, "--network=none", "--layers=false", "--file", filepath.Join(root, "Containerfile"),
			"--build-arg", "GO_IMAGE="+img.Standins.Go, "--build-arg", "RUNTIME_IMAGE="+img.Standins.Runtime,
			"--build-arg", "VERSION="+img.Version, "--build-arg", "REVISION="+img.Revision, "--build-arg", "BUILD_DATE="+img.Created,
			"--volume", dirs[0]+":/go/pkg/mod:ro", "--volume", dirs[1]+":/root/.cache/go-build",
			"--tag", img.Ref, root)
		start := time.Now()
		if _, err := p.Try(args...); err != nil {
			imageErr = err
			return
		}
		img.BuildTime = time.Since(start)
		imageBuilt = img
	})
	if imageErr != nil {
		t.Fatalf("building the image: %v", imageErr)
	}
	return imageBuilt
}

// removeBuiltImage removes the image after the tests (TestMain), so that
// the cached storage keeps only the stand-ins.
func removeBuiltImage() {
	if imageBuilt != nil {
		_, _ = imageBuilt.p.Try("rmi", "--force", imageBuilt.Ref)
	}
}

func httpClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

// gitHead returns the commit and its committer date (RFC 3339) of the
// repository at root.
func gitHead(t *testing.T, root string) (string, string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%H %cI").Output()
	if err != nil {
		t.Fatalf("git log: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("git log printed %q", out)
	}
	return f[0], f[1]
}

// secureRunFlags are the `podman run` flags of every exporter container:
// host networking (the exporter reaches modems on the host's networks), a
// read-only root file system, no capabilities, no privilege escalation.
var secureRunFlags = []string{"--network=host", "--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"}

// runningExporter is an exporter container and a client for it.
type runningExporter struct {
	*exporter
	c *podmanenv.Container
}

// runExporter starts the image with the secure flags, the given volume and
// environment flags and a loopback listen address, and waits for
// /-/healthy.
func (img *exporterImage) runExporter(t *testing.T, secrets []string, flags ...string) *runningExporter {
	t.Helper()
	addr := testkit.MustFreeAddr(t)
	args := append(append(append([]string{}, secureRunFlags...), flags...), img.Ref,
		"--config.file=/etc/hitron-exporter/hitron-exporter.yml", "--web.listen-address="+addr)
	c := img.p.Start(t, podmanenv.Name("hitron-exporter"), args...)
	e := &exporter{t: t, addr: addr, scheme: "http", out: &testkit.LogBuffer{}, secrets: secrets, client: httpClient()}
	waitHealthy(t, e, func() string { return c.Logs() })
	t.Cleanup(func() {
		logs := c.Logs()
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret appears in the container's log")
			}
		}
	})
	return &runningExporter{exporter: e, c: c}
}

// waitHealthy polls /-/healthy for up to 30 s.
func waitHealthy(t *testing.T, e *exporter, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := e.client.Get(e.url("/-/healthy")); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the exporter container did not answer /-/healthy on %s:\n%s", e.addr, logs())
}

// probeUntil probes target until probe_success 1 or the deadline.
func probeUntil(t *testing.T, e *exporter, target string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var body string
	for {
		_, body = e.get("/probe?target=" + target)
		if testkit.HasLine(body, "probe_success 1") || time.Now().After(deadline) {
			return body
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// secretDir makes a directory readable only by the image's user, for
// mounting into the container.
func secretDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	chownImageUser(t, d)
	return d
}

// writeSecret writes name in dir atomically (a new file renamed over the
// old one, as editors and configuration management do), mode 0400, owned
// by the image's user.
func writeSecret(t *testing.T, dir, name, content string) string {
	t.Helper()
	tmp := testkit.WriteFile(t, filepath.Join(dir, "."+name+".new"), content)
	if err := os.Chmod(tmp, 0o400); err != nil {
		t.Fatal(err)
	}
	chownImageUser(t, tmp)
	p := filepath.Join(dir, name)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func chownImageUser(t *testing.T, path string) {
	t.Helper()
	if err := os.Chown(path, imageUID, imageUID); err != nil {
		t.Fatalf("chown %d %s (the tests run podman as root): %v", imageUID, path, err)
	}
}

// retarget points a shipped example config at the simulator: its one
// target and fingerprint become the simulator's.
func retarget(t *testing.T, cfg []byte, exampleTarget string, sim *modemsim.Simulator) string {
	t.Helper()
	s := string(cfg)
	if !strings.Contains(s, `"`+exampleTarget+`":`) {
		t.Fatalf("the example config has no target %q:\n%s", exampleTarget, s)
	}
	s = strings.ReplaceAll(s, `"`+exampleTarget+`":`, `"`+sim.Addr()+`":`)
	fp := regexp.MustCompile(`fingerprint: "[0-9A-F:]+"`)
	if len(fp.FindAllString(s, -1)) != 1 {
		t.Fatalf("want one fingerprint in the example config:\n%s", s)
	}
	return fp.ReplaceAllString(s, `fingerprint: "`+sim.Fingerprint().String()+`"`)
}

// processStatus reads the container's main process's /proc status fields.
func processStatus(t *testing.T, c *podmanenv.Container) map[string]string {
	t.Helper()
	pid := c.Config(t, "{{.State.Pid}}")
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("container process %s: %v", pid, err)
	}
	defer f.Close()
	st := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			st[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return st
}

// assertConfined checks what the run flags promise, on the running process:
// uid 65532, no capabilities, no_new_privs, a read-only root, and a
// listener on 127.0.0.1 only (127.0.0.2, also loopback, is refused).
func assertConfined(t *testing.T, r *runningExporter) {
	t.Helper()
	st := processStatus(t, r.c)
	if st["Uid"] != "65532 65532 65532 65532" || st["Gid"] != "65532 65532 65532 65532" {
		t.Errorf("process Uid %q Gid %q, want 65532 (non-root)", st["Uid"], st["Gid"])
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("%s = %s, want no capabilities", k, st[k])
		}
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q", st["NoNewPrivs"])
	}
	if got := r.c.Config(t, "{{.HostConfig.ReadonlyRootfs}}"); got != "true" {
		t.Errorf("ReadonlyRootfs = %s", got)
	}
	_, port, _ := net.SplitHostPort(r.addr)
	if conn, err := net.DialTimeout("tcp", "127.0.0.2:"+port, time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("the exporter answers on 127.0.0.2:%s: it listens beyond 127.0.0.1", port)
	}
}

// TestContainerHomeLab runs the home-lab recipe: a mounted config and a
// mounted directory holding the credentials file. The file is then
// rewritten on the host (and the modem's password changed) and the running
// container uses the new password without a restart.
func TestContainerHomeLab(t *testing.T) {
	img := buildImage(t)
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	cfgDir, credDir := secretDir(t), secretDir(t)
	cfg := retarget(t, readRepoFile(t, "deploy/podman/hitron-exporter-file.yml"), "192.168.100.1", sim)
	writeSecret(t, cfgDir, "hitron-exporter.yml", cfg)
	writeSecret(t, credDir, "credentials.yml", "username: admin\npassword: "+modemPassword+"\n")
	rotated := "rotated-" + modemPassword
	r := img.runExporter(t, []string{modemPassword, rotated},
		"--volume", cfgDir+"/hitron-exporter.yml:/etc/hitron-exporter/hitron-exporter.yml:ro",
		"--volume", credDir+":/run/secrets:ro")
	assertConfined(t, r)
	if body := probeUntil(t, r.exporter, sim.Addr(), 0); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("home-lab probe:\n%s", body)
	}
	started := r.c.Config(t, "{{.State.StartedAt}}")

	sim.SetPassword(rotated)
	writeSecret(t, credDir, "credentials.yml", "username: admin\npassword: "+rotated+"\n")
	if body := probeUntil(t, r.exporter, sim.Addr(), 15*time.Second); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("after rewriting the credentials file:\n%s", body)
	}
	if again := r.c.Config(t, "{{.State.StartedAt}} {{.State.Running}} {{.RestartCount}}"); again != started+" true 0" {
		t.Errorf("the container restarted: %q, was started %q", again, started)
	}
	used := false
	for _, a := range sim.Stats().LoginAttempts {
		used = used || a.Password == rotated
	}
	if !used {
		t.Error("the modem never saw the rewritten password")
	}
}

// TestContainerLifecycle checks the image itself: its labels, --version
// and build_info carry the version, revision and build date; /-/healthy
// answers (the image has no HEALTHCHECK: orchestrators probe the
// endpoint); SIGTERM stops it cleanly within 5 s.
func TestContainerLifecycle(t *testing.T) {
	img := buildImage(t)
	labels := img.p.Labels(t, img.Ref)
	for k, want := range map[string]string{
		"org.opencontainers.image.version":   img.Version,
		"org.opencontainers.image.revision":  img.Revision,
		"org.opencontainers.image.created":   img.Created,
		"org.opencontainers.image.base.name": img.Standins.Runtime,
		"org.opencontainers.image.licenses":  "Apache-2.0",
	} {
		if labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, labels[k], want)
		}
	}
	if hc := img.p.Output(t, "image", "inspect", "--format", "{{.Config.Healthcheck}} {{.Config.User}} {{.Size}}", img.Ref); !strings.HasPrefix(hc, "<nil> 65532:65532 ") {
		t.Errorf("image config: healthcheck, user, size = %q; want no HEALTHCHECK and user 65532:65532", hc)
	} else {
		size, _ := strconv.ParseInt(strings.Fields(hc)[2], 10, 64)
		t.Logf("image %s: %.1f MiB, built in %v", img.Ref, float64(size)/(1<<20), img.BuildTime.Round(time.Second))
	}
	version := append(append([]string{"run", "--rm"}, podmanenv.Ulimits...), append(secureRunFlags, img.Ref, "--version")...)
	out, err := img.p.Command(context.Background(), version...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(version, " "), err, out)
	}
	for _, want := range []string{"version " + img.Version, "revision: " + img.Revision, "build date: " + img.Created} {
		if !strings.Contains(strings.Join(strings.Fields(string(out)), " "), want) {
			t.Errorf("--version lacks %q:\n%s", want, out)
		}
	}

	cfgDir := secretDir(t)
	writeSecret(t, cfgDir, "hitron-exporter.yml", "targets: {}\n")
	r := img.runExporter(t, nil, "--volume", cfgDir+"/hitron-exporter.yml:/etc/hitron-exporter/hitron-exporter.yml:ro")
	assertConfined(t, r)
	if code, body := r.get("/-/healthy"); code != 200 {
		t.Errorf("/-/healthy = %d %s", code, body)
	}
	_, metrics := r.get("/metrics")
	info := regexp.MustCompile(`(?m)^hitron_exporter_build_info\{.*\} 1$`).FindString(metrics)
	for _, want := range []string{`version="` + img.Version + `"`, `revision="` + img.Revision + `"`, `builddate="` + img.Created + `"`} {
		if !strings.Contains(info, want) {
			t.Errorf("build_info %q lacks %s", info, want)
		}
	}

	start := time.Now()
	r.c.Signal(t, "TERM")
	st, err := r.c.WaitExit(5 * time.Second)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after SIGTERM: %v (%v)", err, took)
	}
	// podman 4.3 reports a container stopped by `podman kill` as
	// "stopped", one that exited by itself as "exited".
	if st.ExitCode != 0 || st.Running || st.FinishedAt.Before(st.StartedAt) {
		t.Fatalf("after SIGTERM: %+v; want a clean exit 0", st)
	}
	t.Logf("SIGTERM to exit: %v (exit code 0)", took.Round(time.Millisecond))
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	return readPath(t, filepath.Join("..", "..", rel))
}

// TestContainerEnterprise runs the original README's enterprise recipe:
// the keytab, /etc/ipa and krb5.conf mounted read-only and
// KRB5_CLIENT_KTNAME naming the keytab, against a real MIT KDC, the FreeIPA
// emulator and the simulator. The config is the shipped
// deploy/podman/hitron-exporter-freeipa.yml with the simulator as its
// target; it names the IPA server with its port because the emulator does
// not listen on 443 (default.conf carries no port).
func TestContainerEnterprise(t *testing.T) {
	img := buildImage(t)
	sim, emu, _, k := freeIPASetupKDC(t)
	ipaDir, cfgDir, ktDir := secretDir(t), secretDir(t), secretDir(t)
	writeSecret(t, ipaDir, "default.conf", "[global]\nbasedn = dc=example,dc=test\nrealm = "+k.Realm+"\ndomain = example.test\nserver = "+emu.FQDN+"\nxmlrpc_uri = https://"+emu.FQDN+"/ipa/xml\nenable_ra = True\n")
	writeSecret(t, ipaDir, "ca.crt", string(readPath(t, emu.CAFile)))
	keytab := writeSecret(t, ktDir, "hitron-exporter.keytab", string(readPath(t, k.Keytab(t, "container.keytab", exporterPrincipal))))
	krb5 := writeSecret(t, cfgDir, "krb5.conf", string(readPath(t, k.Krb5Conf)))
	cfg := retarget(t, readRepoFile(t, "deploy/podman/hitron-exporter-freeipa.yml"), "cm-hitron.example.com", sim)
	cfg = strings.Replace(cfg, "principal: HTTP/hitron-exporter.example.com\n", "principal: "+exporterPrincipal+"\n      server: "+emu.Server()+"\n", 1)
	writeSecret(t, cfgDir, "hitron-exporter.yml", cfg)

	r := img.runExporter(t, []string{modemPassword},
		"--volume", ipaDir+":/etc/ipa:ro",
		"--volume", krb5+":/etc/krb5.conf:ro",
		"--volume", keytab+":/etc/hitron-exporter.keytab:ro",
		"--env", "KRB5_CLIENT_KTNAME=/etc/hitron-exporter.keytab",
		"--volume", cfgDir+"/hitron-exporter.yml:/etc/hitron-exporter/hitron-exporter.yml:ro")
	assertConfined(t, r)
	if body := probeUntil(t, r.exporter, sim.Addr(), 0); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("enterprise probe:\n%s", body)
	}
	if got := emu.Calls("vault_retrieve_internal"); got != 2 {
		t.Errorf("vault_retrieve_internal called %d times, want 2 (usr and pwd)", got)
	}
}

func readPath(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
