#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build the Go side of the benchmark, offline, in GOPATH mode: the interop
# peer of tests/interop/build-go.sh (its server is the Go server under test)
# plus interop-go-loadgen, compiled against the same generated package.
#
# Usage: tests/bench/build-go.sh OUTDIR
#
# Results: everything tests/interop/build-go.sh makes in OUTDIR, and
#   OUTDIR/interop-go-loadgen
set -eu

die() {
	echo "bench/build-go.sh: error: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
srcdir=$(cd "$(dirname "$0")" && pwd) || die "cannot locate source directory from $0"
[ -f "$srcdir/go/loadgen/main.go" ] || die "missing $srcdir/go/loadgen/main.go"

# It regenerates ttrpc-interop/pb and recreates the package root each time,
# so the load generator goes in after it.
sh "$srcdir/../interop/build-go.sh" "$1"
outdir=$(cd "$1" && pwd)

# The same offline environment as tests/interop/build-go.sh.
GO111MODULE=off
GOPROXY=off
GOFLAGS=
GONOSUMDB=
GOSUMDB=off
GOPATH=$outdir/gopath:/usr/share/gocode
GOCACHE=$outdir/gocache
CGO_ENABLED=0
export GO111MODULE GOPROXY GOFLAGS GONOSUMDB GOSUMDB GOPATH GOCACHE CGO_ENABLED

mkdir -p "$outdir/gopath/src/ttrpc-interop/loadgen"
cp "$srcdir/go/loadgen/main.go" "$outdir/gopath/src/ttrpc-interop/loadgen/main.go"
go build -o "$outdir/interop-go-loadgen" ttrpc-interop/loadgen ||
	die "go build of interop-go-loadgen failed"
echo "bench/build-go.sh: built $outdir/interop-go-loadgen"
