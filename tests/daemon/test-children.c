/* SPDX-License-Identifier: Apache-2.0 */
/*
 * children.c with real child processes on a real libevent loop: exit
 * statuses told on the loop and never inside the call that asked, what a
 * child gets (argv, PATH, environment, working directory, fds, signals),
 * kill, orphans reparented to the subreaper and watched before and after
 * they were reaped, and what a forgotten owner no longer hears. Every wait
 * is bounded; nothing asserts on timing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/children.h"

#define WAIT_MS 10000

/* Two owners, as two modules' host handles; never dereferenced. */
static int owner_a_, owner_b_;
#define OWNER_A ((struct ttrpcd_host *)&owner_a_)
#define OWNER_B ((struct ttrpcd_host *)&owner_b_)

static struct event_base *base;
static struct ttrpcd_children *children;

/* What exit callbacks were told. */
static struct {
	int calls;
	struct ttrpcd_host *host;
	pid_t pid;
	int wstatus;
	void *userdata;
} told;
static bool inside_call; /* set around the calls that register a callback */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_exit_cb(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata)
{
	ck_assert(!inside_call);
	told.calls++;
	told.host = host;
	told.pid = pid;
	told.wstatus = wstatus;
	told.userdata = userdata;
}

static void setup(void)
{
	memset(&told, 0, sizeof(told));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ttrpcd_children_new(base, &children), 0);
}

