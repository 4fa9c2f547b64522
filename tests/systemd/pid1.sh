#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# ttrpcd as a system service, under real systemd 252 as PID 1. The
# machine's own system boots in a container: systemd-nspawn --boot on an
# overlay whose lower layer is / and whose upper layer is a tmpfs of this
# test, so that nothing the container writes reaches the machine. ttrpcd
# is installed there by install_ttrpcd: the Debian packages of make debs
# (debs/ of the build tree, or the directory $PID1_DEBS names; PID1_DEBS=
# empty: none), installed
# with apt, offline (their dependencies are the machine's own packages,
# installed already); without them, make install run inside the container
# (libtool relinks into the overlay, never into the build tree that other
# tests use), as the sanitizer and CFI builds of the suite do. ttrpcd is
# then driven through its installed units with systemctl and real clients:
# ttrpcctl, pid1-client, users made with useradd, containerd with ctr. The
# checks, one function each (check_*):
#   socket_activation  the socket listens; the first connect starts ttrpcd,
#                      which adopts the socket, and is answered
#   ready_status       READY (active/running) and STATUS= as systemctl
#                      show reports them, updated as calls come
#   reload             systemctl reload with a good config (applied) and a
#                      bad one (refused, the running config kept)
#   restart_held       systemctl restart with a held idle connection: a
#                      request written while it restarts and one after are
#                      answered on that connection; the fd store holds it
#   watchdog           WatchdogSec=2s, the bundled modules and the shim
#                      module: no restart over 10 s
#   crash              SIGSEGV of the main process: it comes back, and the
#                      socket never refuses a connect meanwhile
#   stop_in_flight     systemctl stop with calls in flight: each answered,
#                      exit status 0
#   stopping           SIGTERM from outside systemd with a call in flight:
#                      systemd hears STOPPING=1 (deactivating), the call is
#                      answered, the process exits cleanly
#   journal            ttrpcd's lines with PRIORITY and TTRPCD_MODULE
#   containerd         containerd.service runs a busybox task through the
#                      installed containerd-shim-ttrpcd-v2 (ctr run --rm)
#   module_globals     a module that unsets and garbles NOTIFY_SOCKET,
#                      WATCHDOG_* and LISTEN_*: the socket is adopted, the
#                      watchdog fed, the fd store and STOPPING=1 still work
#   default_modules    without a config file: health and the control
#                      service only
#   stream_example     the streaming example module (built from
#                      libttrpc-dev's examples/stream/ with the packages):
#                      Count and Chat answer, a bad max-streams fails
#                      ttrpcctl reload with the module's words
# and those of the unit's own settings (the block "the unit's settings"):
#   installed          the installation alone (no ldconfig or
#                      systemd-sysusers run by hand) leaves ttrpcd runnable
#                      and its user made; from the packages, ttrpcd.socket
#                      enabled and listening, ttrpcd.service neither
#   limits             LimitNOFILE= as the process sees it
#   reload_reported    systemctl reload of a bad config fails with
#                      ttrpcctl's reason in the journal; a good one succeeds
#   socket_owner       owner=/group= of ttrpcd's own: the socket made; of
#                      root: the start fails with EPERM said (no SIGSYS)
#   peer_groups        a client admitted by a supplementary group only, one
#                      refused, on a listener and on the control service
#   config_directory   the config read is ConfigurationDirectory='s, not
#                      the build's sysconfdir
#   clean_exit_store   an outside SIGTERM: restarted (Restart=always) and a
#                      held idle connection served by the next ttrpcd
#   module_dirs        a module's state and cache directories under
#                      /var/lib/ttrpcd and /var/cache/ttrpcd
# and, installed from the packages only, last as they remove them:
#   conffile           the package's /etc/ttrpcd/ttrpcd.conf enables health
#                      alone, and every setting it shows commented out is
#                      valid once uncommented
#   upgrade            apt installs the newer build (debs/upgrade/) over the
#                      running one: a connection held across it is answered
#                      by the new process (another MainPID, running the new
#                      /usr/sbin/ttrpcd), through the fd store
#   remove             apt remove stops the socket and the service and
#                      leaves the conffile
#   purge              apt purge leaves no file of ttrpcd (its user stays)
# (The example modules, which the packages ship as sources in libttrpc-dev,
# are built there with their Makefiles and installed as their author would.)
# A check that fails says what it expected and what it saw, and prints the
# journal of ttrpcd since it began; the others still run. PID1_CHECKS
# (names, blank-separated) runs only those.
#
# Afterwards nothing is left, also after a failure or an interruption: the
# container is powered off (what its cgroup still holds is killed), the
# overlay and the tmpfs are unmounted, the cgroups and the temporary
# directory removed. Needs root and systemd-nspawn (systemd-container),
# and the packages or units that make install puts where systemd reads
# them: else skipped (77). Waits are bounded polls of a state; the one duration
# is 10 s watched for a watchdog restart that must not come.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
CLIENT=$top_builddir/tests/systemd/pid1-client
SOCK=/run/ttrpcd/ttrpcd.sock
# The .debs, if any: $PID1_DEBS (and its upgrade/), else those of make debs.
DEBS=${PID1_DEBS-$top_builddir/debs}
# Where apt finds them in the container.
CT_DEBS=/root/pid1-debs
# Test modules, copied into the container where the service can read them
# (the build tree may be under /root or /home, which ProtectHome= hides).
FIXTURES=/usr/lib/ttrpcd-pid1-test
INTEROP=ttrpc.interop.v1.Interop

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (apt-get install systemd-container)"
[ -x "$CLIENT" ] || {
	echo "FAIL: $CLIENT is not built"
	exit 1
}
if [ -n "${PID1_DEBS-}" ] && ! ls "$DEBS"/ttrpcd_*.deb >/dev/null 2>&1; then
	echo "FAIL: PID1_DEBS=$PID1_DEBS holds no ttrpcd_*.deb"
	exit 1
fi
ls "$DEBS"/ttrpcd_*.deb >/dev/null 2>&1 || DEBS=
# Without the packages, make install must put the units where systemd
# reads them (the machine's systemd is the container's): not so under a
# prefix of its own, as make distcheck's.
if [ -z "$DEBS" ] && [ -n "${ttrpc_unitdir-}" ] &&
	! systemd-analyze unit-paths 2>/dev/null | grep -qxF "$ttrpc_unitdir"; then
	skip "no .debs, and make install puts the units in $ttrpc_unitdir, where systemd does not look"
fi

# root's usual umask, whatever the caller's: ttrpcd loads no module from a
# place others can write, and make install's directories follow the umask.
umask 022
T=$(mktemp -d /tmp/ttrpcd-pid1.XXXXXX)
ROOT=$T/root
MACHINE=ttrpcd-pid1-$$
CG=ttrpcd-pid1-$$
NSPAWN_PID=
CT_PID=
CG_DIRS=
CLIENTS=
NSPAWN_RUN_NEW=
[ -d /run/systemd/nspawn ] || NSPAWN_RUN_NEW=1
failures=0
passed=0

# ---- the container ----

