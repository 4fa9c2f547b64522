#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make soak: SOAK_SECONDS (default 600) of mixed unary and
# streaming load against ttrpcd with the interop module, from ttrpc-bench
# runs of 10 s in loops (so connections come and go too), with ttrpcd's
# VmRSS sampled every second. PASS when no call failed, ttrpcd stayed up,
# and its RSS after the warm-up (the first minute; a fifth of a shorter run)
# grew by less than 1 %: the median of the last minute of samples against
# the median of the first minute after the warm-up (a quarter of the samples
# in a shorter run), so that the bursts of the load even out. Not part of
# make check.
set -eu

top_builddir=${top_builddir:-.}
secs=${SOAK_SECONDS:-600}
warm=${SOAK_WARMUP:-60}
[ "$warm" -lt $((secs / 2)) ] || warm=$((secs / 5))
bench=$top_builddir/tests/bench/ttrpc-bench
dir=$(mktemp -d /tmp/ttrpcd-soak.XXXXXX)
pid=
loops=

cleanup() {
	for p in $loops $pid; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/ttrpcd.conf" <<CONF
[ttrpcd]
module-dir = $dir
[listener api]
path = $dir/sock
[module interop]
file = $top_builddir/tests/interop/.libs/interop.so
CONF
"$top_builddir/daemon/ttrpcd" --config "$dir/ttrpcd.conf" 2>"$dir/ttrpcd.log" &
pid=$!
for _ in $(seq 100); do
	grep -q 'ready:' "$dir/ttrpcd.log" && break
	sleep 0.1
done
if ! grep -q 'ready:' "$dir/ttrpcd.log"; then
	cat "$dir/ttrpcd.log"
	echo "FAIL: ttrpcd did not start"
	exit 1
fi

start=$(date +%s)
end=$((start + secs))

# load NAME ARGS...: ttrpc-bench runs of up to 10 s until the end; their RESULT lines to NAME.out.
load() {
	name=$1
	shift
	while :; do
		left=$((end - $(date +%s)))
		[ "$left" -gt 0 ] || break
		[ "$left" -lt 10 ] || left=10
		"$bench" -s "$dir/sock" -d "$left" -l ttrpcd "$@" >"$dir/$name.run" 2>&1 || true
		grep '^RESULT' "$dir/$name.run" >>"$dir/$name.out" ||
			echo "RESULT calls=0 errors=1 (no result: $(tail -n 1 "$dir/$name.run"))" >>"$dir/$name.out"
	done
}
load echo-small -c 4 -k 8 -S 64 &
loops="$loops $!"
load echo-large -c 2 -k 2 -S 64K &
loops="$loops $!"
load download -m download -N 1000 -S 1K -c 2 -k 2 &
loops="$loops $!"

# One sample a second: seconds since the start, VmRSS in KiB.
alive=yes
while [ "$(date +%s)" -lt "$end" ]; do
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	if [ -z "$rss" ]; then
		alive=no
		break
	fi
	echo "$(($(date +%s) - start)) $rss" >>"$dir/rss"
	sleep 1
done
wait $loops 2>/dev/null || true
loops=

kill -TERM "$pid" 2>/dev/null || alive=no
wait "$pid" || alive=no
pid=

cat "$dir"/*.out >"$dir/results"
# total FIELD: the sum of FIELD=N over the RESULT lines.
total() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$dir/results" | awk '{ s += $1 } END { print s + 0 }'
}
calls=$(total calls)
errors=$(total errors)
chunks=$(total chunks)
runs=$(wc -l <"$dir/results")

# The RSS after the warm-up: the medians of its first and its last window.
awk -v warm="$warm" '
	$1 >= warm { v[n++] = $2 }
	{ all[m++] = $2 }
	function median(a, from, k,    b, i, j, t) {
		for (i = 0; i < k; i++) b[i] = a[from + i]
		for (i = 0; i < k; i++)
			for (j = i + 1; j < k; j++)
				if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
		return k % 2 ? b[int(k / 2)] : (b[k / 2 - 1] + b[k / 2]) / 2
	}
	END {
		if (n < 20) { print "samples 0"; exit }
		lo = v[0]; hi = v[0]; sum = 0
		for (i = 0; i < n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; sum += v[i] }
		k = n / 4 < 60 ? int(n / 4) : 60
		first = median(v, 0, k); last = median(v, n - k, k)
		printf "samples %d %d %d first %d last %d min %d max %d mean %.0f start %d growth %.3f\n",
		       m, n, k, first, last, lo, hi, sum / n, all[0], (last - first) * 100 / first
	}' "$dir/rss" >"$dir/summary"
read -r _ m n k _ first _ last _ lo _ hi _ mean _ rss0 _ growth <"$dir/summary" || true

echo "soak: ${secs} s of Echo 4x8x64 B, Echo 2x2x64 KiB, Download 2x2x(1000x1 KiB) on ttrpcd"
echo "soak: $runs bench runs, $calls calls (Download: $chunks chunks), $errors errors"
if [ "${m:-0}" = 0 ] || [ -z "${growth:-}" ]; then
	echo "soak: too few RSS samples"
	echo "FAIL"
	exit 1
fi
echo "soak: $m RSS samples, one a second; at start ${rss0} KiB; warm-up ${warm} s"
echo "soak: after warm-up ($n samples): min ${lo} KiB, mean ${mean} KiB, max ${hi} KiB"
echo "soak: median of the first $k after warm-up ${first} KiB, of the last $k ${last} KiB:" \
	"growth ${growth} %"
echo "soak: ttrpcd up throughout: $alive"
if [ "$alive" = yes ] && [ "$errors" = 0 ] && [ "$calls" -gt 0 ] &&
	awk -v g="$growth" 'BEGIN { exit !(g < 1) }'; then
	echo "PASS"
else
	grep -v ' errors=0 ' "$dir/results" | head -n 5
	echo "FAIL"
	exit 1
fi
