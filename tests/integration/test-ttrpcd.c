/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcd as a real process: the test binds the NOTIFY_SOCKET and reads the
 * datagrams the daemon sends, passes sockets the way systemd does, plays
 * the fd store across a restart, and calls the interop module over real
 * unix sockets. Every wait is bounded; nothing asserts on timing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "check-parts.h"
#include "daemon-harness.h"
#include "daemon-peer.h"
#include "interop.pb-c.h"

#define GREETER "ttrpc.test.v1.Greeter"

/* The fds the test, as service manager, keeps in its fd store. */

/* ---- the daemon process ---- */

/* ---- clients ---- */

/* A config serving the interop module on "api" at sock, plus @extra. */
static const char *interop_config(const char *extra)
{
	const char *conf = path_in("ttrpcd.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = debug\ndrain-timeout = 5s\n"
		   "[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n%s",
		   tmp, path_in("sock"), build_path("tests/interop/.libs/interop.so"),
		   extra ? extra : "");
	return conf;
}

/* ---- tests ---- */

START_TEST(test_notify_lifecycle)
{
	const char *env[] = { notify_env(), NULL };
	struct store store = { 0 };
	int nfd = notify_bind();
	char msg[4096], out[64];
	struct proc p;

	daemon_start(&p, interop_config(NULL), env);
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), &store));
	/* Ready means every listener is bound and every module inited. */
	ck_assert(has_line(msg, "STATUS="));
	ck_assert_ptr_nonnull(strstr(msg, "0 connections, 0 calls served, 0 in flight, 1 module"));
	ck_assert_ptr_null(strstr(msg, "1 modules"));
	ck_assert_int_eq(store.n, 1);
	ck_assert_str_eq(store.names[0], "api");
	ck_assert_int_eq(echo(path_in("sock"), INTEROP, "hi", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "hi");
	/* The live counts come within a second or so. */
	ck_assert(notify_wait(nfd, "STATUS=0 connections, 1 call served", NULL, 0, NULL));
	ck_assert(log_wait(&p, "call " INTEROP "/Echo from pid"));
	kill(p.pid, SIGTERM);
	ck_assert(notify_wait(nfd, "STOPPING=1", NULL, 0, NULL));
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert(strstr(p.log, "shutting down"));
	/* Its listening socket is in the store, so its path must stay. */
	ck_assert_int_eq(access(path_in("sock"), F_OK), 0);
	close(store.fds[0]);
	close(nfd);
}
END_TEST

/*
 * A manager that goes away after READY=1, as the shim's launcher does:
 * ttrpcd says so once, in those words, however many pings and status lines
 * follow, and stops cleanly.
 */
START_TEST(test_manager_gone)
{
	const char *env[] = { notify_env(), "WATCHDOG_USEC=100000", NULL };
	int nfd = notify_bind();
	const char *at;
	struct proc p;

	daemon_start(&p, interop_config(NULL), env);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, NULL));
	close(nfd);
	ck_assert(log_wait(&p, "the service manager no longer listens (Connection refused)"));
	/* Pings every 50 ms: a few more have failed by the time of the stop. */
	usleep(300000);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	at = strstr(p.log, "the service manager no longer listens");
	ck_assert_ptr_null(strstr(at + 1, "the service manager no longer listens"));
	ck_assert_ptr_null(strstr(p.log, "cannot notify"));
}
END_TEST

START_TEST(test_watchdog)
{
	const char *env[] = { notify_env(), "WATCHDOG_USEC=200000", NULL };
	int nfd = notify_bind();
	struct proc p;

	daemon_start(&p, interop_config(NULL), env);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, NULL));
	for (int i = 0; i < 3; i++)
		ck_assert(notify_wait(nfd, "WATCHDOG=1", NULL, 0, NULL));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	close(nfd);
}
END_TEST

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

/* The whole of a small file, NUL-terminated. */
static void read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/*
 * The globals module unsets and garbles $NOTIFY_SOCKET, $WATCHDOG_* and
 * $LISTEN_* and changes to / in its init and again once ttrpcd is ready:
 * the socket passed in $LISTEN_FDS is still served, the watchdog pings, a
 * reload of a config given by a relative path, STOPPING and the fd store
 * still reach the service manager. A child it runs through the host gets
 * ttrpcd's environment of the start, without the service manager's
 * variables and without the module's garbage.
 */
