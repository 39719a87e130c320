#!/bin/sh
# compare-python.sh: CPU per probe of hitron-exporter against the original
# Python exporter (https://github.com/yrro/hitron-exporter), side by side on
# one simulated CGNV4-FX4 modem answering in about 40 ms per request, in
# paired rounds (original, ours, original, ours, …). See docs/performance.md.
#
# The original's source is not part of this repository. Get it once with
#   git clone https://github.com/yrro/hitron-exporter "${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}/original"
# (or set ORIGINAL_SRC to a checkout). It runs from Debian's packages:
#   apt-get install python3-flask python3-prometheus-client python3-urllib3 gunicorn
# The few things it needs that Debian lacks are generated into a temporary
# directory on each run, never written to the checkout:
#   - prometheus_flask_exporter: a PrometheusMetrics whose __init__(app) and
#     info() do nothing (the original's own /metrics is not measured);
#   - hitron_exporter-0.1.0.dist-info/METADATA for its version lookup;
#   - cert_reqs="CERT_NONE" beside its assert_fingerprint in a copy of
#     hitron.py: urllib3 1.26 verifies the certificate chain otherwise; the
#     fingerprint pin still holds.
#
# Usage: scripts/compare-python.sh [hitron-loadtest compare flags]
#   e.g. scripts/compare-python.sh -latency 40ms -rounds 6 -probes 10
# or:    scripts/compare-python.sh -prepare DIR
#   writes the original's package and shims to DIR and exits, for timing
#   each side as a whole process (hitron-loadtest side -side
#   sequential-original -original-dir DIR; see docs/performance.md).
set -eu

cd "$(dirname "$0")/.."
cache=${HITRON_CACHE_DIR:-$HOME/.cache/hitron-exporter}
src=${ORIGINAL_SRC:-$cache/original}
pkg=$src/src/hitron_exporter
if [ ! -f "$pkg/__init__.py" ] || [ ! -f "$pkg/hitron.py" ]; then
	echo "compare-python.sh: the original exporter is not at $src" >&2
	echo "  git clone https://github.com/yrro/hitron-exporter $src   (or set ORIGINAL_SRC)" >&2
	exit 2
fi
for m in flask prometheus_client urllib3; do
	/usr/bin/python3 -c "import $m" 2>/dev/null || {
		echo "compare-python.sh: /usr/bin/python3 lacks $m: apt-get install python3-flask python3-prometheus-client python3-urllib3 gunicorn" >&2
		exit 2
	}
done
[ -x /usr/bin/gunicorn ] || { echo "compare-python.sh: apt-get install gunicorn" >&2; exit 2; }

if [ "${1:-}" = "-prepare" ]; then
	[ -n "${2:-}" ] || { echo "compare-python.sh: -prepare needs a directory" >&2; exit 2; }
	work=$2
	rm -rf "$work/hitron_exporter" "$work/hitron_exporter-0.1.0.dist-info"
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/hitron-original-XXXXXX")
	trap 'rm -rf "$work"' EXIT INT TERM
fi
cp -R "$pkg" "$work/hitron_exporter"
grep -q 'assert_fingerprint=fingerprint,' "$work/hitron_exporter/hitron.py" || {
	echo "compare-python.sh: $pkg/hitron.py has no assert_fingerprint=fingerprint, line: a different version?" >&2
	exit 2
}
sed -i 's/^\( *\)assert_fingerprint=fingerprint,/&\n\1cert_reqs="CERT_NONE",/' "$work/hitron_exporter/hitron.py"
cat >"$work/prometheus_flask_exporter.py" <<'PY'
"""Stand-in for prometheus_flask_exporter (not packaged by Debian)."""


class PrometheusMetrics:
    def __init__(self, app, *args, **kwargs):
        pass

    def info(self, *args, **kwargs):
        pass
PY
mkdir "$work/hitron_exporter-0.1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: hitron-exporter\nVersion: 0.1.0\n' >"$work/hitron_exporter-0.1.0.dist-info/METADATA"
if [ "${1:-}" = "-prepare" ]; then
	echo "original: $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown) from $src, prepared in $work" >&2
	exit 0
fi
echo "original: $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown) from $src; ours: $(git rev-parse --short HEAD)" >&2
PATH=/usr/bin:$PATH go run ./cmd/hitron-loadtest compare -original-dir "$work" "$@"
