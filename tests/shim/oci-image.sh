#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# oci-image.sh OUT.tar NAME APPLET...: an OCI image archive (the image
# layout of the OCI image spec, tarred) of one uncompressed layer holding
# busybox-static as /bin/busybox and a link per APPLET, for `ctr image
# import`; NAME goes into the index's io.containerd.image.name annotation.
# Offline and reproducible: the same busybox gives the same digests.
set -eu

out=$1 name=$2
shift 2
dir=$(mktemp -d "${TMPDIR:-/tmp}/oci-image.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/layer/bin" "$dir/layer/tmp" "$dir/layer/proc" "$dir/layer/sys" \
	"$dir/layer/dev" "$dir/layout/blobs/sha256"
cp "$(command -v busybox)" "$dir/layer/bin/busybox"
for a in "$@"; do ln -s busybox "$dir/layer/bin/$a"; done
chmod 1777 "$dir/layer/tmp"

# blob FILE: moved into the layout under its digest; prints "DIGEST SIZE".
blob() {
	local sum size
	sum=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$dir/layout/blobs/sha256/$sum"
	echo "sha256:$sum $size"
}

tar -C "$dir/layer" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf "$dir/layer.tar" .
read -r layer layer_size < <(blob "$dir/layer.tar")

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
	"$arch" "$layer" >"$dir/config.json"
read -r config config_size < <(blob "$dir/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
	"$config" "$config_size" "$layer" "$layer_size" >"$dir/manifest.json"
read -r manifest manifest_size < <(blob "$dir/manifest.json")

printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
	"$manifest" "$manifest_size" "$name" >"$dir/layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/layout/oci-layout"
tar -C "$dir/layout" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out" .
