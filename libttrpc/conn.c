/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <ttrpc/common.h>

#include "block.h"
#include "conn.h"
#include "frame.h"

/* A read of this size costs no mmap from malloc. */
#define READ_CHUNK 16384
/*
 * After a large frame the next is likely large too, and what its first read
 * takes is then moved into its block: read little before its header is
 * known (a 4 KiB chain of the input buffer).
 */
#define READ_AFTER_LARGE 2048
#define WRITE_IOVECS 64

/*
 * Size of the frame at the head of conn->in when it is not all there yet,
 * else 0. While the reader skips an oversized payload, the head is that
 * payload: read as a header, it could claim megabytes that never come.
 */
static size_t partial_frame(const struct ttrpc__conn *conn)
{
	size_t have = evbuffer_get_length(conn->in);
	struct ttrpc__frame_header h;
	uint8_t raw[TTRPC__HEADER_SIZE];

	if (conn->reader->discard > 0 || have < TTRPC__HEADER_SIZE ||
	    evbuffer_copyout(conn->in, raw, sizeof(raw)) != sizeof(raw))
		return 0;
	ttrpc__frame_header_decode(raw, &h);
	if (h.length > conn->reader->max_length || have >= TTRPC__HEADER_SIZE + (size_t)h.length)
		return 0;
	return TTRPC__HEADER_SIZE + (size_t)h.length;
}

/* The chunk of conn->in that held a block is gone: drop its reference. */
static void in_block_done(const void *data, size_t len, void *arg)
{
	struct ttrpc__conn *conn = arg;
	struct ttrpc__block *b = ttrpc__block_of(data);

	if (conn->in_block == b)
		conn->in_block = NULL;
	ttrpc__ref_put(&b->ref);
}

static void fail(struct ttrpc__conn *conn, int err)
{
	ttrpc__conn_stop(conn);
	conn->failed = true;
	conn->ops->error(conn, err);
}

/*
 * A large frame is read straight into a block of its final size and handed
 * to the input buffer by reference: the frame reader then finds it in one
 * piece, its bytes are never copied between buffers, and what is decoded
 * from it may point into it (ttrpc__conn_in_ref()).
 */
static int read_big(struct ttrpc__conn *conn)
{
	struct ttrpc__block *b = conn->big;
	ssize_t got = read(conn->fd, b->data + conn->big_have, b->ref.len - conn->big_have);

	if (got <= 0)
		return got == 0 ? -EPIPE : (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	conn->big_have += (size_t)got;
	if (conn->big_have < b->ref.len)
		return 0;
	/* What was buffered went into the block: it is alone in conn->in. */
	if (evbuffer_add_reference(conn->in, b->data, b->ref.len, in_block_done, conn) < 0)
		return -ENOMEM;
	conn->big = NULL;
	conn->in_block = b;
	conn->after_large = true;
	return 1;
}

struct ttrpc__ref *ttrpc__conn_in_ref(struct ttrpc__conn *conn, const uint8_t *p, size_t len)
{
	struct ttrpc__block *b = conn->in_block;

	return b && ttrpc__ref_holds(&b->ref, p, len) ? &b->ref : NULL;
}

/*
 * Read into conn->in. Return: 2 when the read filled all the space offered
 * (more may wait), 1, 0 when nothing was there, -EPIPE at the end, -errno.
 */
static int read_chunk(struct ttrpc__conn *conn)
{
	struct evbuffer_iovec vec[2];
	struct iovec iov[2];
	bool full = false;
	ssize_t got;
	int n;

	n = evbuffer_reserve_space(conn->in, conn->after_large ? READ_AFTER_LARGE : READ_CHUNK, vec,
				   2);
	if (n <= 0)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = vec[i].iov_base;
		iov[i].iov_len = vec[i].iov_len;
	}
	got = readv(conn->fd, iov, n);
	if (got < 0) {
		evbuffer_commit_space(conn->in, vec, 0);
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		size_t take = (size_t)got < vec[i].iov_len ? (size_t)got : vec[i].iov_len;

		full = take == vec[i].iov_len;
		vec[i].iov_len = take;
		got -= (ssize_t)take;
	}
	evbuffer_commit_space(conn->in, vec, n);
	return vec[0].iov_len == 0 ? -EPIPE : full ? 2 : 1;
}

/* Start reading the frame at the head of conn->in into a block when it is large. */
static int start_big(struct ttrpc__conn *conn)
{
	size_t total = partial_frame(conn), have;

	if (total < TTRPC__BLOCK_MIN)
		return 0;
	/* What is buffered is the start of this frame: the reader took every
	 * whole frame before it. */
	have = evbuffer_get_length(conn->in);
	conn->big = ttrpc__block_new(conn->pool, total);
	if (!conn->big)
		return -ENOMEM;
	conn->big_have = (size_t)evbuffer_remove(conn->in, conn->big->data, have);
	return 1;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__conn *conn = arg;
	int r;

	/* A read that filled its space with the start of a large frame goes
	 * on into the frame's block at once, rather than after a wake-up. */
	for (;;) {
		if (!conn->big && (r = start_big(conn)) < 0)
			break;
		if (conn->big) {
			r = read_big(conn);
			break;
		}
		r = read_chunk(conn);
		if (r != 2 || partial_frame(conn) < TTRPC__BLOCK_MIN) {
			conn->after_large = false;
			break;
		}
	}
	if (r < 0)
		fail(conn, r == -EPIPE ? 0 : r);
	else
		conn->ops->read(conn);
}