START_TEST(test_module_changes_globals)
{
	const char *env[] = { notify_env(), "WATCHDOG_USEC=200000", "GLOBALS_MARK=kept", NULL };
	const char *argv[] = { build_path("daemon/ttrpcd"), "--config", NULL, NULL };
	char childenv[8192];
	struct store store = { 0 };
	int nfd = notify_bind(), sock, held;
	char msg[4096], *rel;
	struct proc p;

	write_file(path_in("ttrpcd.conf"),
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\n"
		   "[module interop]\nfile = %s\n[module globals]\nfile = %s\nchdir = %s\n"
		   "env-file = %s\n",
		   tmp, build_path("tests/interop/.libs/interop.so"),
		   build_path("tests/modules/.libs/globals.so"), path_in("a/b/c/d/e/f"),
		   path_in("child.env"));
	/* Deeper than the test's own: from there the relative path leads nowhere. */
	ck_assert_int_ge(asprintf(&rel, "mkdir -p %s", path_in("a/b/c/d/e/f")), 0);
	ck_assert_int_eq(system(keep(rel)), 0);
	/* The config by a path relative to the working directory, which ttrpcd shares. */
	argv[2] = relative_path(path_in("ttrpcd.conf"));
	sock = listen_at(path_in("sock"));
	spawn(&p, argv, env, (int[]){ sock }, (const char *[]){ "api" }, 1);
	close(sock);
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_nonnull(strstr(msg, "2 modules"));
	ck_assert(log_wait(&p, "listener api: serving the socket passed by the service manager"));
	ck_assert(log_wait(&p, "globals: the environment and the working directory changed"));
	held = peer_connect(path_in("sock"));
	ck_assert_int_ge(held, 0);
	ck_assert_int_eq(peer_echo(held, 1, "raw"), 0);
	peer_expect(held, 1, TTRPC_OK, "");
	/* Again after the module's second round, on the loop. */
	for (int i = 0; i < 3; i++)
		ck_assert(notify_wait(nfd, "WATCHDOG=1", NULL, 0, NULL));
	ck_assert(log_wait(&p, "globals: env (pid "));
	ck_assert(log_wait(&p, ") exited with status 0"));
	read_text(path_in("child.env"), childenv, sizeof(childenv));
	ck_assert(has_line(childenv, "GLOBALS_MARK=kept"));
	ck_assert(!has_line(childenv, "NOTIFY_SOCKET="));
	ck_assert(!has_line(childenv, "WATCHDOG_"));
	ck_assert(!has_line(childenv, "LISTEN_"));
	kill(p.pid, SIGHUP);
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_null(strstr(msg, "reload failed"));
	kill(p.pid, SIGTERM);
	ck_assert(notify_wait(nfd, "STOPPING=1", NULL, 0, &store));
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert(notify_wait(nfd, "FDSTORE=1", NULL, 0, &store));
	ck_assert_int_eq(store.n, 1);
	ck_assert_str_eq(store.names[0], "conn.api");
	ck_assert_ptr_null(strstr(p.log, "cannot notify"));
	close(store.fds[0]);
	close(held);
	close(nfd);
}
END_TEST

static const char *testmod_config(const char *settings)
{
	const char *conf = path_in("ttrpcd.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module testmod]\nfile = %s\n%s",
		   tmp, path_in("sock"), build_path("tests/modules/.libs/testmod.so"), settings);
	return conf;
}

START_TEST(test_reload)
{
	const char *env[] = { notify_env(), NULL };
	int nfd = notify_bind();
	char msg[4096], out[64];
	struct proc p;

	daemon_start(&p, testmod_config("greeting = hello\n"), env);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, NULL));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "hello");

	/* A good reload: the module takes the new setting. */
	testmod_config("greeting = bye\n");
	kill(p.pid, SIGHUP);
	ck_assert(notify_wait(nfd, "RELOADING=1", msg, sizeof(msg), NULL));
	ck_assert(has_line(msg, "MONOTONIC_USEC="));
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_null(strstr(msg, "reload failed"));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bye");

	/* A config with an error: the running one stays, and STATUS says why. */
	testmod_config("greeting = again\nbogus = 1\n");
	kill(p.pid, SIGHUP);
	ck_assert(notify_wait(nfd, "RELOADING=1", NULL, 0, NULL));
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_nonnull(strstr(msg, "STATUS=reload failed"));
	ck_assert(log_wait(&p, "ttrpcd.conf:8: unknown key 'bogus' in [module testmod]"));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bye");

	/* A module that refuses its new settings, with no reason but an errno. */
	testmod_config("greeting = again\nfail-reload = yes\n");
	kill(p.pid, SIGHUP);
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_nonnull(strstr(msg, "module 'testmod': reload failed: Input/output error"));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bye");

	/* And with its own words (ttrpcd_host_fail()): logged, and in STATUS=. */
	testmod_config("greeting = again\nserving = maybe\n");
	kill(p.pid, SIGHUP);
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_nonnull(strstr(msg, "module 'testmod': reload failed: serving = 'maybe': "
					  "expected yes, no or unknown"));
	ck_assert(log_wait(&p, "reload failed, keeping the running configuration: module "
			       "'testmod': reload failed: serving = 'maybe': expected yes, no or "
			       "unknown"));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bye");

	/* Outside init and reload the reason is logged, and the call goes on. */
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "host-fail", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "bye");
	ck_assert(log_wait(&p, "testmod: asked to fail by a call, outside init and reload"));

	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	close(nfd);
}
END_TEST

/*
 * A module's state and cache directories: its own subdirectory (0700) of
 * $STATE_DIRECTORY and $CACHE_DIRECTORY, as systemd's StateDirectory= and
 * CacheDirectory= set them; none without them.
 */
