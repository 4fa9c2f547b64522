#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ttrpcctl against a real ttrpcd on a real socket: every command, JSON calls
# of every interop method (streams too) with the descriptors the daemon
# serves or protoc's, the raw protoc pipeline and the error exits; and that
# ttrpcctl runs no code of a module (the described module marks every
# process that loads it). With --root (ttrpcctl-root.sh), the cases that
# need root and setpriv instead: skipped (77) without them.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
PROTOC=${PROTOC:-protoc}
CTL=$top_builddir/daemon/ttrpcctl/ttrpcctl
TTRPCD=$top_builddir/daemon/ttrpcd
INTEROP_SO=$top_builddir/tests/interop/.libs/interop.so
HEALTH_SO=$top_builddir/services/health/.libs/health.so
TESTMOD_SO=$top_builddir/tests/modules/.libs/testmod.so
DESCRIBED_SO=$top_builddir/tests/modules/.libs/described.so
ABI10_SO=$top_builddir/tests/modules/.libs/abi10.so
PROTO_DIR=$top_srcdir/tests/interop
SVC=ttrpc.interop.v1.Interop
DSVC=ttrpc.test.v1.Described

tmp=$(mktemp -d /tmp/ttrpcctl-test.XXXXXX)
sock=$tmp/ttrpcd.sock
daemon_pid=
passed=0 failed=0 skipped=0

cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# run CMD...: runs it; its stdout, stderr and status in $out, $err, $rc.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# run_in INPUT CMD...: as run, with INPUT on stdin.
run_in() {
	local input=$1
	shift
	printf '%s' "$input" | "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $1"
	echo "  status: $rc"
	echo "  stdout: $out"
	echo "  stderr: $err"
}
skip() { skipped=$((skipped + 1)); echo "SKIP: $1"; }

# expect NAME STATUS STDOUT [STDERR-SUBSTRING]: the last run gave exactly these.
expect() {
	local name=$1 want_rc=$2 want_out=$3 want_err=${4-}

	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] &&
		{ [ -n "$want_err" ] && [[ $err == *"$want_err"* ]] ||
			{ [ -z "$want_err" ] && [ -z "$err" ]; }; }; then
		ok "$name"
	else
		echo "  want status $want_rc, stdout: $want_out"
		[ -n "$want_err" ] && echo "  want stderr with: $want_err"
		bad "$name"
	fi
}

# expect_has NAME STATUS STDOUT-SUBSTRING...: status and pieces of stdout, no stderr.
expect_has() {
	local name=$1 want_rc=$2 piece
	shift 2

	if [ "$rc" != "$want_rc" ] || [ -n "$err" ]; then
		bad "$name"
		return
	fi
	for piece in "$@"; do
		if [[ $out != *"$piece"* ]]; then
			echo "  want stdout with: $piece"
			bad "$name"
			return
		fi
	done
	ok "$name"
}

# ---- as root: users the daemon keeps out (ttrpcctl-root.sh) ----

if [ "${1-}" = --root ]; then
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		echo "SKIP: needs root and setpriv (it runs ttrpcctl under another uid)"
		exit 77
	fi
	# Both cases run the build's ttrpcctl as nobody: a build tree under a
	# directory that keeps others out (mktemp -d) leaves none to run.
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" --version
	if [ "$rc" != 0 ]; then
		echo "SKIP: nobody (uid 65534) cannot run $CTL here: $err"
		exit 77
	fi
	"$TTRPCD" --socket "$sock" --module "$INTEROP_SO" 2>"$tmp/ttrpcd.log" &
	daemon_pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	# Permission denied: a user the socket's mode keeps out.
	chmod 755 "$tmp"
	chmod 600 "$sock"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$sock" list
	if [[ $err == *"ERROR: cannot connect to"* ]]; then
		expect "a user the socket keeps out: permission denied" 1 "" \
			"ERROR: cannot connect to $sock: Permission denied"
	else
		skip "permission denied (nobody cannot run $CTL here: $err)"
	fi
	# A listener whose allow-list refuses the peer closes the connection:
	# ttrpcctl says so and guesses no cause (the daemon's log has it).
	printf '[ttrpcd]\nmodule-dir = %s/none\n[listener t]\npath = %s/refuse.sock\nmode = 0666\nallow-users = root\n' \
		"$tmp" "$tmp" >"$tmp/refuse.conf"
	"$TTRPCD" --config "$tmp/refuse.conf" 2>>"$tmp/ttrpcd.log" &
	refuse_pid=$!
	for _ in $(seq 100); do
		[ -S "$tmp/refuse.sock" ] && break
		sleep 0.1
	done
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$tmp/refuse.sock" stats
	kill "$refuse_pid"
	wait "$refuse_pid"
	if [ "$rc" = 1 ] && [[ $err != *allow-list* ]] &&
		[[ $err == *"ERROR: ttrpcd closed the connection on $tmp/refuse.sock before answering"* ||
			$err == *"ERROR: PERMISSION_DENIED"* ]]; then
		ok "a peer the listener refuses: the connection closed, no guessed cause"
	elif [[ $err == *"ERROR: cannot connect to"* ]]; then
		skip "a refused peer (nobody cannot reach $tmp here: $err)"
	else
		bad "a peer the listener refuses: the connection closed, no guessed cause"
	fi
	echo "ttrpcctl as root: $passed passed, $failed failed, $skipped skipped"
	# A case that could not run makes the whole part a skip, never a pass.
	[ "$failed" = 0 ] || exit 1
	[ "$skipped" = 0 ] || exit 77
	exit 0
