package podmanenv

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// standInFormat changes whenever the stand-ins' layout changes, so that
// cached images of an older layout are not reused.
const standInFormat = "4"

// PauseImage is the pods' infrastructure image (containers.conf
// infra_image): busybox-static and a /pause script that sleeps until
// SIGTERM. Podman's own pause image needs catatonit, which Debian's podman
// 4.3 does not bring.
const PauseImage = "localhost/hitron-exporter-standin-pause:" + standInFormat

// standInKeyLabel is the label holding a stand-in's input digest.
const standInKeyLabel = "io.hitron-exporter.standin-key"

// Images names the stand-in base images in the local storage.
type Images struct {
	// Go stands in for docker.io/library/golang (GO_IMAGE): the host's Go
	// toolchain at /usr/local/go, busybox-static for /bin/sh, GOPATH=/go.
	Go string
	// Runtime stands in for gcr.io/distroless/static-debian12:nonroot
	// (RUNTIME_IMAGE) on the host's architecture: no shell, CA certificates
	// (Debian's ca-certificates), time zones (tzdata), passwd entries for
	// root, nobody and nonroot (65532), USER 65532:65532.
	Runtime string
	// RuntimeFor holds the same runtime image for each GOARCH of the
	// release image index (amd64, arm64); it holds no executables, so the
	// files serve every architecture.
	RuntimeFor map[string]string
	// Pause is PauseImage.
	Pause string
}

// standIn is one image to build: its name, the Debian packages and files
// that make it, and how to write its root file system.
type standIn struct {
	name     string
	packages []string
	inputs   []string // extra strings in the key
	changes  []string // podman import --change
	write    func(*rootfs) error
}

// StandIns builds and imports the stand-in base images unless images of the
// same inputs are already in the storage; the image tags are a digest of
// the inputs (Go version, Debian package versions, the CA bundle, the
// layout). Building them all takes a few seconds; later runs only check.
func (p *Podman) StandIns(t testing.TB) Images {
	t.Helper()
	goroot, goVersion := hostGo(t)
	lock := lockFile(t, filepath.Join(p.Cache, "standins.lock"))
	defer lock()

	busybox := []string{"/bin/busybox"}
	goImg := standIn{
		name:     "go",
		packages: []string{"busybox-static", "ca-certificates"},
		inputs:   []string{goVersion},
		changes: []string{
			"ENV=PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"ENV=GOPATH=/go", "ENV=GOTOOLCHAIN=local", "ENV=GOLANG_VERSION=" + strings.TrimPrefix(goVersion, "go"),
			"WORKDIR=/go", `CMD=["/bin/sh"]`,
		},
		write: func(r *rootfs) error {
			r.base(0)
			r.dir("go", 0o777, 0)
			r.dir("go/bin", 0o777, 0)
			r.dir("go/src", 0o777, 0)
			r.dir("usr", 0o755, 0)
			r.dir("usr/local", 0o755, 0)
			if err := r.busybox(busybox[0]); err != nil {
				return err
			}
			return r.tree("usr/local/go", goroot, goBuildOnly)
		},
	}
	rt := standIn{
		name:     "static",
		packages: []string{"ca-certificates", "tzdata"},
		changes: []string{
			"USER=65532:65532", "WORKDIR=/home/nonroot",
			"ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"ENV=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		},
		write: func(r *rootfs) error {
			r.base(65532)
			r.dir("usr", 0o755, 0)
			r.dir("usr/share", 0o755, 0)
			return r.tree("usr/share/zoneinfo", "/usr/share/zoneinfo", nil)
		},
	}
	pause := standIn{
		name:     "pause",
		packages: []string{"busybox-static"},
		changes:  []string{`CMD=["/pause"]`},
		write: func(r *rootfs) error {
			r.base(0)
			if err := r.busybox(busybox[0]); err != nil {
				return err
			}
			r.file("pause", []byte("#!/bin/sh\n# Infrastructure process of a pod: sleep until told to stop.\ntrap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n"), 0o755, 0)
			return nil
		},
	}
	imgs := Images{RuntimeFor: map[string]string{}}
	imgs.Go = p.ensure(t, goImg, runtime.GOARCH, "")
	for _, arch := range []string{"amd64", "arm64"} {
		imgs.RuntimeFor[arch] = p.ensure(t, rt, arch, "")
	}
	imgs.Runtime = imgs.RuntimeFor[runtime.GOARCH]
	if imgs.Runtime == "" {
		imgs.Runtime = p.ensure(t, rt, runtime.GOARCH, "")
	}
	imgs.Pause = p.ensure(t, pause, runtime.GOARCH, PauseImage)
	p.pruneStandIns(t, append([]string{imgs.Go, imgs.Pause}, imgs.RuntimeFor["amd64"], imgs.RuntimeFor["arm64"], imgs.Runtime))
	return imgs
}

