/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The console socket and the pty copy. runc connects to the socket before
 * it starts the process and runc init sends the master (its name as the
 * data, the fd as SCM_RIGHTS) before it execs, so that once runc exited
 * the connection and the message wait in the socket: no event is needed
 * to receive them. The copy runs on two bufferevents per direction's ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "console.h"

/* What one direction holds before it stops reading its source. */
#define HIGH_WATER (64 * 1024)

struct shim_console_socket {
	int fd;
	char dir[96];
	char path[108];
};

struct shim_console {
	struct bufferevent *master, *in, *out;
	shim_console_done_fn done;
	void *arg;
	bool master_eof; /* the terminal is gone: flush, then done */
	bool over;
	struct event *finish;
};

int shim_console_socket_new(const char *tmpdir, struct shim_console_socket **ret)
{
	struct shim_console_socket *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	errno = 0;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/pty.XXXXXX", tmpdir) >= sizeof(s->dir) ||
	    !mkdtemp(s->dir)) {
		r = errno ? -errno : -ENAMETOOLONG;
		s->dir[0] = '\0';
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s/pty.sock", s->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->fd, 1) < 0) {
		r = -errno;
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	shim_console_socket_free(s);
	return r;
}

const char *shim_console_socket_path(const struct shim_console_socket *s)
{
	return s->path;
}

int shim_console_socket_recv(struct shim_console_socket *s, int *master)
{
	char name[4096], cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { name, sizeof(name) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	int conn = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int got = -1, n = 0, r = 0;

	if (conn < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) < 0)
		r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
	close(conn);
	for (struct cmsghdr *c = r ? NULL : CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n++ == 0)
				got = fd;
			else
				close(fd);
		}
	}
	if (r == 0 && n != 1)
		r = -EPROTO;
	if (r == 0 && fcntl(got, F_SETFL, fcntl(got, F_GETFL) | O_NONBLOCK) < 0)
		r = -errno;
	if (r < 0) {
		if (got >= 0)
			close(got);
		return r;
	}
	*master = got;
	return 0;
}

void shim_console_socket_free(struct shim_console_socket *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (*s->path)
		unlink(s->path);
	if (*s->dir)
		rmdir(s->dir);
	free(s);
}

/* ---- the copy ---- */

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
	struct shim_console *c = arg;

	(void)fd;
	(void)what;
	c->done(c, c->arg);
}

/* Over: the stdout fifo closed (containerd's reader sees EOF), @done told from the loop. */
static void finish(struct shim_console *c)
{
	if (c->over)
		return;
	c->over = true;
	if (c->in)
		bufferevent_free(c->in);
	if (c->out)
		bufferevent_free(c->out);
	c->in = c->out = NULL;
	bufferevent_disable(c->master, EV_READ | EV_WRITE);
	event_active(c->finish, EV_TIMEOUT, 0);
}

/* @from has data: onto @to's output, and stop reading @from while @to is full. */
static void pass(struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer *o = bufferevent_get_output(to);

	evbuffer_add_buffer(o, bufferevent_get_input(from));
	if (evbuffer_get_length(o) >= HIGH_WATER) {
		bufferevent_disable(from, EV_READ);
		bufferevent_setwatermark(to, EV_WRITE, HIGH_WATER / 2, 0);
	}
}

static void on_master_read(struct bufferevent *bev, void *arg)
{
	struct shim_console *c = arg;

	if (c->out)
		pass(bev, c->out);
	else
		evbuffer_drain(bufferevent_get_input(bev),
			       evbuffer_get_length(bufferevent_get_input(bev)));
}

static void on_in_read(struct bufferevent *bev, void *arg)
{
	pass(bev, ((struct shim_console *)arg)->master);
}

/* stdout took some: read the master again; once the terminal is gone and all is out, over. */
static void on_out_write(struct bufferevent *bev, void *arg)
{
	struct shim_console *c = arg;

	if (c->master_eof) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			finish(c);
		return;
	}
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->master, EV_READ);
}

