/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>

#include "frame.h"
#include "stream.h"

static bool client_streams(enum ttrpc_method_kind kind)
{
	return kind == TTRPC_METHOD_CLIENT_STREAM || kind == TTRPC_METHOD_BIDI_STREAM;
}

static bool server_streams(enum ttrpc_method_kind kind)
{
	return kind == TTRPC_METHOD_SERVER_STREAM || kind == TTRPC_METHOD_BIDI_STREAM;
}

void ttrpc__stream_init(struct ttrpc__stream *s, enum ttrpc__stream_role role,
			enum ttrpc_method_kind kind)
{
	bool client_done = !client_streams(kind);

	s->role = role;
	s->kind = kind;
	s->local_closed = role == TTRPC__ROLE_CLIENT ? client_done : false;
	s->remote_closed = role == TTRPC__ROLE_SERVER ? client_done : false;
}

uint8_t ttrpc__stream_request_flags(enum ttrpc_method_kind kind)
{
	/* Go's unary Call sends no flags; NewStream says whether the client streams. */
	if (kind == TTRPC_METHOD_UNARY)
		return 0;
	return client_streams(kind) ? TTRPC__FLAG_REMOTE_OPEN : TTRPC__FLAG_REMOTE_CLOSED;
}

/* A Data frame from a peer that may send: a message, its end, or both. */
static enum ttrpc__stream_event data_event(struct ttrpc__stream *s, uint8_t flags)
{
	bool closes = flags & TTRPC__FLAG_REMOTE_CLOSED;
	bool empty = flags & TTRPC__FLAG_NO_DATA;

	if (closes)
		s->remote_closed = true;
	if (empty)
		return closes ? TTRPC__EV_END : TTRPC__EV_NONE;
	return closes ? TTRPC__EV_MESSAGE_END : TTRPC__EV_MESSAGE;
}

enum ttrpc__stream_event ttrpc__stream_recv(struct ttrpc__stream *s, uint8_t type, uint8_t flags)
{
	if (s->role == TTRPC__ROLE_CLIENT) {
		if (type == TTRPC__TYPE_RESPONSE) {
			s->remote_closed = true;
			return TTRPC__EV_FINAL;
		}
		if (type != TTRPC__TYPE_DATA)
			return TTRPC__EV_NONE;
		if (!server_streams(s->kind))
			return TTRPC__EV_ERR_NOT_STREAM;
		if (s->remote_closed)
			return TTRPC__EV_NONE;
		return data_event(s, flags);
	}
	/* The server ignores everything but Data on a live stream (and
	 * Requests, which open streams and never reach here). */
	if (type != TTRPC__TYPE_DATA)
		return TTRPC__EV_NONE;
	if (s->kind == TTRPC_METHOD_UNARY)
		return TTRPC__EV_ERR_UNARY;
	if (s->remote_closed)
		return TTRPC__EV_ERR_CLOSED;
	return data_event(s, flags);
}

int ttrpc__stream_can_send(const struct ttrpc__stream *s)
{
	bool streams = s->role == TTRPC__ROLE_CLIENT ? client_streams(s->kind)
						     : server_streams(s->kind);

	if (!streams)
		return -EINVAL;
	return s->local_closed ? -EPIPE : 0;
}

void ttrpc__stream_close_local(struct ttrpc__stream *s)
{
	s->local_closed = true;
}
