#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The systemd units: systemd-analyze verify prints nothing (it exits 0 even
# on unknown keys, so any output fails); the service's exposure is at most
# 0.4, what it is today (--threshold is in tenths): a change that costs
# exposure must say so here; and the choices the unit explains hold. The
# sysusers.d file makes the user in a root of its own.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SYSTEMD_ANALYZE:=$(command -v systemd-analyze || true)}"
if [ -z "$SYSTEMD_ANALYZE" ] || ! command -v systemd-sysusers >/dev/null; then
	echo "SKIP: no systemd-analyze or systemd-sysusers (apt-get install systemd)"
	exit 77
fi
tmp=$(mktemp -d /tmp/ttrpcd-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# verify wants ExecStart= and ExecReload= to exist: the programs just built.
sed -e "s|^ExecStart=[^ ]*|ExecStart=$top_builddir/daemon/ttrpcd|" \
	-e "s|^ExecReload=[^ ]*|ExecReload=$top_builddir/daemon/ttrpcctl/ttrpcctl|" \
	"$top_builddir/systemd/ttrpcd.service" >"$tmp/ttrpcd.service"
cp "$top_srcdir/systemd/ttrpcd.socket" "$tmp/ttrpcd.socket"
unit=$tmp/ttrpcd.service

status=0
out=$("$SYSTEMD_ANALYZE" verify --man=no "$tmp/ttrpcd.socket" "$unit" 2>&1) || status=1
if [ -n "$out" ] || [ $status -ne 0 ]; then
	echo "FAIL: systemd-analyze verify:"
	echo "$out"
	exit 1
fi
echo "ok: systemd-analyze verify prints nothing"

if ! "$SYSTEMD_ANALYZE" security --offline=yes --threshold=4 "$unit" >"$tmp/security" 2>&1; then
	echo "FAIL: exposure above 0.4:"
	cat "$tmp/security"
	exit 1
fi
tail -n 1 "$tmp/security"

# The value of KEY= in the service (the last one wins, as for systemd).
value() {
	sed -n "s/^$1=//p" "$unit" | tail -n 1
}
expect() {
	if [ "$(value "$1")" = "$2" ]; then
		echo "ok: $1=$2"
	else
		fail "$1= is '$(value "$1")', not '$2'"
	fi
}

# Peers' credentials must be real for allow-users and allow-groups.
grep -q '^PrivateUsers=' "$unit" && fail "PrivateUsers= maps every peer to 65534" ||
	echo "ok: no PrivateUsers="
# A filtered call (chown) fails with EPERM, which ttrpcd reports; no SIGSYS.
expect SystemCallErrorNumber EPERM
# A reload that waits for the answer and fails when the reload does.
case "$(value ExecReload)" in
*/ttrpcctl\ *reload) echo "ok: ExecReload= runs ttrpcctl reload" ;;
*) fail "ExecReload= is '$(value ExecReload)', not ttrpcctl reload" ;;
esac
# A clean exit goes through auto-restart, which keeps the fd store.
expect Restart always
# Room for the whole fd store at a start, and as much again.
store=$(value FileDescriptorStoreMax)
nofile=$(value LimitNOFILE)
soft=${nofile%%:*}
if [ -n "$store" ] && [ -n "$soft" ] && [ "$soft" -ge $((store * 2)) ]; then
	echo "ok: LimitNOFILE=$nofile holds FileDescriptorStoreMax=$store twice"
else
	fail "LimitNOFILE='$nofile' is below twice FileDescriptorStoreMax='$store'"
fi
# Where modules may write under ProtectSystem=strict, and the config.
expect ProtectSystem strict
expect StateDirectory ttrpcd
expect CacheDirectory ttrpcd
expect ConfigurationDirectory ttrpcd

# The sysusers.d file: the user and its group, made in a root of our own
# (which needs no privilege).
mkdir -p "$tmp/root/etc"
if systemd-sysusers --root="$tmp/root" "$top_srcdir/systemd/sysusers.d/ttrpcd.conf" \
	>"$tmp/sysusers" 2>&1 && grep -q '^ttrpcd:x:[0-9]*:[0-9]*:ttrpc daemon:' \
	"$tmp/root/etc/passwd" && grep -q '^ttrpcd:x:' "$tmp/root/etc/group"; then
	echo "ok: sysusers.d/ttrpcd.conf makes the user and group ttrpcd"
else
	fail "systemd-sysusers sysusers.d/ttrpcd.conf:"
	cat "$tmp/sysusers" "$tmp/root/etc/passwd" 2>/dev/null || true
fi
exit $failed
