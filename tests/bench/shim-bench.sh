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
# shellcheck source=../shim/containerd.sh
. "$top_srcdir/tests/shim/containerd.sh"
N=10
RUNS=${BENCH_SHIM_RUNS:-7}

skip() { echo "containerd shim: skipped: $*"; exit 0; }
ctd_require
[ -x "$LAUNCHER" ] || skip "no $LAUNCHER"
# ttrpcd's executable, not libtool's wrapper script (some 20 ms more per
# shim start), its library found as an installed ttrpcd finds its own.
if [ -x "$top_builddir/daemon/.libs/ttrpcd" ]; then
	export TTRPCD_SHIM_DAEMON=$top_builddir/daemon/.libs/ttrpcd
	export LD_LIBRARY_PATH=$top_builddir/libttrpc/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
trap ctd_stop EXIT
trap 'exit 1' INT TERM
ctd_start shim-bench sh sleep true || skip "containerd did not start"

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
