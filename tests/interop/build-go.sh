#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build the Go interop peer (interop-go-server, interop-go-client) and the
# Go health client (health-go-client, for ttrpcd's health module) against
# containerd's ttrpc as packaged by Debian, fully offline, in GOPATH mode.
#
# Usage: tests/interop/build-go.sh OUTDIR [NAME=DIR]...
#   NAME=DIR: also build the Go program in DIR (a main.go) against the same
#   generated packages, as OUTDIR/NAME: the benchmark's load generator is
#   tests/interop/build-go.sh OUT interop-go-loadgen=tests/bench/go/loadgen.
#
# Results:
#   OUTDIR/interop-go-server, OUTDIR/interop-go-client, OUTDIR/health-go-client,
#   OUTDIR/NAME of each NAME=DIR
#   OUTDIR/gopath/src/ttrpc-interop/{pb,server,client,healthpb,health}
#                                                        (generated code + sources)
#   OUTDIR/proto/{interop,health}.proto                  (filtered contracts, see below)
#   OUTDIR/gocache                                       (GOCACHE; HOME may be unset)
#
# Needs (Debian): golang-go, golang-github-containerd-ttrpc-dev,
# golang-github-gogo-protobuf-dev, gogottrpc, protobuf-compiler.
#
# Idempotent: every run regenerates the code and rebuilds both binaries.
set -eu

die() {
	echo "build-go.sh: error: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: $0 OUTDIR [NAME=DIR]..."
outarg=$1
shift
for extra in "$@"; do
	case "$extra" in
	?*=?*) [ -f "${extra#*=}/main.go" ] || die "missing ${extra#*=}/main.go" ;;
	*) die "not NAME=DIR: $extra" ;;
	esac
done

srcdir=$(cd "$(dirname "$0")" && pwd) || die "cannot locate source directory from $0"
proto_src=$srcdir/interop.proto
[ -f "$proto_src" ] || die "missing $proto_src"
[ -f "$srcdir/go/server/main.go" ] || die "missing $srcdir/go/server/main.go"
[ -f "$srcdir/go/client/main.go" ] || die "missing $srcdir/go/client/main.go"
[ -f "$srcdir/go/health/main.go" ] || die "missing $srcdir/go/health/main.go"
health_src=$srcdir/../../services/health/health.proto
[ -f "$health_src" ] || die "missing $health_src"

mkdir -p "$outarg" || die "cannot create $outarg"
outdir=$(cd "$outarg" && pwd) || die "cannot enter $outarg"

sys_gopath=/usr/share/gocode
for tool in go protoc protoc-gen-gogottrpc; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found in PATH (install golang-go, protobuf-compiler, gogottrpc)"
done
for pkg in github.com/containerd/ttrpc github.com/gogo/protobuf/proto \
	google.golang.org/grpc/status golang.org/x/sys/unix; do
	[ -d "$sys_gopath/src/$pkg" ] ||
		die "Go package $pkg not found under $sys_gopath/src (install the golang-*-dev package)"
done

gopath=$outdir/gopath
pkgroot=$gopath/src/ttrpc-interop

# Offline GOPATH build: no modules, no proxy, no sumdb, caches inside OUTDIR.
GO111MODULE=off
GOPROXY=off
GOFLAGS=
GONOSUMDB=
GOSUMDB=off
GOPATH=$gopath:$sys_gopath
GOCACHE=$outdir/gocache
CGO_ENABLED=0
export GO111MODULE GOPROXY GOFLAGS GONOSUMDB GOSUMDB GOPATH GOCACHE CGO_ENABLED

rm -rf "$pkgroot" "$outdir/proto"
mkdir -p "$pkgroot/pb" "$pkgroot/healthpb" "$outdir/proto" "$GOCACHE"

# protoc-gen-gogottrpc (ttrpc v1.1.1) has no notion of streaming: it ignores
# the client/server streaming flags and would emit Download/Upload/Chat as
# ordinary unary methods (in the service interface, the registration and the
# client). That compiles, but is wrong on the wire. So generate from a copy
# of the contract with the streaming rpcs removed; the server then answers
# them with Unimplemented, which is the truth for ttrpc v1.1.1.
# This relies on every rpc declaration being on one line (as in the contract).
sed '/^[[:space:]]*rpc[[:space:]].*[(][[:space:]]*stream[[:space:]]/d' \
	"$proto_src" >"$outdir/proto/interop.proto" ||
	die "cannot write filtered proto"
if grep -n '[(][[:space:]]*stream[[:space:]]' "$outdir/proto/interop.proto" >&2; then
	die "streaming rpc left in filtered proto (multi-line rpc declaration?)"
fi

# protoc-gen-gogottrpc is a complete gogo generator (messages with
# marshal/unmarshal/size) plus the ttrpc service plugin.
protoc -I"$outdir/proto" --gogottrpc_out="plugins=ttrpc:$pkgroot/pb" \
	"$outdir/proto/interop.proto" ||
	die "protoc failed to generate Go code from $proto_src"
[ -f "$pkgroot/pb/interop.pb.go" ] || die "protoc produced no $pkgroot/pb/interop.pb.go"

# grpc.health.v1 the same way: Watch streams, so only Check is generated.
sed '/^[[:space:]]*rpc[[:space:]].*[(][[:space:]]*stream[[:space:]]/d' \
	"$health_src" >"$outdir/proto/health.proto" ||
	die "cannot write filtered health proto"
protoc -I"$outdir/proto" --gogottrpc_out="plugins=ttrpc:$pkgroot/healthpb" \
	"$outdir/proto/health.proto" ||
	die "protoc failed to generate Go code from $health_src"

# build_main NAME DIR PKG: DIR/main.go as package ttrpc-interop/PKG, built
# into OUTDIR/NAME.
built=
build_main() {
	mkdir -p "$pkgroot/$3"
	cp "$2/main.go" "$pkgroot/$3/main.go"
	go build -o "$outdir/$1" "ttrpc-interop/$3" || die "go build of $1 failed"
	built="$built${built:+, }$outdir/$1"
}

build_main interop-go-server "$srcdir/go/server" server
build_main interop-go-client "$srcdir/go/client" client
build_main health-go-client "$srcdir/go/health" health
for extra in "$@"; do
	build_main "${extra%%=*}" "${extra#*=}" "extra-${extra%%=*}"
done

echo "build-go.sh: built $built"
