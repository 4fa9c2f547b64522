/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security and faults of the real ttrpcd: socket files with their
 * configured mode and owner, per-listener peer-credential allow-lists
 * against a client under another uid, modules refused from places others
 * can write to, nothing of a call's payload or metadata in the log; a
 * SIGKILL under load with the fd store keeping the listening socket, and a
 * SIGTERM under load that answers every call accepted before it.
 *
 * Run as "test-robust --probe SOCKET", the program is the client that the
 * permission test starts under another uid: one Echo, its result on stderr.
 * Every wait is bounded; nothing asserts on timing.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "check-parts.h"
#include "daemon-harness.h"
#include "daemon-peer.h"
#include "interop.pb-c.h"

#define NOBODY 65534
/* A gid nobody has as primary group: the probe may have it as a supplementary one. */
#define MEMBERS "4242"

static const char *interop_so(void)
{
	return build_path("tests/interop/.libs/interop.so");
}

/* A listener's mode; its owner and group by default: the daemon's user and group. */
START_TEST(test_socket_mode)
{
	const char *conf = path_in("ttrpcd.conf");
	struct stat st;
	struct proc p;

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n"
		   "[listener api]\npath = %s\n"
		   "[listener private]\npath = %s\nmode = 0600\n"
		   "[module interop]\nfile = %s\n",
		   tmp, path_in("api.sock"), path_in("private.sock"), interop_so());
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	/* The default: 0660, the daemon's user and group. */
	ck_assert_int_eq(stat(path_in("api.sock"), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_gid, getegid());
	ck_assert_int_eq(stat(path_in("private.sock"), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_gid, getegid());
	ck_assert_int_eq(echo(path_in("api.sock"), INTEROP, "api", NULL, 0), 0);
	ck_assert_int_eq(echo(path_in("private.sock"), INTEROP, "private", NULL, 0), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/*
 * As root: owner= and group= other than the daemon's own (root's), so that
 * a chown() that did nothing leaves the socket root's and fails the test.
 */
START_TEST(test_socket_owner)
{
	const char *conf = path_in("ttrpcd.conf");
	struct stat st;
	struct proc p;

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n"
		   "[listener private]\npath = %s\nmode = 0600\nowner = %u\ngroup = %u\n"
		   "[module interop]\nfile = %s\n",
		   tmp, path_in("private.sock"), NOBODY, NOBODY, interop_so());
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	ck_assert_int_eq(stat(path_in("private.sock"), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_ne(NOBODY, geteuid());
	ck_assert_uint_ne(NOBODY, getegid());
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_gid, NOBODY);
	ck_assert_int_eq(echo(path_in("private.sock"), INTEROP, "private", NULL, 0), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/*
 * ttrpcd run as uid and gid 65534 (setpriv, no capability) with a listener
 * that asks for @owner and @group: its own are no chown() at all, and
 * another's is refused by the kernel with EPERM, as the unit's system call
 * filter refuses chown(); either way the reason is said.
 */
START_TEST(test_socket_owner_unprivileged)
{
	const char *run = path_in("run"), *conf = path_in("ttrpcd.conf");
	const char *argv[] = { "/usr/bin/setpriv",
			       "--reuid=65534",
			       "--regid=65534",
			       "--clear-groups",
			       build_path("daemon/ttrpcd"),
			       "--config",
			       conf,
			       NULL };
	struct stat st;
	struct proc p;
	char *msg;

	ck_assert_int_eq(chmod(tmp, 0755), 0);
	ck_assert_int_eq(mkdir(run, 0755), 0);
	ck_assert_int_eq(chown(run, NOBODY, NOBODY), 0);
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener own]\npath = %s/own.sock\nowner = %u\n"
		   "group = %u\n[module interop]\nfile = %s\n",
		   tmp, run, NOBODY, NOBODY, interop_so());
	spawn(&p, argv, NULL, NULL, NULL, 0);
	ck_assert(log_wait(&p, "ready: 1 module"));
	ck_assert_int_eq(stat(path_in("run/own.sock"), &st), 0);
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_gid, NOBODY);
	ck_assert_int_eq(echo(path_in("run/own.sock"), INTEROP, "own", NULL, 0), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener theirs]\npath = %s/theirs.sock\n"
		   "owner = root\ngroup = root\n[module interop]\nfile = %s\n",
		   tmp, run, interop_so());
	spawn(&p, argv, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert_int_ge(
		asprintf(&msg,
			 "listener theirs: cannot give %s/theirs.sock to owner 0 and group "
			 "0: Operation not permitted (only a process with CAP_CHOWN may",
			 run),
		0);
	ck_assert_msg(strstr(p.log, keep(msg)), "expected '%s' in:\n%s", msg, p.log);
	ck_assert_int_eq(access(path_in("run/theirs.sock"), F_OK), -1);
}
END_TEST

/* The probe against @sock as uid and gid 65534, in @groups (NULL: none). */
static const char *probe_nobody(const char *sock, const char *groups)
{
	return probe_as_nobody("tests/integration/test-robust", sock, groups);
}

START_TEST(test_listener_allow_lists)
{
	const char *conf = path_in("ttrpcd.conf");
	struct proc p;

	ck_assert_int_eq(chmod(tmp, 0755), 0);
	/* Both sockets are open to all by mode: only the allow-lists decide. */
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n"
		   "[listener admins]\npath = %s\nmode = 0666\nallow-users = root\n"
		   "[listener nobodies]\npath = %s\nmode = 0666\nallow-groups = %u\n"
		   "[listener members]\npath = %s\nmode = 0666\nallow-groups = " MEMBERS "\n"
		   "[module interop]\nfile = %s\n",
		   tmp, path_in("admins.sock"), path_in("nobodies.sock"), NOBODY,
		   path_in("members.sock"), interop_so());
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	/* Refused by the listener: the connection is closed before any call. */
	ck_assert_str_eq(probe_nobody(path_in("admins.sock"), NULL), "probe: echo=transport error");
	ck_assert(log_wait(&p, "uid 65534 gid 65534: Operation not permitted"));
	ck_assert_int_eq(echo(path_in("admins.sock"), INTEROP, "root", NULL, 0), 0);
	/* Admitted by its group on the other listener, where root is not. */
	ck_assert_str_eq(probe_nobody(path_in("nobodies.sock"), NULL), "probe: echo=OK");
	ck_assert_int_lt(echo(path_in("nobodies.sock"), INTEROP, "root", NULL, 0), 0);
	ck_assert(log_wait(&p, "uid 0 gid 0: Operation not permitted"));
	/* A group it has only as a supplementary one admits it; without it, refused. */
	ck_assert_str_eq(probe_nobody(path_in("members.sock"), MEMBERS), "probe: echo=OK");
	ck_assert_str_eq(probe_nobody(path_in("members.sock"), "4343," MEMBERS), "probe: echo=OK");
	ck_assert_str_eq(probe_nobody(path_in("members.sock"), "4343"),
			 "probe: echo=transport error");
	ck_assert_str_eq(probe_nobody(path_in("members.sock"), NULL),
			 "probe: echo=transport error");
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* ---- modules ---- */

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
	/* chmod, not the umask, decides. */
	ck_assert_int_eq(chmod(to, mode), 0);
}

static const char *module_config(const char *file)
{
	const char *conf = path_in("ttrpcd.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n",
		   tmp, path_in("sock"), file);
	return conf;
}

/* ttrpcd and ttrpcd --check-config both exit 1 with "module 'interop' (@file): @why". */
static void expect_refused(const char *file, const char *why)
{
	const char *conf = module_config(file);
	const char *check[] = { build_path("daemon/ttrpcd"), "--check-config", "--config", conf,
				NULL };
	char *msg;
	struct proc p;

	ck_assert_int_ge(asprintf(&msg, "module 'interop' (%s): %s", file, why), 0);
	keep(msg);
	daemon_start(&p, conf, NULL);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert_msg(strstr(p.log, msg), "expected '%s' in:\n%s", msg, p.log);
	ck_assert_int_eq(access(path_in("sock"), F_OK), -1);
	spawn(&p, check, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert_msg(strstr(p.log, msg), "expected '%s' in:\n%s", msg, p.log);
}

START_TEST(test_module_in_writable_place)
{
	const char *ww = path_in("ww"), *gw = path_in("gw"), *ok = path_in("ok");
	char why[1024];
	struct proc p;

	ck_assert_int_eq(mkdir(ww, 0700), 0);
	ck_assert_int_eq(chmod(ww, 0777), 0);
	ck_assert_int_eq(mkdir(gw, 0755), 0);
	ck_assert_int_eq(mkdir(ok, 0755), 0);
	copy_file(interop_so(), path_in("ww/interop.so"), 0644);
	copy_file(interop_so(), path_in("gw/interop.so"), 0664);
	copy_file(interop_so(), path_in("ok/interop.so"), 0644);

	/* A directory anyone may write to. */
	snprintf(why, sizeof(why),
		 "refused: %s is writable by group or others (mode 0777); a "
		 "module and every directory above it may be writable only by root or ttrpcd's "
		 "user",
		 ww);
	expect_refused(path_in("ww/interop.so"), why);
	/* The file itself, writable by its group. */
	snprintf(why, sizeof(why), "refused: %s is writable by group or others (mode 0664)",
		 path_in("gw/interop.so"));
	expect_refused(path_in("gw/interop.so"), why);
	/* A link from a safe place is judged by where it leads. */
	ck_assert_int_eq(symlink("../ww/interop.so", path_in("ok/link.so")), 0);
	snprintf(why, sizeof(why), "refused: %s is writable by group or others (mode 0777)", ww);
	expect_refused(path_in("ok/link.so"), why);
	/* The same file in a safe place loads, under /tmp (root's, sticky). */
	daemon_start(&p, module_config(path_in("ok/interop.so")), NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	ck_assert_int_eq(echo(path_in("sock"), INTEROP, "safe", NULL, 0), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* As root: a module owned by someone else, in a safe place. */
START_TEST(test_module_owned_by_another)
{
	char why[1024];

	ck_assert_int_eq(mkdir(path_in("ok"), 0755), 0);
	copy_file(interop_so(), path_in("ok/theirs.so"), 0644);
	ck_assert_int_eq(chown(path_in("ok/theirs.so"), NOBODY, NOBODY), 0);
	snprintf(why, sizeof(why),
		 "refused: %s is owned by uid 65534, neither root nor "
		 "ttrpcd's user (uid 0)",
		 path_in("ok/theirs.so"));
	expect_refused(path_in("ok/theirs.so"), why);
}
END_TEST

/* ---- the log ---- */

#define SECRET_TEXT "SECRET-TEXT-7c1e"
#define SECRET_BYTES "SECRET-BYTES-51d2"
#define SECRET_META "SECRET-METADATA-9f3a"
#define SECRET_FAIL "SECRET-FAIL-0b47"

/* Calls that carry secrets, answered, at @level; none of them may show in the log. */
static void secrets_at(const char *level)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__FailRequest fail = TTRPC__INTEROP__V1__FAIL_REQUEST__INIT;
	const char *conf = path_in("ttrpcd.conf");
	uint8_t *env;
	struct proc p;
	size_t n;
	int fd;

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n%s%s%s[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n",
		   tmp, level ? "log-level = " : "", level ? level : "", level ? "\n" : "",
		   path_in("sock"), interop_so());
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	fd = peer_connect(path_in("sock"));
	req.text = (char *)SECRET_TEXT;
	req.payload.data = (uint8_t *)SECRET_BYTES;
	req.payload.len = strlen(SECRET_BYTES);
	n = peer_request(&env, "Echo", &req.base, "authorization", SECRET_META);
	ck_assert_int_eq(peer_send(fd, (uint32_t)n, 1, PEER_REQUEST, 0, env, n), 0);
	peer_expect(fd, 1, TTRPC_OK, "");
	free(env);
	/* The metadata of a call the server refuses, and the status a handler sets. */
	n = peer_request(&env, "NoSuchMethod", &req.base, "authorization", SECRET_META);
	ck_assert_int_eq(peer_send(fd, (uint32_t)n, 3, PEER_REQUEST, 0, env, n), 0);
	peer_expect(fd, 3, TTRPC_UNIMPLEMENTED, "method NoSuchMethod");
	free(env);
	fail.code = TTRPC_PERMISSION_DENIED;
	fail.message = (char *)SECRET_FAIL;
	n = peer_request(&env, "Fail", &fail.base, "authorization", SECRET_META);
	ck_assert_int_eq(peer_send(fd, (uint32_t)n, 5, PEER_REQUEST, 0, env, n), 0);
	peer_expect(fd, 5, TTRPC_PERMISSION_DENIED, SECRET_FAIL);
	free(env);
	close(fd);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_ptr_nonnull(strstr(p.log, "all calls finished"));
	ck_assert_msg(!strstr(p.log, "SECRET-"), "a secret in the log at level %s:\n%s",
		      level ? level : "default", p.log);
}

START_TEST(test_no_secret_in_log)
{
	/* The default level; and not even debug, whose lines name calls and codes only. */
	secrets_at(NULL);
	secrets_at("debug");
}
END_TEST

/* ---- faults ---- */

/* The fds the test, as service manager, keeps in its fd store. */
/* What a load client saw; never a refused connect, never silence. */
struct tally {
	unsigned ok, transport_errors, refused, silent, wrong;
};

/*
 * A load client, in its own process: connections of up to 5 Echo calls
 * each, one after another, until @stop is closed; a byte to @progress for
 * every call answered; the tally to @result.
 */
static void load_client(const char *sock, int stop, int progress, int result)
{
	struct tally t = { 0 };
	struct pollfd p = { .fd = stop, .events = POLLIN };

	while (poll(&p, 1, 0) == 0) {
		int fd = peer_connect(sock);

		if (fd == -ECONNREFUSED) {
			t.refused++;
			continue;
		}
		if (fd < 0) {
			t.wrong++;
			continue;
		}
		for (uint32_t id = 1; id < 10; id += 2) {
			struct peer_frame f;
			int r;

			if (peer_echo(fd, id, "load") < 0) {
				t.transport_errors++;
				break;
			}
			r = peer_read(fd, &f, WAIT_MS);
			if (r == 0) {
				t.transport_errors++;
				break;
			}
			if (r < 0) {
				t.silent++;
				break;
			}
			if (f.id == id && peer_status(&f, NULL, 0) == TTRPC_OK)
				t.ok++;
			else
				t.wrong++;
			peer_frame_clear(&f);
			if (write(progress, "x", 1) < 0) {
				/* The parent is not counting just now: no matter. */
			}
		}
		close(fd);
	}
	if (write(result, &t, sizeof(t)) != sizeof(t))
		_exit(1);
	_exit(0);
}

/* Wait until @n calls more were answered by the load clients. */
static bool progress_wait(int progress, unsigned n)
{
	uint64_t end = now_ms() + WAIT_MS;
	unsigned got = 0;
	char buf[4096];

	while (got < n && now_ms() < end) {
		struct pollfd p = { .fd = progress, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		r = read(progress, buf, sizeof(buf));
		if (r > 0)
			got += (unsigned)r;
	}
	return got >= n;
}

/* Forget what came meanwhile. */
static void progress_drain(int progress)
{
	char buf[4096];

	while (read(progress, buf, sizeof(buf)) > 0)
		;
}

START_TEST(test_sigkill_under_load_keeps_listener)
{
	enum { CLIENTS = 4 };
	const char *env[] = { notify_env(), NULL };
	const char *conf = module_config(interop_so());
	const char *argv[] = { build_path("daemon/ttrpcd"), "--config", conf, NULL };
	const char *sock = path_in("sock"), *names[16];
	int nfd = notify_bind(), stop[2], progress[2], result[2];
	struct tally sum = { 0 };
	struct store store = { 0 };
	pid_t kids[CLIENTS];
	struct proc a, b;

	daemon_start(&a, conf, env);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, &store));
	ck_assert_int_eq(store.n, 1);
	ck_assert_str_eq(store.names[0], "api");

	ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(progress, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(result, O_CLOEXEC), 0);
	for (int i = 0; i < CLIENTS; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			close(stop[1]);
			load_client(sock, stop[0], progress[1], result[1]);
		}
	}
	close(stop[0]);
	close(progress[1]);
	close(result[1]);

	/* Under load, the daemon dies at once, as a crashing handler would kill it. */
	ck_assert(progress_wait(progress[0], 200));
	kill(a.pid, SIGKILL);
	ck_assert_int_eq(proc_wait(&a, -1), -1);
	/* The service manager starts the next one with the stored listener. */
	for (size_t i = 0; i < store.n; i++)
		names[i] = store.names[i];
	spawn(&b, argv, env, store.fds, names, store.n);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, &store));
	ck_assert(strstr(b.log, "serving the socket passed by the service manager") ||
		  log_wait(&b, "serving the socket passed by the service manager"));
	progress_drain(progress[0]);
	ck_assert(progress_wait(progress[0], 200));

	close(stop[1]);
	for (int i = 0; i < CLIENTS; i++) {
		struct tally t;
		int status;

		ck_assert_int_eq(read(result[0], &t, sizeof(t)), sizeof(t));
		sum.ok += t.ok;
		sum.transport_errors += t.transport_errors;
		sum.refused += t.refused;
		sum.silent += t.silent;
		sum.wrong += t.wrong;
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	fprintf(stderr,
		"SIGKILL under load: %u calls answered, %u transport errors, %u refused "
		"connects, %u silent, %u wrong\n",
		sum.ok, sum.transport_errors, sum.refused, sum.silent, sum.wrong);
	ck_assert_uint_eq(sum.refused, 0);
	ck_assert_uint_eq(sum.silent, 0);
	ck_assert_uint_eq(sum.wrong, 0);
	ck_assert_uint_ge(sum.ok, 400);
	kill(b.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&b, 0), 0);
	for (size_t i = 0; i < store.n; i++)
		close(store.fds[i]);
	close(progress[0]);
	close(result[0]);
	close(nfd);
}
END_TEST