fi

# ---- the daemon ----

# Every process that loads the described module leaves a file here.
export TTRPCCTL_TEST_MARKS=$tmp/marks
mkdir "$TTRPCCTL_TEST_MARKS"
modules=(--module "$INTEROP_SO" --module "$DESCRIBED_SO" --module "$ABI10_SO")
have_health=
if [ -f "$HEALTH_SO" ]; then
	have_health=1
	modules+=(--module "$HEALTH_SO")
fi
"$TTRPCD" --socket "$sock" "${modules[@]}" 2>"$tmp/ttrpcd.log" &
daemon_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.1
done
if ! [ -S "$sock" ]; then
	echo "ttrpcd did not start:"
	cat "$tmp/ttrpcd.log"
	exit 1
fi
export TTRPCD_SOCKET=$sock

# ---- list, stats, reload ----

run "$CTL" list
expect_has "list: every service" 0 "$SVC" ttrpcd.v1.Control
run "$CTL" list $SVC
expect_has "list SERVICE: the methods and their shapes" 0 \
	"$SVC (module interop, " \
	"rpc Echo(ttrpc.interop.v1.EchoRequest) returns (ttrpc.interop.v1.EchoResponse);" \
	"rpc Download(ttrpc.interop.v1.StreamRequest) returns (stream ttrpc.interop.v1.Chunk);" \
	"rpc Upload(stream ttrpc.interop.v1.Chunk) returns (ttrpc.interop.v1.Summary);" \
	"rpc Chat(stream ttrpc.interop.v1.Chunk) returns (stream ttrpc.interop.v1.Chunk);"
run "$CTL" list --json
expect_has "list --json: modules with their paths, kinds by name" 0 \
	'"name": "interop"' '"path": "/' '"kind": "BIDI_STREAM"' \
	'"inputType": "ttrpc.interop.v1.EchoRequest"'
run "$CTL" list no.such.Service
expect "list: an unknown service" 1 "" "ERROR: unknown service no.such.Service"
run "$CTL" -s "$sock" reload
expect "reload" 0 "reloaded"

# ---- call: every interop method in JSON ----

run "$CTL" call $SVC/Echo -d '{"text":"hé \"there\"","payload":"AAEC/w=="}'
expect "call Echo" 0 '{"payload":"AAEC/w==","text":"hé \"there\""}'
run "$CTL" call $SVC.Echo -d '{"text":""}'
expect "call Echo: SERVICE.METHOD, defaults omitted" 0 '{}'
run_in '{"text":"from stdin"}' "$CTL" call $SVC/Echo -d @
expect "call Echo: -d @ reads stdin" 0 '{"text":"from stdin"}'
run "$CTL" call $SVC/Sleep -d '{"millis":"10"}'
expect "call Sleep" 0 '{}'
run "$CTL" call $SVC/Sleep -d '{"millis":5000}' --timeout 200ms
expect "call Sleep --timeout: DEADLINE_EXCEEDED" 1 "" "ERROR: DEADLINE_EXCEEDED: "
run "$CTL" call $SVC/Fail -d '{"code":5,"message":"no such thing"}'
expect "call Fail code 5: NOT_FOUND" 1 "" "ERROR: NOT_FOUND: no such thing"
run "$CTL" call $SVC/Metadata -H trace-id=abc -H 'user: me'
expect "call Metadata -H" 0 '{"pairs":[{"key":"trace-id","value":"abc"},{"key":"user","value":"me"}]}'
run "$CTL" call $SVC/Peer
expect_has "call Peer: 64-bit as a string, zero uid omitted" 0 '{"pid":"'
run "$CTL" call $SVC/Download -d '{"count":3,"size":2}'
expect_has "call Download: one object per line" 0 \
	'{"payload":"' '{"index":1,"payload":"' '{"index":2,"payload":"'
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] && ok "call Download: three lines" ||
	bad "call Download: three lines"
