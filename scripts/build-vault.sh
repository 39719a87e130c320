#!/usr/bin/env bash
# build-vault.sh builds a HashiCorp Vault server binary (v1.21.4) from the Go
# module proxy for the real-Vault integration tests of hitron-exporter.
#
# Usage: scripts/build-vault.sh
#
# The binary goes to ${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}/vault-v1.21.4/vault
# and its path is printed on stdout. If it already exists the script exits at
# once. The work dir, GOCACHE and GOMODCACHE live in the same cache dir, so a
# rebuild after deleting only the binary takes under a minute instead of ~11-15 min.
#
# Why not `go install github.com/hashicorp/vault@v1.21.4`: vault's go.mod has
# replace directives (refused by go install), and its nested ./sdk module is not
# in the proxy zip, so the build picks the tagged sdk v0.21.0, whose API differs
# in three call sites. We copy the module, adapt those three lines with sed
# (each checked with grep) and build from a scratch module that replaces vault
# with the local copy. See docs/credentials-vault.md and the reference notes.
#
# Needs only Go (1.25.3 or newer) and network access to the Go module proxy.
# Vault is BUSL-1.1: the source and binary stay in the cache, never in the repo.
set -euo pipefail

VER=v1.21.4
CACHE=${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}
DIR=$CACHE/vault-$VER
OUT=$DIR/vault

if [[ -x $OUT ]]; then
	echo "$OUT"
	exit 0
fi

mkdir -p "$DIR"
# Serialise concurrent builds (e.g. two test runs on a fresh machine).
exec 9>"$DIR/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi
if [[ -x $OUT ]]; then
	echo "$OUT"
	exit 0
fi

WORK=$DIR/work
mkdir -p "$WORK"
cd "$WORK"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod -modcacherw -buildvcs=false"
export GOWORK=off
export GOCACHE=$DIR/gocache
export GOMODCACHE=$DIR/gomodcache
export GOPATH=$DIR/gopath

echo "build-vault: building Vault $VER in $WORK (cold: ~11 min on 2 cores, ~4.5 GB RAM, ~8 GB disk)" >&2

go mod download github.com/hashicorp/vault@$VER
SRC=$(go env GOMODCACHE)/github.com/hashicorp/vault@$VER

rm -rf vault-src
cp -r "$SRC" vault-src
chmod -R u+w vault-src
rm -rf vault-src/ui vault-src/website vault-src/enos

# Adapt the three call sites to the tagged sdk v0.21.0.
sed -i 's|ActivationFunc: iStore.activateDeduplication,|ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },|' vault-src/vault/identity_store.go
sed -i 's|b.idStoreBackend.ActivationFunc(ctx, nil)|b.idStoreBackend.ActivationFunc(ctx, nil, "")|' vault-src/vault/logical_system_activation_flags.go
sed -i 's|restoredKeyName, err := b.lm.RestorePolicy(|restoredKeyName, err := keyName, b.lm.RestorePolicy(|' vault-src/builtin/logical/transit/path_restore.go
check() {
	if ! grep -qF -- "$1" "$2"; then
		echo "build-vault: patch did not apply to $2 (looked for: $1)" >&2
		exit 1
	fi
}
check '_ string) error { return iStore' vault-src/vault/identity_store.go
check 'ActivationFunc(ctx, nil, "")' vault-src/vault/logical_system_activation_flags.go
check ':= keyName, b.lm.RestorePolicy' vault-src/builtin/logical/transit/path_restore.go

cat >go.mod <<MOD
module local/vaultbuild

go 1.25.3

require github.com/hashicorp/vault $VER

replace github.com/hashicorp/vault => ./vault-src

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1
MOD
rm -f go.sum
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/hashicorp/vault"\n' >tools.go

go mod tidy
go build -trimpath -ldflags='-s -w' -o "$OUT.tmp" github.com/hashicorp/vault
"$OUT.tmp" version >&2
mv -f "$OUT.tmp" "$OUT"
echo "$OUT"
