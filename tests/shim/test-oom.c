/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services/shim/oom.c on a real loop: cgroup v2's memory.events watched
 * with inotify (a file written here as the kernel rewrites it: told when
 * oom_kill grows, not when another count changes, the watch over once the
 * cgroup is gone); as root on a cgroup v1 machine, a real memory cgroup, a
 * child over its limit killed by the kernel, and the eventfd told of it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "check-parts.h"
#include "services/shim/oom.h"
#include "services/shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static struct event_base *base;
static int told;
/* The v1 test's cgroup, named by main(), which removes it whatever the test did. */
static char cg[128];

static void on_oom(void *arg)
{
	ck_assert_ptr_eq(arg, &told);
	told++;
}

static void spin(void)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(5000);
	}
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(v2_memory_events)
{
	char dir[] = "/tmp/test-oom.XXXXXX", path[64];
	struct shim_oom *o;

	base = event_base_new();
	told = 0;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n");
	ck_assert_int_eq(shim_oom_watch(base, dir, true, on_oom, &told, &o), 0);
	spin();
	ck_assert_int_eq(told, 0);
	write_file(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
	spin();
	ck_assert_int_eq(told, 0);
	write_file(dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
	spin();
	ck_assert_int_eq(told, 1);
	/* The cgroup goes: the watch ends. */
	snprintf(path, sizeof(path), "%s/memory.events", dir);
	unlink(path);
	spin();
	ck_assert_int_eq(told, 1);
	shim_oom_free(o);
	shim_oom_free(NULL);
	rmdir(dir);
	ck_assert_int_eq(shim_oom_watch(base, dir, true, on_oom, &told, &o), -ENOENT);
	event_base_free(base);
}
END_TEST

START_TEST(v1_real_oom)
{
	struct shim_oom *o;
	pid_t child;
	int st, p[2];

	base = event_base_new();
	told = 0;
	ck_assert_int_eq(mkdir(cg, 0755), 0);
	write_file(cg, "memory.limit_in_bytes", "16777216");
	ck_assert_int_eq(shim_oom_watch(base, cg, false, on_oom, &told, &o), 0);
	ck_assert_int_eq(pipe(p), 0);
	child = fork();
	if (child == 0) {
		char c;

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		/* Volatile stores: no compiler may leave the pages untouched. */
		for (size_t n = 0; n < 256; n++) {
			volatile char *b = malloc(1 << 20);

			if (!b)
				_exit(3);
			for (size_t i = 0; i < (1 << 20); i += 4096)
				b[i] = 1;
		}
		_exit(0);
	}
	close(p[0]);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)child);
	write_file(cg, "cgroup.procs", pid);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	close(p[1]);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (int i = 0; i < 50 && !told; i++)
		spin();
	ck_assert_int_ge(told, 1);
	/* The cgroup removed: the eventfd says so, and that is no OOM. */
	told = 0;
	ck_assert_int_eq(rmdir(cg), 0);
	spin();
	ck_assert_int_eq(told, 0);
	shim_oom_free(o);
	event_base_free(base);
}
END_TEST

static Suite *oom_suite(void)
{
	Suite *s = suite_create("shim-oom");
	TCase *tc = tcase_create("oom");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, v2_memory_events);
	suite_add_tcase(s, tc);
	return s;
}

/* The kernel's own OOM killer in a real cgroup v1 memory controller. */
static Suite *oom_v1_suite(void)
{
	Suite *s = suite_create("shim-oom-v1");
	TCase *tc = tcase_create("oom");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, v1_real_oom);
	suite_add_tcase(s, tc);
	return s;
}

static const char *missing_memory_v1(void)
{
	if (geteuid() != 0)
		return "needs root";
	if (access("/sys/fs/cgroup/memory/cgroup.event_control", W_OK) != 0)
		return "needs the cgroup v1 memory controller at /sys/fs/cgroup/memory";
	return NULL;
}

static const struct check_part parts[] = {
	{ "test-oom", oom_suite, NULL },
	{ "test-oom-v1", oom_v1_suite, missing_memory_v1 },
};

int main(int argc, char **argv)
{
	int r;

	(void)argc;
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory/test-oom-%d", (int)getpid());
	r = check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
	rmdir(cg);
	return r;
}