static void teardown(void)
{
	ttrpcd_children_free(children);
	event_base_free(base);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Turn the loop until @done(@arg), for WAIT_MS at most. */
static bool run_until(bool (*done)(const void *), const void *arg)
{
	struct event *tick = evtimer_new(base, on_tick, NULL);
	struct timeval tv = { 0, 50 * 1000 };
	uint64_t end = now_ms() + WAIT_MS;

	while (!done(arg) && now_ms() < end) {
		evtimer_add(tick, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(tick);
	return done(arg);
}

static bool told_n(const void *n)
{
	return told.calls >= *(const int *)n;
}

static bool told_once(void)
{
	static const int one = 1;

	return run_until(told_n, &one);
}

/* Reaped by the daemon's handler: no longer even a zombie. */
static bool reaped(const void *pid)
{
	return kill(*(const pid_t *)pid, 0) < 0 && errno == ESRCH;
}

/* Spawn for OWNER_A with on_exit_cb, checking it is not told inside. */
static int spawn_a(struct ttrpcd_spawn *s, pid_t *pid)
{
	int r;

	inside_call = true;
	r = ttrpcd_children_spawn(children, OWNER_A, s, on_exit_cb, &told, pid);
	inside_call = false;
	return r;
}

/* Everything the child wrote on @fd until EOF. */
static void read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t k;

	while (n < size - 1 && (k = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(fd);
}

/* Run @argv with @s's other settings and stdout on a pipe; its output. */
static void run_output(struct ttrpcd_spawn *s, const char *const *argv, char *out, size_t size)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	s->argv = argv;
	s->stdio[0] = -1;
	s->stdio[1] = p[1];
	s->stdio[2] = -1;
	told.calls = 0;
	ck_assert_int_eq(spawn_a(s, &pid), 0);
	close(p[1]);
	ck_assert(told_once());
	ck_assert_int_eq(told.pid, pid);
	ck_assert(WIFEXITED(told.wstatus));
	read_all(p[0], out, size);
}

START_TEST(test_exit_status)
{
	const char *argv[] = { "sh", "-c", "exit 3", NULL };
	struct ttrpcd_spawn s = { .argv = argv, .stdio = { -1, -1, -1 } };
	pid_t pid = 0;

	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(told.calls, 0);
	ck_assert(told_once());
	ck_assert_int_eq(told.calls, 1);
	ck_assert_ptr_eq(told.host, OWNER_A);
	ck_assert_ptr_eq(told.userdata, &told);
	ck_assert_int_eq(told.pid, pid);
	ck_assert(WIFEXITED(told.wstatus));
	ck_assert_int_eq(WEXITSTATUS(told.wstatus), 3);
	/* Told once: the pid is no longer the owner's. */
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_A, pid, SIGTERM), -ESRCH);
}
END_TEST

START_TEST(test_spawn_errors)
{
	const char *missing[] = { "ttrpcd-no-such-program", NULL };
	const char *missing_path[] = { "/nonexistent/program", NULL };
	const char *sh[] = { "sh", "-c", "exit 0", NULL };
	const char *noargs[] = { NULL };
	struct ttrpcd_spawn s = { .stdio = { -1, -1, -1 } };
	const int bad_fd[] = { -1 };
	pid_t pid = 0;

	s.argv = missing;
	ck_assert_int_eq(spawn_a(&s, &pid), -ENOENT);
	s.argv = missing_path;
	ck_assert_int_eq(spawn_a(&s, &pid), -ENOENT);
	s.argv = noargs;
	ck_assert_int_eq(spawn_a(&s, &pid), -EINVAL);
	s.argv = NULL;
	ck_assert_int_eq(spawn_a(&s, &pid), -EINVAL);
	s.argv = sh;
	s.stdio[1] = -2;
	ck_assert_int_eq(spawn_a(&s, &pid), -EINVAL);
	s.stdio[1] = 1000; /* not open */
	ck_assert_int_eq(spawn_a(&s, &pid), -EBADF);
	s.stdio[1] = -1;
	s.fds = bad_fd;
	s.n_fds = 1;
	ck_assert_int_eq(spawn_a(&s, &pid), -EINVAL);
	s.fds = NULL;
	ck_assert_int_eq(spawn_a(&s, &pid), -EINVAL);
	s.cwd = "/nonexistent";
	s.n_fds = 0;
	ck_assert_int_eq(spawn_a(&s, &pid), -ENOENT);
	ck_assert_int_eq(pid, 0);
	/* A failed spawn is never told. */
	s.cwd = NULL;
	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	ck_assert(told_once());
	ck_assert_int_eq(told.pid, pid);
}
END_TEST

/* The PATH of the child's own environment finds argv[0]; "/" by default. */
START_TEST(test_environment_and_directory)
{
	const char *env[] = { "PATH=/nonexistent:/bin", "MARK=given", NULL };
	const char *print[] = { "sh", "-c", "echo \"$MARK:$PATH:$(pwd):$TTRPCD_TEST_START\"",
				NULL };
	struct ttrpcd_spawn s = { .envp = env };
	char out[512];

	run_output(&s, print, out, sizeof(out));
	ck_assert_str_eq(out, "given:/nonexistent:/bin:/:\n");
	s.cwd = "/tmp";
	run_output(&s, print, out, sizeof(out));
	ck_assert_str_eq(out, "given:/nonexistent:/bin:/tmp:\n");
}
END_TEST

/* Without an environment: the one of ttrpcd_children_new(), not today's. */
START_TEST(test_environment_of_the_start)
{
	const char *print[] = { "sh", "-c", "echo \"$TTRPCD_TEST_START\"", NULL };
	struct ttrpcd_spawn s = { 0 };
	char out[512];

	ttrpcd_children_free(children);
	setenv("TTRPCD_TEST_START", "at start", 1);
	ck_assert_int_eq(ttrpcd_children_new(base, &children), 0);
	setenv("TTRPCD_TEST_START", "changed later", 1);
	run_output(&s, print, out, sizeof(out));
	unsetenv("TTRPCD_TEST_START");
	ck_assert_str_eq(out, "at start\n");
}
END_TEST

/* stdio and extra fds where asked, and no other fd of the parent. */
START_TEST(test_fds)
{
	int extra[2], stray[2];
	char script[256], out[512], got[64];
	const char *argv[] = { "sh", "-c", script, NULL };
	struct ttrpcd_spawn s = { .n_fds = 1 };

	ck_assert_int_eq(pipe2(extra, O_CLOEXEC), 0);
	/* Not close-on-exec: a fork and exec would pass it on. */
	ck_assert_int_eq(pipe(stray), 0);
	snprintf(script, sizeof(script),
		 "echo out; echo extra >&3; [ -e /proc/self/fd/%d ] && echo stray; "
		 "[ -e /proc/self/fd/4 ] && echo four; exit 0",
		 stray[1]);
	s.fds = &extra[1];
	run_output(&s, argv, out, sizeof(out));
	close(extra[1]);
	ck_assert_str_eq(out, "out\n");
	read_all(extra[0], got, sizeof(got));
	ck_assert_str_eq(got, "extra\n");
	close(stray[0]);
	close(stray[1]);
}
END_TEST

/* The parent ignores SIGTERM and blocks SIGUSR1: the child does neither. */
START_TEST(test_signals_reset)
{
	const char *argv[] = { "sh", "-c", "kill -USR1 $$; kill -TERM $$; exit 0", NULL };
	struct ttrpcd_spawn s = { .argv = argv, .stdio = { -1, -1, -1 } };
	sigset_t usr1, old;
	pid_t pid;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
	signal(SIGTERM, SIG_IGN);
	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	ck_assert(told_once());
	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	ck_assert(WIFSIGNALED(told.wstatus));
	ck_assert_int_eq(WTERMSIG(told.wstatus), SIGUSR1);
}
END_TEST

START_TEST(test_kill)
{
	const char *argv[] = { "sleep", "60", NULL };
	struct ttrpcd_spawn s = { .argv = argv, .stdio = { -1, -1, -1 } };
	pid_t pid;

	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_B, pid, SIGKILL), -ESRCH);
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_A, pid, 0), 0);
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_A, pid, SIGKILL), 0);
	ck_assert(told_once());
	ck_assert(WIFSIGNALED(told.wstatus));
	ck_assert_int_eq(WTERMSIG(told.wstatus), SIGKILL);
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_A, pid, SIGKILL), -ESRCH);
}
END_TEST

