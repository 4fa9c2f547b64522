#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The benchmark of `make bench`: libttrpc against containerd's Go ttrpc
# (v1.1.1, Debian) and against the raw socket, on the same machine, in one
# run, and one table of the figures, the ratios and the targets.
#
# Usage (from the build tree, which `make bench` does):
#   tests/bench/run-bench.sh
# Environment: top_srcdir, top_builddir (default: from this script, and .);
#   BENCH_SECS (3) seconds per measurement; BENCH_RUNS (2) measurements per
#   cell, the median reported; BENCH_IDLE_CONNS (10000);
#   BENCH_SERVER_CPU (0), BENCH_CLIENT_CPU (1): the cores of the two sides.
#
# The C server is ttrpcd with the interop module when both are in the build
# tree and serve Echo, else tests/interop/interop-server. Go v1.1.1 has no
# streaming: the Download and Upload rows have no Go column.
#
# 10,000 connections need as many descriptors on each side: the script raises
# RLIMIT_NOFILE (ulimit -n) to 65536, which needs root or a hard limit that
# high; with less, the idle-connection figures are skipped and say why.
set -euo pipefail

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
secs=${BENCH_SECS:-3}
runs=${BENCH_RUNS:-2}
idle_conns=${BENCH_IDLE_CONNS:-10000}
server_cpu=${BENCH_SERVER_CPU:-0}
client_cpu=${BENCH_CLIENT_CPU:-1}

b=$top_builddir/tests/bench
bench=$b/ttrpc-bench
raw=$b/raw-pingpong
gobuild=$b/go-build
work=$(mktemp -d /tmp/ttrpc-bench.XXXXXX)
pids=()

die() {
	echo "run-bench.sh: $*" >&2
	exit 1
}

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for f in "$bench" "$raw" "$top_builddir/tests/interop/interop-server"; do
	[ -x "$f" ] || die "missing $f: run make first"
done
command -v taskset >/dev/null || die "taskset not found (util-linux)"

echo "== building the Go peer and load generator (offline, GOPATH mode)"
sh "$top_srcdir/tests/interop/build-go.sh" "$gobuild" \
	interop-go-loadgen="$top_srcdir/tests/bench/go/loadgen" >"$work/go-build.log" 2>&1 ||
	{ cat "$work/go-build.log"; die "Go build failed"; }

ulimit -Hn 65536 2>/dev/null || true
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- processes ----

# start NAME CMD...: runs CMD on the server core, its socket at $work/NAME.sock
# (CMD names it itself); sets server_pid once the socket is there and the
# server said "ready" (each of them prints or logs a line with it).
start() {
	local name=$1 sock=$work/$1.sock
	shift
	rm -f "$sock"
	taskset -c "$server_cpu" "$@" >"$work/$name.log" 2>&1 &
	server_pid=$!
	pids+=("$server_pid")
	for _ in $(seq 200); do
		if [ -S "$sock" ] && grep -q ready "$work/$name.log"; then
			sleep 0.2
			return 0
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/$name.log" >&2
	return 1
}

stop() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
}

# Server CPU seconds so far, user + system, in clock ticks.
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

status_kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

start_c() {
	local sock=$work/$1.sock
	if [ "$c_server" = ttrpcd ]; then
		start "$1" "$top_builddir/daemon/ttrpcd" -c "$work/none.conf" -s "$sock" \
			-m "$ttrpcd_module"
	else
		start "$1" "$top_builddir/tests/interop/interop-server" -s "$sock"
	fi
}

start_go() {
	start "$1" "$gobuild/interop-go-server" -socket "$work/$1.sock"
}

# ---- which C server ----

: >"$work/none.conf"
c_server=interop-server
ttrpcd_module=$top_builddir/tests/interop/.libs/interop.so
if [ -x "$top_builddir/daemon/ttrpcd" ] && [ -f "$ttrpcd_module" ]; then
	c_server=ttrpcd
	if start_c probe && "$bench" -s "$work/probe.sock" -n 1 >/dev/null 2>&1; then
		stop
	else
		stop
		echo "(ttrpcd with the interop module does not serve Echo here: interop-server instead)"
		c_server=interop-server
	fi
fi
echo "== C server: $c_server; cores: server $server_cpu, client $client_cpu;" \
	"$runs x ${secs}s per cell; RLIMIT_NOFILE $(ulimit -n)"

# ---- measurements ----

# field LINE KEY: the value of KEY=... in a RESULT line.
field() {
	sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}

# median V...: the middle value, the mean of the two middle ones for an even count.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A rate p50 p99 cpu hwm

