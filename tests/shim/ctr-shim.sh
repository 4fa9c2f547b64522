#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ttrpcd as a containerd shim, driven by the real containerd and ctr: a
# private containerd (CRI disabled, root, state and unix sockets in a
# temporary directory), a busybox rootfs, an OCI image of busybox-static
# built offline and imported, and the same cases run through
# containerd-shim-ttrpcd-v2 (by its absolute path, as --runtime) and
# through the stock io.containerd.runc.v2 shim, the reference:
#   ctr run --rm of `echo hi; exit 7`: "hi", exit status 7;
#   ctr run -d of the image (the snapshotter's overlay mounted on the
#   bundle's rootfs while it runs), task ls RUNNING, task ps;
#   task exec: output, error output and exit status; stdin to EOF (cat);
#   -t (a terminal: tty, the size ctr's has, exit status); -d, task ps
#   names it, kill and
#   delete of the exec process;
#   task pause / resume: PAUSED, RUNNING;
#   task checkpoint: the same outcome (CRIU may fail), the task running;
#   task metrics: the same statistics (the message fields present), and
#   the memory limit that Update (through the Task API with ttrpcctl: ctr
#   1.6 has no `task update`) set, also in the cgroup;
#   ctr run -t of the image through a pseudo-terminal the test holds
#   (script): the size ctr gives, then a resize seen by `stty size` inside;
#   OOM: a container's process over its memory limit, /tasks/oom heard
#   while the container lives, then its exit status 137;
#   containerd killed and started again with two tasks running: both still
#   RUNNING, then killed, deleted, their exit and delete events heard;
#   kill -s SIGKILL, STOPPED, task delete, container rm;
#   ctr events: the task events of each runtime, the same sequence;
#   nothing left behind: processes, mounts, the task sockets, runc state,
#   console sockets, the containers' cgroups.
# What the shims share with another containerd (/run/containerd/s) is
# checked by name; containerd's TMPDIR, where both shims make console
# sockets, is in $T: runs beside other containerd tests do not collide.
# Needs root, containerd, ctr, runc, busybox (static) and script: else
# skipped (77). Waits are bounded; nothing is timed.
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=containerd.sh
. "$(dirname "$0")/containerd.sh"

skip() { echo "SKIP: $*"; exit 77; }
ctd_require
command -v script >/dev/null || skip "no script (apt-get install bsdutils)"
[ -x "$LAUNCHER" ] && [ -f "$TTRPCD_SHIM_MODULE" ] || { echo "FAIL: build first"; exit 1; }
TTRPCCTL=$top_builddir/daemon/ttrpcctl/ttrpcctl
IMAGE=localhost/ttrpcd-test/busybox:1

EV_PID=
failures=0

cleanup() {
	[ -n "$EV_PID" ] && kill "$EV_PID" 2>/dev/null
	exec 7>&- 2>/dev/null
	ctd_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
# check WHAT GOT WANT
check() { [ "$2" = "$3" ] && ok "$1: $2" || fail "$1: '$2', want '$3'"; }

ctd_start ctr-shim sh echo sleep cat stty tty dd || {
	cat "$T/containerd.log"
	echo "FAIL: containerd"
	exit 1
}
"$(dirname "$0")/oci-image.sh" "$T/image.tar" "$IMAGE" sh echo sleep cat stty tty dd ||
	fail "oci-image.sh"
ctr_ image import "$T/image.tar" >/dev/null || fail "ctr image import"
ROOTFS_DIR=$T/state/io.containerd.runtime.v2.task/$NS
# The Task API's types, for ttrpcctl's calls of Update.
protoc -o "$T/task.desc" --include_imports -I "$top_srcdir/services/shim" task.proto ||
	fail "protoc"
# The terminal's input: a fifo held open for script's stdin.
mkfifo "$T/tty-in"
exec 7<>"$T/tty-in"

# Processes of the test's namespace: shims, ttrpcd, the containers' sleeps.
# pgrep leaves itself out; containerd and this script match none.
leftovers() {
	pgrep -af -- "-namespace $NS|$T/state|sleep 4242$$" | sed 's/^/ /' | tr '\n' ';'
}

# The task socket of container $2 under runtime $1, as the shims name it in
# /run/containerd/s (shared with any other containerd): the runc shim's is
# the sha256 of ADDRESS/NAMESPACE/ID, ours their FNV-1a 64 (launcher.c).
task_socket() {
	local h=-3750763034362895579 s="$SOCK/$NS/$2/" i c
	if [ "$1" = runc ]; then
		printf '/run/containerd/s/%s\n' "$(printf '%s' "$SOCK/$NS/$2" | sha256sum | cut -c1-64)"
		return
	fi
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 1099511628211))
	done
	printf '/run/containerd/s/ttrpcd-%016x\n' "$h"
}

