#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Golden files of protoc-gen-ttrpc-c: generate the C of sample.proto and
# sample_types.proto with the built generator and compare it with golden/;
# and the descriptors it embeds with protoc's.
# After an intended change of the generated code, update them with
#	TTRPC_UPDATE_GOLDEN=1 make check TESTS=tests/codegen/run-golden.sh
# and review the diff of tests/codegen/golden/ before committing it.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
src="$top_srcdir/tests/codegen"
tmp=$(mktemp -d /tmp/ttrpc-golden.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

"${PROTOC:-protoc}" --plugin=protoc-gen-ttrpc-c="$top_builddir/libttrpc/codegen/protoc-gen-ttrpc-c" \
	-I"$src" --ttrpc-c_out="$tmp" "$src/sample.proto" "$src/sample_types.proto"

status=0
for f in sample.ttrpc-c.h sample.ttrpc-c.c sample_types.ttrpc-c.h sample_types.ttrpc-c.c; do
	if [ "${TTRPC_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$tmp/$f" "$src/golden/$f"
		echo "updated golden/$f"
	elif ! diff -u "$src/golden/$f" "$tmp/$f"; then
		echo "FAIL: $f differs from golden/$f (see the header of $0)" >&2
		status=1
	fi
done

# The FileDescriptorSet embedded in sample.ttrpc-c.c says what protoc -o
# --include_imports writes (protobuf-c packs the fields in another order:
# compared as protoc decodes them).
awk '/__descriptor_set\[\] = \{/ { f = 1; next } f && /^\};/ { f = 0 } f' "$tmp/sample.ttrpc-c.c" |
	tr -d ' \t\n' | tr ',' '\n' |
	awk 'function h(c) { return index("0123456789abcdef", c) - 1 }
		NF { printf "\\%03o", h(substr($0, 3, 1)) * 16 + h(substr($0, 4, 1)) }' >"$tmp/octal"
# shellcheck disable=SC2059 # the escapes are the point
printf "$(cat "$tmp/octal")" >"$tmp/embedded.pb"
"${PROTOC:-protoc}" -I"$src" -o "$tmp/protoc.pb" --include_imports "$src/sample.proto"
for f in embedded protoc; do
	"${PROTOC:-protoc}" --decode=google.protobuf.FileDescriptorSet google/protobuf/descriptor.proto \
		<"$tmp/$f.pb" >"$tmp/$f.txt"
done
if [ ! -s "$tmp/protoc.txt" ] || ! diff -u "$tmp/protoc.txt" "$tmp/embedded.txt"; then
	echo "FAIL: the descriptor set of sample.ttrpc-c.c is not protoc's" >&2
	status=1
fi

# Run by hand, it says what it is.
gen="$top_builddir/libttrpc/codegen/protoc-gen-ttrpc-c"
out=$("$gen" --version) && [ -n "$(printf '%s' "$out" | grep -x 'protoc-gen-ttrpc-c [0-9]*\.[0-9]*\.[0-9]*')" ] ||
	{ echo "FAIL: protoc-gen-ttrpc-c --version printed: $out" >&2; status=1; }
rc=0
"$gen" --frobnicate 2>"$tmp/usage" || rc=$?
[ "$rc" = 2 ] && grep -q 'usage: protoc --plugin=protoc-gen-ttrpc-c=' "$tmp/usage" ||
	{ echo "FAIL: protoc-gen-ttrpc-c --frobnicate: status $rc" >&2; status=1; }
exit $status
