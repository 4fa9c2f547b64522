/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state of one stream, as PROTOCOL.md of containerd/ttrpc defines it:
 * each side is "local closed" once it sends nothing more and "remote closed"
 * once its peer does; the flags of Request and Data frames move the states.
 * No I/O here: server and client connections ask this what a frame means.
 */
#ifndef TTRPC_STREAM_H
#define TTRPC_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <ttrpc/common.h>

enum ttrpc__stream_role {
	TTRPC__ROLE_SERVER,
	TTRPC__ROLE_CLIENT,
};

struct ttrpc__stream {
	enum ttrpc__stream_role role;
	enum ttrpc_method_kind kind;
	bool local_closed;
	bool remote_closed;
};

/* What a received frame means for the stream. */
enum ttrpc__stream_event {
	TTRPC__EV_NONE,           /* nothing to deliver (no-data without close) */
	TTRPC__EV_MESSAGE,        /* deliver the payload as one message */
	TTRPC__EV_MESSAGE_END,    /* deliver it; then the peer has closed */
	TTRPC__EV_END,            /* the peer has closed, no message */
	TTRPC__EV_FINAL,          /* client: a Response, the call's outcome */
	TTRPC__EV_ERR_UNARY,      /* server: Data on a unary call */
	TTRPC__EV_ERR_CLOSED,     /* server: Data after the client closed its side */
	TTRPC__EV_ERR_NOT_STREAM, /* client: Data from a server that does not stream */
};

/*
 * ttrpc__stream_init() - the state right after the Request: a client that
 * does not stream has closed its side with it (both roles agree on that).
 */
void ttrpc__stream_init(struct ttrpc__stream *s, enum ttrpc__stream_role role,
			enum ttrpc_method_kind kind);

/* Flags of the Request that opens a call of @kind, as Go sends them. */
uint8_t ttrpc__stream_request_flags(enum ttrpc_method_kind kind);

/* ttrpc__stream_recv() - a frame of @type and @flags arrived on the stream. */
enum ttrpc__stream_event ttrpc__stream_recv(struct ttrpc__stream *s, uint8_t type, uint8_t flags);

/* Whether this side may send a Data message now: 0, -EINVAL (the kind
 * does not stream this way) or -EPIPE (closed already). */
int ttrpc__stream_can_send(const struct ttrpc__stream *s);

/* This side sends nothing more (client CloseSend, server end of call). */
void ttrpc__stream_close_local(struct ttrpc__stream *s);

#endif
