#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the benchmark's load generator, for make check: a second of
# Echo and a few Downloads against interop-server, every call completed
# without an error. No timing is asserted.
set -eu

top_builddir=${top_builddir:-.}
b=$top_builddir/tests/bench
dir=$(mktemp -d /tmp/ttrpc-bench-smoke.XXXXXX)
pids=

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# serve NAME CMD...: start a server and wait for its "ready" line.
serve() {
	name=$1
	shift
	"$@" >"$dir/$name.log" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do
		grep -q ready "$dir/$name.log" && return 0
		sleep 0.05
	done
	cat "$dir/$name.log" >&2
	fail "$name did not start"
}

# check OUTPUT: a RESULT line with calls and no errors.
check() {
	line=$(echo "$1" | grep '^RESULT') || fail "no RESULT line in: $1"
	echo "$line"
	echo "$line" | grep -q ' errors=0 ' || fail "errors: $line"
	echo "$line" | grep -q ' calls=0 ' && fail "no calls completed: $line"
	return 0
}

serve interop "$top_builddir/tests/interop/interop-server" -s "$dir/interop.sock"

out=$("$b/ttrpc-bench" -s "$dir/interop.sock" -c 2 -k 4 -S 64 -d 1 -l interop-server) ||
	fail "echo run: $out"
check "$out"
out=$("$b/ttrpc-bench" -s "$dir/interop.sock" -m download -N 100 -S 1K -n 5) ||
	fail "download run: $out"
check "$out"
