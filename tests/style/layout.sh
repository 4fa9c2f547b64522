#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The README's Layout section names what the tree holds: every source file
# of the library, the daemon and ttrpcctl, every folder of services/ and
# tests/, and every man page. A file added without a word there fails here.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$top_srcdir"
layout=$(sed -n '/^## Layout$/,/^## /p' README.md)
[ -n "$layout" ] || { echo "FAIL: README.md has no '## Layout' section"; exit 1; }
missing=0
n=0
check() {
	n=$((n + 1))
	case "$layout" in
	*"$2"*) ;;
	*)
		echo "FAIL: README's Layout does not name $1 ($2)"
		missing=$((missing + 1))
		;;
	esac
}
for f in libttrpc/*.c daemon/*.c daemon/ttrpcctl/*.c; do
	check "$f" "\`${f##*/}\`"
done
for d in services/*/ tests/*/; do
	d=${d%/}
	check "$d/" "${d##*/}/"
done
for p in man/*.[1-9]; do
	p=${p##*/}
	check "man/$p" "${p%.*}(${p##*.})"
done
[ "$missing" = 0 ] || exit 1
echo "ok: the Layout names all $n files, folders and pages"
