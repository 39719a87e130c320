#!/usr/bin/env bash
# scripts/release.sh [--snapshot] — builds every release artefact of the
# checked-out commit into dist/:
#   1. GoReleaser v2 (.goreleaser.yaml): static binaries for linux/amd64,
#      linux/arm64, linux/arm/v7, darwin/arm64 and freebsd/amd64, tar.gz
#      archives with LICENSE, README.md, CHANGELOG.md and example configs,
#      and SHA256SUMS — byte-identical for one commit;
#   2. a multi-arch OCI image index (linux/amd64, linux/arm64) from those
#      binaries (Containerfile.release: COPY only, so no emulation), saved
#      as dist/hitron-exporter-VERSION.oci-index.tar (an OCI archive).
# --snapshot builds an untagged commit; nothing is published either way
# (push the index with `podman manifest push`).
#
# GoReleaser is installed once into ${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}/bin
# from the Go module proxy (GoReleaser's open-source edition cannot drive
# podman, hence step 2 here). Environment:
#   PODMAN                        podman command with global flags (default: podman)
#   RUNTIME_IMAGE_AMD64/_ARM64    base image per platform (default: distroless static nonroot)
#   IMAGE                         index name (default: localhost/hitron-exporter:VERSION)
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER_VERSION=v2.15.1
HITRON_CACHE_DIR=${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}
GORELEASER=${GORELEASER:-$HITRON_CACHE_DIR/bin/goreleaser-$GORELEASER_VERSION}
if [[ ! -x $GORELEASER ]]; then
	# About 5 minutes of compiling on 2 cores, once.
	mkdir -p "$HITRON_CACHE_DIR/bin"
	GOBIN=$HITRON_CACHE_DIR/bin go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
	mv "$HITRON_CACHE_DIR/bin/goreleaser" "$GORELEASER"
fi

snapshot=()
[[ ${1:-} == --snapshot ]] && snapshot=(--snapshot)
"$GORELEASER" release --clean --skip=publish "${snapshot[@]}"

meta=$(cat dist/metadata.json)
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$meta"; }
VERSION=$(field version)
REVISION=$(git rev-parse HEAD)
BUILD_DATE=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd)
EPOCH=$(git log -1 --format=%ct)
PODMAN=${PODMAN:-podman}
IMAGE=${IMAGE:-localhost/hitron-exporter:${VERSION//+/_}}
distroless=gcr.io/distroless/static-debian12:nonroot

$PODMAN manifest rm "$IMAGE" >/dev/null 2>&1 || true
$PODMAN manifest create "$IMAGE" >/dev/null
for arch in amd64 arm64; do
	var=RUNTIME_IMAGE_${arch^^}
	$PODMAN build --quiet --layers=false --platform "linux/$arch" --manifest "$IMAGE" --timestamp "$EPOCH" \
		--build-arg "RUNTIME_IMAGE=${!var:-$distroless}" --build-arg "VERSION=$VERSION" \
		--build-arg "REVISION=$REVISION" --build-arg "BUILD_DATE=$BUILD_DATE" \
		--file Containerfile.release dist >/dev/null
done
archive=dist/hitron-exporter-${VERSION}.oci-index.tar
$PODMAN manifest push --all --quiet "$IMAGE" "oci-archive:$archive"
echo "image index $IMAGE (linux/amd64, linux/arm64): $archive"