START_TEST(test_module_dirs)
{
	const char *env[3];
	struct stat st;
	struct proc p;
	char *want;

	ck_assert_int_eq(mkdir(path_in("state"), 0755), 0);
	ck_assert_int_eq(mkdir(path_in("cache"), 0755), 0);
	ck_assert_int_ge(
		asprintf(&want, "STATE_DIRECTORY=%s:%s", path_in("state"), path_in("other")), 0);
	env[0] = keep(want);
	ck_assert_int_ge(asprintf(&want, "CACHE_DIRECTORY=%s", path_in("cache")), 0);
	env[1] = keep(want);
	env[2] = NULL;
	daemon_start(&p, testmod_config("dirs = yes\n"), env);
	ck_assert(log_wait(&p, "ready: 1 module"));
	ck_assert_int_ge(asprintf(&want, "testmod: state: %s", path_in("state/testmod")), 0);
	ck_assert(log_wait(&p, keep(want)));
	ck_assert_int_ge(asprintf(&want, "testmod: cache: %s", path_in("cache/testmod")), 0);
	ck_assert(log_wait(&p, keep(want)));
	ck_assert_int_eq(stat(path_in("state/testmod"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(access(path_in("state/testmod/testmod-was-here"), F_OK), 0);
	ck_assert_int_eq(access(path_in("cache/testmod/testmod-was-here"), F_OK), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);

	/* Again: the directories are there already, and kept. */
	daemon_start(&p, testmod_config("dirs = yes\n"), env);
	ck_assert(log_wait(&p, want));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);

	/* Without them, the module is told so. */
	daemon_start(&p, testmod_config("dirs = yes\n"), NULL);
	ck_assert(log_wait(&p, "testmod: state: none (No such file or directory)"));
	ck_assert(log_wait(&p, "testmod: cache: none (No such file or directory)"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/*
 * Without --config, ttrpcd reads ttrpcd.conf in the unit's
 * ConfigurationDirectory= ($CONFIGURATION_DIRECTORY) when systemd sets it.
 */
START_TEST(test_config_in_configuration_directory)
{
	const char *argv[] = { build_path("daemon/ttrpcd"), NULL };
	const char *dir = path_in("etc"), *env[2];
	struct proc p;
	char *e;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file(path_in("etc/ttrpcd.conf"),
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n",
		   tmp, path_in("sock"), build_path("tests/interop/.libs/interop.so"));
	ck_assert_int_ge(asprintf(&e, "CONFIGURATION_DIRECTORY=%s", dir), 0);
	env[0] = keep(e);
	env[1] = NULL;
	spawn(&p, argv, env, NULL, NULL, 0);
	ck_assert(log_wait(&p, "ready: 1 module"));
	ck_assert(log_wait(&p, "listener api: listening on"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	/* A mistake in it is reported with its path. */
	write_file(path_in("etc/ttrpcd.conf"), "[ttrpcd]\nbogus = 1\n");
	spawn(&p, argv, env, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert_ptr_nonnull(strstr(p.log, path_in("etc/ttrpcd.conf:2: unknown key 'bogus'")));
}
END_TEST

/*
 * No configuration at all: modules are enabled, never found, so health
 * alone (optional: whether it is installed or not) and the control service.
 */
START_TEST(test_no_config_serves_health_only)
{
	const char *argv[] = { build_path("daemon/ttrpcd"), "--socket", path_in("sock"), NULL };
	const char *env[2];
	struct proc p;
	char *e;

	ck_assert_int_eq(mkdir(path_in("etc"), 0755), 0);
	ck_assert_int_ge(asprintf(&e, "CONFIGURATION_DIRECTORY=%s", path_in("etc")), 0);
	env[0] = keep(e);
	env[1] = NULL;
	spawn(&p, argv, env, NULL, NULL, 0);
	ck_assert(log_wait(&p, "ready: "));
	ck_assert(strstr(p.log, "module 'health' loaded from ") ||
		  strstr(p.log, "module 'health' (") ||
		  strstr(p.log, "skipped, as it is optional"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	/* Nothing else was even tried. */
	for (const char *l = strstr(p.log, "module '"); l; l = strstr(l + 1, "module '"))
		ck_assert_int_eq(strncmp(l, "module 'health'", 15), 0);
}
END_TEST

/*
 * Relative module paths: in a config file, against that file's directory;
 * on the command line, against the working directory, as any command-line
 * tool takes a path. Both are fixed at start-up, so a reload finds them
 * again. And --module loads a module besides those of the config.
 */
START_TEST(test_module_paths)
{
	const char *env[] = { notify_env(), NULL };
	const char *argv[] = { build_path("daemon/ttrpcd"),
			       "--config",
			       path_in("etc/ttrpcd.conf"),
			       "--module",
			       relative_path(build_path("tests/modules/.libs/testmod.so")),
			       NULL };
	int nfd = notify_bind();
	char msg[4096], out[64], *want;
	struct proc p;

	ck_assert_int_eq(mkdir(path_in("etc"), 0755), 0);
	ck_assert_int_eq(mkdir(path_in("etc/mods"), 0755), 0);
	ck_assert_int_eq(symlink(build_path("tests/interop/.libs/interop.so"),
				 path_in("etc/mods/interop.so")),
			 0);
	write_file(path_in("etc/ttrpcd.conf"),
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = mods/interop.so\n",
		   tmp, path_in("sock"));
	spawn(&p, argv, env, NULL, NULL, 0);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, NULL));
	ck_assert_int_ge(
		asprintf(&want, "module 'interop' loaded from %s", path_in("etc/mods/interop.so")),
		0);
	ck_assert(log_wait(&p, keep(want)));
	ck_assert(log_wait(&p, "module 'testmod' loaded from /"));
	ck_assert(log_wait(&p, "ready: 2 modules"));
	ck_assert_int_eq(echo(path_in("sock"), INTEROP, "config", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "config");
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "hello");
	kill(p.pid, SIGHUP);
	ck_assert(notify_wait(nfd, "READY=1", msg, sizeof(msg), NULL));
	ck_assert_ptr_null(strstr(msg, "reload failed"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	close(nfd);
}
END_TEST

/*
 * Without a config file, --module loads a module besides the built-in
 * health, and one named health takes the built-in's place: no clash, at
 * start-up or in --check-config.
 */
START_TEST(test_module_option_adds)
{
	const char *ttrpcd = build_path("daemon/ttrpcd");
	const char *interop = build_path("tests/interop/.libs/interop.so");
	const char *health = build_path("services/health/.libs/health.so");
	const char *env[] = { keep(strdup("CONFIGURATION_DIRECTORY=/nonexistent")), NULL };
	struct proc p;
	char out[64];

	spawn(&p, (const char *[]){ ttrpcd, "--socket", path_in("sock"), "-m", interop, NULL }, env,
	      NULL, NULL, 0);
	ck_assert(log_wait(&p, "ready: "));
	ck_assert(strstr(p.log, "module 'interop' loaded from"));
	ck_assert(strstr(p.log, "module 'health' loaded from ") ||
		  strstr(p.log, "skipped, as it is optional"));
	ck_assert_int_eq(echo(path_in("sock"), INTEROP, "both", out, sizeof(out)), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);

	spawn(&p,
	      (const char *[]){ ttrpcd, "--socket", path_in("sock"), "-m", health, "-m", interop,
				NULL },
	      env, NULL, NULL, 0);
	ck_assert(log_wait(&p, "ready: 2 modules"));
	kill(p.pid, SIGHUP);
	ck_assert(log_wait(&p, "configuration reloaded"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_ptr_null(strstr(p.log, "loaded already"));

	spawn(&p,
	      (const char *[]){ ttrpcd, "--check-config", "--socket", path_in("sock"), "-m", health,
				"-m", interop, NULL },
	      env, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_ptr_nonnull(strstr(p.log, "configuration OK: 1 listener, 2 modules ("));
}
END_TEST

START_TEST(test_sigterm_drains_slow_call)
{
	Ttrpc__Interop__V1__SleepRequest req = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	struct proc p;
	int fd;

	daemon_start(&p, interop_config(NULL), NULL);
	ck_assert(log_wait(&p, "ready"));
	fd = peer_connect(path_in("sock"));
	ck_assert_int_ge(fd, 0);
	req.millis = 1000;
	ck_assert_int_eq(peer_call(fd, 1, 0, "Sleep", &req.base), 0);
	/* The call is in the handler once the daemon logged it. */
	ck_assert(log_wait(&p, "call " INTEROP "/Sleep from pid"));
	kill(p.pid, SIGTERM);
	ck_assert(log_wait(&p, "1 call in flight"));
	peer_expect(fd, 1, TTRPC_OK, "");
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert(strstr(p.log, "all calls finished"));
	/* Bound by ttrpcd, not stored anywhere: the path goes with it. */
	ck_assert_int_eq(access(path_in("sock"), F_OK), -1);
	close(fd);
}
END_TEST

/*
 * A call still running at the drain timeout: named in the log, and its
 * client is answered UNAVAILABLE with the reason before its connection
 * closes, not left to guess why the connection dropped.
 */
START_TEST(test_sigterm_answers_hung_call)
{
	Ttrpc__Interop__V1__SleepRequest req = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	char msg[512], *want;
	struct proc p;
	int fd;

	daemon_start(&p, interop_config("[ttrpcd]\ndrain-timeout = 200ms\n"), NULL);
	ck_assert(log_wait(&p, "ready"));
	fd = peer_connect(path_in("sock"));
	ck_assert_int_ge(fd, 0);
	req.millis = 60000;
	ck_assert_int_eq(peer_call(fd, 1, 0, "Sleep", &req.base), 0);
	ck_assert(log_wait(&p, "call " INTEROP "/Sleep from pid"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(peer_response(fd, 1, msg, sizeof(msg)), TTRPC_UNAVAILABLE);
	ck_assert_str_eq(msg, "the server is stopping: the call was still running at its "
			      "shutdown timeout");
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_int_ge(asprintf(&want,
				  "shutdown timeout: cancelling " INTEROP
				  "/Sleep of pid %d uid %u, "
				  "in flight for ",
				  (int)getpid(), (unsigned)getuid()),
			 0);
	ck_assert_ptr_nonnull(strstr(p.log, keep(want)));
	ck_assert_ptr_nonnull(strstr(p.log, "drain timeout passed"));
	close(fd);
}
END_TEST

/*
 * A unary call in flight longer than slow-call is logged once, with its
 * method and caller; one whose deadline passed is said to be held by its
 * handler (testmod keeps an Echo of "hold" until one of "release").
 */
START_TEST(test_slow_call_logged)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	const struct ttrpc_call_opts opts = { .timeout_us = 20000 };
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *resp = NULL;
	struct ttrpc_client *c;
	char out[64], *slow;
	struct proc p;
	int fd;

	ck_assert_int_ge(
		asprintf(&slow, "call " GREETER "/Echo from pid %d uid %u has been in flight for ",
			 (int)getpid(), (unsigned)getuid()),
		0);
	keep(slow);
	daemon_start(&p, testmod_config("greeting = hi\n"), NULL);
	ck_assert(log_wait(&p, "ready"));
	/* slow-call: 10 s by default; 100 ms here, through a reload. */
	ck_assert_int_eq(mkdir(path_in("ttrpcd.conf.d"), 0755), 0);
	write_file(path_in("ttrpcd.conf.d/slow.conf"), "[ttrpcd]\nslow-call = 100ms\n");
	kill(p.pid, SIGHUP);
	ck_assert(log_wait(&p, "configuration reloaded"));
	fd = peer_connect(path_in("sock"));
	ck_assert_int_ge(fd, 0);
	req.text = (char *)"hold";
	ck_assert_int_eq(peer_call_to(fd, 1, 0, GREETER, "Echo", &req.base), 0);
	ck_assert(log_wait(&p, "its handler has not answered yet"));
	ck_assert_ptr_nonnull(strstr(p.log, slow));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "release", out, sizeof(out)), 0);
	peer_expect(fd, 1, TTRPC_OK, "");

	/* Past its deadline and still held. */
	ck_assert_int_eq(ttrpc_client_open(path_in("sock"), &c), 0);
	ck_assert_int_eq(ttrpc_client_call_sync(c, GREETER, "Echo", &req.base,
						&ttrpc__interop__v1__echo_response__descriptor,
						&opts, &resp, &st),
			 -EREMOTEIO);
	ck_assert_int_eq(st.code, TTRPC_DEADLINE_EXCEEDED);
	ttrpc_status_clear(&st);
	ck_assert(log_wait(&p, "its deadline passed or its client left, but its handler still "
			       "holds it"));
	ck_assert_int_eq(echo(path_in("sock"), GREETER, "release", out, sizeof(out)), 0);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	/* Once each, and no line for the calls that were quick. */
	ck_assert_uint_eq(count_in(p.log, slow), 2);
}
END_TEST

START_TEST(test_activation_by_env)
{
	const char *conf = path_in("ttrpcd.conf");
	const char *argv[] = { build_path("daemon/ttrpcd"), "--config", conf, NULL };
	const char *names[] = { "api", "unknown" };
	int fds[2], other;
	char out[64];
	struct proc p;

	write_file(conf, "[ttrpcd]\nmodule-dir = %s\n[listener api]\n[module interop]\nfile = %s\n",
		   tmp, build_path("tests/interop/.libs/interop.so"));
	fds[0] = listen_at(path_in("named.sock"));
	fds[1] = listen_at(path_in("unnamed.sock"));
	spawn(&p, argv, NULL, fds, names, 2);
	close(fds[0]);
	close(fds[1]);
	ck_assert(log_wait(&p, "ready"));
	ck_assert(strstr(p.log, "listener api: serving the socket passed by the service manager"));
	ck_assert_int_eq(echo(path_in("named.sock"), INTEROP, "named", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "named");
	ck_assert_int_eq(echo(path_in("unnamed.sock"), INTEROP, "unnamed", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "unnamed");
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	/* Inherited sockets are never unlinked. */
	ck_assert_int_eq(access(path_in("named.sock"), F_OK), 0);
	ck_assert_int_eq(access(path_in("unnamed.sock"), F_OK), 0);
	/* An fd nobody asked for is closed, not served: then nothing is left to serve. */
	other = listen_at(path_in("other.sock"));
	spawn(&p, argv, NULL, (int[]){ other }, (const char *[]){ "nobody" }, 1);
	close(other);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert(strstr(p.log, "closing inherited fd 3 named 'nobody': nothing takes it"));
	ck_assert(strstr(p.log, "no listener: configure one or pass --socket"));
}
END_TEST

/* systemd-socket-activate execs ttrpcd only once the first client connects. */
static void socket_activate(const char *fdname_opt, const char *conf)
{
	static const char *const pass_env[] = { "PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS" };
	char listen_opt[600], rt[600];
	const char *argv[32];
	size_t n = 0;
	char out[64];
	struct proc p;

	snprintf(listen_opt, sizeof(listen_opt), "%s", path_in("act.sock"));
	snprintf(rt, sizeof(rt), "RUNTIME_DIRECTORY=%s", tmp);
	argv[n++] = "/usr/bin/systemd-socket-activate";
	argv[n++] = "-l";
	argv[n++] = listen_opt;
	/* It passes on only the environment it is told to. */
	argv[n++] = "-E";
	argv[n++] = rt;
	for (size_t i = 0; i < sizeof(pass_env) / sizeof(pass_env[0]); i++) {
		argv[n++] = "-E";
		argv[n++] = pass_env[i];
	}
	if (fdname_opt)
		argv[n++] = fdname_opt;
	argv[n++] = build_path("daemon/ttrpcd");
	argv[n++] = "--config";
	argv[n++] = conf;
	argv[n] = NULL;
	spawn(&p, argv, NULL, NULL, NULL, 0);
	ck_assert(log_wait(&p, "Listening on"));
	ck_assert_int_eq(echo(path_in("act.sock"), INTEROP, "activated", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "activated");
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert(strstr(p.log, "passed by the service manager"));
	/* Nothing was bound at the default path in $RUNTIME_DIRECTORY. */
	ck_assert_int_eq(access(path_in("ttrpcd.sock"), F_OK), -1);
}

START_TEST(test_systemd_socket_activate)
{
	const char *conf = path_in("ttrpcd.conf");

	/* Named: matched to [listener api], which has no path of its own. */
	write_file(conf, "[ttrpcd]\nmodule-dir = %s\n[listener api]\n[module interop]\nfile = %s\n",
		   tmp, build_path("tests/interop/.libs/interop.so"));
	socket_activate("--fdname=api", conf);
	/* Unnamed, with no listener configured: served with the defaults. */
	write_file(conf, "[ttrpcd]\nmodule-dir = %s\n[module interop]\nfile = %s\n", tmp,
		   build_path("tests/interop/.libs/interop.so"));
	socket_activate(NULL, conf);
}
END_TEST

START_TEST(test_fdstore_restart)
{
	const char *env[] = { notify_env(), NULL };
	const char *conf = interop_config(NULL);
	const char *argv[] = { build_path("daemon/ttrpcd"), "--config", conf, NULL };
	const char *names[16];
	struct store store = { 0 };
	int nfd = notify_bind(), held, late;
	struct proc p;

	daemon_start(&p, conf, env);
	ck_assert(notify_wait(nfd, "READY=1", NULL, 0, &store));
	ck_assert_int_eq(store.n, 1);
	ck_assert_str_eq(store.names[0], "api");

	/* A client with a connection it keeps across the restart. */
	held = peer_connect(path_in("sock"));
	ck_assert_int_ge(held, 0);
	ck_assert_int_eq(peer_echo(held, 1, "raw"), 0);
	peer_expect(held, 1, TTRPC_OK, "");

	kill(p.pid, SIGTERM);
	ck_assert(notify_wait(nfd, "STOPPING=1", NULL, 0, &store));
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	/* The idle connection went to the store before the exit. */
	ck_assert(notify_wait(nfd, "FDSTORE=1", NULL, 0, &store));
	ck_assert_int_eq(store.n, 2);
	ck_assert_str_eq(store.names[1], "conn.api");

	/* Between the two processes: a new client connects and sends a request,
	 * and the held connection sends one too; both wait in their sockets. */
	late = peer_connect(path_in("sock"));
	ck_assert_int_ge(late, 0);
	ck_assert_int_eq(peer_echo(late, 1, "raw"), 0);
	ck_assert_int_eq(peer_echo(held, 3, "raw"), 0);

	for (size_t i = 0; i < store.n; i++)
		names[i] = store.names[i];
	spawn(&p, argv, env, store.fds, names, store.n);
	peer_expect(late, 1, TTRPC_OK, "");
	peer_expect(held, 3, TTRPC_OK, "");
	/* And the held connection goes on as before. */
	ck_assert_int_eq(peer_echo(held, 5, "raw"), 0);
	peer_expect(held, 5, TTRPC_OK, "");

	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	for (size_t i = 0; i < store.n; i++)
		close(store.fds[i]);
	close(held);
	close(late);
	close(nfd);
}
END_TEST

/*
 * Stored connections the next process refuses (here over its connection
 * limit) are closed, and the log says why in the library's own words.
 */
START_TEST(test_fdstore_refused)
{
	const char *conf = interop_config("[limits]\nconnections = 1\n");
	const char *argv[] = { build_path("daemon/ttrpcd"), "--config", conf, NULL };
	int kept[2], dropped[2];
	struct pollfd pf;
	struct proc p;
	char c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, kept), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dropped), 0);
	spawn(&p, argv, NULL, (int[]){ kept[0], dropped[0] },
	      (const char *[]){ "conn.api", "conn.api" }, 2);
	close(kept[0]);
	close(dropped[0]);
	ck_assert(log_wait(&p, "listener api: stored connection dropped: Too many open files"));
	pf = (struct pollfd){ .fd = dropped[1], .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 5000), 1);
	ck_assert_int_eq(recv(dropped[1], &c, 1, MSG_DONTWAIT), 0);
	ck_assert_int_eq(peer_echo(kept[1], 1, "raw"), 0);
	peer_expect(kept[1], 1, TTRPC_OK, "");
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	close(kept[1]);
	close(dropped[1]);
}
END_TEST

/* Start with @config and expect exit status 1 with @message in the log. */
static void expect_failure(const char *config, const char *message)
{
	struct proc p;

	daemon_start(&p, config, NULL);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	if (!strstr(p.log, message))
		fprintf(stderr, "expected '%s' in:\n%s\n", message, p.log);
	ck_assert_ptr_nonnull(strstr(p.log, message));
	ck_assert_int_eq(access(path_in("sock"), F_OK), -1);
}

/* A config with the interop module and "bad", loaded from @file. */
static const char *module_config(const char *file)
{
	const char *conf = path_in("bad.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n[module bad]\nfile = %s\n",
		   tmp, path_in("sock"), build_path("tests/interop/.libs/interop.so"), file);
	return conf;
}

START_TEST(test_module_failures)
{
	char msg[1024];

	snprintf(msg, sizeof(msg),
		 "module 'bad' (%s): cannot load: %s: cannot open shared object "
		 "file: No such file or directory",
		 path_in("missing.so"), path_in("missing.so"));
	expect_failure(module_config(path_in("missing.so")), msg);
	expect_failure(module_config(build_path("tests/modules/.libs/nosymbol.so")),
		       "no symbol 'ttrpcd_module': not a ttrpcd module");
	expect_failure(module_config(build_path("tests/modules/.libs/wrongabi.so")),
		       "built for module ABI 2.0; this ttrpcd loads 1.0 to 1.");
	/* The section's name must be the module's. */
	expect_failure(module_config(build_path("tests/modules/.libs/testmod.so")),
		       "the file holds module 'testmod', not 'bad'");
}
END_TEST

static const char *testmod_pair(const char *settings)
{
	const char *conf = path_in("pair.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n[module testmod]\nfile = %s\n%s",
		   tmp, path_in("sock"), build_path("tests/interop/.libs/interop.so"),
		   build_path("tests/modules/.libs/testmod.so"), settings);
	return conf;
}

START_TEST(test_module_init_failures)
{
	char msg[1024];
	struct proc p;

	snprintf(msg, sizeof(msg), "module 'testmod' (%s): init failed: Input/output error",
		 build_path("tests/modules/.libs/testmod.so"));
	expect_failure(testmod_pair("fail-init = yes\n"), msg);
	expect_failure(testmod_pair("fail-init = yes\n"),
		       "testmod: failing init, as fail-init asks");
	/* The module's own words, given with ttrpcd_host_fail(). */
	snprintf(msg, sizeof(msg),
		 "module 'testmod' (%s): init failed: serving = 'maybe': expected yes, no or "
		 "unknown",
		 build_path("tests/modules/.libs/testmod.so"));
	expect_failure(testmod_pair("serving = maybe\n"), msg);
	expect_failure(testmod_pair("service = " INTEROP "\n"),
		       "init failed: service '" INTEROP "' is already registered by module "
		       "'interop'");
	expect_failure(testmod_pair("colour = blue\n"),
		       "pair.conf:9: unknown key 'colour' in [module testmod]");
	/* Optional: a warning, and the rest runs. */
	daemon_start(&p, testmod_pair("fail-init = yes\noptional = yes\n"), NULL);
	ck_assert(log_wait(&p, "skipped, as it is optional"));
	ck_assert(log_wait(&p, "ready: 1 module"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

START_TEST(test_config_errors)
{
	const char *conf = path_in("ttrpcd.conf");
	const char *check[] = { build_path("daemon/ttrpcd"), "--check-config", "--config", conf,
				NULL };
	char line[400];
	struct proc p;

	write_file(conf, "[ttrpcd]\nlog-level = info\n\n[limits]\nconnections = many\n");
	expect_failure(conf, "ttrpcd.conf:5: bad value 'many' for key 'connections' in [limits]");
	write_file(conf, "[listener api]\npath = %s\nsocket-mode = 0660\n", path_in("sock"));
	expect_failure(conf, "ttrpcd.conf:3: unknown key 'socket-mode' in [listener api]");
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	write_file(conf, "[ttrpcd]\n; %s\nlog-level = info\n", line);
	expect_failure(conf, "ttrpcd.conf:2: line is 402 characters long");

	/* --check-config: 1 for a bad file, 0 for a good one, and nothing starts. */
	spawn(&p, check, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	interop_config(NULL);
	spawn(&p, check, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_ptr_nonnull(strstr(p.log, "configuration OK: 1 listener, 1 module ("));
	ck_assert_int_eq(access(path_in("sock"), F_OK), -1);
	/* --check-config opens the modules too. */
	spawn(&p,
	      (const char *[]){ build_path("daemon/ttrpcd"), "--check-config", "--config",
				module_config(build_path("tests/modules/.libs/wrongabi.so")),
				NULL },
	      NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert_ptr_nonnull(strstr(p.log, "built for module ABI 2.0"));
}
END_TEST

/*
 * --check-config says what it checked, and warns of what the running daemon
 * could only tell later: a listener without a path, a module that declares
 * no services; two modules that declare one service fail it, as their init
 * would fail the start.
 */
START_TEST(test_check_config_reports)
{
	const char *conf = path_in("ttrpcd.conf");
	const char *check[] = { build_path("daemon/ttrpcd"), "--check-config", "--config", conf,
				NULL };
	const char *testmod = build_path("tests/modules/.libs/testmod.so");
	const char *testmod2 = build_path("tests/modules/.libs/testmod2.so");
	struct proc p;
	char *want;

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n[listener sysd]\n"
		   "[module interop]\nfile = %s\n[module globals]\nfile = %s\n"
		   "[module abi10]\nfile = %s\n[module testmod]\nfile = %s\ngreeting = hi\n",
		   tmp, path_in("sock"), build_path("tests/interop/.libs/interop.so"),
		   build_path("tests/modules/.libs/globals.so"),
		   build_path("tests/modules/.libs/abi10.so"), testmod);
	spawn(&p, check, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_int_ge(asprintf(&want, "listener api: %s, mode 0660\n", path_in("sock")), 0);
	ck_assert_ptr_nonnull(strstr(p.log, keep(want)));
	ck_assert_ptr_nonnull(strstr(p.log, "listener sysd: no path: served only when the service "
					    "manager passes a socket named sysd\n"));
	ck_assert_int_ge(asprintf(&want,
				  "module 'interop' (%s): ABI 1.2, 0 settings, declares %s\n",
				  build_path("tests/interop/.libs/interop.so"), INTEROP),
			 0);
	ck_assert_ptr_nonnull(strstr(p.log, keep(want)));
	ck_assert_int_ge(asprintf(&want, "module 'testmod' (%s): ABI 1.2, 1 setting, declares %s\n",
				  testmod, GREETER),
			 0);
	ck_assert_ptr_nonnull(strstr(p.log, keep(want)));
	ck_assert_int_ge(asprintf(&want,
				  "module 'globals' (%s): declares no services (the services field "
				  "of its struct ttrpcd_module)",
				  build_path("tests/modules/.libs/globals.so")),
			 0);
	ck_assert_ptr_nonnull(strstr(p.log, keep(want)));
	ck_assert_ptr_nonnull(strstr(p.log, "built for module ABI 1.0, it declares no services"));
	ck_assert_ptr_nonnull(strstr(p.log,
				     "configuration OK: 2 listeners, 4 modules (files, ABI, "
				     "setting names and declared services checked; the "
				     "modules' init, which checks their values, not run)\n"));

	/* Two modules that declare one service: the check fails as the start does. */
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module testmod]\nfile = %s\n[module testmod2]\nfile = %s\n",
		   tmp, path_in("sock"), testmod, testmod2);
	spawn(&p, check, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 1), 1);
	ck_assert_int_ge(asprintf(&want,
				  "module 'testmod2' (%s): declares service '%s', which module "
				  "'testmod' declares too: its init would fail",
				  testmod2, GREETER),
			 0);
	ck_assert_ptr_nonnull(strstr(p.log, keep(want)));
	ck_assert_ptr_null(strstr(p.log, "configuration OK"));
	expect_failure(conf, "module 'testmod2' (");
	expect_failure(conf, "init failed: service '" GREETER "' is already registered by module "
			     "'testmod'");
}
END_TEST

static Suite *ttrpcd_suite(void)
{
	Suite *s = suite_create("ttrpcd");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_notify_lifecycle);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_manager_gone);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_module_changes_globals);
	tcase_add_test(tc, test_module_dirs);
	tcase_add_test(tc, test_config_in_configuration_directory);
	tcase_add_test(tc, test_no_config_serves_health_only);
	tcase_add_test(tc, test_module_paths);
	tcase_add_test(tc, test_module_option_adds);
	tcase_add_test(tc, test_sigterm_drains_slow_call);
	tcase_add_test(tc, test_sigterm_answers_hung_call);
	tcase_add_test(tc, test_slow_call_logged);
	tcase_add_test(tc, test_activation_by_env);
	tcase_add_test(tc, test_fdstore_restart);
	tcase_add_test(tc, test_fdstore_refused);
	tcase_add_test(tc, test_module_failures);
	tcase_add_test(tc, test_module_init_failures);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_check_config_reports);
	suite_add_tcase(s, tc);
	return s;
}

/* Activated by systemd-socket-activate, the service manager's own tool. */
static Suite *ttrpcd_activate_suite(void)
{
	Suite *s = suite_create("ttrpcd-activate");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_systemd_socket_activate);
	suite_add_tcase(s, tc);
	return s;
}

static const char *missing_socket_activate(void)
{
	if (access("/usr/bin/systemd-socket-activate", X_OK) == 0)
		return NULL;
	return "needs /usr/bin/systemd-socket-activate (apt-get install systemd)";
}

static const struct check_part parts[] = {
	{ "test-ttrpcd", ttrpcd_suite, NULL },
	{ "test-ttrpcd-activate", ttrpcd_activate_suite, missing_socket_activate },
};

int main(int argc, char **argv)
{
	(void)argc;
	return check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
}
