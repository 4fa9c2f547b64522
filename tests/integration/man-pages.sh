#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every man page of man/ renders without a warning: "man --warnings -l"
# prints nothing on stderr (man-db; groff's warnings of every category it
# enables by default).
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
if ! command -v man >/dev/null 2>&1; then
	echo "FAIL: no man command: install man-db"
	exit 1
fi
status=0
n=0
for page in "$top_srcdir"/man/*.[1-9]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	err=$(man --warnings -l "$page" 2>&1 >/dev/null) || err="${err}
(man exited with status $?)"
	if [ -n "$err" ]; then
		echo "FAIL: $page:"
		echo "$err"
		status=1
	else
		echo "ok: $page"
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no page in $top_srcdir/man"; exit 1; }
exit $status