// pruneStandIns removes stand-ins made from other inputs (an older Go or
// package version), so that the cache holds one set.
func (p *Podman) pruneStandIns(t testing.TB, keep []string) {
	t.Helper()
	out := p.Output(t, "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=localhost/hitron-exporter-standin-*")
	current := map[string]bool{}
	for _, k := range keep {
		current[k] = true
	}
	for _, ref := range strings.Fields(out) {
		if !current[ref] {
			if _, err := p.Try("rmi", ref); err != nil {
				t.Logf("podmanenv: keeping %s: %v", ref, err)
			}
		}
	}
}

// goBuildOnly leaves out of the Go stand-in what `go build` never reads:
// the toolchain's own commands' sources, tests and test data, docs, and the
// tools other than the compiler, assembler, cgo and linker. That halves the
// image, and vfs storage copies the whole image for every container.
func goBuildOnly(rel string) bool {
	top, _, _ := strings.Cut(rel, "/")
	switch {
	case top == "test" || top == "api" || top == "doc" || top == "misc" || rel == "pkg/obj" || rel == "src/cmd":
		return true
	case top == "src" && (strings.HasSuffix(rel, "_test.go") || filepath.Base(rel) == "testdata"):
		return true
	case strings.HasPrefix(rel, "pkg/tool/") && strings.Count(rel, "/") == 3:
		switch filepath.Base(rel) {
		case "asm", "cgo", "compile", "link", "buildid", "pack":
			return false
		}
		return true
	}
	return false
}

// ensure imports s for arch unless its keyed tag (or ref, if given) is
// present, and returns the image reference.
func (p *Podman) ensure(t testing.TB, s standIn, arch, ref string) string {
	t.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "format %s\narch %s\n", standInFormat, arch)
	for _, pkg := range s.packages {
		fmt.Fprintf(h, "%s %s\n", pkg, debVersion(t, pkg))
	}
	for _, in := range s.inputs {
		fmt.Fprintln(h, in)
	}
	for _, c := range s.changes {
		fmt.Fprintln(h, c)
	}
	bundle, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("podmanenv: CA bundle (Debian's ca-certificates): %v", err)
	}
	h.Write(bundle)
	key := hex.EncodeToString(h.Sum(nil))[:16]
	keyLabel := "LABEL=" + standInKeyLabel + "=" + key
	if ref == "" {
		ref = "localhost/hitron-exporter-standin-" + s.name + ":" + key + "-" + arch
		if p.ImageExists(ref) {
			return ref
		}
	} else if p.ImageExists(ref) && p.Labels(t, ref)[standInKeyLabel] == key {
		// A fixed name (PauseImage, named in containers.conf): the label
		// says whether it was made from the same inputs.
		return ref
	}
	start := time.Now()
	tarPath := filepath.Join(t.TempDir(), s.name+".tar")
	f, err := os.Create(tarPath)
	if err != nil {
		t.Fatalf("podmanenv: %v", err)
	}
	r := &rootfs{tw: tar.NewWriter(f), bundle: bundle}
	err = s.write(r)
	if err == nil {
		err = r.err
	}
	if err == nil {
		err = r.tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("podmanenv: stand-in %s: %v", s.name, err)
	}
	args := []string{"import", "--quiet", "--arch", arch, "--os", "linux", "--message", "hitron-exporter test stand-in " + s.name}
	for _, c := range append(s.changes, keyLabel) {
		args = append(args, "--change", c)
	}
	p.Output(t, append(args, tarPath, ref)...)
	t.Logf("podmanenv: stand-in %s built in %v", ref, time.Since(start).Round(time.Millisecond))
	return ref
}

