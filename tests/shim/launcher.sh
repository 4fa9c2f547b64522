#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# containerd-shim-ttrpcd-v2 says why ttrpcd did not start, in the one line
# containerd shows: a library the dynamic linker cannot load (ttrpcd exits
# 127: before, the line said only that), and a module ttrpcd cannot load.
# Real processes: the launcher, and ttrpcd from the build tree.
set -eu

: "${top_builddir:=.}"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the launcher makes /run/containerd/s, which needs root"
	exit 77
fi
launcher=$top_builddir/services/shim/containerd-shim-ttrpcd-v2
# The executable itself, not libtool's wrapper, which would set
# LD_LIBRARY_PATH: its libraries are found as an installed ttrpcd's are.
daemon=$top_builddir/daemon/.libs/ttrpcd
tmp=$(mktemp -d /tmp/ttrpcd-launcher.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bundle" "$tmp/lib"
: >"$tmp/lib/libttrpc.so.0"
failed=0

# start, in the bundle, as containerd runs it; the environment given.
start() {
	(cd "$tmp/bundle" && env "$@" "$launcher" -namespace launcher-test -id t1 start 2>&1)
}

expect() {
	case "$out" in
	*"$1"*) echo "ok: $out" ;;
	*)
		echo "FAIL: expected '$1' in: $out"
		failed=1
		;;
	esac
}

if out=$(start LD_LIBRARY_PATH="$tmp/lib" TTRPCD_SHIM_DAEMON="$daemon"); then
	echo "FAIL: the launcher started with a broken libttrpc.so.0: $out"
	failed=1
fi
expect "ttrpcd exited with status 127 before it was ready: $daemon: error while loading shared libraries: $tmp/lib/libttrpc.so.0"

if out=$(start TTRPCD_SHIM_DAEMON="$top_builddir/daemon/ttrpcd" TTRPCD_SHIM_MODULE="$tmp/none/shim.so"); then
	echo "FAIL: the launcher started without its module: $out"
	failed=1
fi
expect "ttrpcd exited with status 1 before it was ready: module 'shim' ($tmp/none/shim.so): cannot load: $tmp/none/shim.so: cannot open shared object file"
exit $failed
