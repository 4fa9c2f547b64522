/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <event2/event.h>

#include "fuzz-peer.h"

/* Iterations with nothing moving before the connection counts as idle:
 * output queued in a callback leaves from a deferred event a turn later. */
#define QUIET_ROUNDS 3

struct event_base *fuzz_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	FUZZ_CHECK(cfg && event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) == 0);
	base = event_base_new_with_config(cfg);
	FUZZ_CHECK(base);
	event_config_free(cfg);
	return base;
}

void fuzz_peer_open(struct fuzz_peer *p, int *lib, const uint8_t *data, size_t size)
{
	/* A small send buffer for the library, so that it meets a full socket
	 * (EAGAIN, EV_WRITE armed) after a few KiB rather than 200. */
	int sndbuf = 8192;
	int sv[2];

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == 0);
	FUZZ_CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	*lib = sv[0];
	p->fd = sv[1];
	p->data = data;
	p->size = size;
	p->pos = 0;
	p->chunk = 0;
	p->no_read = false;
	p->eof = false;
}

/* Send the next chunk; return the bytes sent. */
static size_t peer_send(struct fuzz_peer *p)
{
	size_t n = p->size - p->pos;
	ssize_t put;

	if (p->fd < 0 || n == 0)
		return 0;
	if (p->chunk && n > p->chunk)
		n = p->chunk;
	put = send(p->fd, p->data + p->pos, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (put < 0) {
		/* The library closed its end: the rest cannot be sent. */
		if (errno != EAGAIN && errno != EINTR)
			p->pos = p->size;
		return 0;
	}
	p->pos += (size_t)put;
	return (size_t)put;
}

/* Read and drop what the library wrote; return the bytes read. */
static size_t peer_recv(struct fuzz_peer *p)
{
	static uint8_t sink[65536];
	size_t total = 0;

	if (p->fd < 0 || p->no_read || p->eof)
		return 0;
	for (;;) {
		ssize_t got = recv(p->fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (got > 0) {
			total += (size_t)got;
			continue;
		}
		if (got == 0 || (errno != EAGAIN && errno != EINTR))
			p->eof = true;
		return total;
	}
}

/* Bytes we sent that the library has not read yet. */
static int peer_unread(const struct fuzz_peer *p)
{
	int n = 0;

	if (p->fd < 0 || ioctl(p->fd, SIOCOUTQ, &n) < 0)
		return 0;
	return n;
}

void fuzz_peer_run(struct fuzz_peer *p, struct event_base *base, size_t max_iter)
{
	int quiet = 0, unread = -1;

	/* Idle when nothing moves: no byte sent or received, none of ours read
	 * by the library (which may have stopped reading for good). */
	for (size_t i = 0; i < max_iter && quiet < QUIET_ROUNDS; i++) {
		size_t moved = peer_send(p);
		int now;

		event_base_loop(base, EVLOOP_NONBLOCK);
		moved += peer_recv(p);
		now = peer_unread(p);
		if (moved || now != unread)
			quiet = 0;
		else
			quiet++;
		unread = now;
	}
}

void fuzz_peer_close(struct fuzz_peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

void fuzz_peer_shutdown_write(struct fuzz_peer *p)
{
	if (p->fd >= 0)
		shutdown(p->fd, SHUT_WR);
	p->pos = p->size;
}
