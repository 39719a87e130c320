package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/podmanenv"
)

// goreleaserVersion is the GoReleaser scripts/release.sh installs.
const goreleaserVersion = "v2.15.1"

// releaseTargets are the archives every release has, by name suffix.
var releaseTargets = []string{"linux-amd64", "linux-arm64", "linux-armv7", "darwin-arm64", "freebsd-amd64"}

// releaseRun is one run of scripts/release.sh --snapshot in a clone.
type releaseRun struct {
	dir, image string
	dist       string
}

// TestRelease runs the release command (scripts/release.sh --snapshot)
// twice, offline (GOPROXY=off), in two clones of the commit at different
// paths, and checks: the two SHA256SUMS and every file they list are
// byte-identical; the archives hold the binary, LICENSE, README.md,
// CHANGELOG.md and example configs; the binaries are static, built for
// their platform (ELF OS ABI and machine, Mach-O CPU) and carry the
// version, revision and commit date; the OCI image index has linux/amd64
// and linux/arm64 images whose binaries are the released ones; the arm64
// binary answers --version, a --demo probe and hitron_exporter_build_info
// with the stamped values under qemu-aarch64-static (the armv7 one
// --version under qemu-arm-static).
//
// Both runs share the Go build cache (the first compiles, the second mostly
// links): Go's cache is keyed by content, so what it returns is what a
// fresh compile gives; the archives, checksums and images are made anew.
func TestRelease(t *testing.T) {
	gr := filepath.Join(podmanenv.CacheDir(), "bin", "goreleaser-"+goreleaserVersion)
	if _, err := os.Stat(gr); err != nil {
		t.Fatalf("GoReleaser %s is not installed at %s: scripts/test.sh installs it (GOBIN=... go install github.com/goreleaser/goreleaser/v2@%s)", goreleaserVersion, gr, goreleaserVersion)
	}
	qemu := tool(t, "qemu-aarch64-static", "", "install Debian's qemu-user-static (scripts/test.sh does)")
	p := podmanenv.New(t)
	imgs := p.StandIns(t)
	revision := strings.TrimSpace(run(t, repoRoot(t), "git", "rev-parse", "HEAD"))
	date := strings.TrimSpace(run(t, repoRoot(t), "env", "TZ=UTC", "git", "log", "-1", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", "--format=%cd"))

	// Both clones are made before either build, so that they hold the same
	// files even if the work tree is edited while the first build runs.
	dirs := []string{cloneWorkTree(t), cloneWorkTree(t)}
	var runs []releaseRun
	for i, dir := range dirs {
		r := releaseRun{dir: dir, image: podmanenv.Name("localhost/hitron-exporter-release-test") + ":snapshot"}
		r.dist = filepath.Join(r.dir, "dist")
		cmd := exec.Command(filepath.Join(r.dir, "scripts", "release.sh"), "--snapshot")
		cmd.Dir = r.dir
		cmd.Env = append(p.Env, "GORELEASER="+gr, "GOPROXY=off", "GOFLAGS=-mod=readonly",
			"PODMAN="+p.Bin+" "+strings.Join(p.Global, " "), "IMAGE="+r.image,
			"RUNTIME_IMAGE_AMD64="+imgs.RuntimeFor["amd64"], "RUNTIME_IMAGE_ARM64="+imgs.RuntimeFor["arm64"])
		t.Cleanup(func() {
			// The index and the images the run built, by image ID: removing
			// them by digest leaves them in the cached storage untagged.
			var ids []string
			if out, err := p.Try("manifest", "inspect", r.image); err == nil {
				for _, digest := range platformDigests(out) {
					if id, err := p.Try("image", "inspect", "--format", "{{.Id}}", r.image+"@"+digest); err == nil {
						ids = append(ids, strings.TrimSpace(id))
					}
				}
			}
			_, _ = p.Try("manifest", "rm", r.image)
			for _, id := range ids {
				_, _ = p.Try("rmi", "--force", id)
			}
		})
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/release.sh --snapshot in %s: %v\n%s", r.dir, err, out)
		}
		t.Logf("release run %d: %v", i+1, time.Since(start).Round(time.Second))
		runs = append(runs, r)
	}

	sums := readFile(t, filepath.Join(runs[0].dist, "SHA256SUMS"))
	if other := readFile(t, filepath.Join(runs[1].dist, "SHA256SUMS")); !bytes.Equal(sums, other) {
		t.Fatalf("two builds of one commit differ:\n%s\n---\n%s", sums, other)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		listed[f[1]] = true
		first := readFile(t, filepath.Join(runs[0].dist, f[1]))
		if sum := sha256.Sum256(first); hex.EncodeToString(sum[:]) != f[0] {
			t.Errorf("SHA256SUMS says %s for %s; the file's is %x", f[0], f[1], sum)
		}
		if !bytes.Equal(first, readFile(t, filepath.Join(runs[1].dist, f[1]))) {
			t.Errorf("%s differs between the builds", f[1])
		}
	}
	version := metadataVersion(t, runs[0].dist)
	for _, target := range releaseTargets {
		name := "hitron-exporter-" + version + "." + target + ".tar.gz"
		if !listed[name] {
			t.Errorf("SHA256SUMS lacks %s (has %v)", name, listed)
			continue
		}
		files := archiveFiles(t, filepath.Join(runs[0].dist, name))
		dir := strings.TrimSuffix(name, ".tar.gz") + "/"
		for _, want := range []string{"hitron-exporter", "LICENSE", "README.md", "CHANGELOG.md", "examples/hitron-exporter.yml", "examples/credentials.yml.example"} {
			if _, ok := files[dir+want]; !ok {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		if lic := files[dir+"LICENSE"]; !strings.Contains(lic, "Apache License") || !strings.Contains(lic, "Version 2.0, January 2004") {
			t.Errorf("%s: LICENSE is not the Apache License 2.0", name)
		}
	}

	bins := map[string]string{}
	for _, d := range []string{"linux_amd64_v1", "linux_arm64_v8.0", "linux_arm_7", "darwin_arm64_v8.0", "freebsd_amd64_v1"} {
		bins[d] = filepath.Join(runs[0].dist, "hitron-exporter_"+d, "hitron-exporter")
		if _, err := os.Stat(bins[d]); err != nil {
			t.Errorf("no %s binary: %v", d, err)
		}
	}
	// Each binary is static and for its platform (the darwin and freebsd
	// ones cannot run here; their headers are what this machine can check).
	for d, want := range map[string]elfPlatform{
		"linux_amd64_v1":   {elf.ELFOSABI_NONE, elf.EM_X86_64, elf.ELFCLASS64},
		"linux_arm64_v8.0": {elf.ELFOSABI_NONE, elf.EM_AARCH64, elf.ELFCLASS64},
		"linux_arm_7":      {elf.ELFOSABI_NONE, elf.EM_ARM, elf.ELFCLASS32},
		"freebsd_amd64_v1": {elf.ELFOSABI_FREEBSD, elf.EM_X86_64, elf.ELFCLASS64},
	} {
		assertStaticELF(t, bins[d], want)
	}
	assertMachOArm64(t, bins["darwin_arm64_v8.0"])
	for _, bin := range []string{bins["linux_amd64_v1"]} {
		assertVersion(t, exec.Command(bin, "--version"), version, revision, date)
	}
	arm := bins["linux_arm64_v8.0"]
	assertVersion(t, exec.Command(qemu, arm, "--version"), version, revision, date)
	// Raspberry Pi OS 32-bit: the armv7 binary starts too.
	assertVersion(t, exec.Command(filepath.Join(filepath.Dir(qemu), "qemu-arm-static"), bins["linux_arm_7"], "--version"), version, revision, date)
	demoUnderQEMU(t, qemu, arm, version, revision, date)

	// The image index: both platforms, each with the released binary.
	var index struct {
		Manifests []struct {
			Platform struct{ Architecture, OS string } `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(p.Output(t, "manifest", "inspect", runs[0].image)), &index); err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, m := range index.Manifests {
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	sort.Strings(platforms)
	if strings.Join(platforms, " ") != "linux/amd64 linux/arm64" {
		t.Fatalf("image index platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
	for arch, bin := range map[string]string{"amd64": bins["linux_amd64_v1"], "arm64": arm} {
		ref := imageForPlatform(t, p, runs[0].image, arch)
		labels := p.Labels(t, ref)
		if labels["org.opencontainers.image.revision"] != revision || labels["org.opencontainers.image.version"] != version || labels["org.opencontainers.image.created"] != date {
			t.Errorf("%s image labels: %v", arch, labels)
		}
		// The image's binary is the released one (the container is only
		// created, never started: no emulation).
		name := podmanenv.Name("release-test-" + arch)
		p.Output(t, "create", "--name", name, ref)
		out := filepath.Join(t.TempDir(), "hitron-exporter")
		p.Output(t, "cp", name+":/bin/hitron-exporter", out)
		_, _ = p.Try("rm", name)
		if !bytes.Equal(readFile(t, out), readFile(t, bin)) {
			t.Errorf("the %s image's /bin/hitron-exporter is not the released %s", arch, bin)
		}
	}
	// The index as an OCI archive in dist/, the same in both runs.
	archive := "hitron-exporter-" + version + ".oci-index.tar"
	if _, err := os.Stat(filepath.Join(runs[0].dist, archive)); err != nil {
		t.Errorf("no %s: %v", archive, err)
	}
	// The images are reproducible too (--timestamp: the commit's time).
	for _, arch := range []string{"amd64", "arm64"} {
		a, b := imageForPlatform(t, p, runs[0].image, arch), imageForPlatform(t, p, runs[1].image, arch)
		if a[strings.Index(a, "@"):] != b[strings.Index(b, "@"):] {
			t.Errorf("the %s images of the two builds differ: %s, %s", arch, a, b)
		}
	}
}

// cloneWorkTree clones the repository's HEAD into a new temporary directory
// and copies the work tree's tracked files over it, so that uncommitted
// edits are built too. A clone has a remote, which GoReleaser needs to read
// the commit.
func cloneWorkTree(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hitron-exporter")
	root := repoRoot(t)
	run(t, root, "git", "clone", "--quiet", "--no-hardlinks", root, dst)
	for _, f := range strings.Split(strings.TrimRight(run(t, root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree
			}
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join(root, f))
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func metadataVersion(t *testing.T, dist string) string {
	t.Helper()
	var m struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dist, "metadata.json")), &m); err != nil || m.Version == "" {
		t.Fatalf("dist/metadata.json: %v", err)
	}
	return m.Version
}

// archiveFiles returns a tar.gz archive's regular files and their contents
// (text files only are kept in full; binaries as a marker).
func archiveFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[h.Name] = string(b)
	}
}

// assertVersion runs cmd (a --version call) and checks the stamped values.
func assertVersion(t *testing.T, cmd *exec.Cmd, version, revision, date string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	text := strings.Join(strings.Fields(string(out)), " ")
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	for _, want := range []string{"version " + version, "revision: " + revision, "build date: " + date} {
		if !strings.Contains(text, want) {
			t.Errorf("%v lacks %q:\n%s", cmd.Args, want, out)
		}
	}
}

// demoUnderQEMU starts the binary with --demo on a random loopback port
// under qemu, follows the landing page's probe link and reads the stamped
// version, revision and build date from hitron_exporter_build_info.
func demoUnderQEMU(t *testing.T, qemu, bin, version, revision, date string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	var log bytes.Buffer
	cmd := exec.Command(qemu, bin, "--demo", "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("arm64 exporter under qemu:\n%s", log.String())
		}
	}()
	client := &http.Client{Timeout: 60 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var page string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var code int
		if code, page = get("/"); code == 200 {
			break
		}
	}
	link := regexp.MustCompile(`href="(/probe\?target=[^"]+)"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("the arm64 demo's landing page has no probe link:\n%s", page)
	}
	if _, body := get(strings.ReplaceAll(link[1], "&amp;", "&")); !regexp.MustCompile(`(?m)^probe_success 1$`).MatchString(body) {
		t.Fatalf("arm64 --demo probe under qemu:\n%s", body)
	}
	_, metrics := get("/metrics")
	info := regexp.MustCompile(`(?m)^hitron_exporter_build_info\{.*\} 1$`).FindString(metrics)
	for _, want := range []string{`version="` + version + `"`, `revision="` + revision + `"`, `builddate="` + date + `"`, `goarch="arm64"`} {
		if !strings.Contains(info, want) {
			t.Errorf("the arm64 binary's hitron_exporter_build_info %q lacks %s", info, want)
		}
	}
}

// elfPlatform is what an ELF header says about the platform.
type elfPlatform struct {
	OSABI   elf.OSABI
	Machine elf.Machine
	Class   elf.Class
}

// assertStaticELF checks an ELF binary's OS ABI, machine and class, and
// that it has no interpreter and no shared libraries.
func assertStaticELF(t *testing.T, bin string, want elfPlatform) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Errorf("%s: %v", bin, err)
		return
	}
	defer f.Close()
	if got := (elfPlatform{f.OSABI, f.Machine, f.Class}); got != want {
		t.Errorf("%s is %v, want %v", bin, got, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", bin)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v)", bin, libs, err)
	}
}