/*
 * An orphan: the child forks a shell that waits for a line on fd 3 (the
 * test holds the pipe's other end), prints its pid and exits. The orphan is
 * then the subreaper's child, or init's.
 */
static pid_t make_orphan(int *release)
{
	const char *argv[] = { "sh", "-c", "sh -c 'read x <&3; exit 7' >/dev/null & echo $!",
			       NULL };
	int gate[2], out[2];
	struct ttrpcd_spawn s = { .argv = argv, .stdio = { -1, -1, -1 }, .n_fds = 1 };
	char buf[64];
	pid_t pid;

	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	s.stdio[1] = out[1];
	s.fds = &gate[0];
	told.calls = 0;
	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	close(gate[0]);
	close(out[1]);
	/* The shell's own exit: the orphan is reparented by then. */
	ck_assert(told_once());
	ck_assert_int_eq(told.pid, pid);
	read_all(out[0], buf, sizeof(buf));
	*release = gate[1];
	told.calls = 0;
	return (pid_t)atoi(buf);
}

static int watch_a(pid_t pid)
{
	int r;

	inside_call = true;
	r = ttrpcd_children_watch(children, OWNER_A, pid, on_exit_cb, &told);
	inside_call = false;
	return r;
}

START_TEST(test_orphan_watched_alive)
{
	int release, subreaper = 0;
	pid_t pid;

	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, true), 0);
	ck_assert_int_eq(prctl(PR_GET_CHILD_SUBREAPER, &subreaper), 0);
	ck_assert_int_eq(subreaper, 1);
	pid = make_orphan(&release);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(watch_a(pid), 0);
	ck_assert_int_eq(ttrpcd_children_watch(children, OWNER_B, pid, on_exit_cb, NULL), -EBUSY);
	/* A watched orphan is the watcher's to signal. */
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_A, pid, 0), 0);
	close(release);
	ck_assert(told_once());
	ck_assert_int_eq(told.pid, pid);
	ck_assert(WIFEXITED(told.wstatus));
	ck_assert_int_eq(WEXITSTATUS(told.wstatus), 7);
}
END_TEST

/* Reaped before anyone asked: kept, and told on a later turn of the loop. */
START_TEST(test_orphan_reaped_before_watch)
{
	int release;
	pid_t pid;

	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, true), 0);
	pid = make_orphan(&release);
	close(release);
	ck_assert(run_until(reaped, &pid));
	ck_assert_int_eq(told.calls, 0);
	ck_assert_int_eq(watch_a(pid), 0);
	ck_assert_int_eq(told.calls, 0);
	ck_assert(told_once());
	ck_assert_int_eq(told.pid, pid);
	ck_assert_int_eq(WEXITSTATUS(told.wstatus), 7);
	/* Taken: nobody gets it twice. */
	ck_assert_int_eq(watch_a(pid), -ECHILD);
}
END_TEST