static void on_master_write(struct bufferevent *bev, void *arg)
{
	struct shim_console *c = arg;

	(void)bev;
	bufferevent_setwatermark(c->master, EV_WRITE, 0, 0);
	if (c->in)
		bufferevent_enable(c->in, EV_READ);
}

static void on_master_event(struct bufferevent *bev, short what, void *arg)
{
	struct shim_console *c = arg;

	(void)bev;
	if (!(what & BEV_EVENT_READING)) {
		/* Nobody reads the terminal any more: what was typed is lost. */
		evbuffer_drain(bufferevent_get_output(c->master),
			       evbuffer_get_length(bufferevent_get_output(c->master)));
		bufferevent_disable(c->master, EV_WRITE);
		return;
	}
	/* EIO: no process holds the terminal. What it said goes out first. */
	c->master_eof = true;
	bufferevent_disable(c->master, EV_READ);
	if (!c->out || evbuffer_get_length(bufferevent_get_output(c->out)) == 0)
		finish(c);
	else
		bufferevent_setwatermark(c->out, EV_WRITE, 0, 0);
}

static void on_in_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	/* stdin ended (CloseIO and containerd's writer closed): as the Go shim, the terminal goes. */
	finish(arg);
}

static void on_out_event(struct bufferevent *bev, short what, void *arg)
{
	struct shim_console *c = arg;

	(void)what;
	/* Nothing can be written to stdout any more: drop the output. */
	bufferevent_free(bev);
	c->out = NULL;
	if (c->master_eof)
		finish(c);
}

int shim_console_new(struct event_base *base, int master, const char *stdin_path,
		     const char *stdout_path, shim_console_done_fn done, void *arg,
		     struct shim_console **ret)
{
	struct shim_console *c = calloc(1, sizeof(*c));
	int in = -1, out = -1, r;

	if (!c) {
		close(master);
		return -ENOMEM;
	}
	c->done = done;
	c->arg = arg;
	c->finish = event_new(base, -1, 0, on_finish, c);
	c->master = bufferevent_socket_new(base, master, BEV_OPT_CLOSE_ON_FREE);
	if (!c->finish || !c->master) {
		close(master);
		r = -ENOMEM;
		goto fail;
	}
	bufferevent_setcb(c->master, on_master_read, on_master_write, on_master_event, c);
	if (stdout_path && *stdout_path) {
		/* Read-write: never blocks, never EPIPE (the Go shim keeps a reader too). */
		out = open(stdout_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (out < 0 ||
		    !(c->out = bufferevent_socket_new(base, out, BEV_OPT_CLOSE_ON_FREE))) {
			r = out < 0 ? -errno : -ENOMEM;
			if (out >= 0)
				close(out);
			goto fail;
		}
		bufferevent_setcb(c->out, NULL, on_out_write, on_out_event, c);
	}
	if (stdin_path && *stdin_path) {
		in = open(stdin_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (in < 0 || !(c->in = bufferevent_socket_new(base, in, BEV_OPT_CLOSE_ON_FREE))) {
			r = in < 0 ? -errno : -ENOMEM;
			if (in >= 0)
				close(in);
			goto fail;
		}
		bufferevent_setcb(c->in, on_in_read, NULL, on_in_event, c);
		bufferevent_enable(c->in, EV_READ);
	}
	bufferevent_enable(c->master, EV_READ | EV_WRITE);
	*ret = c;
	return 0;
fail:
	shim_console_free(c);
	return r;
}

int shim_console_resize(struct shim_console *c, uint32_t width, uint32_t height)
{
	struct winsize ws = { .ws_row = (unsigned short)height, .ws_col = (unsigned short)width };

	if (ioctl(bufferevent_getfd(c->master), TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

bool shim_console_done(const struct shim_console *c)
{
	return c->over;
}

void shim_console_free(struct shim_console *c)
{
	if (!c)
		return;
	if (c->in)
		bufferevent_free(c->in);
	if (c->out)
		bufferevent_free(c->out);
	if (c->master)
		bufferevent_free(c->master);
	if (c->finish)
		event_free(c->finish);
	free(c);
}