// assertMachOArm64 checks a binary is a Mach-O executable for arm64.
func assertMachOArm64(t *testing.T, bin string) {
	t.Helper()
	f, err := macho.Open(bin)
	if err != nil {
		t.Errorf("%s is not a Mach-O binary: %v", bin, err)
		return
	}
	defer f.Close()
	if f.Cpu != macho.CpuArm64 || f.Type != macho.TypeExec {
		t.Errorf("%s is Mach-O %v %v, want an arm64 executable", bin, f.Cpu, f.Type)
	}
}

// imageForPlatform returns the reference of arch's image in the index.
func imageForPlatform(t *testing.T, p *podmanenv.Podman, index, arch string) string {
	t.Helper()
	digest, ok := platformDigests(p.Output(t, "manifest", "inspect", index))[arch]
	if !ok {
		t.Fatalf("index %s has no %s image", index, arch)
	}
	return index + "@" + digest
}

// platformDigests maps architecture to image digest in a `podman manifest
// inspect` answer.
func platformDigests(inspect string) map[string]string {
	var m struct {
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	out := map[string]string{}
	if json.Unmarshal([]byte(inspect), &m) == nil {
		for _, e := range m.Manifests {
			out[e.Platform.Architecture] = e.Digest
		}
	}
	return out
}
