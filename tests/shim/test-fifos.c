/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services/shim/fifos.c: a process's stdio on real fifos: opening never
 * blocks, the process sees EOF on stdin only after CloseIO and once the
 * other writer is gone, "" is /dev/null, a missing fifo is named.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/shim/fifos.h"
#include "services/shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static char dir[64], in[96], out[96], err[96];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-fifos.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/stdin", dir);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	ck_assert_int_eq(mkfifo(in, 0600), 0);
	ck_assert_int_eq(mkfifo(out, 0600), 0);
	ck_assert_int_eq(mkfifo(err, 0600), 0);
}

static void teardown(void)
{
	unlink(in);
	unlink(out);
	unlink(err);
	rmdir(dir);
}

START_TEST(stdin_eof_after_close_io)
{
	struct shim_stdio io;
	const char *failed = NULL;
	int fds[3], w;
	char c;

	ck_assert_int_eq(shim_stdio_init(&io, in, out, err), 0);
	ck_assert_int_eq(shim_stdio_open(&io, fds, &failed), 0);
	ck_assert_int_ge(io.stdin_writer, 0);
	/* containerd's writer comes, writes and goes: no EOF yet. */
	w = open(in, O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(w, 0);
	ck_assert_int_eq(write(w, "x", 1), 1);
	close(w);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(read(fds[0], &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	shim_stdio_close_stdin(&io);
	ck_assert_int_eq(io.stdin_writer, -1);
	ck_assert_int_eq(read(fds[0], &c, 1), 0);
	/* stdout and stderr: writable with no reader, no SIGPIPE. */
	ck_assert_int_eq(write(fds[1], "o", 1), 1);
	ck_assert_int_eq(write(fds[2], "e", 1), 1);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	shim_stdio_fini(&io);
}
END_TEST

START_TEST(dev_null_and_missing)
{
	struct shim_stdio io;
	const char *failed = NULL;
	int fds[3];
	char missing[128];
	struct stat st;

	ck_assert_int_eq(shim_stdio_init(&io, NULL, "", NULL), 0);
	ck_assert_int_eq(shim_stdio_open(&io, fds, &failed), 0);
	ck_assert_int_eq(io.stdin_writer, -1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fstat(fds[i], &st), 0);
		ck_assert(S_ISCHR(st.st_mode));
		close(fds[i]);
	}
	shim_stdio_fini(&io);

	snprintf(missing, sizeof(missing), "%s/none", dir);
	ck_assert_int_eq(shim_stdio_init(&io, in, missing, err), 0);
	ck_assert_int_eq(shim_stdio_open(&io, fds, &failed), -ENOENT);
	ck_assert_str_eq(failed, missing);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fds[i], -1);
	shim_stdio_fini(&io);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-fifos");
	TCase *tc = tcase_create("fifos");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stdin_eof_after_close_io);
	tcase_add_test(tc, dev_null_and_missing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