# measure ROW PAIR SOCK CMD...: runs CMD (a client) $runs times on the client
# core; keeps the medians of rate, latencies and server CPU per call.
measure() {
	local row=$1 pair=$2 i out t0 t1 calls
	local -a rs=() ps=() p9s=() cs=()
	shift 2
	for i in $(seq "$runs"); do
		t0=$(cpu_ticks "$server_pid")
		out=$(taskset -c "$client_cpu" "$@" 2>&1) ||
			{ echo "$out" >&2; die "$row $pair: the client failed"; }
		t1=$(cpu_ticks "$server_pid")
		out=$(grep '^RESULT' <<<"$out")
		echo "  $row $pair: $out"
		calls=$(field "$out" calls)
		rs+=("$(field "$out" rate)")
		ps+=("$(field "$out" p50_us)")
		p9s+=("$(field "$out" p99_us)")
		cs+=("$(awk -v t=$((t1 - t0)) -v n="$calls" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%.2f", t / hz / n * 1e6 }')")
	done
	rate[$row,$pair]=$(median "${rs[@]}")
	p50[$row,$pair]=$(median "${ps[@]}")
	p99[$row,$pair]=$(median "${p9s[@]}")
	cpu[$row,$pair]=$(median "${cs[@]}")
}

rows=(1x1x64 1x16x64 16x16x64 1x1x64K 1x1x1M 4x4x1M)
# Rows of large messages: payload MiB per call, one way, for the CPU per MiB.
declare -A mib_per_call=([1x1x64K]=0.0625 [1x1x1M]=1 [4x4x1M]=1 [download]=100 [upload]=100)

for row in "${rows[@]}"; do
	IFS=x read -r conns inflight size <<<"$row"
	echo "== $row (conns x in flight x payload)"
	csize=$size
	gsize=$(numfmt --from=iec "$size")

	start raw "$raw" --serve "$work/raw.sock" || die "raw server did not start"
	measure "$row" raw "$raw" -s "$work/raw.sock" -c "$conns" -k "$inflight" \
		-S "$csize" -d "$secs"
	stop

	for server in c go; do
		"start_$server" "$server" || die "$server server did not start"
		sock=$work/$server.sock
		measure "$row" "c-$server" "$bench" -s "$sock" -c "$conns" -k "$inflight" \
			-S "$csize" -d "$secs" -l "$server"
		measure "$row" "go-$server" "$gobuild/interop-go-loadgen" -socket "$sock" \
			-conns "$conns" -inflight "$inflight" -size "$gsize" \
			-duration "${secs}s" -server-name "$server"
		hwm[$row,$server]=$(status_kib "$server_pid" VmHWM)
		stop
	done
done

# Streams of 100 chunks of 1 MiB, a call being the whole stream: the raw
# server sends or takes the same frames from one buffer.
for method in download upload; do
	echo "== $method 100 x 1M (C and raw only)"
	start raw "$raw" --serve "$work/raw.sock" || die "raw server did not start"
	measure "$method" raw "$raw" -s "$work/raw.sock" -m "$method" -N 100 -S 1M -d "$secs"
	stop
	start_c c || die "C server did not start"
	measure "$method" c-c "$bench" -s "$work/c.sock" -m "$method" -N 100 -S 1M -d "$secs" -l c
	hwm[$method,c]=$(status_kib "$server_pid" VmHWM)
	stop
done

echo "== download 10000 x 1K (server streaming; C only)"
start_c c || die "C server did not start"
measure download1k c-c "$bench" -s "$work/c.sock" -m download -N 10000 -S 1K -d "$secs" -l c
hwm[download1k,c]=$(status_kib "$server_pid" VmHWM)
stop

# idle SERVER: RSS idle, then with $idle_conns connections that each made one call.
declare -A idle anon held perconn
idle() {
	local server=$1 out cpid
	"start_$server" "idle-$server" || die "$server server did not start"
	idle[$server]=$(status_kib "$server_pid" VmRSS)
	anon[$server]=$(status_kib "$server_pid" RssAnon)
	if [ "$(ulimit -n)" -lt $((idle_conns + 64)) ]; then
		held[$server]="skipped: RLIMIT_NOFILE $(ulimit -n)"
		stop
		return
	fi
	taskset -c "$client_cpu" "$bench" -s "$work/idle-$server.sock" -c "$idle_conns" \
		-n "$idle_conns" --hold >"$work/hold.log" 2>&1 &
	cpid=$!
	pids+=("$cpid")
	for _ in $(seq 600); do
		grep -q '^holding' "$work/hold.log" && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	out=$(grep '^RESULT' "$work/hold.log" || true)
	if grep -q '^holding' "$work/hold.log" && [ "$(field "$out" errors)" = 0 ] &&
		[ "$(field "$out" calls)" = "$idle_conns" ]; then
		sleep 0.5
		held[$server]="yes"
		perconn[$server]=$(awk -v a="${idle[$server]}" -v b="$(status_kib "$server_pid" VmRSS)" \
			-v n="$idle_conns" 'BEGIN { printf "%.2f", (b - a) / n }')
	else
		held[$server]="no"
		cat "$work/hold.log" >&2
	fi
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	stop
}
echo "== memory: idle, and $idle_conns idle connections"
idle c
idle go