run_in $'{"index":0,"payload":"YWJj"}\n\n{"index":1,"payload":"ZGU="}\n' "$CTL" call $SVC/Upload
expect "call Upload: stdin, one object per line" 0 '{"count":2,"bytes":"5"}'
run "$CTL" call $SVC/Upload -d '{"payload":"YQ=="} {"payload":"Yg=="} {"payload":"Yw=="}'
expect "call Upload: objects of -d" 0 '{"count":3,"bytes":"3"}'
printf '{"index":1}\n{"index":2,"payload":"eA=="}\n' >"$tmp/chat.json"
"$CTL" call $SVC/Chat <"$tmp/chat.json" >"$tmp/out" 2>"$tmp/err"
rc=$? out=$(cat "$tmp/out") err=$(cat "$tmp/err")
expect "call Chat: a regular file on stdin" 0 $'{"index":1}\n{"index":2,"payload":"eA=="}'
# A conversation: the first reply comes before the second message is written.
{
	echo '{"index":7}'
	for _ in $(seq 50); do
		grep -q '"index":7' "$tmp/conv" 2>/dev/null && break
		sleep 0.1
	done
	# Without the first reply in time, a message that spoils the output.
	grep -q '"index":7' "$tmp/conv" 2>/dev/null && echo '{"index":8}' || echo '{"index":99}'
} | "$CTL" call $SVC/Chat >"$tmp/conv" 2>"$tmp/err"
rc=$? out=$(cat "$tmp/conv") err=$(cat "$tmp/err")
expect "call Chat: bidirectional, answers as it goes" 0 $'{"index":7}\n{"index":8}'
run "$CTL" call ttrpcd.v1.Control/List -d '{"service":"ttrpcd.v1.Control"}'
expect_has "call a built-in service" 0 '"services":[{"name":"ttrpcd.v1.Control"' \
	'{"name":"List","inputType":"ttrpcd.v1.ListRequest","outputType":"ttrpcd.v1.ListResponse"}'

# ---- descriptors: the daemon's, protoc's, none ----

run "$CTL" call $DSVC/Echo -d '{"name":"n","counts":{"a":"1","b":-2},"bags":{"7":{"name":"x"}}}'
expect "call: map fields are objects (the entry types' map_entry)" 0 \
	'{"name":"n","counts":{"a":"1","b":"-2"},"bags":{"7":{"name":"x"}}}'
run "$CTL" call ttrpc.test.v1.Old/Echo -d '{}'
expect "call: a module built before descriptors were embedded" 1 "" \
	"ERROR: ttrpcctl cannot describe ttrpc.test.v1.Old: module abi10 ($ABI10_SO) serves it without descriptors"
[[ $err == *"give --descriptor-set FILE (the output of protoc -o FILE --include_imports"* ]] &&
	ok "call: --descriptor-set suggested for it" || bad "call: --descriptor-set suggested for it"
"$PROTOC" -I"$PROTO_DIR" --include_imports -o "$tmp/interop.pb" "$PROTO_DIR/interop.proto"
run "$CTL" call --descriptor-set "$tmp/interop.pb" $SVC/Echo -d '{"text":"offline"}'
expect "call --descriptor-set: the types of protoc -o" 0 '{"text":"offline"}'
run "$CTL" call -D "$tmp/interop.pb" $SVC/Download -d '{"count":2,"size":1}'
expect_has "call --descriptor-set: a stream" 0 '{"payload":"' '{"index":1,"payload":"'
run "$CTL" call -D "$tmp/interop.pb" $DSVC/Echo
expect "call --descriptor-set: a service the files lack" 1 "" \
	"ERROR: unknown service $DSVC: the --descriptor-set files do not declare it"
run "$CTL" call -D "$tmp/missing.pb" $SVC/Echo
expect "call --descriptor-set: a missing file" 1 "" \
	"ERROR: $tmp/missing.pb: No such file or directory"
