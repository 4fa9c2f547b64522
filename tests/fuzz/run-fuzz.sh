#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run one libFuzzer target for a bounded time: its seeds are read from the
# source tree, what it finds goes to WORKDIR/corpus, crashing inputs to
# WORKDIR/crashes. Exit status 1 on any crash, leak, timeout or OOM.
# usage: run-fuzz.sh PROGRAM SEEDS WORKDIR SECONDS
set -u
prog=$1 seeds=$2 work=$3 secs=$4
name=$(basename "$prog")
log=$work/fuzz.log

mkdir -p "$work/corpus" "$work/crashes"
rm -f "$work/PASS"
# -timeout: one input taking seconds is a hang (the targets bound their
# loops); -rss_limit_mb: a leak or an unbounded buffer shows as OOM.
"$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/crashes/" "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
if [ "$rc" -ne 0 ]; then
	echo "FAIL: $name exited $rc in $(pwd)"
	for f in "$work"/crashes/*; do
		[ -e "$f" ] && echo "reproduce: $prog $f"
	done
	# The report from its first line: sanitizer, libFuzzer's deadly signal,
	# timeout or OOM.
	awk '/==[0-9]+==ERROR|runtime error:|deadly signal|ERROR: libFuzzer/ { p = 1 } p' "$log" |
		head -n 150 >"$work/report"
	[ -s "$work/report" ] || tail -n 60 "$log" >"$work/report"
	cat "$work/report"
	exit 1
fi
touch "$work/PASS"
found=$(ls "$work/corpus" | wc -l)
echo "PASS: $name: ${execs:-?} runs in $secs s (${rate:-?}/s), $found inputs in its corpus"