/*
 * Write what the socket takes now. Return: 0 when @out is empty, -EAGAIN
 * when the socket is full, another -errno when it failed.
 */
static int write_some(struct ttrpc__conn *conn)
{
	while (evbuffer_get_length(conn->out) > 0) {
		struct evbuffer_iovec vec[WRITE_IOVECS];
		struct iovec iov[WRITE_IOVECS];
		struct msghdr mh = { .msg_iov = iov };
		int n = evbuffer_peek(conn->out, -1, NULL, vec, WRITE_IOVECS);
		ssize_t put;

		if (n > WRITE_IOVECS)
			n = WRITE_IOVECS;
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = vec[i].iov_base;
			iov[i].iov_len = vec[i].iov_len;
		}
		mh.msg_iovlen = (size_t)n;
		put = sendmsg(conn->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		evbuffer_drain(conn->out, (size_t)put);
		conn->wrote = true;
	}
	return 0;
}

/* Write what the socket takes; arm EV_WRITE for the rest. */
static void flush(struct ttrpc__conn *conn)
{
	int r = write_some(conn);

	if (r < 0 && r != -EAGAIN) {
		fail(conn, r);
		return;
	}
	if (r == -EAGAIN && !conn->write_armed) {
		event_add(conn->wev, NULL);
		conn->write_armed = true;
	}
	if (r == 0 && conn->write_armed) {
		event_del(conn->wev);
		conn->write_armed = false;
	}
	if (conn->wrote && evbuffer_get_length(conn->out) <= conn->low) {
		conn->wrote = false;
		conn->ops->write(conn);
	}
}

void ttrpc__conn_write_now(struct ttrpc__conn *conn)
{
	if (!conn->failed && !conn->write_armed)
		(void)write_some(conn);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__conn *conn = arg;

	if (!conn->failed)
		flush(conn);
}

int ttrpc__stream_socket(int fd, bool listening)
{
	int type = 0, accepts = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(accepts);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepts, &len) < 0)
		return -errno;
	return type == SOCK_STREAM && !accepts == !listening ? 0 : -EINVAL;
}

int ttrpc__conn_init(struct ttrpc__conn *conn, struct event_base *base, int fd,
		     const struct ttrpc__conn_ops *ops, void *owner, size_t low,
		     struct ttrpc__pool *pool, const struct ttrpc__frame_reader *reader)
{
	conn->fd = fd;
	conn->ops = ops;
	conn->owner = owner;
	conn->low = low;
	conn->write_armed = false;
	conn->failed = false;
	conn->pool = pool;
	conn->reader = reader;
	conn->big = NULL;
	conn->in_block = NULL;
	conn->after_large = false;
	conn->in = evbuffer_new();
	conn->out = evbuffer_new();
	conn->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, conn);
	conn->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_flush, conn);
	conn->flush = event_new(base, -1, 0, on_flush, conn);
	if (!conn->in || !conn->out || !conn->rev || !conn->wev || !conn->flush ||
	    event_add(conn->rev, NULL) < 0) {
		conn->fd = -1;
		ttrpc__conn_deinit(conn);
		return -ENOMEM;
	}
	return 0;
}

void ttrpc__conn_deinit(struct ttrpc__conn *conn)
{
	if (conn->rev)
		event_free(conn->rev);
	if (conn->wev)
		event_free(conn->wev);
	if (conn->flush)
		event_free(conn->flush);
	if (conn->in)
		evbuffer_free(conn->in);
	if (conn->big)
		ttrpc__ref_put(&conn->big->ref);
	conn->big = NULL;
	if (conn->out)
		evbuffer_free(conn->out);
	if (conn->fd >= 0)
		close(conn->fd);
	conn->rev = conn->wev = conn->flush = NULL;
	conn->in = conn->out = NULL;
	conn->fd = -1;
}

void ttrpc__conn_set_reading(struct ttrpc__conn *conn, bool on)
{
	if (conn->failed)
		return;
	if (on)
		event_add(conn->rev, NULL);
	else
		event_del(conn->rev);
}

void ttrpc__conn_stop(struct ttrpc__conn *conn)
{
	event_del(conn->rev);
	event_del(conn->wev);
	event_del(conn->flush);
	conn->write_armed = false;
}

void ttrpc__conn_queued(struct ttrpc__conn *conn)
{
	/* Once armed, EV_WRITE does the writing; otherwise write after the
	 * current callbacks, so that replies to one read leave together. */
	if (!conn->failed && !conn->write_armed)
		event_active(conn->flush, 0, 0);
}