run "$CTL" call -D "$INTEROP_SO" $SVC/Echo
expect "call --descriptor-set: a file that is none" 1 "" \
	"ERROR: $INTEROP_SO: not a google.protobuf.FileDescriptorSet"
run "$CTL" list -D "$tmp/interop.pb"
expect "usage: --descriptor-set is call's" 2 "" "list takes no --descriptor-set"
run "$CTL" call $SVC
expect "call SERVICE without a method: the service's methods" 1 "" \
	"ERROR: $SVC is a service: which method? (it has: Echo, Sleep, Fail,"

# ---- the deadline of a call ----

run "$CTL" call $DSVC/Deadline
if [ "$rc" = 0 ] && [[ $out =~ ^\{\"hasDeadline\":true,\"remainingMs\":\"([0-9]+)\"\}$ ]] &&
	[ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[1]}" -le 30000 ]; then
	ok "call: a unary call has a deadline of 30 s by default"
else
	bad "call: a unary call has a deadline of 30 s by default"
fi
run "$CTL" call $DSVC/Deadline --timeout 0
expect "call --timeout 0: no deadline" 0 '{}'
run "$CTL" call $DSVC/Deadline --timeout 5min
if [ "$rc" = 0 ] && [[ $out =~ \"remainingMs\":\"([0-9]+)\" ]] &&
	[ "${BASH_REMATCH[1]}" -gt 30000 ] && [ "${BASH_REMATCH[1]}" -le 300000 ]; then
	ok "call --timeout: replaces the default"
else
	bad "call --timeout: replaces the default"
fi

# ---- stats, after the calls ----

run "$CTL" stats
expect_has "stats: counts moved with the calls" 0 "uptime:" "connections:" \
	"$SVC/Echo " "$SVC/Fail "
if [[ $out =~ $SVC/Fail\ +([0-9]+)\ +([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] &&
	[ "${BASH_REMATCH[2]}" -ge 1 ]; then
	ok "stats: Fail counted as a call and an error"
else
	bad "stats: Fail counted as a call and an error"
fi
run "$CTL" stats --json
expect_has "stats --json" 0 '"connectionsTotal": "' '"latencyBoundsUs": [' '"method": "Echo"'

# list, call and stats ran: only the daemon loaded the described module.
run "$CTL" list $DSVC
expect_has "list: the described module" 0 "$DSVC (module described, "
out=$(cd "$TTRPCCTL_TEST_MARKS" && echo *)
if [ "$out" = "loaded-by-$daemon_pid" ]; then
	ok "no module code ran in ttrpcctl: the daemon alone loaded the module"
else
	rc=- err="marks: want loaded-by-$daemon_pid"
	bad "no module code ran in ttrpcctl: the daemon alone loaded the module"
fi

# ---- raw: protobuf bytes, composed with protoc ----

printf 'text: "raw" payload: "\\001\\002"' |
	"$PROTOC" --encode=ttrpc.interop.v1.EchoRequest -I"$PROTO_DIR" "$PROTO_DIR/interop.proto" |
	"$CTL" call --raw $SVC/Echo 2>"$tmp/err" |
	"$PROTOC" --decode=ttrpc.interop.v1.EchoResponse -I"$PROTO_DIR" "$PROTO_DIR/interop.proto" \
		>"$tmp/out"
rc=$? out=$(cat "$tmp/out") err=$(cat "$tmp/err")
expect "call --raw between protoc --encode and --decode" 0 $'payload: "\\001\\002"\ntext: "raw"'
run_in $'\x0a\x05' "$CTL" call --raw $SVC/Echo
expect "call --raw: malformed protobuf" 1 "" "ERROR: stdin holds no well-formed protobuf"

# ---- health ----

if [ -n "$have_health" ]; then
	run "$CTL" health
	expect "health: the daemon" 0 "SERVING"
	run "$CTL" health $SVC
	expect "health SERVICE" 0 "SERVING"
	run "$CTL" health no.such.Service
	expect "health: an unknown service" 1 "" "ERROR: NOT_FOUND: "
	run "$CTL" health $SVC --watch --timeout 300ms
	expect "health --watch --timeout" 0 "SERVING"
	run "$CTL" call grpc.health.v1.Health/Check -d '{"service":"'$SVC'"}'
	expect "call grpc.health.v1.Health/Check in JSON" 0 '{"status":"SERVING"}'
	"$CTL" health --watch >"$tmp/watch" 2>"$tmp/watch.err" &
	watch_pid=$!
	for _ in $(seq 50); do
		[ -s "$tmp/watch" ] && break
		sleep 0.1
	done
	kill "$daemon_pid"
	wait "$daemon_pid"
	daemon_pid=
	wait "$watch_pid"
	rc=$? out=$(cat "$tmp/watch") err=$(cat "$tmp/watch.err")
	expect "health --watch: each change, then the end" 1 $'SERVING\nNOT_SERVING' "ERROR: "
else
	failed=$((failed + 1))
	echo "FAIL: health: $HEALTH_SO is not built"
	kill "$daemon_pid"
	wait "$daemon_pid"
	daemon_pid=
fi

# ---- errors, with the daemon gone ----

run "$CTL" list
expect "no daemon: the socket is missing" 1 "" \
	"ERROR: cannot connect to $sock: No such file or directory — is ttrpcd running?"
"$TTRPCD" --socket "$sock" --module "$INTEROP_SO" 2>>"$tmp/ttrpcd.log" &
daemon_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.1
done
run "$CTL" call no.such.Service/Method -d '{}'
expect "call: an unknown service" 1 "" "ERROR: unknown service no.such.Service"
run "$CTL" call $SVC/Nope
expect "call: an unknown method, and the known ones" 1 "" \
	"ERROR: service $SVC has no method Nope (it has: Echo, Sleep, Fail"
run "$CTL" call --raw no.such.Service/Method
expect "call --raw: an unknown service" 1 "" "ERROR: UNIMPLEMENTED: "
run "$CTL" call $SVC/Echo -d '{"text":1}'
expect "call: JSON that does not fit the type" 1 "" "ERROR: request: text: expected a string"
run "$CTL" call $SVC/Echo -d '{"text":'
expect "call: invalid JSON" 1 "" "ERROR: -d: incomplete JSON"
run_in $'{"index":1}\n{"index":\n' "$CTL" call $SVC/Upload
expect "call: invalid JSON on a stdin line" 1 "" "ERROR: stdin line 2: "
run "$CTL" frobnicate
expect "usage: an unknown command" 2 "" "unknown command frobnicate"
run "$CTL" stats --watch
expect "usage: an option of another command" 2 "" "stats takes no --watch"
run "$CTL" call Echo
expect "usage: call without SERVICE/" 2 "" "call wants SERVICE/METHOD"
run "$CTL" --version
if [ "$rc" = 0 ] && [[ $out =~ ^ttrpcctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]] && [ -z "$err" ]; then
	ok "--version"
else
	bad "--version"
fi
# ---- reload: what a module says when its reload fails ----

kill "$daemon_pid"
wait "$daemon_pid"
printf '[listener api]\npath = %s\n[module testmod]\nfile = %s\n' "$sock" "$TESTMOD_SO" \
	>"$tmp/ttrpcd.conf"
"$TTRPCD" --config "$tmp/ttrpcd.conf" 2>"$tmp/testmod.log" &
daemon_pid=$!
for _ in $(seq 100); do
	grep -q 'ready: ' "$tmp/testmod.log" && break
	sleep 0.1
done
printf 'serving = maybe\n' >>"$tmp/ttrpcd.conf"
run "$CTL" -s "$sock" reload
expect "reload: a module's reason for failing" 1 "" \
	"ERROR: FAILED_PRECONDITION: reload failed, the running configuration stays: module 'testmod': reload failed: serving = 'maybe': expected yes, no or unknown"

# ---- stats: the oldest calls in flight ----

# testmod keeps an Echo of "hold" until one of "release" (text is field 2).
printf '\x12\x04hold' | "$CTL" -s "$sock" call --raw ttrpc.test.v1.Greeter/Echo >/dev/null 2>&1 &
hold_pid=$!
for _ in $(seq 100); do
	run "$CTL" -s "$sock" stats
	[[ $out == *"ttrpc.test.v1.Greeter/Echo  pid "* ]] && break
	sleep 0.1
done
expect_has "stats: the oldest calls in flight, their age and their caller" 0 \
	"calls in flight: 2" "s  ttrpc.test.v1.Greeter/Echo  pid $hold_pid uid $(id -u)"
printf '\x12\x07release' | "$CTL" -s "$sock" call --raw ttrpc.test.v1.Greeter/Echo >/dev/null
wait "$hold_pid"
run "$CTL" -s "$sock" stats
expect_has "stats: none once answered" 0 "calls in flight: 1"
if [[ $out == *"ttrpc.test.v1.Greeter/Echo  pid "* ]]; then
	bad "stats: the answered call is still listed"
fi

echo "ttrpcctl: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
