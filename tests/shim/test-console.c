/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services/shim/console.c on real ptys, fifos and a real loop: the master
 * received over the console socket as runc init sends it, the copy in both
 * directions, the resize, and the end of the copy when the terminal goes
 * (EIO: output flushed, stdout closed) or stdin ends.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "services/shim/console.h"
#include "services/shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static char dir[64], in[96], out[96];
static struct event_base *base;
static int done_calls;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-console.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/stdin", dir);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	ck_assert_int_eq(mkfifo(in, 0600), 0);
	ck_assert_int_eq(mkfifo(out, 0600), 0);
	base = event_base_new();
	done_calls = 0;
}

static void teardown(void)
{
	event_base_free(base);
	unlink(in);
	unlink(out);
	rmdir(dir);
}

/* A pty pair, the slave raw (no echo, no CR added). */
static void open_pty(int *master, int *slave)
{
	struct termios t;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*master, 0);
	ck_assert_int_eq(grantpt(*master), 0);
	ck_assert_int_eq(unlockpt(*master), 0);
	*slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*slave, 0);
	ck_assert_int_eq(tcgetattr(*slave, &t), 0);
	cfmakeraw(&t);
	ck_assert_int_eq(tcsetattr(*slave, TCSANOW, &t), 0);
}

/* What runc init does: connect, send the name and the fd. */
static void send_fd(const char *path, int fd, int nfds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[] = "/dev/pts/99";
	char cbuf[CMSG_SPACE(sizeof(int) * 2)] = { 0 };
	struct iovec iov = { name, sizeof(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (nfds > 0) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		for (int i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	}
	ck_assert_int_eq(sendmsg(s, &mh, 0), (ssize_t)sizeof(name));
	close(s);
}

START_TEST(socket_recv)
{
	struct shim_console_socket *s;
	int m, sl, got = -1;
	char path[108];
	struct stat st;

	ck_assert_int_eq(shim_console_socket_new(dir, &s), 0);
	snprintf(path, sizeof(path), "%s", shim_console_socket_path(s));
	ck_assert_int_eq(strncmp(path, dir, strlen(dir)), 0);
	ck_assert_int_eq(shim_console_socket_recv(s, &got), -EAGAIN);
	open_pty(&m, &sl);
	send_fd(path, m, 1);
	ck_assert_int_eq(shim_console_socket_recv(s, &got), 0);
	ck_assert_int_ge(got, 0);
	/* The same terminal: what the slave writes, the received master reads. */
	ck_assert_int_eq(write(sl, "z", 1), 1);
	char c = 0;
	for (int i = 0; i < 100 && read(got, &c, 1) != 1; i++)
		usleep(10000);
	ck_assert_int_eq(c, 'z');
	ck_assert_int_ne(fcntl(got, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(got, F_GETFD) & FD_CLOEXEC, 0);
	close(got);
	/* No fd, or two: refused, nothing leaked. */
	send_fd(path, m, 0);
	ck_assert_int_eq(shim_console_socket_recv(s, &got), -EPROTO);
	send_fd(path, m, 2);
	ck_assert_int_eq(shim_console_socket_recv(s, &got), -EPROTO);
	close(m);
	close(sl);
	shim_console_socket_free(s);
	ck_assert_int_eq(stat(path, &st), -1);
	shim_console_socket_free(NULL);
}
END_TEST

static void on_done(struct shim_console *c, void *arg)
{
	ck_assert(shim_console_done(c));
	ck_assert_ptr_eq(arg, &done_calls);
	done_calls++;
}

static void spin(int rounds)
{
	for (int i = 0; i < rounds; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Read what @fd has within about a second. */
static size_t read_some(int fd, char *buf, size_t size)
{
	size_t n = 0;

	for (int i = 0; i < 100 && n < size; i++) {
		ssize_t k;

		spin(5);
		k = read(fd, buf + n, size - n);
		if (k > 0)
			n += (size_t)k;
		else if (n > 0)
			break;
		else
			usleep(10000);
	}
	return n;
}

START_TEST(copy_resize_eio)
{
	struct shim_console *c;
	int m, sl, r, w;
	char buf[64] = { 0 };
	struct winsize ws;

	open_pty(&m, &sl);
	ck_assert_int_eq(fcntl(sl, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(shim_console_new(base, m, in, out, on_done, &done_calls, &c), 0);
	r = open(out, O_RDONLY | O_NONBLOCK);
	w = open(in, O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(r, 0);
	ck_assert_int_ge(w, 0);

	ck_assert_int_eq(write(w, "typed\n", 6), 6);
	ck_assert_uint_eq(read_some(sl, buf, sizeof(buf) - 1), 6);
	ck_assert_str_eq(buf, "typed\n");

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(write(sl, "shown\n", 6), 6);
	ck_assert_uint_eq(read_some(r, buf, sizeof(buf) - 1), 6);
	ck_assert_str_eq(buf, "shown\n");

	ck_assert_int_eq(shim_console_resize(c, 77, 22), 0);
	ck_assert_int_eq(ioctl(sl, TIOCGWINSZ, &ws), 0);
	ck_assert_uint_eq(ws.ws_row, 22);
	ck_assert_uint_eq(ws.ws_col, 77);

	/* The last words, then the terminal goes: flushed, then EOF on stdout. */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(write(sl, "bye", 3), 3);
	close(sl);
	ck_assert_uint_eq(read_some(r, buf, sizeof(buf) - 1), 3);
	ck_assert_str_eq(buf, "bye");
	for (int i = 0; i < 100 && !done_calls; i++) {
		spin(5);
		usleep(10000);
	}
	ck_assert_int_eq(done_calls, 1);
	ck_assert_int_eq(read(r, buf, sizeof(buf)), 0);
	close(r);
	close(w);
	shim_console_free(c);
}
END_TEST

/* stdin ends (CloseIO, containerd's writer gone): the terminal goes, as with the Go shim. */
START_TEST(stdin_eof)
{
	struct shim_console *c;
	int m, sl, r, w;

	open_pty(&m, &sl);
	ck_assert_int_eq(shim_console_new(base, m, in, out, on_done, &done_calls, &c), 0);
	r = open(out, O_RDONLY | O_NONBLOCK);
	w = open(in, O_WRONLY | O_NONBLOCK);
	spin(5);
	ck_assert_int_eq(done_calls, 0);
	close(w);
	for (int i = 0; i < 100 && !done_calls; i++) {
		spin(5);
		usleep(10000);
	}
	ck_assert_int_eq(done_calls, 1);
	close(r);
	close(sl);
	shim_console_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-console");
	TCase *tc = tcase_create("console");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, socket_recv);
	tcase_add_test(tc, copy_resize_eio);
	tcase_add_test(tc, stdin_eof);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
