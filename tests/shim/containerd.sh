# SPDX-License-Identifier: Apache-2.0
# Sourced (bash) by the scripts that drive a private containerd: the shim
# test (tests/shim/ctr-shim.sh) and the shim row of the benchmark
# (tests/bench/shim-bench.sh). The caller sets top_builddir and defines
# skip MESSAGE. Afterwards it has LAUNCHER (containerd-shim-ttrpcd-v2 of
# the build tree, which runs the build tree's ttrpcd and shim module) and:
#   ctd_require          skip without root, containerd, ctr, runc or busybox;
#   ctd_start TAG APPLET...  a private containerd in a new temporary
#                        directory $T: CRI off, root, state, sockets and
#                        TMPDIR (the shims' console sockets) in $T,
#                        namespace $NS, a busybox rootfs in $T/rootfs
#                        with APPLETs; return 1 if it does not answer;
#   ctd_restart          containerd killed (SIGKILL, its shims left running)
#                        and started again on the same state; return 1 if
#                        it does not answer;
#   ctr_ ARG...          ctr on that containerd and namespace, at most 60 s;
#   ctd_stop             the tasks and containers left, containerd, the
#                        mounts under $T, runc's state directory, the
#                        namespace's cgroups (runc leaves the empty
#                        /NAMESPACE parent of its containers' cgroups) and $T.

LAUNCHER=$top_builddir/services/shim/containerd-shim-ttrpcd-v2
export TTRPCD_SHIM_DAEMON=$top_builddir/daemon/ttrpcd
export TTRPCD_SHIM_MODULE=$top_builddir/services/shim/.libs/shim.so
T=
NS=
SOCK=
CTD_PID=

ctd_require() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	for c in containerd ctr runc containerd-shim-runc-v2 busybox; do
		command -v $c >/dev/null || skip "no $c (apt-get install containerd runc busybox-static)"
	done
}

ctd_start() {
	local tag=$1 c
	shift
	T=$(mktemp -d "/tmp/$tag.XXXXXX")
	NS=$tag-$$
	SOCK=$T/containerd.sock
	cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$T/debug.sock"
EOF
	mkdir -p "$T/rootfs/bin" "$T/tmp"
	cp "$(command -v busybox)" "$T/rootfs/bin/busybox"
	for c in "$@"; do ln -s busybox "$T/rootfs/bin/$c"; done
	ctd_run
}

ctd_run() {
	TMPDIR=$T/tmp containerd --config "$T/config.toml" >>"$T/containerd.log" 2>&1 &
	CTD_PID=$!
	for _ in $(seq 200); do
		ctr -a "$SOCK" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

ctd_restart() {
	kill -9 "$CTD_PID"
	wait "$CTD_PID" 2>/dev/null
	ctd_run
}

ctr_() { timeout 60 ctr -a "$SOCK" -n "$NS" "$@"; }

ctd_stop() {
	local c
	if [ -n "$CTD_PID" ] && kill -0 "$CTD_PID" 2>/dev/null; then
		for c in $(ctr -a "$SOCK" -n "$NS" container ls -q 2>/dev/null); do
			ctr -a "$SOCK" -n "$NS" task kill -s SIGKILL "$c" >/dev/null 2>&1
			ctr -a "$SOCK" -n "$NS" task delete -f "$c" >/dev/null 2>&1
			ctr -a "$SOCK" -n "$NS" container rm "$c" >/dev/null 2>&1
		done
		kill "$CTD_PID"
		for _ in $(seq 100); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$CTD_PID" 2>/dev/null
	fi
	[ -n "$T" ] || return 0
	awk -v t="$T" '$5 ~ "^"t {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
	rmdir "/run/containerd/runc/$NS" 2>/dev/null
	# cgroup v1 and hybrid: one per hierarchy; v2: the one. A shim that
	# was still deleting its container's cgroup leaves it busy a moment:
	# a bounded wait.
	for c in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
		for _ in $(seq 50); do
			[ -d "$c" ] || break
			find "$c" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
			rmdir "$c" 2>/dev/null && break
			sleep 0.1
		done
	done
	rm -rf "$T"
}
