#!/bin/sh
# Every C file of the tree is formatted by the project's .clang-format
# (the generator's golden files are its output, not ours to format).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$top_srcdir"
if ! command -v clang-format >/dev/null || ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "SKIP: needs clang-format and a git checkout"
	exit 77
fi
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/codegen/golden/')
# shellcheck disable=SC2086
if ! clang-format --style=file --dry-run --Werror $files; then
	echo "FAIL: run clang-format -i --style=file on the files above" >&2
	exit 1
fi
echo "$(echo "$files" | wc -l) files formatted"
