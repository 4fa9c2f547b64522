#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Golden files of protoc-gen-ttrpc-c: generate the C of sample.proto and
# sample_types.proto with the built generator and compare it with golden/.
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
exit $status
