#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every C file of the tree is formatted by the project's .clang-format
# (the generator's golden files are its output, not ours to format).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$top_srcdir"
# A dist tarball (make distcheck) is no checkout, even inside one.
top=$(git rev-parse --show-toplevel 2>/dev/null || true)
if ! command -v clang-format >/dev/null || [ "$top" != "$(pwd -P)" ]; then
	echo "SKIP: needs clang-format and the git checkout of the sources"
	exit 77
fi
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/codegen/golden/')
# shellcheck disable=SC2086
if ! clang-format --style=file --dry-run --Werror $files; then
	echo "FAIL: run clang-format -i --style=file on the files above" >&2
	exit 1
fi
echo "$(echo "$files" | wc -l) files formatted"
