/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One connection's socket, its input and output buffers, and the events
 * that move bytes between them; shared by server connections and clients.
 *
 * Not a bufferevent, for the syscalls a call costs: bufferevent asks
 * FIONREAD before every read and re-arms EV_WRITE for every reply. Here a
 * read is one readv into reserved buffer space, and replies queued while
 * handling input leave in one sendmsg at the end of the loop iteration,
 * with EV_WRITE armed only while the socket is full. sendmsg with
 * MSG_NOSIGNAL also spares programs from having to ignore SIGPIPE.
 */
#ifndef TTRPC_CONN_H
#define TTRPC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;
struct evbuffer;
struct ttrpc__conn;
struct ttrpc__block;
struct ttrpc__frame_reader;
struct ttrpc__pool;
struct ttrpc__ref;

struct ttrpc__conn_ops {
	/* New bytes are in conn->in. */
	void (*read)(struct ttrpc__conn *conn);
	/* A write left the output at or below the low watermark. */
	void (*write)(struct ttrpc__conn *conn);
	/* End of input (@err 0) or a socket error (-errno); nothing more is
	 * read or written. */
	void (*error)(struct ttrpc__conn *conn, int err);
};

struct ttrpc__conn {
	int fd;
	struct evbuffer *in;
	struct evbuffer *out;
	struct event *rev;
	struct event *wev;
	struct event *flush;
	const struct ttrpc__conn_ops *ops;
	void *owner;
	size_t low;               /* output low watermark for ops->write */
	struct ttrpc__pool *pool; /* of the owner, for blocks */
	/* the owner's reader of @in: what a frame may be, what is skipped */
	const struct ttrpc__frame_reader *reader;
	struct ttrpc__block *big; /* a large frame being read into a block */
	size_t big_have;
	struct ttrpc__block *in_block; /* a large frame in @in, read into a block */
	bool after_large;              /* the last frame read was large: read little first */
	bool write_armed;              /* wev is added: the socket was full */
	bool wrote;                    /* written since ops->write was last called */
	bool failed;                   /* ops->error was called */
};

/*
 * ttrpc__stream_socket() - whether @fd is a stream socket, listening as
 * @listening asks, before a function takes it.
 * Return: 0; -errno of getsockopt(2) (-ENOTSOCK, -EBADF); -EINVAL for
 * another type of socket, or one that is (not) listening.
 */
int ttrpc__stream_socket(int fd, bool listening);

/*
 * ttrpc__conn_init() - take @fd (non-blocking) and start reading; large
 * frames, up to @reader's limit and not while it skips a payload, are read
 * into blocks of @pool (both borrowed, for the life of the connection).
 * Return: 0, or -ENOMEM with @fd left to the caller.
 */
int ttrpc__conn_init(struct ttrpc__conn *conn, struct event_base *base, int fd,
		     const struct ttrpc__conn_ops *ops, void *owner, size_t low,
		     struct ttrpc__pool *pool, const struct ttrpc__frame_reader *reader);

/*
 * ttrpc__conn_in_ref() - the block of a frame in conn->in, when
 * [@p, @p + @len) lies in one (a large frame): referring to it needs a
 * reference of its own past ttrpc__frame_consume(). Else NULL.
 */
struct ttrpc__ref *ttrpc__conn_in_ref(struct ttrpc__conn *conn, const uint8_t *p, size_t len);

/* Free the events and buffers and close the fd. */
void ttrpc__conn_deinit(struct ttrpc__conn *conn);

/* Stop (or resume) reading; bytes not read wait in the socket. */
void ttrpc__conn_set_reading(struct ttrpc__conn *conn, bool on);

/* Stop everything at once: no reading, no writing, no callbacks. */
void ttrpc__conn_stop(struct ttrpc__conn *conn);

/* Something was appended to conn->out: write it at the end of this loop iteration. */
void ttrpc__conn_queued(struct ttrpc__conn *conn);

/*
 * Write what the socket takes at once, for the blocking API, without
 * calling back or waiting: the rest, errors and ops->write are left to the
 * loop's flush, which ttrpc__conn_queued() has scheduled.
 */
void ttrpc__conn_write_now(struct ttrpc__conn *conn);

#endif