START_TEST(test_sigterm_under_load_answers_all)
{
	enum { CONNS = 8 };
	Ttrpc__Interop__V1__SleepRequest sleep = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	const char *conf = path_in("ttrpcd.conf");
	uint64_t end;
	int fds[CONNS];
	struct proc p;

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = debug\ndrain-timeout = 1min\n"
		   "[listener api]\npath = %s\n[module interop]\nfile = %s\n",
		   tmp, path_in("sock"), interop_so());
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	/* On each connection a Sleep, and two Echo calls behind it. */
	sleep.millis = 2000;
	for (int i = 0; i < CONNS; i++) {
		fds[i] = peer_connect(path_in("sock"));
		ck_assert_int_eq(peer_call(fds[i], 1, 0, "Sleep", &sleep.base), 0);
		ck_assert_int_eq(peer_echo(fds[i], 3, "behind"), 0);
		ck_assert_int_eq(peer_echo(fds[i], 5, "behind"), 0);
	}
	/* Every call accepted: the daemon logged each before its handler ran. */
	end = now_ms() + WAIT_MS;
	while ((count_in(p.log, "/Sleep from pid") < CONNS ||
		count_in(p.log, "/Echo from pid") < 2 * CONNS) &&
	       now_ms() < end)
		read_log(&p, 100);
	ck_assert_uint_eq(count_in(p.log, "/Sleep from pid"), CONNS);
	ck_assert_uint_eq(count_in(p.log, "/Echo from pid"), 2 * CONNS);
	kill(p.pid, SIGTERM);
	/* Most likely all 8 Sleeps; fewer is no failure: what is answered is answered. */
	ck_assert(log_wait(&p, " calls in flight, waiting up to 60000 ms"));
	/* Sent once stopping: never read, and the connection closes after its calls. */
	ck_assert_int_eq(peer_echo(fds[0], 7, "too late"), 0);
	for (int i = 0; i < CONNS; i++) {
		unsigned seen = 0;

		for (int j = 0; j < 3; j++) {
			struct peer_frame f;

			ck_assert_int_eq(peer_read(fds[i], &f, WAIT_MS), 1);
			ck_assert_int_eq(peer_status(&f, NULL, 0), TTRPC_OK);
			ck_assert(f.id == 1 || f.id == 3 || f.id == 5);
			seen |= 1u << f.id;
			peer_frame_clear(&f);
		}
		ck_assert_uint_eq(seen, 1u << 1 | 1u << 3 | 1u << 5);
		ck_assert(peer_wait_eof(fds[i], WAIT_MS));
		close(fds[i]);
	}
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_ptr_nonnull(strstr(p.log, "all calls finished"));
	ck_assert_uint_eq(count_in(p.log, "/Echo from pid"), 2 * CONNS);
}
END_TEST