// hostGo returns the GOROOT and version of the go command on PATH: the
// toolchain the Go stand-in carries.
func hostGo(t testing.TB) (string, string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		t.Fatalf("podmanenv: go env: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("podmanenv: go env printed %q", out)
	}
	return f[0], f[1]
}

// debVersion returns an installed Debian package's version, failing the
// test when it is not installed.
func debVersion(t testing.TB, pkg string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status} ${Version}", pkg).Output()
	if err != nil || !strings.HasPrefix(string(out), "install ok installed ") {
		t.Fatalf("podmanenv: Debian package %s is not installed (scripts/test.sh installs it): %v %s", pkg, err, out)
	}
	return strings.TrimPrefix(string(out), "install ok installed ")
}

// lockFile takes an exclusive flock on path (test packages run in
// parallel) and returns its release.
func lockFile(t testing.TB, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("podmanenv: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("podmanenv: flock %s: %v", path, err)
	}
	return func() { _ = f.Close() }
}

// rootfs writes a root file system as a tar stream with fixed times and
// numeric owners.
type rootfs struct {
	tw     *tar.Writer
	bundle []byte
	err    error
}

var epoch = time.Unix(0, 0).UTC()

func (r *rootfs) add(h *tar.Header, body io.Reader) {
	if r.err != nil {
		return
	}
	h.ModTime, h.Format = epoch, tar.FormatPAX
	if r.err = r.tw.WriteHeader(h); r.err == nil && body != nil {
		_, r.err = io.Copy(r.tw, body)
	}
}

func (r *rootfs) dir(name string, mode int64, uid int) {
	r.add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid}, nil)
}

func (r *rootfs) file(name string, data []byte, mode int64, uid int) {
	r.add(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), Uid: uid, Gid: uid}, strings.NewReader(string(data)))
}

func (r *rootfs) symlink(name, target string) {
	r.add(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}, nil)
}

// base writes what every stand-in has: /etc with passwd, group, nsswitch
// and the CA bundle, /tmp, /root and a home for the nonroot user (owned by
// homeUID).
func (r *rootfs) base(homeUID int) {
	for _, d := range []string{"bin", "etc", "etc/ssl", "etc/ssl/certs", "home", "proc", "sys", "dev", "run", "var"} {
		r.dir(d, 0o755, 0)
	}
	r.dir("tmp", 0o1777, 0)
	r.dir("root", 0o700, 0)
	r.dir("home/nonroot", 0o700, homeUID)
	r.file("etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"), 0o644, 0)
	r.file("etc/group", []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"), 0o644, 0)
	r.file("etc/nsswitch.conf", []byte("hosts: files dns\n"), 0o644, 0)
	r.file("etc/os-release", []byte("PRETTY_NAME=\"hitron-exporter test stand-in (Debian files)\"\nID=hitron-exporter-standin\n"), 0o644, 0)
	r.file("etc/ssl/certs/ca-certificates.crt", r.bundle, 0o644, 0)
}

// busybox puts busybox-static at /bin/busybox with a symlink per applet.
func (r *rootfs) busybox(src string) error {
	if err := r.hostFile("bin/busybox", src, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(src, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	for _, a := range applets {
		if a != "busybox" && !strings.Contains(a, "/") {
			r.symlink("bin/"+a, "busybox")
		}
	}
	return nil
}

func (r *rootfs) hostFile(name, src string, mode int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	r.add(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: fi.Size()}, f)
	return r.err
}

// tree copies the host directory src to dest (files, directories and
// symlinks, owned by root), leaving out paths for which skip is true.
func (r *rootfs) tree(dest, src string, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		rel = filepath.ToSlash(rel)
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := dest
		if rel != "." {
			name = dest + "/" + rel
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			r.dir(name, int64(fi.Mode().Perm()), 0)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			r.symlink(name, target)
		case fi.Mode().IsRegular():
			return r.hostFile(name, path, int64(fi.Mode().Perm()))
		}
		return r.err
	})
}