# ctr events, from now on, into $T/events.$1
listen() {
	[ -n "$EV_PID" ] && kill "$EV_PID" 2>/dev/null
	ctr_ events >>"$T/events.$1" 2>&1 &
	EV_PID=$!
	# ctr events subscribes asynchronously: label the namespace until the
	# update shows, and then it listens.
	for i in $(seq 100); do
		ctr_ namespaces label "$NS" probe="$1$i$RANDOM"
		[ "$(grep -c /namespaces/update "$T/events.$1")" -gt "${2:-0}" ] && return
		sleep 0.1
	done
}

# wait_for FILE PATTERN: at most 10 s.
wait_for() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

state_of() { ctr_ task ls | awk -v c="$1" '$1 == c {print $3}'; }
wait_state() {
	for _ in $(seq 100); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# The message fields of `ctr task metrics --format json`, one path a line.
metric_fields() {
	ctr_ task metrics --format json "$1" | grep -E '^ *"[a-z_]+": \{' | sed 's/[ {}:,"]//g' |
		tr '\n' ' '
}

# Update of the task's memory limit, by the Task API on the shim's socket.
update_memory() {
	local addr json
	addr=$(sed 's|^unix://||' "$ROOTFS_DIR/$1/address")
	json=$(printf '{"memory":{"limit":%s}}' "$2" | base64 -w0)
	"$TTRPCCTL" -s "$addr" call containerd.task.v2.Task/Update -D "$T/task.desc" -d \
		"{\"id\":\"$1\",\"resources\":{\"type_url\":\"types.containerd.io/opencontainers/runtime-spec/1/LinuxResources\",\"value\":\"$json\"}}"
}

# Every case against one runtime; $2 tags its container names, and what
# both runtimes must agree on goes to $T/summary.$2.
run_cases() {
	local rt=$1 tag=$2 out err rc state pid i pts
	local c1=$tag-rm c2=$tag-img c3=$tag-t c4=$tag-oom c5=$tag-two
	local sum=$T/summary.$tag

	listen "$tag"

	out=$(ctr_ run --rm --runtime "$rt" --rootfs "$T/rootfs" "$c1" /bin/sh -c 'echo hi; exit 7')
	rc=$?
	check "$tag: run --rm: output, exit status" "$out $rc" "hi 7"
	echo "run --rm: $out $rc" >>"$sum"

	ctr_ run -d --runtime "$rt" "$IMAGE" "$c2" sleep 4242$$ || fail "$tag: run -d $IMAGE"
	state=$(state_of "$c2")
	pid=$(ctr_ task ls | awk -v c="$c2" '$1 == c {print $2}')
	check "$tag: task ls $c2" "$state" RUNNING
	check "$tag: the task's socket" "$(cat "$ROOTFS_DIR/$c2/address")" "unix://$(task_socket "$tag" "$c2")"
	if [ "$tag" = ttrpcd ]; then
		# Wait is answered when the task exits, maybe days later: no slow call.
		out=$ROOTFS_DIR/$c2/ttrpcd-shim.conf
		grep -qx 'slow-call = 0' "$out" && "$TTRPCD_SHIM_DAEMON" --check-config --config "$out" >/dev/null &&
			ok "$tag: its ttrpcd's config: slow-call = 0" || fail "$tag: slow-call in $out"
	fi
	out=$(awk -v r="$ROOTFS_DIR/$c2/rootfs" '$5 == r {print $9}' /proc/self/mountinfo)
	check "$tag: the image's rootfs, mounted by the shim" "$out" overlay
	echo "image rootfs: $out" >>"$sum"
	out=$(ctr_ task ps "$c2")
	echo "$out" | awk 'NR > 1 {print $1}' | grep -qx "$pid" && ok "$tag: task ps lists $pid" ||
		fail "$tag: task ps: $out"

	# exec: output, error output, exit status
	out=$(ctr_ task exec --exec-id x1 "$c2" sh -c 'echo out; echo err >&2; exit 5' 2>"$T/err")
	rc=$?
	err=$(cat "$T/err")
	check "$tag: exec: output, errors, exit status" "$out|$err|$rc" "out|err|5"
	echo "exec: $out|$err|$rc" >>"$sum"
	# stdin to its end: cat sees EOF once ctr's stdin ends (CloseIO)
	out=$(printf 'one\ntwo\n' | ctr_ task exec --exec-id x2 "$c2" cat)
	rc=$?
	check "$tag: exec of cat, stdin to EOF" "$(echo $out) $rc" "one two 0"
	echo "exec stdin: $(echo $out) $rc" >>"$sum"
	# a terminal, of the size ctr's terminal has (ResizePty of an exec process)
	script -qec "stty rows 22 cols 77; ctr -a $SOCK -n $NS task exec -t --exec-id x3 $c2 sh -c 'i=0; until [ \"\$(stty size)\" = \"22 77\" ] || [ \$i -gt 100 ]; do sleep 0.1; i=\$((i+1)); done; echo size \$(stty size); tty; exit 4'" /dev/null <&7 >"$T/exec-t.$tag"
	rc=$?
	out=$(tr -d '\r\0' <"$T/exec-t.$tag" | grep -E '^size|/dev/pts' | tr '\n' ' ')
	check "$tag: exec -t: its terminal, its size, exit status" "$out$rc" "size 22 77 /dev/pts/0 4"
	echo "exec -t: $out$rc" >>"$sum"
	# -d: the exec process in task ps, killed, deleted
	# (ctr leaves a detached process's fifos: in $T, not /run/containerd/fifo)
	ctr_ task exec -d --fifo-dir "$T/fifo" --exec-id x4 "$c2" sleep 4242$$ || fail "$tag: exec -d"
	out=$(ctr_ task ps "$c2" | grep -c "ExecID:x4")
	check "$tag: task ps names the exec process" "$out" 1
	ctr_ task kill --exec-id x4 -s SIGKILL "$c2" || fail "$tag: kill of the exec process"
	wait_for "$T/events.$tag" '/tasks/exit .*"id":"x4"' || fail "$tag: no exit event of x4"
	ctr_ task delete --exec-id x4 "$c2" >/dev/null
	rc=$?
	echo "exec kill, delete: $rc" >>"$sum"
	out=$(ctr_ task ps "$c2" | grep -c "ExecID:x4")
	check "$tag: the exec process deleted" "$out" 0

	# pause, resume
	ctr_ task pause "$c2" || fail "$tag: pause"
	check "$tag: paused" "$(state_of "$c2")" PAUSED
	ctr_ task resume "$c2" || fail "$tag: resume"
	check "$tag: resumed" "$(state_of "$c2")" RUNNING

	# Checkpoint: runc checkpoint through CRIU, which may fail (Debian 12's
	# CRIU 3.17 on a newer kernel): the same outcome, the task left running
	ctr_ task checkpoint "$c2" >/dev/null 2>"$T/checkpoint.$tag"
	rc=$?
	check "$tag: after a checkpoint (ctr's exit status $rc), the task" "$(state_of "$c2")" RUNNING
	echo "checkpoint: $rc $(state_of "$c2")" >>"$sum"

	# metrics, and Update of the memory limit
	out=$(metric_fields "$c2")
	check "$tag: metrics fields" "$out" "pids cpu usage throttling memory usage swap kernel kernel_tcp blkio memory_oom_control "
	echo "metrics: $out" >>"$sum"
	update_memory "$c2" 67108864 >/dev/null || fail "$tag: Update"
	out=$(ctr_ task metrics "$c2" | awk '$1 == "memory.limit_in_bytes" {print $2}')
	check "$tag: the updated limit in the metrics" "$out" 67108864
	check "$tag: the updated limit in the cgroup" \
		"$(cat /sys/fs/cgroup/memory/"$NS"/"$c2"/memory.limit_in_bytes)" 67108864
	echo "update: $out" >>"$sum"

	# run -t: the terminal ctr is on is the test's (script's); its size, then a resize
	script -qec "stty rows 22 cols 77; ctr -a $SOCK -n $NS run -t --rm --runtime $rt $IMAGE $c3 sh -c 'i=0; until [ \"\$(stty size)\" = \"22 77\" ] || [ \$i -gt 100 ]; do sleep 0.1; i=\$((i+1)); done; echo size1 \$(stty size); i=0; until [ \"\$(stty size)\" = \"10 50\" ] || [ \$i -gt 100 ]; do sleep 0.1; i=\$((i+1)); done; echo size2 \$(stty size); exit 3'" /dev/null <&7 >"$T/tty.$tag" 2>&1 &
	i=$!
	wait_for "$T/tty.$tag" "size1" || fail "$tag: run -t: no size1"
	pid=$(pgrep -n -f "ctr -a $SOCK -n $NS run -t --rm --runtime $rt $IMAGE $c3")
	pts=$(readlink "/proc/$pid/fd/0")
	stty -F "$pts" rows 10 cols 50
	# ctr listens for SIGWINCH only after its first resize, which the
	# container may have seen (size1) before: the change told again until
	# size2 shows, as a terminal tells of each change (bounded).
	for _ in $(seq 50); do
		grep -q size2 "$T/tty.$tag" && break
		kill -WINCH "$pid" 2>/dev/null
		sleep 0.2
	done
	wait $i
	rc=$?
	out=$(tr -d '\r\0' <"$T/tty.$tag" | grep size | tr '\n' ' ')
	check "$tag: run -t: sizes seen inside, exit status" "$out$rc" "size1 22 77 size2 10 50 3"
	echo "run -t: $out$rc" >>"$sum"

	# OOM: the shell's child over the memory limit, killed by the kernel;
	# the shell exits with its status once the test heard /tasks/oom. While
	# the cgroup lives, both shims report the OOM (the runc shim drops one it
	# reads after the cgroup is gone), and it comes before the exit.
	ctr_ run --rm --runtime "$rt" --memory-limit 33554432 --rootfs "$T/rootfs" "$c4" \
		/bin/sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; s=$?; i=0; until [ -e /oom-heard ] || [ $i -gt 300 ]; do sleep 0.1; i=$((i+1)); done; exit $s' &
	i=$!
	wait_for "$T/events.$tag" "/tasks/oom .*\"$c4\"" || fail "$tag: no /tasks/oom event of $c4"
	: >"$T/rootfs/oom-heard"
	wait $i
	rc=$?
	rm -f "$T/rootfs/oom-heard"
	check "$tag: OOM: exit status" "$rc" 137
	echo "oom: $rc" >>"$sum"

	# containerd killed and started again, two tasks running
	ctr_ run -d --runtime "$rt" --rootfs "$T/rootfs" "$c5" /bin/sleep 4242$$ ||
		fail "$tag: run -d $c5"
	kill "$EV_PID"
	EV_PID=
	ctd_restart || fail "$tag: containerd restarted"
	listen "$tag" "$(grep -c /namespaces/update "$T/events.$tag")"
	check "$tag: after the restart, $c2" "$(state_of "$c2")" RUNNING
	check "$tag: after the restart, $c5" "$(state_of "$c5")" RUNNING
	echo "restart: $(state_of "$c2") $(state_of "$c5")" >>"$sum"
	for c in "$c5" "$c2"; do
		ctr_ task kill -s SIGKILL "$c" || fail "$tag: task kill $c"
		wait_state "$c" STOPPED
		check "$tag: after kill -s SIGKILL, $c" "$(state_of "$c")" STOPPED
		ctr_ task delete "$c" >/dev/null 2>"$T/delete.$tag"
		rc=$?
		[ $rc = 0 ] && ok "$tag: task delete $c" ||
			fail "$tag: task delete $c: $rc $(cat "$T/delete.$tag")"
		ctr_ container rm "$c" && ok "$tag: container rm $c" || fail "$tag: container rm $c"
	done

	# Events come asynchronously from the shim: a bounded wait for the last.
	wait_for "$T/events.$tag" "/tasks/delete.*\"$c2\"" || fail "$tag: no delete event of $c2"
	for topic in create start exit delete; do
		for c in "$c1" "$c2" "$c3" "$c4" "$c5"; do
			grep -q "/tasks/$topic .*\"container_id\":\"$c\"" "$T/events.$tag" ||
				fail "$tag: no /tasks/$topic event of $c"
		done
	done
	grep -q "/tasks/exit .*\"container_id\":\"$c1\".*\"exit_status\":7" "$T/events.$tag" ||
		fail "$tag: the exit event of $c1 has not exit_status 7"
	grep -q "/tasks/exit .*\"container_id\":\"$c2\",\"id\":\"$c2\".*\"exit_status\":137" \
		"$T/events.$tag" || fail "$tag: the exit event of $c2 has not exit_status 137"
	# The sequence, without what differs by nature (pids, times, paths),
	# and with one /tasks/oom for several in a row: the kernel may notify
	# an OOM more than once, and a shim reads the count once or twice.
	grep ' /tasks/' "$T/events.$tag" | awk '{print $6, $7}' | while read -r topic json; do
		echo "$topic $(echo "$json" | grep -oE '"(container_id|id|exec_id|exit_status)":("[^"]*"|[0-9]+)' |
			sed "s/$tag-/X-/" | tr '\n' ' ')"
	done | awk '!(/^\/tasks\/oom / && $0 == prev) { print } { prev = $0 }' >"$T/sequence.$tag"
	sed 's/^/  /' "$T/sequence.$tag"

	# Nothing left: no shim of the namespace, no container process, no
	# runc state, no mount under the temporary directory, no container
	# cgroup. Shims exit after their last answer: a bounded wait.
	for _ in $(seq 100); do
		leftover=$(leftovers)
		[ -z "$leftover" ] && break
		sleep 0.1
	done
	[ -z "$leftover" ] && ok "$tag: no process left" || fail "$tag: processes left:$leftover"
	ls -A "/run/containerd/runc/$NS" 2>/dev/null | grep -q . &&
		fail "$tag: runc state left: $(ls "/run/containerd/runc/$NS")"
	grep -q " $T" /proc/self/mountinfo && fail "$tag: mounts left: $(grep " $T" /proc/self/mountinfo)"
	out=$(find /sys/fs/cgroup/*/"$NS" -mindepth 1 -type d 2>/dev/null)
	[ -z "$out" ] || fail "$tag: cgroups left: $out"
	for c in "$c1" "$c2" "$c3" "$c4" "$c5"; do
		[ -e "$(task_socket "$tag" "$c")" ] && fail "$tag: socket left: $(task_socket "$tag" "$c")"
	done
	out=$(ls -d "$T"/tmp/pty* 2>/dev/null)
	[ -z "$out" ] || fail "$tag: console sockets left: $out"
}

run_cases io.containerd.runc.v2 runc
run_cases "$LAUNCHER" ttrpcd

if diff -u "$T/summary.runc" "$T/summary.ttrpcd"; then
	ok "both runtimes: the same outputs, exit statuses and states"
else
	fail "the runtimes differ (above)"
fi
if diff -u "$T/sequence.runc" "$T/sequence.ttrpcd"; then
	ok "both runtimes: the same sequence of task events"
else
	fail "the event sequences differ (above)"
fi

# ttrpcd logs into containerd's log (the bundle's log fifo): a sanitizer
# build's reports land there.
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/containerd.log" &&
	fail "sanitizer reports in containerd's log"
grep "has been in flight" "$T/containerd.log" && fail "a shim's call logged as slow"

if [ $failures != 0 ]; then
	echo "--- containerd.log"
	tail -n 60 "$T/containerd.log"
	exit 1
fi
echo "PASS"
