#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The systemd units: systemd-analyze verify prints nothing (it exits 0 even
# on unknown keys, so any output fails), and the service's exposure is at
# most 1.0 (--threshold is in tenths).
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SYSTEMD_ANALYZE:=$(command -v systemd-analyze || true)}"
if [ -z "$SYSTEMD_ANALYZE" ]; then
	echo "SKIP: no systemd-analyze"
	exit 77
fi
tmp=$(mktemp -d /tmp/ttrpcd-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# verify wants ExecStart= to exist: point it at the daemon just built.
sed -e "s|^ExecStart=.*|ExecStart=$top_builddir/daemon/ttrpcd|" \
	"$top_builddir/systemd/ttrpcd.service" >"$tmp/ttrpcd.service"
cp "$top_srcdir/systemd/ttrpcd.socket" "$tmp/ttrpcd.socket"

status=0
out=$("$SYSTEMD_ANALYZE" verify --man=no "$tmp/ttrpcd.socket" "$tmp/ttrpcd.service" 2>&1) || status=1
if [ -n "$out" ] || [ $status -ne 0 ]; then
	echo "FAIL: systemd-analyze verify:"
	echo "$out"
	exit 1
fi
echo "ok: systemd-analyze verify prints nothing"

if ! "$SYSTEMD_ANALYZE" security --offline=yes --threshold=10 "$tmp/ttrpcd.service" \
	>"$tmp/security" 2>&1; then
	echo "FAIL: exposure above 1.0:"
	cat "$tmp/security"
	exit 1
fi
tail -n 1 "$tmp/security"
