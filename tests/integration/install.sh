#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# make install as a user runs it: as root, without DESTDIR, into the
# configured prefix and /etc. The test runs in a mount namespace of its own
# where the prefix, /etc, /run and the build tree are overlays on a tmpfs,
# so that nothing of it reaches the machine (nor the build tree, where
# libtool relinks while it installs). It checks that:
#  - the installed ttrpcd, ttrpcctl and containerd-shim-ttrpcd-v2 run at
#    once (make install ran ldconfig; before, "libttrpc.so.0: cannot open
#    shared object file" until someone did);
#  - ttrpcd's user exists (systemd-sysusers), when the sysusers.d file went
#    where systemd-sysusers reads it by itself;
#  - the units are under the prefix and name the installed programs, and
#    systemd-analyze verify finds nothing to say about them;
#  - the shim module is outside ttrpcd's module directory, where the
#    launcher's config names it by its absolute path, and loads from there;
#  - man finds each function of libttrpc by its name (a link to its page);
#  - make uninstall takes it all away again.
set -eu

: "${top_builddir:=.}"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: make install into the prefix and /etc needs root"
	exit 77
fi
for v in ttrpc_prefix ttrpc_bindir ttrpc_sbindir ttrpc_libdir ttrpc_pkglibdir \
	ttrpc_unitdir ttrpc_sysusersdir ttrpc_man3dir; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "FAIL: \$$v is not set (run through make check)"; exit 1; }
done
if [ ! -d "$ttrpc_prefix" ]; then
	echo "SKIP: the prefix $ttrpc_prefix does not exist, there is nothing to lay an overlay on"
	exit 77
fi
top_builddir=$(cd "$top_builddir" && pwd)
# make install's directories take the umask: under 002 they would be
# group-writable, and ttrpcd refuses modules from such places.
umask 022

if [ -z "${TTRPC_INSTALL_TEST_NS:-}" ]; then
	if ! command -v unshare >/dev/null || ! grep -qw overlay /proc/filesystems; then
		echo "SKIP: needs unshare and overlayfs"
		exit 77
	fi
	if ! command -v systemd-analyze >/dev/null; then
		echo "SKIP: needs systemd-analyze (apt-get install systemd)"
		exit 77
	fi
	exec unshare --mount --propagation private env TTRPC_INSTALL_TEST_NS=1 sh "$0" "$@"
fi

# ---- in the namespace of our own ----
tmp=$(mktemp -d /tmp/ttrpc-install.XXXXXX)
# The mounts end with the namespace; the directory under them stays.
trap 'cd /; umount -l "$tmp" 2>/dev/null; rmdir "$tmp"' EXIT
mount -t tmpfs tmpfs "$tmp"
n=0
overlay() {
	n=$((n + 1))
	mkdir "$tmp/up$n" "$tmp/work$n"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$tmp/up$n,workdir=$tmp/work$n" "$1"
}
overlay "$ttrpc_prefix"
overlay /etc
overlay /run
overlay "$top_builddir"
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
ok() {
	echo "ok: $*"
}

if ! make -C "$top_builddir" install >"$tmp/install.log" 2>&1; then
	tail -n 30 "$tmp/install.log"
	echo "FAIL: make install"
	exit 1
fi
grep -qE '^ [^ ]*/ldconfig$' "$tmp/install.log" && ok "make install ran ldconfig" ||
	fail "make install did not run ldconfig"

# The programs run at once: every library found.
for prog in "$ttrpc_sbindir/ttrpcd --version" "$ttrpc_bindir/ttrpcctl --help" \
	"$ttrpc_bindir/containerd-shim-ttrpcd-v2 -v"; do
	if out=$($prog 2>&1); then
		ok "$prog runs"
	else
		fail "$prog: $out"
	fi
done

case "$ttrpc_sysusersdir" in
/etc/sysusers.d | /run/sysusers.d | /usr/local/lib/sysusers.d | /usr/lib/sysusers.d | /lib/sysusers.d)
	if getent passwd ttrpcd >/dev/null && getent group ttrpcd >/dev/null; then
		ok "make install made the user and group ttrpcd"
	else
		fail "no user ttrpcd after make install"
		cat "$tmp/install.log"
	fi
	;;
*)
	echo "(the sysusers.d file went to $ttrpc_sysusersdir, which systemd-sysusers does not read by itself: no user made)"
	;;