# ---- the table ----

# fmt_rate R, fmt_us U, ratio A B, kib K: cells.
fmt_rate() { awk -v r="$1" 'BEGIN { printf "%.0f/s", r }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
us() { awk -v u="$1" 'BEGIN { printf "%.1f µs", u }'; }
cell() { echo "$(fmt_rate "${rate[$1,$2]}") $(us "${p50[$1,$2]}")"; }
# le A B: whether A <= B.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { if "$@"; then echo met; else echo MISSED; fi; }

cname=$c_server
echo
echo "Results: calls/s and p50 latency, medians of $runs runs of ${secs} s;" \
	"C = $cname, Go = interop-go-server (ttrpc v1.1.1), raw = raw-pingpong."
echo "Client → server. CPU = server CPU per call with the C client (utime+stime);" \
	"peak = server VmHWM over the row; raw runs C x K threads, a connection each."
echo
echo "| row | raw | C → C | C → Go | Go → C | Go → Go | C/Go (C client)" \
	"| C/Go (Go client)" \
	"| C/raw | CPU C / Go | peak C / Go |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
	echo "| $row | $(cell "$row" raw) | $(cell "$row" c-c) | $(cell "$row" c-go)" \
		"| $(cell "$row" go-c) | $(cell "$row" go-go)" \
		"| $(ratio "${rate[$row,c-c]}" "${rate[$row,c-go]}")" \
		"| $(ratio "${rate[$row,go-c]}" "${rate[$row,go-go]}")" \
		"| $(ratio "${rate[$row,c-c]}" "${rate[$row,raw]}")" \
		"| $(us "${cpu[$row,c-c]}") / $(us "${cpu[$row,c-go]}")" \
		"| $(mib "${hwm[$row,c]}") / $(mib "${hwm[$row,go]}") |"
done
echo "| download 10000×1K | n/a | $(cell download1k c-c) per stream," \
	"$(fmt_rate "$(awk -v r="${rate[download1k,c-c]}" 'BEGIN { print r * 10000 }')") chunks" \
	"| n/a (Go v1.1.1: no streaming) | n/a | n/a | n/a | n/a | n/a" \
	"| $(us "${cpu[download1k,c-c]}") per stream / n/a" \
	"| $(mib "${hwm[download1k,c]}") / n/a |"
echo "| RSS idle (of it private: RssAnon) | n/a | $(mib "${idle[c]}") ($(mib "${anon[c]}"))" \
	"| $(mib "${idle[go]}") ($(mib "${anon[go]}")) | | | " \
	"$(ratio "${idle[c]}" "${idle[go]}") | | | | |"
echo "| per idle connection ($idle_conns held: C ${held[c]}, Go ${held[go]}) | n/a" \
	"| ${perconn[c]:-?} KiB | ${perconn[go]:-?} KiB | | |" \
	"$(ratio "${perconn[c]:-0}" "${perconn[go]:-0}") | | | | |"

# MiB/s of payload one way; server CPU per MiB of it.
mibs() { awk -v r="$1" -v m="$2" 'BEGIN { printf "%.0f MiB/s", r * m }'; }
cpu_mib() { awk -v c="$1" -v m="$2" 'BEGIN { printf "%.1f", c / m }'; }
declare -A cpumib
echo
echo "Large messages: payload MiB/s one way (calls/s x MiB per call), and the"
echo "server's CPU per MiB of it (utime+stime / MiB); C client on every server."
echo
echo "| row | raw | C → C | C → Go | C/raw | server CPU per MiB: raw | C | Go | C/raw CPU |"
echo "|---|---|---|---|---|---|---|---|---|"
for row in 1x1x64K 1x1x1M 4x4x1M download upload; do
	m=${mib_per_call[$row]}
	for pair in raw c-c c-go; do
		[ -n "${cpu[$row,$pair]:-}" ] && cpumib[$row,$pair]=$(cpu_mib "${cpu[$row,$pair]}" "$m")
	done
	label=$row
	case $row in download | upload) label="$row 100×1M" ;; esac
	echo "| $label | $(mibs "${rate[$row,raw]}" "$m") | $(mibs "${rate[$row,c-c]}" "$m")" \
		"| $([ -n "${rate[$row,c-go]:-}" ] && mibs "${rate[$row,c-go]}" "$m" || echo n/a)" \
		"| $(ratio "${rate[$row,c-c]}" "${rate[$row,raw]}")" \
		"| $(us "${cpumib[$row,raw]}") | $(us "${cpumib[$row,c-c]}")" \
		"| $([ -n "${cpumib[$row,c-go]:-}" ] && us "${cpumib[$row,c-go]}" || echo n/a)" \
		"| $(ratio "${cpumib[$row,c-c]}" "${cpumib[$row,raw]}") |"