# Every process in the cgroups of the container.
cgroup_pids() {
	local d

	for d in $CG_DIRS; do
		[ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

cleanup() {
	local d name fd

	set +e
	for name in $CLIENTS; do
		fd=CLIENT_FD_$name
		[ -n "${!fd-}" ] && eval "exec {$fd}>&-"
	done
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# nspawn turns SIGTERM into the container's halt: every unit stops.
		kill -TERM "$NSPAWN_PID"
		for _ in $(seq 600); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$NSPAWN_PID" 2>/dev/null && echo "the container did not halt: killing it"
	fi
	# A halt that hung, or a test interrupted before the boot ended.
	for _ in 1 2 3; do
		d=$(cgroup_pids)
		[ -z "$d" ] && break
		kill -KILL $d 2>/dev/null
		sleep 0.2
	done
	[ -n "$NSPAWN_PID" ] && kill -KILL "$NSPAWN_PID" 2>/dev/null
	wait 2>/dev/null
	grep -q " $T/" /proc/self/mountinfo && awk -v t="$T/" 'index($5, t) == 1 {print $5}' \
		/proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
	for d in $CG_DIRS; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "/run/systemd/nspawn/propagate/$MACHINE"
	[ -n "$NSPAWN_RUN_NEW" ] && rmdir /run/systemd/nspawn/propagate /run/systemd/nspawn/locks \
		/run/systemd/nspawn 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A client that died makes writes to its fifo fail, not the test.
trap '' PIPE

# in_ct CMD...: CMD as root inside the container, with a clean environment.
in_ct() {
	timeout 300 nsenter -t "$CT_PID" -a env -i HOME=/root LANG=C.UTF-8 SYSTEMD_COLORS=0 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# wait_for SECONDS CMD...: until CMD succeeds (0) or SECONDS pass (1).
wait_for() {
	local i n=$(($1 * 10))

	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# The container's PID 1 into CT_PID: nspawn's child whose pid there is 1.
find_init() {
	local p

	for p in $(pgrep -P "$NSPAWN_PID"); do
		grep -q '^NSpid:.*[[:space:]]1$' "/proc/$p/status" 2>/dev/null && CT_PID=$p && return 0
	done
	return 1
}

system_up() {
	case $(in_ct systemctl is-system-running 2>/dev/null) in
	running | degraded) return 0 ;;
	esac
	return 1
}

boot() {
	local d h tree trees=$top_srcdir n=0 ovl=()

	# The lower layer holds only the root file system's own files: trees on
	# other mounts come in overlays of their own, written to this tmpfs too.
	case $top_builddir/ in "$top_srcdir"/*) ;; *) trees="$trees $top_builddir" ;; esac
	mkdir "$T/rw" "$ROOT" &&
		mount -t tmpfs -o mode=0700 "ttrpcd-pid1" "$T/rw" &&
		mkdir "$T/rw/upper" "$T/rw/work" || return 1
	mount -t overlay overlay -o "lowerdir=/,upperdir=$T/rw/upper,workdir=$T/rw/work" "$ROOT" || {
		echo "cannot mount an overlay of / (is overlayfs available?)"
		return 1
	}
	for tree in $trees; do
		n=$((n + 1))
		mkdir "$T/rw/tree$n"
		ovl+=("--overlay=$tree:$T/rw/tree$n:$tree")
	done
	# A cgroup of its own in every hierarchy: the container's, runc's and
	# everything its systemd creates goes below, and is removed with it.
	for h in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do
		mkdir "$h/$CG" || return 1
		CG_DIRS="$CG_DIRS $h/$CG"
		# A new cpuset admits no task until it has cpus and mems.
		[ -f "$h/$CG/cpuset.cpus" ] && cat "$h/cpuset.cpus" >"$h/$CG/cpuset.cpus" &&
			cat "$h/cpuset.mems" >"$h/$CG/cpuset.mems"
	done
	# basic.target, not the machine's default: the services the machine
	# enables (databases, timers) are not under test. runc needs every
	# capability and the keyring calls (containerd check); ttrpcd's units
	# need nothing more than nspawn's defaults.
	(
		for d in $CG_DIRS; do echo $BASHPID >"$d/cgroup.procs" || exit 1; done
		exec systemd-nspawn --boot --register=no --keep-unit --link-journal=no \
			--private-network --capability=all \
			--system-call-filter='add_key keyctl request_key' --console=pipe \
			--machine="$MACHINE" --directory="$ROOT" "${ovl[@]}" \
			systemd.unit=basic.target
	) </dev/null >"$T/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	wait_for 30 find_init || {
		echo "no container init after 30 s"
		cat "$T/nspawn.log"
		return 1
	}
	wait_for 120 system_up || {
		echo "the container's systemd is not up after 120 s:" \
			"$(in_ct systemctl is-system-running 2>&1)"
		cat "$T/nspawn.log"
		return 1
	}
	[ "$(in_ct systemctl is-system-running)" = degraded ] &&
		in_ct systemctl --failed --no-pager --no-legend | sed 's/^/  (failed, not under test) /'
	# runc makes cgroups of every controller: nspawn mounts them read-only.
	for h in $(in_ct findmnt -rn -t cgroup -O ro -o TARGET); do
		in_ct mount -o remount,bind,rw "$h" || return 1
	done
	return 0
}

# apt_get ARGS...: apt-get in the container, offline: the .debs' own
# dependencies are packages of this machine, installed already, so apt has
# nothing to fetch, and could not (the container has no network; apt-get's
# --no-download would say so too, but apt 2.6 then refuses local .debs).
# Its output goes to $T/apt.log.
apt_get() {
	in_ct env DEBIAN_FRONTEND=noninteractive apt-get -y "$@" >"$T/apt.log" 2>&1 || {
		echo "apt-get $*: failed:"
		tail -n 30 "$T/apt.log" | sed 's/^/  /'
		return 1
	}
}

# copy_debs DIR SUB: the .debs of DIR into the container's $CT_DEBS/SUB;
# CT_FILES: their paths there.
copy_debs() {
	local f

	rm -rf "${ROOT:?}$CT_DEBS/$2" && mkdir -p "$ROOT$CT_DEBS/$2" && cp "$1"/*.deb "$ROOT$CT_DEBS/$2/" ||
		return 1
	CT_FILES=
	for f in "$1"/*.deb; do CT_FILES="$CT_FILES $CT_DEBS/$2/${f##*/}"; done
}

# The packages, as an administrator installs them: apt install of the
# .deb files, whose maintainer scripts make the user, enable and start the
# socket and run ldconfig. Then the example modules, which libttrpc-dev
# ships as sources, each built with its Makefile against the installed
# package and installed into ttrpcd's module directory.
install_debs() {
	local ex=/root/pid1-example d

	DEBS_VERSION=$(dpkg-deb -f "$(ls "$DEBS"/ttrpcd_*.deb | head -n 1)" Version)
	# A container image's policy-rc.d (Docker's exits 101) forbids maintainer
	# scripts to start, restart or stop any service; the container's system
	# is a booted one, whose packages' scripts drive their units.
	if [ -e "$ROOT/usr/sbin/policy-rc.d" ]; then
		echo "removing this machine's /usr/sbin/policy-rc.d in the container: $(grep -m1 -o 'exit [0-9]*' \
			"$ROOT/usr/sbin/policy-rc.d")"
		rm -f "$ROOT/usr/sbin/policy-rc.d"
	fi
	echo "installing the packages of $DEBS ($DEBS_VERSION): $(cd "$DEBS" && echo *.deb)"
	copy_debs "$DEBS" first && apt_get install $CT_FILES || return 1
	# As the packages left them, before any check changes them.
	INSTALLED_STATE="$(in_ct systemctl is-enabled ttrpcd.socket) $(prop ttrpcd.socket SubState)"
	INSTALLED_STATE="$INSTALLED_STATE, $(in_ct systemctl is-enabled ttrpcd.service) $(prop ttrpcd.service ActiveState)"
	mkdir -p "$ROOT$ex" || return 1
	for d in example stream; do
		in_ct sh -c "cp -r /usr/share/doc/libttrpc-dev/examples/$d $ex/ && make -C $ex/$d && make -C $ex/$d install" \
			>"$T/example.log" 2>&1 || {
			echo "the $d module of libttrpc-dev's examples did not build and install:"
			tail -n 20 "$T/example.log"
			return 1
		}
	done
}

# The one step that puts ttrpcd on the container's system: the packages
# (install_debs) or make install, which, as root and without DESTDIR, also
# runs ldconfig and systemd-sysusers, as the packages' maintainer scripts
# do (check_installed holds both to that); then systemd reads the units.
install_ttrpcd() {
	if [ -n "$DEBS" ]; then
		install_debs || return 1
	else
		echo "no .debs (make debs makes them): make install"
		in_ct make -C "$top_builddir" install >"$T/install.log" 2>&1 || {
			tail -n 30 "$T/install.log"
			return 1
		}
	fi
	in_ct systemctl daemon-reload
}

# Where the installation put things: the unit says where ttrpcd is and
# where its config is (ConfigurationDirectory=, in /etc); ttrpcctl and the
# launcher are in bin/ beside sbin/.
find_installed() {
	local dir

	TTRPCD=$(prop ttrpcd.service ExecStart | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
	dir=$(prop ttrpcd.service ConfigurationDirectory)
	[ -n "$TTRPCD" ] && [ -n "$dir" ] || {
		echo "ttrpcd.service has no ExecStart= or no ConfigurationDirectory= once installed"
		return 1
	}
	CTL=${TTRPCD%/sbin/ttrpcd}/bin/ttrpcctl
	LAUNCHER=${TTRPCD%/sbin/ttrpcd}/bin/containerd-shim-ttrpcd-v2
	CONF=/etc/${dir%% *}/ttrpcd.conf
	echo "installed: $TTRPCD, $CTL, $LAUNCHER; config $CONF"
	mkdir -p "$ROOT$FIXTURES" &&
		install -m 0644 "$top_builddir/tests/interop/.libs/interop.so" \
			"$top_builddir/tests/modules/.libs/testmod.so" \
			"$top_builddir/tests/modules/.libs/globals.so" "$ROOT$FIXTURES/"
}

# ---- checks ----

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect WHAT WANT SEEN: SEEN is WANT; expect_re WHAT REGEX SEEN: it matches.
expect() {
	[ "$3" = "$2" ] || fail "$1: expected '$2', saw '$3'"
}
expect_re() {
	[[ $3 =~ $2 ]] || fail "$1: expected /$2/, saw '$3'"
}

prop() {
	in_ct systemctl show -P "$2" "$1"
}

# wait_prop UNIT PROPERTY VALUE SECONDS: until UNIT has it; SEEN: the last value.
wait_prop() {
	local i

	for ((i = 0; i < $4 * 10; i++)); do
		SEEN=$(prop "$1" "$2")
		[ "$SEEN" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# ctl ARGS...: ttrpcctl in the container as root on the socket; OUT, RC.
ctl() {
	OUT=$(in_ct "$CTL" -s "$SOCK" "$@" 2>&1)
	RC=$?
}

# The messages of ttrpcd's units since the check began or, given
# journalctl matches (FIELD=VALUE...), those of every entry that has them
# (--after-cursor drops entries that have them on systemd 252).
journal() {
	if [ $# = 0 ]; then
		in_ct journalctl --no-pager -q -o cat --after-cursor="$CURSOR" -u ttrpcd.service \
			-u ttrpcd.socket
	else
		in_ct journalctl --no-pager -q -o cat "$@"
	fi
}

# journal_has WHAT REGEX [MATCH...]: a message matches within 10 s (the
# journal gets lines asynchronously); else a failure that shows them.
journal_has() {
	local what=$1 re=$2 matches

	shift 2
	matches=("$@")
	wait_for 10 eval '[[ $(journal "${matches[@]}") =~ $re ]]' ||
		fail "$what: expected /$re/ in the journal${*:+ ($*)}, saw '$(journal "$@" | tail -n 5)'"
}

# config: stdin becomes ttrpcd's config file.
config() {
	mkdir -p "$(dirname "$ROOT$CONF")" && cat >"$ROOT$CONF"
}

# The bundled modules and the interop test service.
BASE_CONFIG="[module health]
[module example]
greeting = Hello
[module interop]
file = $FIXTURES/interop.so"

# start: ttrpcd.service started (READY=1 came); MAINPID its main process.
start() {
	in_ct systemctl start ttrpcd.service || fail "systemctl start ttrpcd.service: status $?"
	wait_prop ttrpcd.service SubState running 30 || fail "ttrpcd.service: expected running, saw $SEEN"
	MAINPID=$(prop ttrpcd.service MainPID)
}

# Client processes in the container, fed lines at chosen moments:
# client_start NAME ARGS... runs pid1-client ARGS with a fifo on its stdin,
# its output in $T/NAME.out; client_say NAME LINE; client_line NAME N
# SECONDS waits for the Nth line of its output into LINE; client_end NAME
# closes its stdin and waits for it to exit.
client_start() {
	local name=$1 fd

	shift
	rm -f "$T/$name.in" "$T/$name.out"
	mkfifo "$T/$name.in"
	in_ct "$CLIENT" "$@" <"$T/$name.in" >"$T/$name.out" 2>&1 &
	eval "CLIENT_PID_$name=$!"
	exec {fd}>"$T/$name.in"
	eval "CLIENT_FD_$name=$fd"
	CLIENTS="$CLIENTS $name"
}
client_say() {
	local fd=CLIENT_FD_$1

	echo "$2" >&"${!fd}"
}
client_line() {
	local i

	for ((i = 0; i < $3 * 10; i++)); do
		LINE=$(sed -n "$2p" "$T/$1.out")
		[ -n "$LINE" ] && return 0
		sleep 0.1
	done
	LINE="(nothing after $3 s; output: $(tr '\n' ' ' <"$T/$1.out"))"
	return 1
}
client_end() {
	local fd=CLIENT_FD_$1 pid=CLIENT_PID_$1

	eval "exec {$fd}>&-"
	eval "$fd="
	wait_for 30 eval "! kill -0 ${!pid} 2>/dev/null"
	wait "${!pid}" 2>/dev/null
}

check_socket_activation() {
	local st

	config <<<"$BASE_CONFIG"
	in_ct systemctl enable --now ttrpcd.socket || fail "systemctl enable --now ttrpcd.socket: status $?"
	expect "ttrpcd.socket" listening "$(prop ttrpcd.socket SubState)"
	expect "ttrpcd.service before any connect" inactive "$(prop ttrpcd.service ActiveState)"
	st=$(in_ct stat -c '%F %a %U:%G' "$SOCK")
	expect "$SOCK" "socket 660 ttrpcd:ttrpcd" "$st"
	ctl health
	expect "the first connect: ttrpcctl health" "0 SERVING" "$RC $OUT"
	expect "ttrpcd.service after it" active "$(prop ttrpcd.service ActiveState)"
	journal_has "ttrpcd's log" "listener ttrpcd: serving the socket passed by the service manager"
}

check_ready_status() {
	local status

	start
	# Type=notify: "running" only once READY=1 came.
	expect "ttrpcd.service" "active running" \
		"$(prop ttrpcd.service ActiveState) $(prop ttrpcd.service SubState)"
	status=$(prop ttrpcd.service StatusText)
	expect_re "STATUS= at start" '^[0-9]+ connections?, [0-9]+ calls? served, 0 in flight, 3 modules$' \
		"$status"
	ctl call example.v1.Greeter/Hello -d '{"name":"status"}'
	# STATUS= follows the calls (sent each second when it changed).
	wait_for 10 eval '[[ $(prop ttrpcd.service StatusText) =~ ^[0-9]+\ connections,\ [1-9][0-9]*\ calls\ served ]]' ||
		fail "STATUS= after a call: expected calls served, saw '$(prop ttrpcd.service StatusText)'"
}

hello() {
	ctl call example.v1.Greeter/Hello -d '{"name":"pid1"}'
	HELLO=$OUT
}

check_reload() {
	local pid

	start
	pid=$MAINPID
	hello
	expect "Hello before the reload" '{"text":"Hello, pid1!"}' "$HELLO"
	config <<<"${BASE_CONFIG/greeting = Hello/greeting = Bonjour}"
	in_ct systemctl reload ttrpcd.service || fail "systemctl reload (good config): status $?"
	wait_for 10 eval 'hello; [ "$HELLO" = "{\"text\":\"Bonjour, pid1!\"}" ]' ||
		fail "after a good reload: expected Bonjour, saw '$HELLO'"
	journal_has "ttrpcd's log" "configuration reloaded"

	config <<<"$BASE_CONFIG
[limits]
connections = many"
	in_ct systemctl reload ttrpcd.service
	wait_for 10 eval '[[ $(prop ttrpcd.service StatusText) =~ ^"reload failed" ]]' ||
		fail "STATUS= after a bad reload: expected 'reload failed...', saw '$(prop ttrpcd.service StatusText)'"
	expect_re "STATUS= after a bad reload" "running the previous configuration: .*'connections'" \
		"$(prop ttrpcd.service StatusText)"
	hello
	expect "the running config after a bad reload" '{"text":"Bonjour, pid1!"}' "$HELLO"
	expect "ttrpcd.service after a bad reload" "active running $pid" \
		"$(prop ttrpcd.service ActiveState) $(prop ttrpcd.service SubState) $(prop ttrpcd.service MainPID)"
}

# hold_connection WHAT: the client "held" connects and is answered once,
# before WHAT; its later requests are on that same connection.
hold_connection() {
	client_start held held "$SOCK"
	client_line held 1 30
	expect "the held connection" connected "$LINE"
	client_say held check
	client_line held 2 30
	expect "a request before the $1" SERVING "$LINE"
}

# A held idle connection across systemctl restart: a request before, one
# written while the unit restarts, one after, all answered on it.
held_across_restart() {
	local old sleep_pid state

	old=$MAINPID
	hold_connection "restart"
	# A call in flight on another connection keeps the old process
	# draining, which is when the held connection waits in the fd store.
	in_ct "$CTL" -s "$SOCK" call "$INTEROP/Sleep" -d '{"millis":4000}' >"$T/sleep.out" 2>&1 &
	sleep_pid=$!
	wait_for 10 eval '[[ $(prop ttrpcd.service StatusText) =~ " 1 in flight" ]]' ||
		fail "the Sleep call: expected 1 in flight, saw '$(prop ttrpcd.service StatusText)'"
	in_ct systemctl restart --no-block ttrpcd.service
	wait_for 10 eval 'state=$(prop ttrpcd.service ActiveState); [ "$state" != active ]' ||
		fail "systemctl restart: ttrpcd.service stayed active"
	client_say held check
	echo "  a request written while ttrpcd.service was $state"
	client_line held 3 60
	expect "the request written during the restart" SERVING "$LINE"
	wait_prop ttrpcd.service SubState running 30 || fail "after the restart: expected running, saw $SEEN"
	MAINPID=$(prop ttrpcd.service MainPID)
	[ "$MAINPID" != "$old" ] || fail "after the restart: expected a new main process, saw $old still"
	client_say held check
	client_line held 4 30
	expect "a request after the restart" SERVING "$LINE"
	wait "$sleep_pid"
	expect "the Sleep call in flight at the restart" "0 {}" "$? $(cat "$T/sleep.out")"
	expect_re "NFileDescriptorStore while the held connection is served" '^[1-9]' \
		"$(prop ttrpcd.service NFileDescriptorStore)"
	client_end held
}

check_restart_held() {
	start
	held_across_restart
}

# watchdog_drop_in SECONDS: WatchdogSec= of ttrpcd.service (0: the unit's own).
watchdog_drop_in() {
	local d=$ROOT/etc/systemd/system/ttrpcd.service.d

	if [ "$1" = 0 ]; then
		rm -rf "$d"
	else
		mkdir -p "$d" && printf '[Service]\nWatchdogSec=%ss\n' "$1" >"$d/watchdog.conf"
	fi
	in_ct systemctl daemon-reload
}

# No watchdog restart over 10 s, five times WatchdogSec=2s: a missed ping
# shows within two.
no_watchdog_restart() {
	local pid=$MAINPID restarts i

	expect "WatchdogUSec" 2s "$(prop ttrpcd.service WatchdogUSec)"
	restarts=$(prop ttrpcd.service NRestarts)
	for ((i = 0; i < 20; i++)); do
		sleep 0.5
		[ "$(prop ttrpcd.service MainPID)" = "$pid" ] || break
	done
	expect "over 10 s with WatchdogSec=2s: main process, restarts" "$pid $restarts" \
		"$(prop ttrpcd.service MainPID) $(prop ttrpcd.service NRestarts)"
	[[ $(journal) =~ "Watchdog timeout" ]] && fail "the watchdog fired: $(journal | grep -m1 Watchdog)"
}

# The bundled modules and the shim module, which runs children and is their
# subreaper: the watchdog is fed all the same.
check_watchdog() {
	local shim

	shim=$(in_ct find "${TTRPCD%/sbin/ttrpcd}/lib" -maxdepth 5 -name shim.so -path '*ttrpc*' |
		head -n 1)
	watchdog_drop_in 2
	config <<<"[ttrpcd]
log-level = debug
[module health]
[module example]
[module shim]
file = $shim"
	start
	journal_has "ttrpcd's log" "watchdog: pinging every 1000 ms"
	journal_has "the shim module" "shim: shim for "
	no_watchdog_restart
	watchdog_drop_in 0
}

# kill_restarted SIGNAL WHAT: the main process, killed with SIGNAL, is
# followed by a new one, running, and NRestarts is one more; MAINPID is
# the new one.
kill_restarted() {
	local old=$MAINPID restarts

	restarts=$(prop ttrpcd.service NRestarts)
	in_ct kill -"$1" "$old"
	wait_for 30 eval '[ "$(prop ttrpcd.service MainPID)" != "$old" ] &&
		[ "$(prop ttrpcd.service SubState)" = running ]' ||
		fail "after $2: expected a new main process running, saw $(prop ttrpcd.service MainPID)" \
			"$(prop ttrpcd.service SubState)"
	expect "NRestarts after $2" $((restarts + 1)) "$(prop ttrpcd.service NRestarts)"
	MAINPID=$(prop ttrpcd.service MainPID)
}

check_crash() {
	start
	client_start probe probe "$SOCK"
	client_line probe 1 30
	expect "the prober" probing "$LINE"
	kill_restarted SEGV "the crash (SIGSEGV)"
	ctl health
	expect "ttrpcctl health after the crash" "0 SERVING" "$RC $OUT"
	client_end probe
	client_line probe 2 1
	expect_re "connects through the crash" "^connects [1-9][0-9]* refused 0$" "$LINE"
	journal_has "systemd's log" "Main process exited, code=(killed|dumped), status=11/SEGV"
}

check_stop_in_flight() {
	local i pids=() rc n

	start
	for i in 1 2 3 4; do
		in_ct "$CTL" -s "$SOCK" call "$INTEROP/Sleep" -d '{"millis":5000}' >"$T/sleep.$i" 2>&1 &
		pids+=($!)
	done
	wait_for 10 eval '[[ $(prop ttrpcd.service StatusText) =~ " 4 in flight" ]]' ||
		fail "4 Sleep calls: expected 4 in flight, saw '$(prop ttrpcd.service StatusText)'"
	in_ct systemctl stop ttrpcd.service || fail "systemctl stop: status $?"
	for i in 1 2 3 4; do
		wait "${pids[$((i - 1))]}"
		rc=$?
		expect "Sleep call $i in flight at the stop" "0 {}" "$rc $(cat "$T/sleep.$i")"
	done
	expect "ttrpcd.service after the stop: Result ExecMainCode ExecMainStatus" "success 1 0" \
		"$(prop ttrpcd.service Result) $(prop ttrpcd.service ExecMainCode) $(prop ttrpcd.service ExecMainStatus)"
	n=$(journal | sed -n 's/.*shutting down, \([0-9]*\) calls in flight.*/\1/p')
	[ "${n:-0}" -ge 1 ] || fail "expected 'shutting down, N calls in flight' with N >= 1, saw '$n'"
	journal_has "ttrpcd's log" "all calls finished"
}

# SIGTERM from outside systemd (kill, as an administrator would) with a
# call in flight: ttrpcd says STOPPING=1, so systemd knows it is stopping
# (deactivating) while it drains; the call is answered and the process
# exits cleanly. Whether the unit then stays inactive or starts again is
# its Restart= policy's choice.
stopping_seen() {
	local sleep_pid old=$MAINPID

	in_ct "$CTL" -s "$SOCK" call "$INTEROP/Sleep" -d '{"millis":4000}' >"$T/sleep.out" 2>&1 &
	sleep_pid=$!
	wait_for 10 eval '[[ $(prop ttrpcd.service StatusText) =~ " 1 in flight" ]]' ||
		fail "the Sleep call: expected 1 in flight, saw '$(prop ttrpcd.service StatusText)'"
	in_ct kill -TERM "$old"
	wait_prop ttrpcd.service ActiveState deactivating 10 ||
		fail "SIGTERM with a call in flight: expected deactivating (STOPPING=1), saw $SEEN"
	wait "$sleep_pid"
	expect "the Sleep call in flight at SIGTERM" "0 {}" "$? $(cat "$T/sleep.out")"
	wait_for 30 eval '[ "$(prop ttrpcd.service MainPID)" != "$old" ] &&
		[[ $(prop ttrpcd.service ActiveState) =~ ^(inactive|active)$ ]]' ||
		fail "after SIGTERM: expected the process gone, saw MainPID $(prop ttrpcd.service MainPID)" \
			"$(prop ttrpcd.service ActiveState)"
	journal_has "ttrpcd's log" "all calls finished; exiting"
	[[ $(journal) =~ "Failed with result" ]] &&
		fail "after SIGTERM: $(journal | grep -m1 'Failed with result')"
}

check_stopping() {
	start
	stopping_seen
}

check_journal() {
	local run

	config <<<"$BASE_CONFIG
[module testmod]
file = $FIXTURES/testmod.so
fail-init = yes
optional = yes"
	start
	run=_SYSTEMD_INVOCATION_ID=$(prop ttrpcd.service InvocationID)
	# A module's line carries its name; the daemon's own lines do not.
	journal_has "the module's error" "^testmod: failing init, as fail-init asks$" \
		"$run" TTRPCD_MODULE=testmod PRIORITY=3
	journal_has "the daemon's warning" "^module 'testmod' .*init failed.*skipped" "$run" PRIORITY=4
	journal_has "the daemon's notice" "^ready: 3 modules$" "$run" PRIORITY=5
	expect "daemon lines with a TTRPCD_MODULE field" "" \
		"$(journal "$run" PRIORITY=5 -o verbose | grep TTRPCD_MODULE=)"
}

check_containerd() {
	local out rc rootfs=/var/lib/ttrpcd-pid1/rootfs busybox c

	busybox=$(command -v busybox) || {
		fail "no busybox (apt-get install busybox-static)"
		return
	}
	# The machine's containerd state stays out of it: a root of its own.
	mkdir -p "$ROOT/etc/containerd" "$ROOT$rootfs/bin"
	cat >"$ROOT/etc/containerd/config.toml" <<-EOF
		version = 2
		root = "/var/lib/ttrpcd-pid1/containerd"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
	EOF
	cp "$busybox" "$ROOT$rootfs/bin/busybox"
	for c in sh echo; do ln -s busybox "$ROOT$rootfs/bin/$c"; done
	in_ct systemctl start containerd.service || fail "systemctl start containerd.service: status $?"
	out=$(in_ct ctr run --rm --runtime "$LAUNCHER" --rootfs "$rootfs" pid1-c1 /bin/sh -c 'echo hi; exit 7' 2>&1)
	rc=$?
	expect "ctr run --rm through $LAUNCHER: status, output" "7 hi" "$rc $out"
	wait_for 30 eval '! in_ct pgrep -f containerd-shim-ttrpcd-v2 >/dev/null' ||
		fail "the shim still runs: $(in_ct pgrep -af containerd-shim-ttrpcd-v2)"
	expect "ctr containers ls" "" "$(in_ct ctr containers ls -q)"
	in_ct systemctl stop containerd.service
}

# A module that unsets and garbles NOTIFY_SOCKET, WATCHDOG_* and LISTEN_*
# in its init and again once ttrpcd is ready (tests/modules/globals.c):
# the socket unit's socket is adopted, the watchdog fed, the fd store and
# STOPPING=1 still reach systemd.
check_module_globals() {
	watchdog_drop_in 2
	config <<<"$BASE_CONFIG
[module globals]
file = $FIXTURES/globals.so"
	start
	journal_has "the module" "globals: the environment and the working directory changed"
	journal_has "ttrpcd's log" "listener ttrpcd: serving the socket passed by the service manager"
	no_watchdog_restart
	held_across_restart
	stopping_seen
}

# The modules an installation enables: without a config file the system
# ttrpcd serves the health module and its control service, nothing else.
check_default_modules() {
	rm -f "$ROOT$CONF"
	start
	ctl list
	expect "ttrpcctl list without a config file" "0 grpc.health.v1.Health ttrpcd.v1.Control" \
		"$RC $(sort <<<"$OUT" | tr '\n' ' ' | sed 's/ $//')"
}

# The streaming example as the packages (or make install) put it there.
check_stream_example() {
	config <<<"$BASE_CONFIG
[module stream]
max-streams = 4"
	start
	ctl call stream.v1.Streamer/Count -d '{"count":3}'
	expect "Count of 3" '0 {"n":"1"} {"n":"2"} {"n":"3"}' "$RC $(echo $OUT)"
	OUT=$(printf '{"text":"a"}\n{"text":"b"}\n' | in_ct "$CTL" -s "$SOCK" call stream.v1.Streamer/Chat 2>&1)
	expect "Chat of a and b" '{"text":"a"} {"text":"b"}' "$(echo $OUT)"
	config <<<"$BASE_CONFIG
[module stream]
max-streams = lots"
	ctl reload
	expect_re "ttrpcctl reload with max-streams = lots" \
		"^[1-9][0-9]* .*max-streams = 'lots': not a number from 1 to 65536" "$RC $OUT"
}

# ---- the unit's settings ----

check_installed() {
	local out how=${DEBS:+the packages}

	how=${how:-make install}
	out=$(in_ct "$TTRPCD" --version 2>&1)
	expect_re "$TTRPCD --version right after $how" "^ttrpcd " "$out"
	expect_re "the library cache" "libttrpc\.so\.0 .*=> " "$(in_ct ldconfig -p | grep libttrpc)"
	expect_re "ttrpcd's user, made by $how" "^ttrpcd:x:[0-9]+:[0-9]+:" \
		"$(in_ct getent passwd ttrpcd)"
	[ -n "$DEBS" ] || return 0
	expect "the packages" "ii ii ii ii" "$(in_ct dpkg-query -W -f='${db:Status-Abbrev}' libttrpc0 \
		libttrpc-dev ttrpcd containerd-shim-ttrpcd | tr -s ' \n' ' ' | sed 's/ $//')"
	expect "ttrpcd.socket, ttrpcd.service as installed (is-enabled, state)" \
		"enabled listening, disabled inactive" "$INSTALLED_STATE"
}

# LimitNOFILE=: the whole fd store (FileDescriptorStoreMax=) and as much
# again, as the running process has it.
check_limits() {
	start
	expect "Max open files of ttrpcd's process (soft, hard)" "8192 8192" \
		"$(in_ct awk '/^Max open files/ {print $4, $5}' "/proc/$MAINPID/limits")"
	expect "FileDescriptorStoreMax" 4096 "$(prop ttrpcd.service FileDescriptorStoreMax)"
}

# ExecReload= runs ttrpcctl reload, which waits for the answer: a refused
# config fails systemctl reload, with the reason in the unit's journal.
check_reload_reported() {
	local out rc pid

	start
	pid=$MAINPID
	config <<<"$BASE_CONFIG
[limits]
connections = many"
	out=$(in_ct systemctl reload ttrpcd.service 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "systemctl reload of a bad config: expected a failure, saw status 0: $out"
	journal_has "ttrpcctl's answer" \
		"FAILED_PRECONDITION: reload failed, the running configuration stays: .*bad value 'many' for key 'connections'"
	expect "ttrpcd.service after the refused reload" "active running $pid" \
		"$(prop ttrpcd.service ActiveState) $(prop ttrpcd.service SubState) $(prop ttrpcd.service MainPID)"
	config <<<"$BASE_CONFIG"
	out=$(in_ct systemctl reload ttrpcd.service 2>&1)
	expect "systemctl reload of a good config: status, output" "0 " "$? $out"
}

# owner= and group= under SystemCallFilter=~@privileged: ttrpcd's own need
# no chown(); root's needs it, and it fails with EPERM
# (SystemCallErrorNumber=), which ttrpcd reports, instead of SIGSYS.
check_socket_owner() {
	config <<<"$BASE_CONFIG
[listener own]
path = /run/ttrpcd/own.sock
owner = ttrpcd
group = ttrpcd"
	start
	expect "/run/ttrpcd/own.sock" "socket ttrpcd:ttrpcd" "$(in_ct stat -c '%F %U:%G' /run/ttrpcd/own.sock)"
	in_ct systemctl stop ttrpcd.service
	config <<<"$BASE_CONFIG
[listener theirs]
path = /run/ttrpcd/theirs.sock
owner = root
group = root"
	in_ct systemctl start ttrpcd.service 2>/dev/null && fail "ttrpcd started with a socket for root"
	# Restart=always tries again, up to the start limit.
	wait_prop ttrpcd.service ActiveState failed 30 ||
		fail "a start that cannot succeed: expected failed at last, saw $SEEN"
	journal_has "ttrpcd's reason" \
		"listener theirs: cannot give /run/ttrpcd/theirs.sock to owner 0 and group 0: Operation not permitted"
	expect "ttrpcd's exit (ExecMainCode ExecMainStatus: exited, 1)" "1 1" \
		"$(prop ttrpcd.service ExecMainCode) $(prop ttrpcd.service ExecMainStatus)"
	[[ $(journal) =~ SIGSYS|status=31 ]] && fail "a SIGSYS: $(journal | grep -m1 -E 'SIGSYS|status=31')"
	in_ct systemctl stop ttrpcd.service
}

# as_user NAME CMD...: CMD as user NAME with its groups (initgroups).
as_user() {
	local user=$1

	shift
	in_ct setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

# Peer credentials as they are (no PrivateUsers=): allow-groups admits a
# user by a group it has only as a supplementary one. Both users may open
# the socket (group ttrpcd); only the member of pid1-admins passes.
check_peer_groups() {
	local other_uid

	in_ct groupadd -f pid1-admins
	in_ct getent passwd pid1-member >/dev/null ||
		in_ct useradd -M -s /usr/sbin/nologin -G ttrpcd,pid1-admins pid1-member
	in_ct getent passwd pid1-other >/dev/null ||
		in_ct useradd -M -s /usr/sbin/nologin -G ttrpcd pid1-other
	other_uid=$(in_ct id -u pid1-other)
	config <<<"$BASE_CONFIG
[listener ttrpcd]
allow-users = root ttrpcd
allow-groups = pid1-admins"
	start
	OUT=$(as_user pid1-member "$CTL" -s "$SOCK" health 2>&1)
	expect "ttrpcctl health as pid1-member (pid1-admins supplementary)" "0 SERVING" "$? $OUT"
	OUT=$(as_user pid1-other "$CTL" -s "$SOCK" health 2>&1) &&
		fail "ttrpcctl health as pid1-other: admitted ($OUT)"
	journal_has "the refusal" "refusing connection of pid [0-9]+ uid $other_uid gid [0-9]+: Operation not permitted"

	in_ct systemctl stop ttrpcd.service
	config <<<"$BASE_CONFIG
[control]
allow-users = root ttrpcd
allow-groups = pid1-admins"
	start
	OUT=$(as_user pid1-member "$CTL" -s "$SOCK" list 2>&1)
	expect_re "ttrpcctl list as pid1-member" "^0 .*ttrpcd\.v1\.Control" "$? $OUT"
	OUT=$(as_user pid1-other "$CTL" -s "$SOCK" list 2>&1)
	expect_re "ttrpcctl list as pid1-other" "^[1-9][0-9]* .*PERMISSION_DENIED" "$? $OUT"
	OUT=$(as_user pid1-other "$CTL" -s "$SOCK" health 2>&1)
	expect "ttrpcctl health as pid1-other (the listener admits all)" "0 SERVING" "$? $OUT"
}

# ConfigurationDirectory=: ttrpcd reads /etc/ttrpcd/ttrpcd.conf, not the
# config of the build's sysconfdir (which says otherwise here).
check_config_directory() {
	local sysconf

	sysconf=$(in_ct "$TTRPCD" --help | tr -d '\n' | sed -n 's/.*else \([^ )]*\)).*/\1/p')
	expect "ConfigurationDirectory" ttrpcd "$(prop ttrpcd.service ConfigurationDirectory)"
	[ -n "$sysconf" ] || fail "ttrpcd --help names no sysconfdir config"
	if [ -n "$sysconf" ] && [ "$sysconf" != "$CONF" ]; then
		mkdir -p "$(dirname "$ROOT$sysconf")"
		printf '[ttrpcd]\nnot-a-key = 1\n' >"$ROOT$sysconf"
	fi
	config <<<"${BASE_CONFIG/greeting = Hello/greeting = From /etc}"
	start
	hello
	expect "Hello with the config of ConfigurationDirectory=" '{"text":"From /etc, pid1!"}' "$HELLO"
	[ -n "$sysconf" ] && [ "$sysconf" != "$CONF" ] && rm -f "$ROOT$sysconf"
}

# Restart=always: a clean exit (SIGTERM from outside systemd) goes through
# auto-restart, which keeps the fd store: the idle connection ttrpcd
# stored on its way out is served by the next ttrpcd.
check_clean_exit_store() {
	start
	hold_connection "SIGTERM"
	kill_restarted TERM "a clean exit (SIGTERM)"
	journal_has "ttrpcd's log" "all calls finished; exiting"
	client_say held check
	client_line held 3 30
	expect "a request on the held connection after the clean exit" SERVING "$LINE"
	client_end held
}

# StateDirectory=/CacheDirectory=: each module's own subdirectory, where
# it can write under ProtectSystem=strict.
check_module_dirs() {
	local d

	config <<<"$BASE_CONFIG
[module testmod]
file = $FIXTURES/testmod.so
dirs = yes"
	start
	journal_has "testmod" "testmod: state: /var/lib/ttrpcd/testmod"
	journal_has "testmod" "testmod: cache: /var/cache/ttrpcd/testmod"
	for d in /var/lib/ttrpcd/testmod /var/cache/ttrpcd/testmod; do
		expect "$d: kind, mode, owner; the file testmod left" \
			"directory 700 ttrpcd:ttrpcd regular empty file" \
			"$(in_ct stat -c '%F %a %U:%G' "$d") $(in_ct stat -c %F "$d/testmod-was-here")"
	done
}

# ---- the packages: their config, an upgrade, removal and purge ----

# The package's conffile, as it ships: health alone; each setting it shows
# commented out (#key = value, #[section]) valid once uncommented.
check_conffile() {
	local shipped=$T/shipped.conf out

	expect "ttrpcd's conffiles" /etc/ttrpcd/ttrpcd.conf \
		"$(in_ct dpkg-query --control-show ttrpcd conffiles | awk '{print $1}')"
	dpkg-deb --fsys-tarfile "$(ls "$DEBS"/ttrpcd_*.deb | head -n 1)" |
		tar -xOf - ./etc/ttrpcd/ttrpcd.conf >"$shipped"
	config <"$shipped"
	start
	ctl list
	expect "ttrpcctl list with the package's ttrpcd.conf" "0 grpc.health.v1.Health ttrpcd.v1.Control" \
		"$RC $(sort <<<"$OUT" | tr '\n' ' ' | sed 's/ $//')"
	sed 's/^#\([a-z[]\)/\1/' "$shipped" >"$ROOT/root/pid1-uncommented.conf"
	out=$(in_ct "$TTRPCD" --check-config --config /root/pid1-uncommented.conf 2>&1)
	expect_re "ttrpcd --check-config, every setting of the package's ttrpcd.conf uncommented" \
		"^configuration OK: 1 listener, 1 module" "$(tail -n 1 <<<"$out")"
	rm -f "$ROOT/root/pid1-uncommented.conf"
}

# apt install of the newer build over the running one, with a connection
# held: dh_installsystemd's try-restart (a restart: systemd keeps the fd
# store) hands it to the new ttrpcd, which answers its next call.
check_upgrade() {
	local old t0 version

	[ -n "$(ls "$DEBS"/upgrade/ttrpcd_*.deb 2>/dev/null)" ] || {
		fail "no newer build in $DEBS/upgrade (make debs makes it)"
		return
	}
	version=$(dpkg-deb -f "$(ls "$DEBS"/upgrade/ttrpcd_*.deb | head -n 1)" Version)
	start
	old=$MAINPID
	hold_connection "upgrade"
	copy_debs "$DEBS/upgrade" upgrade || fail "copying $DEBS/upgrade"
	t0=$SECONDS
	apt_get install $CT_FILES || fail "apt-get install of the newer build"
	echo "  apt-get install $DEBS_VERSION -> $version: $((SECONDS - t0)) s"
	expect "the packages' versions after the upgrade" "$version $version $version $version" \
		"$(in_ct dpkg-query -W -f='${Version} ' libttrpc0 libttrpc-dev ttrpcd containerd-shim-ttrpcd |
			sed 's/ $//')"
	wait_prop ttrpcd.service SubState running 30 || fail "after the upgrade: expected running, saw $SEEN"
	MAINPID=$(prop ttrpcd.service MainPID)
	[ "$MAINPID" != "$old" ] || fail "after the upgrade: expected a new main process, saw $old still"
	in_ct kill -0 "$old" 2>/dev/null && fail "after the upgrade: the old ttrpcd ($old) still runs"
	# The old process ran a file the upgrade replaced ("... (deleted)").
	expect "the new process's executable" /usr/sbin/ttrpcd "$(in_ct readlink "/proc/$MAINPID/exe")"
	client_say held check
	client_line held 3 30
	expect "a request on the held connection after the upgrade" SERVING "$LINE"
	journal_has "systemd's log" "Stopping ttrpcd.service"
	client_end held
}

# apt remove: the socket and the service stop, the conffile stays.
check_remove() {
	local st u

	start
	# The example modules, which install_debs built and installed: their
	# files are not the packages' (their author would remove them too).
	in_ct sh -c 'rm -f "$(pkg-config --variable=moduledir ttrpcd-module)"/example.so \
		"$(pkg-config --variable=moduledir ttrpcd-module)"/stream.so'
	apt_get remove libttrpc0 libttrpc-dev ttrpcd containerd-shim-ttrpcd ||
		fail "apt-get remove"
	st=$(in_ct dpkg-query -W -f='${db:Status-Abbrev}' ttrpcd)
	expect "ttrpcd's state once removed" "rc" "${st% }"
	for u in ttrpcd.service ttrpcd.socket; do
		expect "$u once removed" inactive "$(prop $u ActiveState)"
	done
	in_ct pgrep -x ttrpcd >/dev/null && fail "ttrpcd still runs: $(in_ct pgrep -ax ttrpcd)"
	in_ct "$CLIENT" held "$SOCK" </dev/null >/dev/null 2>&1 && fail "$SOCK still accepts connections"
	[ -f "$ROOT$CONF" ] || fail "$CONF: removed with the package"
	[ -e "$ROOT/usr/sbin/ttrpcd" ] && fail "/usr/sbin/ttrpcd: still there"
}

# apt purge: no file of ttrpcd is left on the system, but the journal and
# the logs of dpkg and apt; its user stays. What the container added is its
# overlay's upper layer (and /run, a tmpfs of its own); the test's own
# files go first.
check_purge() {
	local left

	in_ct systemctl stop containerd.service 2>/dev/null
	rm -rf "$ROOT$FIXTURES" "$ROOT/var/lib/ttrpcd-pid1" "$ROOT$CT_DEBS" "$ROOT/root/pid1-example"
	# Removed, only ttrpcd has files left (its conffile): apt knows no other.
	apt_get purge ttrpcd || fail "apt-get purge ttrpcd"
	expect "dpkg's state of the packages once purged" "" \
		"$(in_ct dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' libttrpc0 libttrpc-dev ttrpcd \
			containerd-shim-ttrpcd 2>/dev/null)"
	left=$({
		cd "$T/rw/upper" && find . -name '*ttrpc*' ! -type c ! -path './var/log/*' | sed 's/^\.//'
		# (containerd.sock.ttrpc is containerd's own socket.)
		in_ct find /run -xdev -name '*ttrpc*' ! -name containerd.sock.ttrpc
	} 2>&1 | tr '\n' ' ')
	expect "files of ttrpcd after apt purge" "" "$left"
	expect_re "ttrpcd's user, kept" "^ttrpcd:x:" "$(in_ct getent passwd ttrpcd)"
	expect "ttrpcd.socket, ttrpcd.service once purged (LoadState)" "not-found not-found" \
		"$(prop ttrpcd.socket LoadState) $(prop ttrpcd.service LoadState)"
}

# Under sanitizers, whatever they reported in any check.
check_sanitizer_reports() {
	local reports

	# The shim's ttrpcd logs into containerd's journal.
	reports=$(in_ct journalctl --no-pager -q -o cat -u ttrpcd.service -u containerd.service |
		grep -E -A3 "ERROR: AddressSanitizer|runtime error:")
	expect "sanitizer reports in ttrpcd's journal" "" "$reports"
}

CHECKS="socket_activation ready_status reload restart_held watchdog crash stop_in_flight stopping
	journal containerd module_globals default_modules stream_example
	installed limits reload_reported socket_owner peer_groups config_directory clean_exit_store
	module_dirs"
# Last: they remove the packages.
DEB_CHECKS="conffile upgrade remove purge"
if [ -n "$DEBS" ]; then
	CHECKS="$CHECKS $DEB_CHECKS"
else
	echo "not run without the packages: $DEB_CHECKS"
fi
CHECKS=${PID1_CHECKS:-$CHECKS}

# A build with AddressSanitizer (make check-sanitizers): ASan's reports
# go to the journal, which a last check reads. Its SIGSEGV handler would
# turn a crash into exit status 1, and LeakSanitizer's tracer cannot work in
# the unit's sandbox (ttrpcd hangs at exit until TimeoutStopSec): both off,
# in a drop-in under /run.
sanitizer_setup() {
	in_ct ldd "$TTRPCD" | grep -q libasan || return 0
	echo "ttrpcd is built with AddressSanitizer: handle_segv=0 detect_leaks=0"
	in_ct mkdir -p /run/systemd/system/ttrpcd.service.d
	in_ct sh -c 'printf "[Service]\nEnvironment=ASAN_OPTIONS=handle_segv=0:detect_leaks=0\n" \
		>/run/systemd/system/ttrpcd.service.d/asan.conf'
	in_ct systemctl daemon-reload
	CHECKS="$CHECKS sanitizer_reports"
}

# Each check from a stopped ttrpcd.service with the base config, the
# socket listening.
run_check() {
	local before=$failures name=$1 t0=$SECONDS

	echo "--- $name"
	in_ct systemctl stop ttrpcd.service 2>/dev/null
	[ -d "$ROOT/etc/systemd/system/ttrpcd.service.d" ] && watchdog_drop_in 0
	in_ct systemctl reset-failed ttrpcd.service ttrpcd.socket 2>/dev/null
	config <<<"$BASE_CONFIG"
	# (Not once the packages are removed.)
	[ "$(prop ttrpcd.socket LoadState)" = not-found ] || in_ct systemctl start ttrpcd.socket
	CURSOR=$(in_ct journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p')
	"check_$name"
	if [ "$failures" = "$before" ]; then
		passed=$((passed + 1))
		echo "PASS: $name ($((SECONDS - t0)) s)"
		return
	fi
	echo "--- the journal of ttrpcd since '$name' began:"
	in_ct journalctl --no-pager -q -o short-monotonic --after-cursor="$CURSOR" -u ttrpcd.service \
		-u ttrpcd.socket | tail -n 60 | sed 's/^/  /'
}

start_s=$SECONDS
boot || {
	echo "FAIL: the container did not boot"
	exit 1
}
echo "booted in $((SECONDS - start_s)) s: systemd $(in_ct systemctl --version | sed -n '1s/systemd \([0-9]*\).*/\1/p') as PID 1 of $MACHINE"
install_ttrpcd || {
	echo "FAIL: the installation"
	exit 1
}
find_installed || {
	echo "FAIL: the installation"
	exit 1
}
sanitizer_setup
for c in $CHECKS; do run_check "$c"; done
echo "$passed checks passed, $failures failures, $((SECONDS - start_s)) s"
[ "$failures" = 0 ]
