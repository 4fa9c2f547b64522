#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every file of the tree names its licence in an SPDX line near its top,
# except data: fuzz seeds, the generator's golden output, the interop
# contract (kept byte for byte as it was given), the licence texts, and the
# Debian files whose formats have no comments (debian/changelog,
# debian/copyright, which says the licence in its own fields, and
# debian/source/format).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$top_srcdir"
top=$(git rev-parse --show-toplevel 2>/dev/null || true)
if [ "$top" != "$(pwd -P)" ]; then
	echo "SKIP: needs the git checkout of the sources"
	exit 77
fi
missing=0
for f in $(git ls-files | grep -Ev '^(tests/fuzz/corpus/|tests/codegen/golden/|tests/interop/interop\.proto$|LICENSE$|NOTICE$|README\.md$|debian/changelog$|debian/copyright$|debian/source/format$)'); do
	if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
		echo "no SPDX-License-Identifier line in the first 3 lines: $f" >&2
		missing=$((missing + 1))
	fi
done
[ "$missing" = 0 ] || { echo "FAIL: $missing files without a licence line" >&2; exit 1; }
echo "every file names its licence"