esac
[ -f "$ttrpc_sysusersdir/ttrpcd.conf" ] && ok "$ttrpc_sysusersdir/ttrpcd.conf" ||
	fail "no $ttrpc_sysusersdir/ttrpcd.conf"

# The units, under the prefix, naming the installed programs.
unit=$ttrpc_unitdir/ttrpcd.service
if [ -f "$unit" ] && [ -f "$ttrpc_unitdir/ttrpcd.socket" ]; then
	ok "the units are in $ttrpc_unitdir"
	grep -qx "ExecStart=$ttrpc_sbindir/ttrpcd" "$unit" || fail "$unit: $(grep ^ExecStart= "$unit")"
	grep -q "^ExecReload=$ttrpc_bindir/ttrpcctl .*reload\$" "$unit" ||
		fail "$unit: $(grep ^ExecReload= "$unit")"
	out=$(systemd-analyze verify --man=no "$ttrpc_unitdir/ttrpcd.socket" "$unit" 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] && ok "systemd-analyze verify says nothing" ||
		fail "systemd-analyze verify: $out"
else
	fail "no ttrpcd.service and ttrpcd.socket in $ttrpc_unitdir"
fi

# The shim module: where only its launcher loads it, by its absolute path.
shim=$ttrpc_pkglibdir/shim/shim.so
[ -f "$shim" ] && ok "$shim" || fail "no $shim"
[ ! -e "$ttrpc_pkglibdir/modules/shim.so" ] && ok "no shim.so among ttrpcd's modules" ||
	fail "shim.so is in ttrpcd's module directory $ttrpc_pkglibdir/modules"
mkdir "$tmp/bundle"
(cd "$tmp/bundle" && TTRPCD_SHIM_DAEMON=/bin/false \
	"$ttrpc_bindir/containerd-shim-ttrpcd-v2" -namespace install-test -id t1 start \
	>/dev/null 2>&1) || true
if grep -qx "file = $shim" "$tmp/bundle/ttrpcd-shim.conf" 2>/dev/null; then
	ok "the launcher's config loads $shim"
	out=$("$ttrpc_sbindir/ttrpcd" --check-config --config "$tmp/bundle/ttrpcd-shim.conf" 2>&1) &&
		ok "the installed ttrpcd checks the launcher's config: $out" ||
		fail "ttrpcd --check-config of the launcher's config: $out"
else
	fail "the launcher's config does not load $shim:"
	cat "$tmp/bundle/ttrpcd-shim.conf" 2>/dev/null || true
fi

# Every function of a section-3 page by its own name, "man ttrpc_server_new".
# The prefix's man directory is asked by name (-M): it is on man's default
# path for /usr and /usr/local, not for the prefix of make distcheck.
links=0
names=" "
for page in "$ttrpc_man3dir"/ttrpc_*.3 "$ttrpc_man3dir"/libttrpc.3; do
	[ -L "$page" ] && continue
	for fn in $(sed -n '/^\.SH NAME/,/\\-/{/^\.SH/d;s/\\-.*//;s/,/ /g;p;}' "$page"); do
		[ "$fn.3" = "${page##*/}" ] && continue
		links=$((links + 1))
		names="$names$fn.3 "
		found=$(man -M "${ttrpc_man3dir%/man3}" -w "$fn" 2>/dev/null || true)
		[ "$(readlink -f "$found")" = "$(readlink -f "$page")" ] ||
			fail "man -w $fn: '$found', not $page"
	done
done
[ "$links" -ge 70 ] && ok "man finds the $links functions of libttrpc by their names" ||
	fail "only $links functions named in the pages of $ttrpc_man3dir"
# and no link of another name to them.
for l in "$ttrpc_man3dir"/*.3; do
	[ -L "$l" ] || continue
	case "$(readlink "$l")" in ttrpc_*.3 | libttrpc.3) ;; *) continue ;; esac
	case "$names" in *" ${l##*/} "*) ;; *) fail "$l: a link to $(readlink "$l") named for no function" ;; esac
done

# And away again.
if make -C "$top_builddir" uninstall >"$tmp/uninstall.log" 2>&1; then
	[ ! -e "$ttrpc_sbindir/ttrpcd" ] && [ ! -e "$unit" ] && [ ! -e "$shim" ] &&
		[ ! -L "$ttrpc_man3dir/ttrpc_server_new.3" ] &&
		ok "make uninstall removed them" || fail "make uninstall left files"
else
	tail -n 30 "$tmp/uninstall.log"
	fail "make uninstall"
fi

exit $failed
