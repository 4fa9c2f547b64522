#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Interop with the real Go peer (containerd/ttrpc v1.1.1 from Debian), both
# directions: the Go client against the C server, the C client against the
# Go server. Each side runs every unary case of interop.proto. Then the Go
# health client asks ttrpcd's health module (grpc.health.v1, unary Check).
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
gobin="$top_builddir/tests/interop/go-build"
tmp=$(mktemp -d /tmp/ttrpc-interop.XXXXXX)
pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Start "$@" in the background and wait until it prints its "ready" line.
start_server() {
	out="$1"
	shift
	"$@" >"$out" 2>&1 &
	pids="$pids $!"
	last=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$out" 2>/dev/null && return 0
		kill -0 "$last" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start: $*" >&2
	cat "$out" >&2
	return 1
}

"$top_srcdir/tests/interop/build-go.sh" "$gobin"

status=0

echo "== Go client -> C server"
start_server "$tmp/c-server.log" "$top_builddir/tests/interop/interop-server" -s "$tmp/c.sock"
c_server=$last
"$gobin/interop-go-client" -socket "$tmp/c.sock" || status=1
# The C server must shut down cleanly on SIGTERM (and, under the
# sanitizers, without a leak report, which would make it exit non-zero).
kill -TERM "$c_server"
if ! wait "$c_server"; then
	echo "FAIL: the C server did not exit cleanly" >&2
	cat "$tmp/c-server.log" >&2
	status=1
fi

echo "== C client -> Go server"
start_server "$tmp/go-server.log" "$gobin/interop-go-server" -socket "$tmp/go.sock"
"$top_builddir/tests/interop/interop-client" -s "$tmp/go.sock" || status=1

echo "== Go health client -> ttrpcd with the health and interop modules"
: >"$tmp/ttrpcd.conf"
"$top_builddir/daemon/ttrpcd" --config "$tmp/ttrpcd.conf" --socket "$tmp/ttrpcd.sock" \
	--module "$top_builddir/services/health/.libs/health.so" \
	--module "$top_builddir/tests/interop/.libs/interop.so" >"$tmp/ttrpcd.log" 2>&1 &
ttrpcd=$!
pids="$pids $ttrpcd"
for _ in $(seq 100); do
	grep -q 'ready:' "$tmp/ttrpcd.log" 2>/dev/null && break
	sleep 0.1
done
"$gobin/health-go-client" -socket "$tmp/ttrpcd.sock" =SERVING \
	ttrpc.interop.v1.Interop=SERVING grpc.health.v1.Health=SERVING \
	ttrpcd.v1.Control=SERVING no.such.Service=NotFound || status=1
kill -TERM "$ttrpcd"
if ! wait "$ttrpcd"; then
	echo "FAIL: ttrpcd did not exit cleanly" >&2
	status=1
fi
[ $status = 0 ] || cat "$tmp/ttrpcd.log" >&2

exit $status
