#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The containerd shim row of `make bench`: a private containerd
# (as tests/shim/ctr-shim.sh starts it), and for containerd-shim-ttrpcd-v2
# and the stock io.containerd.runc.v2 in the same run:
#   - the memory of the shim per running container, 10 containers of sleep:
#     RSS (what the issue counts), PSS (shared pages split among the
#     processes mapping them) and USS (private pages only: what one more
#     container adds), summed over the shim processes, divided by 10;
#   - the wall time of `ctr run --rm ... /bin/true`, median of BENCH_SHIM_RUNS (7).
# Needs root, containerd, ctr, runc and busybox; else it says why and exits 0.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
LAUNCHER=$top_builddir/services/shim/containerd-shim-ttrpcd-v2
export TTRPCD_SHIM_DAEMON=$top_builddir/daemon/ttrpcd
export TTRPCD_SHIM_MODULE=$top_builddir/services/shim/.libs/shim.so
N=10
RUNS=${BENCH_SHIM_RUNS:-7}

skip() { echo "containerd shim: skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root"
for c in containerd ctr runc containerd-shim-runc-v2 busybox; do
	command -v $c >/dev/null || skip "no $c"
done
[ -x "$LAUNCHER" ] || skip "no $LAUNCHER"

T=$(mktemp -d /tmp/shim-bench.XXXXXX)
NS=shim-bench-$$
SOCK=$T/containerd.sock
CTD_PID=

cleanup() {
	if [ -n "$CTD_PID" ]; then
		for c in $(ctr -a "$SOCK" -n "$NS" container ls -q 2>/dev/null); do
			ctr -a "$SOCK" -n "$NS" task kill -s SIGKILL "$c" >/dev/null 2>&1
			ctr -a "$SOCK" -n "$NS" task delete -f "$c" >/dev/null 2>&1
			ctr -a "$SOCK" -n "$NS" container rm "$c" >/dev/null 2>&1
		done
		kill "$CTD_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$CTD_PID" 2>/dev/null
	fi
	rmdir "/run/containerd/runc/$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ctr_() { timeout 60 ctr -a "$SOCK" -n "$NS" "$@"; }

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
mkdir -p "$T/rootfs/bin"
cp "$(command -v busybox)" "$T/rootfs/bin/busybox"
for c in sh sleep true; do ln -s busybox "$T/rootfs/bin/$c"; done
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
CTD_PID=$!
for _ in $(seq 200); do
	ctr -a "$SOCK" version >/dev/null 2>&1 && break
	sleep 0.1
done
ctr -a "$SOCK" version >/dev/null 2>&1 || skip "containerd did not start"

# KiB of the fields $2 (Rss, Pss, Private_Clean|Private_Dirty) summed over the pids in $1.
sum_kib() {
	local total=0 p v

	for p in $1; do
		v=$(awk -v f="^($2):\$" '$1 ~ f { s += $2 } END { print s + 0 }' \
			"/proc/$p/smaps_rollup" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo $total
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A rss pss uss runms
for rt in runc ttrpcd; do
	if [ $rt = runc ]; then runtime=io.containerd.runc.v2; else runtime=$LAUNCHER; fi
	for i in $(seq $N); do
		ctr_ run -d --runtime "$runtime" --rootfs "$T/rootfs" "$rt-$i" /bin/sleep 100000 ||
			skip "$rt: ctr run -d failed"
	done
	if [ $rt = runc ]; then
		pids=$(pgrep -f -- "containerd-shim-runc-v2 -namespace $NS ")
	else
		pids=$(pgrep -f -- "ttrpcd --config $T/state/")
	fi
	[ "$(echo $pids | wc -w)" = $N ] || skip "$rt: $(echo $pids | wc -w) shims for $N containers"
	rss[$rt]=$(($(sum_kib "$pids" Rss) / N))
	pss[$rt]=$(($(sum_kib "$pids" Pss) / N))
	uss[$rt]=$(($(sum_kib "$pids" 'Private_Clean|Private_Dirty') / N))
	for i in $(seq $N); do
		ctr_ task kill -s SIGKILL "$rt-$i" >/dev/null
	done
	for i in $(seq $N); do
		for _ in $(seq 100); do
			ctr_ task ls | grep -q "^$rt-$i .*STOPPED" && break
			sleep 0.1
		done
		ctr_ task delete "$rt-$i" >/dev/null 2>&1
		ctr_ container rm "$rt-$i" >/dev/null
	done
	times=()
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		ctr_ run --rm --runtime "$runtime" --rootfs "$T/rootfs" "$rt-rm-$i" /bin/true ||
			skip "$rt: ctr run --rm failed"
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000)))
	done
	runms[$rt]=$(awk -v u="$(median "${times[@]}")" 'BEGIN { printf "%.1f", u / 1000 }')
done

mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "containerd shim ($(containerd --version | awk '{ print $3 }'), runc" \
	"$(runc --version | awk 'NR == 1 { print $3 }'), $N containers of sleep):"
printf '| %-38s | %-12s | %-12s | %-6s |\n' "" "ttrpcd shim" "runc-v2 shim" "ratio"
printf '| %-38s | %-12s | %-12s | %-6s |\n' "RSS per running container" "$(mib "${rss[ttrpcd]}")" \
	"$(mib "${rss[runc]}")" "$(ratio "${rss[ttrpcd]}" "${rss[runc]}")"
printf '| %-38s | %-12s | %-12s | %-6s |\n' "PSS per running container" "$(mib "${pss[ttrpcd]}")" \
	"$(mib "${pss[runc]}")" "$(ratio "${pss[ttrpcd]}" "${pss[runc]}")"
printf '| %-38s | %-12s | %-12s | %-6s |\n' "USS per running container" "$(mib "${uss[ttrpcd]}")" \
	"$(mib "${uss[runc]}")" "$(ratio "${uss[ttrpcd]}" "${uss[runc]}")"
printf '| %-38s | %-12s | %-12s | %-6s |\n' "ctr run --rm /bin/true (median of $RUNS)" \
	"${runms[ttrpcd]} ms" "${runms[runc]} ms" "$(ratio "${runms[ttrpcd]}" "${runms[runc]}")"
fifth() { awk -v a="$1" -v b="$2" 'BEGIN { print (a * 5 <= b) ? "met" : "MISSED" }'; }
echo "- shim memory at most a fifth of the runc shim's: RSS" \
	"$(fifth "${rss[ttrpcd]}" "${rss[runc]}"), PSS $(fifth "${pss[ttrpcd]}" "${pss[runc]}")," \
	"USS $(fifth "${uss[ttrpcd]}" "${uss[runc]}")"
