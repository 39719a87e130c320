#!/usr/bin/env bash
# scripts/test.sh — the one command that tests hitron-exporter, on a fresh
# Debian machine or a developer's. It does its own set-up, then runs every
# test; nothing is skipped.
#   1. installs the Debian packages the tests use (MIT Kerberos KDC, Prometheus
#      with promtool, Chromium, systemd-analyze, podman with runc,
#      qemu-user-static, busybox-static, ca-certificates, tzdata) and
#      dockerfilelint from npm when they are missing;
#   2. builds the Vault server binary from the Go module proxy when it is not
#      cached (11-15 minutes on 2 idle cores the first time; 8.3 GB kept
#      under ${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}), and installs
#      GoReleaser there (about 6-14 minutes of compiling, once);
#   3. builds the podman stand-in base images (no registry is reachable;
#      seconds, cached in the same directory, keyed by their inputs);
#   4. downloads the Go modules (quietly: their output shows only on
#      failure) and checks formatting, go vet and staticcheck;
#   5. runs `go test` over the module (the tests start the KDC, Vault,
#      Prometheus, the modem simulator and podman containers themselves, on
#      127.0.0.1 only; deploy/release_test.go runs scripts/release.sh twice),
#   6. fuzzes every parser for a bounded number of inputs (FUZZTIME, default
#      50000x each; a count, not a duration, see the fuzzing stage),
#      then runs the deployment-manifest checks in deploy/validate.
# Each stage prints its duration when it ends, and a summary of all of them
# and the total comes last, also when a stage fails. Temporary files go to
# one directory that is removed on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

export HITRON_CACHE_DIR=${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}

# Temporary files live in one directory that is removed however the script
# ends (success, a failed test, Ctrl-C).
TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hitron-test.XXXXXX")

# step starts a stage; each stage's duration and the total are printed when
# the next one starts and when the script ends, failed or not.
started=$SECONDS
stage="" stage_started=0
timings=()
end_stage() {
	[[ -n $stage ]] || return 0
	local took=$((SECONDS - stage_started))
	timings+=("$(printf '%4dm%02ds  %s' $((took / 60)) $((took % 60)) "$stage")")
	printf -- '--- %s: %dm%02ds\n' "$stage" $((took / 60)) $((took % 60))
	stage=""
}
step() {
	end_stage
	stage=$* stage_started=$SECONDS
	printf '\n==> %s\n' "$*"
}
finish() {
	local rc=$?
	local failed=$stage
	end_stage
	rm -rf "$TMP_DIR"
	local total=$((SECONDS - started))
	printf '\nStage durations:\n'
	printf '%s\n' "${timings[@]}"
	printf '%4dm%02ds  total\n' $((total / 60)) $((total % 60))
	if ((rc != 0)); then
		printf '\nFAILED (exit %d) in stage: %s\n' "$rc" "${failed:-set-up}"
	fi
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

# quietly runs a command that may download Go modules; its output (the
# "go: downloading …" lines) is shown only if it fails.
quietly() {
	local rc=0
	"$@" >"$TMP_DIR/quiet.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		cat "$TMP_DIR/quiet.log"
	fi
	return "$rc"
}

step "Debian packages"
packages=(krb5-kdc krb5-admin-server krb5-user faketime prometheus chromium systemd
	podman runc qemu-user-static busybox-static ca-certificates tzdata)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)   # the machine's Node.js usually brings it
if ((${#missing[@]})); then
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	# The packages' own services are not used: the tests start private
	# instances in temporary directories.
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "all present: ${packages[*]}"
fi

step "npm tools"
# dockerfilelint lints the Containerfile (deploy/containerfile_test.go).
if ! command -v dockerfilelint >/dev/null 2>&1; then
	quietly npm install -g --no-audit --no-fund dockerfilelint@1.8.0
fi
echo "dockerfilelint $(command -v dockerfilelint)"

step "Vault server binary"
VAULT_BIN=$(scripts/build-vault.sh | tail -n 1)
export VAULT_BIN
echo "$VAULT_BIN"

step "Go modules"
# Downloaded here, once and quietly, so that the build and test logs below
# carry no download noise.
quietly go mod download
if [[ -f deploy/validate/go.mod ]]; then
	(cd deploy/validate && quietly go mod download)
fi
echo "module cache $(go env GOMODCACHE)"

step "GoReleaser"
GORELEASER=$HITRON_CACHE_DIR/bin/goreleaser-v2.15.1
if [[ ! -x $GORELEASER ]]; then
	mkdir -p "$HITRON_CACHE_DIR/bin"
	GOBIN=$HITRON_CACHE_DIR/bin quietly go install github.com/goreleaser/goreleaser/v2@v2.15.1
	mv "$HITRON_CACHE_DIR/bin/goreleaser" "$GORELEASER"
fi
"$GORELEASER" --version 2>/dev/null | grep -m1 GitVersion

step "podman stand-in base images"
# Builds them when their inputs changed (Go toolchain, Debian package
# versions), else only checks they are there; the container tests use them.
go test -count=1 -run '^TestStandIns$' ./internal/testenv/podmanenv

step "gofmt, go vet, staticcheck"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
STATICCHECK=$HITRON_CACHE_DIR/bin/staticcheck-v0.8.2
if [[ ! -x $STATICCHECK ]]; then
	mkdir -p "$HITRON_CACHE_DIR/bin"
	GOBIN=$HITRON_CACHE_DIR/bin quietly go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	mv "$HITRON_CACHE_DIR/bin/staticcheck" "$STATICCHECK"
fi
"$STATICCHECK" ./...
# The example provider is a module of its own (a third party's, built
# against this one): checked the same way from its own directory.
(cd examples/envprovider && go vet ./... && "$STATICCHECK" ./...)

step "go test -race ./..."
go test -race -count=1 -timeout 30m ./...

step "fuzzing, ${FUZZTIME:=50000x} per target"
# Every parser gets a bounded coverage-guided run; a crash fails the build
# and leaves its input under testdata/fuzz/ to become a regression test.
# The budget is a number of inputs, not a wall-clock time: with a duration,
# Go 1.26's fuzz coordinator can report "context deadline exceeded" as a
# failure when the deadline fires while a worker is mid-call (golang/go#75804,
# fixed in Go 1.27), which failed CI on a loaded machine with no crasher. A
# count has no deadline to race; a slow machine only takes longer.
grep -rH --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func /:/' | sort >"$TMP_DIR/fuzz-targets"
while IFS=: read -r file name; do
	pkg=./$(dirname "${file#./}")
	echo "$pkg $name"
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" >"$TMP_DIR/fuzz-out" 2>&1; then
		cat "$TMP_DIR/fuzz-out"
		exit 1
	fi
done <"$TMP_DIR/fuzz-targets"

if [[ -f deploy/validate/go.mod ]]; then
	step "deploy/validate (Kubernetes manifests and Helm chart)"
	(cd deploy/validate && go test -count=1 -timeout 20m ./...)
fi
end_stage
echo
echo "all tests passed"
