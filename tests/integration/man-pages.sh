#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every man page of man/ renders without a warning: "man --warnings -l"
# prints nothing on stderr (man-db; groff's warnings of every category it
# enables by default). And the pages are in step: every .TH line carries
# the same date and "ttrpc VERSION" as its source, VERSION being the
# package's ($PACKAGE_VERSION, from configure) when the suite gives it.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
if ! command -v man >/dev/null 2>&1; then
	echo "FAIL: no man command: install man-db"
	exit 1
fi
status=0
n=0
date=
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
	# .TH TITLE SECTION DATE "SOURCE" "MANUAL"
	th=$(grep -m1 '^\.TH ' "$page" || true)
	this=$(printf '%s\n' "$th" | awk '{ print $4 }')
	source=$(printf '%s\n' "$th" | sed -n 's/^\.TH [^ ]* [^ ]* [^ ]* "\([^"]*\)".*/\1/p')
	: "${date:=$this}"
	if [ "$this" != "$date" ]; then
		echo "FAIL: $page is dated '$this', another page '$date': give them one date"
		status=1
	fi
	if [ "$source" != "ttrpc ${PACKAGE_VERSION:-${source#ttrpc }}" ]; then
		echo "FAIL: $page: source '$source' in .TH, not 'ttrpc ${PACKAGE_VERSION:-VERSION}'"
		status=1
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no page in $top_srcdir/man"; exit 1; }
exit $status