/* Without the subreaper the orphan is init's, not ours. */
START_TEST(test_orphan_not_ours)
{
	int release, subreaper = 1;
	pid_t pid;

	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, true), 0);
	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, false), 0);
	ck_assert_int_eq(prctl(PR_GET_CHILD_SUBREAPER, &subreaper), 0);
	ck_assert_int_eq(subreaper, 0);
	pid = make_orphan(&release);
	ck_assert_int_eq(watch_a(pid), -ECHILD);
	close(release);
}
END_TEST

START_TEST(test_watch_errors)
{
	const char *argv[] = { "sleep", "60", NULL };
	struct ttrpcd_spawn s = { .argv = argv, .stdio = { -1, -1, -1 } };
	pid_t pid;

	ck_assert_int_eq(watch_a(getppid()), -ECHILD);
	ck_assert_int_eq(watch_a(0), -EINVAL);
	ck_assert_int_eq(ttrpcd_children_watch(children, OWNER_A, getpid(), NULL, NULL), -EINVAL);
	ck_assert_int_eq(ttrpcd_children_unwatch(children, OWNER_A, getppid()), -ENOENT);
	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	/* Its spawner watches it. */
	ck_assert_int_eq(ttrpcd_children_watch(children, OWNER_B, pid, on_exit_cb, NULL), -EBUSY);
	ck_assert_int_eq(ttrpcd_children_unwatch(children, OWNER_B, pid), -ENOENT);
	ck_assert_int_eq(ttrpcd_children_unwatch(children, OWNER_A, pid), 0);
	/* Unwatched: no longer the owner's to signal, nor to hear of. */
	ck_assert_int_eq(ttrpcd_children_kill(children, OWNER_A, pid, SIGKILL), -ESRCH);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert(run_until(reaped, &pid));
	ck_assert_int_eq(told.calls, 0);
}
END_TEST

/* An owner forgotten (its fini ran) hears of nothing, and is no subreaper. */
START_TEST(test_forget)
{
	const char *argv[] = { "sleep", "60", NULL };
	struct ttrpcd_spawn s = { .argv = argv, .stdio = { -1, -1, -1 } };
	int subreaper = 1;
	pid_t pid;

	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, true), 0);
	ck_assert_int_eq(spawn_a(&s, &pid), 0);
	ck_assert_uint_eq(ttrpcd_children_forget(children, OWNER_A), 1);
	ck_assert_int_eq(prctl(PR_GET_CHILD_SUBREAPER, &subreaper), 0);
	ck_assert_int_eq(subreaper, 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert(run_until(reaped, &pid));
	ck_assert_int_eq(told.calls, 0);
	ck_assert_uint_eq(ttrpcd_children_forget(children, OWNER_A), 0);
}
END_TEST

/* Subreaper while anyone asks. */
START_TEST(test_subreaper_shared)
{
	int subreaper = 0;

	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, true), 0);
	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_B, true), 0);
	ck_assert_int_eq(ttrpcd_children_subreaper(children, OWNER_A, false), 0);
	ck_assert_int_eq(prctl(PR_GET_CHILD_SUBREAPER, &subreaper), 0);
	ck_assert_int_eq(subreaper, 1);
	ck_assert_uint_eq(ttrpcd_children_forget(children, OWNER_B), 0);
	ck_assert_int_eq(prctl(PR_GET_CHILD_SUBREAPER, &subreaper), 0);
	ck_assert_int_eq(subreaper, 0);
}
END_TEST

static Suite *children_suite(void)
{
	Suite *s = suite_create("children");
	TCase *tc = tcase_create("children");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_exit_status);
	tcase_add_test(tc, test_spawn_errors);
	tcase_add_test(tc, test_environment_and_directory);
	tcase_add_test(tc, test_environment_of_the_start);
	tcase_add_test(tc, test_fds);
	tcase_add_test(tc, test_signals_reset);
	tcase_add_test(tc, test_kill);
	tcase_add_test(tc, test_orphan_watched_alive);
	tcase_add_test(tc, test_orphan_reaped_before_watch);
	tcase_add_test(tc, test_orphan_not_ours);
	tcase_add_test(tc, test_watch_errors);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_subreaper_shared);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(children_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