/*
 * The RLIMIT_NOFILE that leaves the process exactly @room free fds: the
 * kernel hands out the lowest free number, and refuses one at or above the
 * limit, whatever is open higher up (valgrind's fds, or what the test
 * runner leaked into the daemon).
 */
static rlim_t limit_with_room(pid_t pid, int room)
{
	bool open_fd[1024] = { false };
	char path[64];
	struct dirent *e;
	rlim_t limit = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd < 1024)
			open_fd[fd] = true;
	}
	closedir(d);
	for (; room > 0; limit++)
		if (!open_fd[limit])
			room--;
	return limit;
}

/*
 * Out of fds, ttrpcd rests its listeners instead of retrying accept()
 * at once: the connection it serves is answered all along, the failures
 * are reported once per interval (10 s) and not once per retry (hundreds
 * of thousands a second before), and once fds are free again the
 * connections that waited in the backlog are served.
 */
START_TEST(test_accept_out_of_fds)
{
	enum { ROOM = 4, MORE = 16, LOADED_MS = 1500 };
	const char *sock = path_in("sock");
	struct rlimit was, low;
	int held, more[MORE];
	uint64_t start, elapsed;
	size_t reports;
	uint32_t id = 1;
	struct proc p;

	daemon_start(&p, module_config(interop_so()), NULL);
	ck_assert(log_wait(&p, "ready: 1 module"));
	held = peer_connect(sock);
	ck_assert_int_ge(held, 0);
	ck_assert_int_eq(peer_echo(held, id, "before"), 0);
	peer_expect(held, id, TTRPC_OK, "");
	/* Room for ROOM more connections, and MORE come. */
	ck_assert_int_eq(prlimit(p.pid, RLIMIT_NOFILE, NULL, &was), 0);
	low = was;
	low.rlim_cur = limit_with_room(p.pid, ROOM);
	ck_assert_int_eq(prlimit(p.pid, RLIMIT_NOFILE, &low, NULL), 0);
	start = now_ms();
	for (int i = 0; i < MORE; i++) {
		more[i] = peer_connect(sock);
		ck_assert_int_ge(more[i], 0);
		ck_assert_int_eq(peer_echo(more[i], 1, "waiting"), 0);
	}
	ck_assert(log_wait(&p, "accept: Too many open files (1 time since the last report)"));
	/* Held there a while, the daemon answers the connection it has. */
	while (now_ms() - start < LOADED_MS) {
		id += 2;
		ck_assert_int_eq(peer_echo(held, id, "meanwhile"), 0);
		peer_expect(held, id, TTRPC_OK, "");
	}
	elapsed = now_ms() - start;
	read_log(&p, 100);
	reports = count_in(p.log, "accept: ");
	fprintf(stderr, "out of fds for %llu ms: %zu accept reports, %u calls answered meanwhile\n",
		(unsigned long long)elapsed, reports, (id + 1) / 2);
	ck_assert_uint_le(reports, 1 + elapsed / 10000 + 1);
	ck_assert(proc_alive(&p));

	/* fds free again: every connection that waited is served. */
	ck_assert_int_eq(prlimit(p.pid, RLIMIT_NOFILE, &was, NULL), 0);
	for (int i = 0; i < MORE; i++) {
		peer_expect(more[i], 1, TTRPC_OK, "");
		close(more[i]);
	}
	id += 2;
	ck_assert_int_eq(peer_echo(held, id, "after"), 0);
	peer_expect(held, id, TTRPC_OK, "");
	close(held);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* ---- the probe, run under another uid ---- */

static int probe(const char *sock)
{
	int r = echo(sock, INTEROP, "probe", NULL, 0);

	fprintf(stderr, "probe: echo=%s\n",
		r == 0            ? "OK"
		: r == -EREMOTEIO ? "status"
				  : "transport error");
	if (r < 0)
		fprintf(stderr, "(%s)\n", strerror(-r));
	return 0;
}

static Suite *robust_suite(void)
{
	Suite *s = suite_create("robust");
	TCase *sec = tcase_create("security");
	TCase *faults = tcase_create("faults");

	tcase_add_checked_fixture(sec, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(sec, 120);
	tcase_add_test(sec, test_socket_mode);
	tcase_add_test(sec, test_module_in_writable_place);
	tcase_add_test(sec, test_no_secret_in_log);
	suite_add_tcase(s, sec);

	tcase_add_checked_fixture(faults, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(faults, 120);
	tcase_add_test(faults, test_sigkill_under_load_keeps_listener);
	tcase_add_test(faults, test_sigterm_under_load_answers_all);
	tcase_add_test(faults, test_accept_out_of_fds);
	suite_add_tcase(s, faults);
	return s;
}

/* Owners other than the daemon's, and peers under another uid. */
static Suite *robust_root_suite(void)
{
	Suite *s = suite_create("robust-root");
	TCase *sec = tcase_create("security");

	tcase_add_checked_fixture(sec, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(sec, 120);
	tcase_add_test(sec, test_socket_owner);
	tcase_add_test(sec, test_listener_allow_lists);
	tcase_add_test(sec, test_module_owned_by_another);
	suite_add_tcase(s, sec);
	return s;
}

/* ttrpcd itself under another uid: it runs from the build tree as nobody. */
static Suite *robust_nobody_suite(void)
{
	Suite *s = suite_create("robust-nobody");
	TCase *sec = tcase_create("security");

	tcase_add_checked_fixture(sec, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(sec, 120);
	tcase_add_test(sec, test_socket_owner_unprivileged);
	suite_add_tcase(s, sec);
	return s;
}

static const struct check_part parts[] = {
	{ "test-robust", robust_suite, NULL },
	{ "test-robust-root", robust_root_suite, check_need_root_and_setpriv },
	{ "test-robust-nobody", robust_nobody_suite, check_need_nobody_runs_build },
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--probe") == 0)
		return probe(argv[2]);
	return check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
}
