#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The man pages of section 3 are in step with libttrpc's public headers:
# every function a header exports (TTRPC_EXPORT) has its prototype in the
# SYNOPSIS of a page, word for word, and an entry of its own (a .SS line
# naming "NAME()"), and that entry names exactly the errors ("-EXXX") that
# the function's comment in the header names. A page that documents a
# function no header declares fails too.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
headers="$top_srcdir/libttrpc/include/ttrpc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Header side: "name<TAB>prototype<TAB>errors" per exported function, the
# errors being the sorted -EXXX of the comment just above its declaration
# (a comment shared by consecutive declarations counts for each).
for h in "$headers"/*.h; do
	awk '
	function errors(text,   out, seen, e) {
		out = ""
		while (match(text, /-E[A-Z0-9]+/)) {
			e = substr(text, RSTART + 1, RLENGTH - 1)
			if (!(e in seen)) {
				seen[e] = 1
				out = out " " e
			}
			text = substr(text, RSTART + RLENGTH)
		}
		return out
	}
	function flush(   name, p) {
		p = decl
		sub(/TTRPC_EXPORT[ \t]*/, "", p)
		sub(/[ \t]*TTRPC_PRINTF\([^)]*\)/, "", p)
		gsub(/[ \t]+/, " ", p)
		gsub(/\( /, "(", p)
		gsub(/ \)/, ")", p)
		sub(/ ;$/, ";", p)
		name = p
		sub(/\(.*/, "", name)
		sub(/.*[ *]/, "", name)
		printf "%s\t%s\t%s\n", name, p, errors(comment)
	}
	in_comment {
		text = text " " $0
		if ($0 ~ /\*\//) {
			in_comment = 0
			comment = text
		}
		next
	}
	in_decl {
		decl = decl " " $0
		if ($0 ~ /;/) {
			in_decl = 0
			flush()
		}
		next
	}
	/^[ \t]*\/\*/ {
		text = $0
		if ($0 ~ /\*\//)
			comment = text
		else
			in_comment = 1
		next
	}
	/^TTRPC_EXPORT/ {
		decl = $0
		if ($0 ~ /;/)
			flush()
		else
			in_decl = 1
		next
	}
	{ comment = "" }
	' "$h"
done | sort >"$tmp/header"

# Page side: the prototypes of the SYNOPSIS (.BI and .B lines, their quoted
# and bare words joined as roff joins them), and per .SS entry the
# functions it names and the errors its text names.
for page in "$top_srcdir"/man/*.3; do
	awk -v page="$(basename "$page")" -v out="$tmp" '
	function words(line,   s, w) {
		s = ""
		sub(/^\.BI? /, "", line)
		while (line != "") {
			if (substr(line, 1, 1) == "\"") {
				line = substr(line, 2)
				w = index(line, "\"")
				if (w == 0)
					w = length(line) + 1
				s = s substr(line, 1, w - 1)
				line = substr(line, w + 1)
			} else {
				w = index(line, " ")
				if (w == 0)
					w = length(line) + 1
				s = s substr(line, 1, w - 1)
				line = substr(line, w)
			}
			sub(/^ +/, "", line)
		}
		gsub(/\\-/, "-", s)
		return s
	}
	function entry_end(   n, e, text, seen, list) {
		if (names == "")
			return
		text = body
		list = ""
		while (match(text, /\\-E[A-Z0-9]+/)) {
			e = substr(text, RSTART + 2, RLENGTH - 2)
			if (!(e in seen)) {
				seen[e] = 1
				list = list " " e
			}
			text = substr(text, RSTART + RLENGTH)
		}
		n = split(names, v, " ")
		for (i = 1; i <= n; i++)
			printf "%s\t%s\t%s\n", v[i], page, list >> (out "/entries")
		names = ""
	}
	/^\.SH/ {
		entry_end()
		section = $0
		next
	}
	section ~ /SYNOPSIS/ && /^\.BI? / {
		proto = proto words($0)
		if (proto ~ /\);$/) {
			gsub(/[ \t]+/, " ", proto)
			gsub(/\( /, "(", proto)
			sub(/^ /, "", proto)
			print proto >> (out "/synopsis")
			proto = ""
		} else if (proto !~ /\(/) {
			proto = ""
		}
		next
	}
	/^\.SS/ {
		entry_end()
		body = ""
		line = $0
		while (match(line, /ttrpc_[a-z0-9_]+\(\)/)) {
			names = names " " substr(line, RSTART, RLENGTH - 2)
			line = substr(line, RSTART + RLENGTH)
		}
		next
	}
	{ body = body " " $0 }
	END { entry_end() }
	' "$page"
done
touch "$tmp/synopsis" "$tmp/entries"

# Normalise the errors: sorted, one line each side.
norm() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '
}

status=0
n=0
while IFS="$(printf '\t')" read -r name proto errs; do
	n=$((n + 1))
	if ! grep -qxF "$proto" "$tmp/synopsis"; then
		echo "FAIL: $name: no SYNOPSIS of man/*.3 declares it as the header does:"
		echo "    $proto"
		status=1
	fi
	count=$(awk -F '\t' -v n="$name" '$1 == n' "$tmp/entries" | wc -l)
	if [ "$count" -ne 1 ]; then
		echo "FAIL: $name: $count entries (.SS $name()) in man/*.3, not one"
		status=1
		continue
	fi
	documented=$(awk -F '\t' -v n="$name" '$1 == n { print $3 }' "$tmp/entries")
	if [ "$(norm "$errs")" != "$(norm "$documented")" ]; then
		page=$(awk -F '\t' -v n="$name" '$1 == n { print $2 }' "$tmp/entries")
		echo "FAIL: $name: the header names the errors [$(norm "$errs")]," \
			"its entry in man/$page [$(norm "$documented")]"
		status=1
	fi
done <"$tmp/header"

# Nothing documented that no header declares.
cut -f1 "$tmp/header" >"$tmp/names"
cut -f1 "$tmp/entries" | sort -u | while read -r name; do
	if ! grep -qxF "$name" "$tmp/names"; then
		echo "FAIL: man/*.3 has an entry for $name(), which no header exports"
		exit 1
	fi
done || status=1
awk '{ sub(/\(.*/, ""); n = split($0, w, /[ *\t]+/); if (w[n] ~ /^ttrpc_/) print w[n] }' \
	"$tmp/synopsis" | sort -u | while read -r name; do
	if ! grep -qxF "$name" "$tmp/names"; then
		echo "FAIL: man/*.3 has $name() in a SYNOPSIS, which no header exports"
		exit 1
	fi
done || status=1

[ "$n" -gt 0 ] || { echo "FAIL: no TTRPC_EXPORT function found in $headers"; exit 1; }
[ $status -ne 0 ] || echo "ok: the $n exported functions of libttrpc, each in man/*.3"
exit $status
