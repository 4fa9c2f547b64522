#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ttrpcd as a containerd shim, driven by the real containerd and ctr: a
# private containerd (CRI disabled, root, state and unix sockets in a
# temporary directory), a busybox rootfs, and the same cases run through
# containerd-shim-ttrpcd-v2 (by its absolute path, as --runtime) and through
# the stock io.containerd.runc.v2 shim, the reference:
#   ctr run --rm of `echo hi; exit 7`: "hi", exit status 7;
#   ctr run -d of a sleep, task ls RUNNING, task ps, task kill -s SIGKILL,
#   STOPPED, task delete, container rm;
#   ctr events shows create, start, exit and delete of a task;
#   nothing left behind: processes, mounts, sockets, runc state.
# Needs root, containerd, ctr, runc and busybox (static): else skipped (77).
# Waits are bounded; nothing is timed.
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=containerd.sh
. "$(dirname "$0")/containerd.sh"

skip() { echo "SKIP: $*"; exit 77; }
ctd_require
[ -x "$LAUNCHER" ] && [ -f "$TTRPCD_SHIM_MODULE" ] || { echo "FAIL: build first"; exit 1; }

EV_PIDS=
failures=0

cleanup() {
	for p in $EV_PIDS; do kill "$p" 2>/dev/null; done
	ctd_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

sockets_before=$(ls -A /run/containerd/s 2>/dev/null | sort)
ctd_start ctr-shim sh echo sleep cat || {
	cat "$T/containerd.log"
	echo "FAIL: containerd"
	exit 1
}

# Processes of the test's namespace: shims, ttrpcd, the sleep. pgrep
# leaves itself out; containerd and this script match none of the patterns.
leftovers() {
	pgrep -af -- "-namespace $NS|$T/state|sleep 4242$$" | sed 's/^/ /' | tr '\n' ';'
}

# Every case against one runtime; $2 tags its container names.
run_cases() {
	local rt=$1 tag=$2 out rc state pid
	local c1=$tag-rm c2=$tag-d

	ctr_ events >"$T/events.$tag" 2>&1 &
	EV_PIDS="$EV_PIDS $!"
	# ctr events subscribes asynchronously: label the namespace until the
	# update shows, and then it listens.
	for i in $(seq 100); do
		ctr_ namespaces label "$NS" probe="$tag$i"
		grep -q "/namespaces/update" "$T/events.$tag" && break
		sleep 0.1
	done

	out=$(ctr_ run --rm --runtime "$rt" --rootfs "$T/rootfs" "$c1" /bin/sh -c 'echo hi; exit 7')
	rc=$?
	[ "$out" = hi ] && [ $rc = 7 ] && ok "$tag: run --rm printed '$out', exit status $rc" ||
		fail "$tag: run --rm printed '$out', exit status $rc (want 'hi', 7)"

	ctr_ run -d --runtime "$rt" --rootfs "$T/rootfs" "$c2" /bin/sleep 4242$$ ||
		fail "$tag: run -d"
	state=$(ctr_ task ls | awk -v c="$c2" '$1 == c {print $3}')
	pid=$(ctr_ task ls | awk -v c="$c2" '$1 == c {print $2}')
	[ "$state" = RUNNING ] && ok "$tag: task ls: $c2 $pid RUNNING" ||
		fail "$tag: task ls: $c2 is '$state', not RUNNING"
	out=$(ctr_ task ps "$c2")
	echo "$out" | awk 'NR > 1 {print $1}' | grep -qx "$pid" && ok "$tag: task ps lists $pid" ||
		fail "$tag: task ps: $out"
	ctr_ task kill -s SIGKILL "$c2" || fail "$tag: task kill"
	for _ in $(seq 100); do
		state=$(ctr_ task ls | awk -v c="$c2" '$1 == c {print $3}')
		[ "$state" = STOPPED ] && break
		sleep 0.1
	done
	[ "$state" = STOPPED ] && ok "$tag: after kill -s SIGKILL: STOPPED" ||
		fail "$tag: after kill: '$state', not STOPPED"
	ctr_ task delete "$c2" >/dev/null 2>"$T/delete.$tag"
	rc=$?
	[ $rc = 0 ] && ok "$tag: task delete" || fail "$tag: task delete: $(cat "$T/delete.$tag")"
	ctr_ container rm "$c2" && ok "$tag: container rm" || fail "$tag: container rm"

	# Events come asynchronously from the shim: a bounded wait for the last.
	for _ in $(seq 100); do
		grep -q "/tasks/delete.*\"$c2\"" "$T/events.$tag" && break
		sleep 0.1
	done
	for topic in create start exit delete; do
		grep -q "/tasks/$topic .*\"container_id\":\"$c1\"" "$T/events.$tag" ||
			fail "$tag: no /tasks/$topic event of $c1"
		grep -q "/tasks/$topic .*\"container_id\":\"$c2\"" "$T/events.$tag" ||
			fail "$tag: no /tasks/$topic event of $c2"
	done
	grep -q "/tasks/exit .*\"container_id\":\"$c1\".*\"exit_status\":7" "$T/events.$tag" ||
		fail "$tag: the exit event of $c1 has not exit_status 7"
	grep -q "/tasks/exit .*\"container_id\":\"$c2\".*\"exit_status\":137" "$T/events.$tag" ||
		fail "$tag: the exit event of $c2 has not exit_status 137"
	grep "/tasks/" "$T/events.$tag" | sed 's/^/  /'

	# Nothing left: no shim of the namespace, no container process, no
	# runc state, no mount under the temporary directory. Shims exit
	# after their last answer: a bounded wait.
	for _ in $(seq 100); do
		leftover=$(leftovers)
		[ -z "$leftover" ] && break
		sleep 0.1
	done
	[ -z "$leftover" ] && ok "$tag: no process left" || fail "$tag: processes left:$leftover"
	ls -A "/run/containerd/runc/$NS" 2>/dev/null | grep -q . &&
		fail "$tag: runc state left: $(ls "/run/containerd/runc/$NS")"
	grep -q " $T" /proc/self/mountinfo && fail "$tag: mounts left: $(grep " $T" /proc/self/mountinfo)"
}

run_cases io.containerd.runc.v2 runc
run_cases "$LAUNCHER" ttrpcd

sockets_after=$(ls -A /run/containerd/s 2>/dev/null | sort)
if [ "$sockets_before" = "$sockets_after" ]; then
	ok "no socket left in /run/containerd/s"
else
	fail "sockets left: $(comm -13 <(echo "$sockets_before") <(echo "$sockets_after") | tr '\n' ' ')"
fi

# ttrpcd logs into containerd's log (the bundle's log fifo): a sanitizer
# build's reports land there.
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/containerd.log" &&
	fail "sanitizer reports in containerd's log"

if [ $failures != 0 ]; then
	echo "--- containerd.log"
	tail -n 60 "$T/containerd.log"
	exit 1
fi
echo "PASS"
