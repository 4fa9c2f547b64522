/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process harness of the daemon's tests (test-ttrpcd, test-services).
 * Every wait is bounded by WAIT_MS; nothing asserts on timing.
 */
#ifndef TTRPCD_TEST_DAEMON_HARNESS_H
#define TTRPCD_TEST_DAEMON_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WAIT_MS 10000

/* $top_builddir, and the test's temporary directory (made by the setup). */
extern char builddir[4096];
extern char tmp[256];

/* A ttrpcd process and what it wrote to stdout and stderr. */
struct proc {
	pid_t pid;
	int err;
	char log[1 << 16];
	size_t len;
};

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t now_ms(void);

/* keep() - own @s (malloc'd, not NULL) until the end of the test; return it. */
const char *keep(char *s);

/* path_in() - @name in the test's directory, kept until the end of the test. */
const char *path_in(const char *name);

/* build_path() - @rel in the build tree, kept until the end of the test. */
const char *build_path(const char *rel);

/* count_in() - how many times @needle occurs in @haystack, overlaps included. */
size_t count_in(const char *haystack, const char *needle);

/*
 * relative_path() - the absolute path @abs relative to the working
 * directory, which a process the test starts shares; kept until the end
 * of the test.
 */
const char *relative_path(const char *abs);

/* write_file() - write the printf-style text to @path, replacing it. */
void write_file(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The checked fixture: a fresh temporary directory; removed with what it holds. */
void daemon_test_setup(void);
void daemon_test_teardown(void);

/*
 * spawn() - start argv[0] with @env (KEY=VALUE, NULL-terminated) set,
 * $LISTEN_* and $NOTIFY_SOCKET cleared otherwise, and @fds passed under
 * @fdnames as systemd passes them; its stdout and stderr go to @p->log.
 */
void spawn(struct proc *p, const char *const *argv, const char *const *env, const int *fds,
	   const char *const *fdnames, size_t nfds);

/* read_log() - append what the process wrote to stderr, waiting up to @timeout_ms. */
void read_log(struct proc *p, int timeout_ms);

/* log_wait() - whether the process's stderr came to hold @text in time; else shows it. */
bool log_wait(struct proc *p, const char *text);

/*
 * proc_wait() - wait for the process to exit (killed after WAIT_MS).
 * Return: its exit status, or -1 if killed by a signal. The log is shown
 * when the status is not @expected.
 */
int proc_wait(struct proc *p, int expected);

/*
 * daemon_start() - the build tree's ttrpcd with --config @config. Like every
 * spawn() of daemon/ttrpcd, it runs under $TTRPCD_WRAPPER when that is set
 * (make check-valgrind: "libtool --mode=execute valgrind ...").
 */
void daemon_start(struct proc *p, const char *config, const char *const *env);

/* proc_rss_kib() - VmRSS of @pid from /proc, in KiB; -1 when it is gone. */
long proc_rss_kib(pid_t pid);

/* proc_alive() - whether the process has not exited (it is not reaped). */
bool proc_alive(const struct proc *p);

/* under_wrapper() - whether ttrpcd runs under $TTRPCD_WRAPPER (valgrind). */
bool under_wrapper(void);

/*
 * probe_as_nobody() - run "@program --probe @sock" (a test program of the
 * build tree) as uid and gid 65534 through setpriv, with @groups as its
 * supplementary groups (setpriv's --groups list, e.g. "4242,4343"; NULL:
 * none), and return the line of its stderr that starts with "probe:",
 * kept until the end of the test.
 */
const char *probe_as_nobody(const char *program, const char *sock, const char *groups);

/*
 * echo() - one Echo of @text to @service on a new connection to @sock
 * (the interop module's messages). @out (NULL: none) receives the answer's
 * text; without it, an answer other than @text is -EBADMSG. No ck_assert:
 * a probe runs it outside a test. Return: 0, or a negative errno
 * (-EREMOTEIO for a status other than OK).
 */
int echo(const char *sock, const char *service, const char *text, char *out, size_t size);

/* ---- the notify socket, with the test as the service manager ---- */

/* Fds ttrpcd sent to the fd store (FDSTORE=1), with their FDNAME=. */
struct store {
	int fds[16];
	char names[16][64];
	size_t n;
};

/* has_line() - whether a line of @msg starts with @prefix. */
bool has_line(const char *msg, const char *prefix);

/* notify_bind() - bind the test's notify socket (SO_PASSCRED on). */
int notify_bind(void);

/* notify_env() - "NOTIFY_SOCKET=<that socket>", kept until the end of the test. */
const char *notify_env(void);

/*
 * notify_wait() - read datagrams until one has a line starting with @prefix;
 * fds sent with FDSTORE=1 on the way go to @store (closed when it is NULL or
 * full). @msg, when not NULL, receives that datagram.
 * Return: whether it came within WAIT_MS.
 */
bool notify_wait(int fd, const char *prefix, char *msg, size_t size, struct store *store);

#endif