done

echo
echo "Targets of large messages (C client on both servers):"
for row in 4x4x1M 1x1x64K download; do
	echo "- $row at least 0.8x raw: $(ratio "${rate[$row,c-c]}" "${rate[$row,raw]}")x:" \
		"$(verdict le 0.8 "$(ratio "${rate[$row,c-c]}" "${rate[$row,raw]}")")"
done
for row in 1x1x64K 1x1x1M 4x4x1M download upload; do
	echo "- $row server CPU per MiB within 1.5x raw's:" \
		"$(ratio "${cpumib[$row,c-c]}" "${cpumib[$row,raw]}")x:" \
		"$(verdict le "$(ratio "${cpumib[$row,c-c]}" "${cpumib[$row,raw]}")" 1.5)"
done
echo "- small calls: C/Go (C client) 1x1x64 $(ratio "${rate[1x1x64,c-c]}" "${rate[1x1x64,c-go]}")," \
	"1x16x64 $(ratio "${rate[1x16x64,c-c]}" "${rate[1x16x64,c-go]}")," \
	"16x16x64 $(ratio "${rate[16x16x64,c-c]}" "${rate[16x16x64,c-go]}")" \
	"(compare with the README's table of the run before)"

echo
echo "Targets (ratios with the C load generator on both servers):"
r=1x1x64
echo "- 1x1x64 B p50 within 1.3x raw: $(us "${p50[$r,c-c]}") / $(us "${p50[$r,raw]}") =" \
	"$(ratio "${p50[$r,c-c]}" "${p50[$r,raw]}")x:" \
	"$(verdict le "${p50[$r,c-c]}" "$(awk -v a="${p50[$r,raw]}" 'BEGIN { print a * 1.3 }')")"
echo "- 1x1x64 B calls/s at least 2x Go: $(ratio "${rate[$r,c-c]}" "${rate[$r,c-go]}")x" \
	"(Go client: $(ratio "${rate[$r,go-c]}" "${rate[$r,go-go]}")x):" \
	"$(verdict le 2 "$(ratio "${rate[$r,c-c]}" "${rate[$r,c-go]}")")"
r=16x16x64
echo "- 16x16x64 B calls/s at least 1.5x Go: $(ratio "${rate[$r,c-c]}" "${rate[$r,c-go]}")x" \
	"(Go client: $(ratio "${rate[$r,go-c]}" "${rate[$r,go-go]}")x):" \
	"$(verdict le 1.5 "$(ratio "${rate[$r,c-c]}" "${rate[$r,c-go]}")")"
echo "- 16x16x64 B server CPU per call at most half Go's:" \
	"$(us "${cpu[$r,c-c]}") / $(us "${cpu[$r,c-go]}")" \
	"= $(ratio "${cpu[$r,c-c]}" "${cpu[$r,c-go]}")x:" \
	"$(verdict le "$(ratio "${cpu[$r,c-c]}" "${cpu[$r,c-go]}")" 0.5)"
r=4x4x1M
echo "- 4x4x1 MiB at least 0.8x raw: $(ratio "${rate[$r,c-c]}" "${rate[$r,raw]}")x:" \
	"$(verdict le 0.8 "$(ratio "${rate[$r,c-c]}" "${rate[$r,raw]}")")"
echo "- idle RSS at most 2 MiB: $(mib "${idle[c]}"):" \
	"$(verdict le "${idle[c]}" 2048)"
echo "- idle RSS at most a third of Go's: $(ratio "${idle[c]}" "${idle[go]}")x:" \
	"$(verdict le "$(ratio "${idle[c]}" "${idle[go]}")" 0.3334)"
echo "- at most 2 KiB per idle connection: ${perconn[c]:-?} KiB:" \
	"$(verdict le "${perconn[c]:-999999}" 2)"
echo "- $idle_conns concurrent connections held and served: ${held[c]}:" \
	"$(verdict test "${held[c]}" = yes)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(uname -r);" \
	"load average before the run: $load_before"

# The containerd shim row, ttrpcd's against containerd-shim-runc-v2
# (needs root and containerd; it says so and passes otherwise).
echo
bash "$top_srcdir/tests/bench/shim-bench.sh" || echo "containerd shim: failed"
