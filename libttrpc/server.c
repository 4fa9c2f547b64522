/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server: listeners, connections, the per-connection stream table and
 * the dispatcher. Frames are cut out of each connection's input buffer and
 * answers are serialized straight into its output buffer (conn.c writes it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "refmsg.h"
#include "server-private.h"
#include "wire.h"

#define DEFAULT_MAX_OUTPUT (64u << 20)
#define DEFAULT_FRAME_TIMEOUT_MS 10000
/* Out of fds: how long the listeners rest, and how often that is reported. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_REPORT_US (10 * 1000000ull)

uint64_t ttrpc__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void maybe_finish_shutdown(struct ttrpc_server *srv);
static void conn_timer_update(struct ttrpc__sconn *conn);

/* ---- connections ---- */

struct evbuffer *ttrpc__sconn_output(struct ttrpc__sconn *conn)
{
	return conn->io.out;
}

static void conn_close(struct ttrpc__sconn *conn)
{
	struct ttrpc_server *srv = conn->srv;
	struct ttrpc_call *call;

	if (conn->closed)
		return;
	conn->closed = true;
	ttrpc__conn_stop(&conn->io);
	evtimer_del(conn->timer);
	LIST_REMOVE(conn, link);
	LIST_INSERT_HEAD(&srv->dead, conn, link);
	srv->stats.connections--;
	while ((call = ttrpc__idmap_pop(&conn->calls))) {
		call->conn = NULL;
		ttrpc__call_abort(call, TTRPC_CANCELLED, "connection closed", false);
	}
	event_active(srv->reaper, 0, 0);
	maybe_finish_shutdown(srv);
}

static void conn_free(struct ttrpc__sconn *conn)
{
	LIST_REMOVE(conn, link);
	event_free(conn->writable);
	event_free(conn->timer);
	ttrpc__conn_deinit(&conn->io);
	ttrpc__idmap_clear(&conn->calls);
	ttrpc__groups_unref(conn->groups);
	free(conn);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc_server *srv = arg;

	while (!LIST_EMPTY(&srv->dead))
		conn_free(LIST_FIRST(&srv->dead));
}

/*
 * The output is flushed: close, or first offer an idle connection to the
 * hand-off hook when the server is shutting down. A connection with bytes of
 * an unread request is not idle: the next process could not make sense of
 * the rest of the stream.
 */
static void conn_close_drained(struct ttrpc__sconn *conn)
{
	struct ttrpc_server *srv = conn->srv;

	if (srv->shutting_down && srv->handoff && conn->calls.len == 0 &&
	    conn->reader.discard == 0 && evbuffer_get_length(conn->io.in) == 0)
		srv->handoff(srv, conn->io.fd, &conn->peer, srv->handoff_userdata);
	conn_close(conn);
}

/*
 * Close once everything queued has reached the socket. Always from the
 * loop: the hand-off hook, and the cancelling of what a closing connection
 * still holds, never run inside the libttrpc function that got here
 * (ttrpc_server_shutdown(), a handler's answer).
 */
static void conn_close_flushed(struct ttrpc__sconn *conn)
{
	if (conn->closed)
		return;
	conn->closing = true;
	ttrpc__conn_set_reading(&conn->io, false);
	if (evbuffer_get_length(conn->io.out) == 0)
		event_active(conn->writable, 0, 0);
}

void ttrpc__sconn_queued(struct ttrpc__sconn *conn)
{
	size_t queued;

	if (conn->closed)
		return;
	queued = evbuffer_get_length(conn->io.out);
	if (queued <= conn->srv->max_output) {
		ttrpc__conn_queued(&conn->io);
		return;
	}
	if (conn->dropping)
		return;
	ttrpc__log(
		&conn->srv->log, TTRPC_LOG_WARNING,
		"dropping connection of pid %d uid %u: %zu bytes queued, over the output limit of %llu (the peer does not read)",
		(int)conn->peer.pid, (unsigned)conn->peer.uid, queued,
		(unsigned long long)conn->srv->max_output);
	/*
	 * Closing here would cancel calls under the feet of the handler that
	 * is replying or sending: stop the socket now, close from the loop, so
	 * that cancel callbacks never run inside a ttrpc_call_*() function.
	 */
	conn->dropping = true;
	ttrpc__conn_stop(&conn->io);
	event_active(conn->writable, 0, 0);
}

void ttrpc__sconn_send_status(struct ttrpc__sconn *conn, uint32_t id, int code, const char *message)
{
	if (conn->closed)
		return;
	if (ttrpc__wire_response_status(conn->io.out, id, code, message, conn->srv->max_message) <
	    0) {
		conn_close(conn);
		return;
	}
	ttrpc__sconn_queued(conn);
}

void ttrpc__sconn_call_done(struct ttrpc__sconn *conn)
{
	if (conn->srv->shutting_down && conn->calls.len == 0)
		conn_close_flushed(conn);
	else
		conn_timer_update(conn);
}

static struct ttrpc__service *find_service(struct ttrpc_server *srv, const char *name)
{
	struct ttrpc__service *svc;

	LIST_FOREACH(svc, &srv->services, link)
		if (strcmp(svc->name, name) == 0)
			return svc;
	return NULL;
}

static const struct ttrpc_method *find_method(const struct ttrpc__service *svc, const char *name)
{
	for (const struct ttrpc_method *m = svc->methods; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static void fail_status(struct ttrpc__sconn *conn, uint32_t id, int code, const char *fmt, ...)
	TTRPC_PRINTF(4, 5);

static void fail_status(struct ttrpc__sconn *conn, uint32_t id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ttrpc__log(&conn->srv->log, TTRPC_LOG_DEBUG, "stream %u of pid %d: %s: %s", id,
		   (int)conn->peer.pid, ttrpc_code_name(code), msg);
	conn->srv->stats.calls_total++;
	conn->srv->stats.calls_failed++;
	ttrpc__sconn_send_status(conn, id, code, msg);
}

static void handle_request(struct ttrpc__sconn *conn, const struct ttrpc__frame_header *h,
			   const uint8_t *payload)
{
	struct ttrpc_server *srv = conn->srv;
	struct ttrpc__service *svc;
	const struct ttrpc_method *method;
	ProtobufCMessage *input, *first;
	bool bad_payload = false, referenced = false;
	struct ttrpc__ref *block;
	Ttrpc__Request *req;
	struct ttrpc_call *call;

	if (h->stream_id <= conn->last_request_id) {
		fail_status(conn, h->stream_id, TTRPC_INVALID_ARGUMENT,
			    "StreamID cannot be re-used and must increment");
		return;
	}
	conn->last_request_id = h->stream_id;

	call = ttrpc__call_alloc();
	if (!call) {
		fail_status(conn, h->stream_id, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	/* A large frame's payload and input bytes stay in its block (refmsg.h). */
	block = ttrpc__conn_in_ref(&conn->io, payload, h->length);
	req = (Ttrpc__Request *)ttrpc__unpack_ref(&ttrpc__request__descriptor,
						  &call->arena.allocator, h->length, payload,
						  block ? &referenced : NULL);
	if (!req) {
		fail_status(conn, h->stream_id, TTRPC_INVALID_ARGUMENT,
			    "unmarshal request error: not a valid ttrpc.Request protobuf message");
		goto discard;
	}
	svc = find_service(srv, req->service);
	method = svc ? find_method(svc, req->method) : NULL;
	if (!svc || !method) {
		if (!svc)
			fail_status(conn, h->stream_id, TTRPC_UNIMPLEMENTED, "service %s",
				    req->service);
		else
			fail_status(conn, h->stream_id, TTRPC_UNIMPLEMENTED, "method %s",
				    req->method);
		goto discard;
	}
	if (method->kind != TTRPC_METHOD_UNARY && srv->max_streams_per_conn &&
	    conn->n_streams >= srv->max_streams_per_conn) {
		fail_status(conn, h->stream_id, TTRPC_RESOURCE_EXHAUSTED,
			    "too many streams in flight on this connection (limit %llu)",
			    (unsigned long long)srv->max_streams_per_conn);
		goto discard;
	}
	if (srv->max_calls_per_conn && conn->calls.len >= srv->max_calls_per_conn) {
		fail_status(conn, h->stream_id, TTRPC_RESOURCE_EXHAUSTED,
			    "too many calls in flight on this connection (limit %llu)",
			    (unsigned long long)srv->max_calls_per_conn);
		goto discard;
	}
	/*
	 * The Request's payload is the request of unary and server-streaming
	 * calls, even when absent (an empty message). For a client that
	 * streams it is a first message only when the field is there and the
	 * no-data flag is not: Go's client omits both, and inventing an empty
	 * first message is the ttrpc-rust#221 bug.
	 */
	input = NULL;
	first = NULL;
	referenced = false;
	if (method->kind == TTRPC_METHOD_UNARY || method->kind == TTRPC_METHOD_SERVER_STREAM) {
		input = ttrpc__unpack_ref(method->input, &call->arena.allocator, req->payload.len,
					  req->payload.data, block ? &referenced : NULL);
		bad_payload = !input;
	} else if (!(h->flags & TTRPC__FLAG_NO_DATA) &&
		   ttrpc__wire_request_has_payload(payload, h->length)) {
		first = ttrpc__unpack_ref(method->input, &call->arena.allocator, req->payload.len,
					  req->payload.data, block ? &referenced : NULL);
		bad_payload = !first;
	}
	/* The payload may point into the frame, which goes; the input stays. */
	req->payload.data = NULL;
	req->payload.len = 0;
	if (referenced)
		ttrpc__call_hold(call, block);
	if (bad_payload) {
		fail_status(conn, h->stream_id, TTRPC_INTERNAL,
			    "ttrpc: error unmarshalling payload: not a valid %s protobuf message",
			    method->input->name);
		goto discard;
	}
	if (ttrpc__call_attach(call, conn, h->stream_id, req) < 0) {
		fail_status(conn, h->stream_id, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto discard;
	}
	call->first = first;
	if (method->kind != TTRPC_METHOD_UNARY)
		conn->n_streams++;
	ttrpc__stream_init(&call->st, TTRPC__ROLE_SERVER, method->kind);
	ttrpc__log(&srv->log, TTRPC_LOG_DEBUG, "call %s/%s stream %u from pid %d", req->service,
		   req->method, h->stream_id, (int)conn->peer.pid);
	ttrpc__call_start(call, svc, method, input);
	return;
discard:
	ttrpc__call_discard(call);
}

static void handle_data(struct ttrpc__sconn *conn, const struct ttrpc__frame_header *h,
			const uint8_t *payload)
{
	struct ttrpc_call *call = ttrpc__idmap_get(&conn->calls, h->stream_id);

	if (!call) {
		fail_status(conn, h->stream_id, TTRPC_INVALID_ARGUMENT,
			    "StreamID is no longer active");
		return;
	}
	ttrpc__call_data(call, h->flags, payload, h->length);
}

static void handle_frame(struct ttrpc__sconn *conn, const struct ttrpc__frame_header *h,
			 const uint8_t *payload)
{
	if (h->stream_id % 2 != 1) {
		fail_status(conn, h->stream_id, TTRPC_INVALID_ARGUMENT,
			    "StreamID must be odd for client initiated streams");
		return;
	}
	switch (h->type) {
	case TTRPC__TYPE_REQUEST:
		handle_request(conn, h, payload);
		break;
	case TTRPC__TYPE_DATA:
		handle_data(conn, h, payload);
		break;
	default:
		/* Ignored, as Go does, so that future message types pass through. */
		ttrpc__log(&conn->srv->log, TTRPC_LOG_DEBUG, "stream %u: ignoring frame of type %u",
			   h->stream_id, h->type);
		break;
	}
}

static bool in_frame(const struct ttrpc__sconn *conn)
{
	return evbuffer_get_length(conn->io.in) > 0 || conn->io.big || conn->reader.discard > 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__sconn *conn = arg;

	if (conn->timer_mode == TIMER_FRAME)
		ttrpc__log(
			&conn->srv->log, TTRPC_LOG_WARNING,
			"closing connection of pid %d uid %u: a frame stayed incomplete for %llu ms",
			(int)conn->peer.pid, (unsigned)conn->peer.uid,
			(unsigned long long)conn->srv->frame_timeout_ms);
	else
		ttrpc__log(&conn->srv->log, TTRPC_LOG_INFO,
			   "closing connection of pid %d uid %u: idle for %llu ms",
			   (int)conn->peer.pid, (unsigned)conn->peer.uid,
			   (unsigned long long)conn->srv->idle_timeout_ms);
	conn->timer_mode = TIMER_NONE;
	conn_close(conn);
}

/*
 * Arm the timeout that applies now. A frame's timer starts with its first
 * byte and is not pushed back by progress, so a peer that trickles a byte
 * at a time cannot hold the connection; the idle timer starts when the
 * last call ends.
 */
static void conn_timer_update(struct ttrpc__sconn *conn)
{
	struct ttrpc_server *srv = conn->srv;
	int mode = TIMER_NONE;
	uint64_t ms = 0;

	if (conn->closed || conn->closing)
		return;
	if (in_frame(conn) && srv->frame_timeout_ms) {
		mode = TIMER_FRAME;
		ms = srv->frame_timeout_ms;
	} else if (!in_frame(conn) && conn->calls.len == 0 && srv->idle_timeout_ms) {
		mode = TIMER_IDLE;
		ms = srv->idle_timeout_ms;
	}
	if (mode == (int)conn->timer_mode)
		return;
	conn->timer_mode = mode;
	if (mode == TIMER_NONE) {
		evtimer_del(conn->timer);
	} else {
		struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
				      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(conn->timer, &tv);
	}
}

static void read_frames(struct ttrpc__sconn *conn)
{
	struct evbuffer *in = conn->io.in;

	while (!conn->closed && !conn->closing && !conn->srv->shutting_down) {
		struct ttrpc__frame_header h;
		const uint8_t *payload = NULL;
		char msg[128];

		switch (ttrpc__frame_next(&conn->reader, in, &h, &payload)) {
		case TTRPC__FRAME_NEED_MORE:
			return;
		case TTRPC__FRAME_OK:
			handle_frame(conn, &h, payload);
			ttrpc__frame_consume(&conn->reader, in);
			break;
		case TTRPC__FRAME_OVERSIZED:
			snprintf(msg, sizeof(msg),
				 "message length %u exceed maximum message size of %u", h.length,
				 conn->reader.max_length);
			fail_status(conn, h.stream_id, TTRPC_RESOURCE_EXHAUSTED, "%s", msg);
			break;
		case TTRPC__FRAME_CORRUPT:
			snprintf(msg, sizeof(msg),
				 "message length %u exceed maximum message size of %u", h.length,
				 conn->reader.max_length);
			fail_status(conn, h.stream_id, TTRPC_RESOURCE_EXHAUSTED, "%s", msg);
			ttrpc__log(
				&conn->srv->log, TTRPC_LOG_WARNING,
				"closing connection of pid %d uid %u: not ttrpc (reserved length byte is 0x%02x)",
				(int)conn->peer.pid, (unsigned)conn->peer.uid, h.length >> 24);
			conn_close_flushed(conn);
			return;
		}
	}
}

static void on_read(struct ttrpc__conn *io)
{
	struct ttrpc__sconn *conn = io->owner;

	read_frames(conn);
	conn_timer_update(conn);
}

/* Tell the calls waiting for room, one by one; each may fill the queue again. */
static void run_waiting(struct ttrpc__sconn *conn)
{
	struct ttrpc_call *call;

	while (!conn->closed && (call = LIST_FIRST(&conn->waiting)) &&
	       evbuffer_get_length(conn->io.out) <= TTRPC__OUTPUT_LOW) {
		LIST_REMOVE(call, wait_link);
		call->waiting = false;
		ttrpc__call_writable(call);
	}
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__sconn *conn = arg;

	if (conn->closed)
		return;
	if (conn->dropping)
		conn_close(conn);
	else if (conn->closing && evbuffer_get_length(conn->io.out) == 0)
		conn_close_drained(conn);
	else
		run_waiting(conn);
}

void ttrpc__sconn_wait_writable(struct ttrpc__sconn *conn, struct ttrpc_call *call)
{
	if (!call->waiting) {
		LIST_INSERT_HEAD(&conn->waiting, call, wait_link);
		call->waiting = true;
	}
	if (evbuffer_get_length(conn->io.out) <= TTRPC__OUTPUT_LOW)
		event_active(conn->writable, 0, 0);
}

static void on_write(struct ttrpc__conn *io)
{
	struct ttrpc__sconn *conn = io->owner;

	run_waiting(conn);

	if (conn->closing && evbuffer_get_length(io->out) == 0)
		conn_close_drained(conn);
}

static void on_error(struct ttrpc__conn *io, int err)
{
	struct ttrpc__sconn *conn = io->owner;

	if (err < 0)
		ttrpc__log(&conn->srv->log, TTRPC_LOG_DEBUG, "connection of pid %d: %s",
			   (int)conn->peer.pid, strerror(-err));
	conn_close(conn);
}

static const struct ttrpc__conn_ops sconn_ops = {
	.read = on_read,
	.write = on_write,
	.error = on_error,
};

struct ttrpc__groups *ttrpc__groups_ref(struct ttrpc__groups *g)
{
	if (g)
		g->refs++;
	return g;
}

void ttrpc__groups_unref(struct ttrpc__groups *g)
{
	if (g && --g->refs == 0)
		free(g);
}

/*
 * The peer's supplementary groups as they were at connect (SO_PEERGROUPS,
 * Linux 4.13). Most peers have a few, which fit on the stack; the kernel
 * says how much room more need (ERANGE), and they cannot change since.
 * None, or a kernel without the option, gives NULL.
 */
static int peer_groups(int fd, struct ttrpc__groups **ret)
{
	gid_t small[32], *v = small;
	socklen_t len = sizeof(small);
	struct ttrpc__groups *g = NULL;
	int r = 0;

	*ret = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len) < 0) {
		if (errno == ENOPROTOOPT)
			return 0;
		if (errno != ERANGE || !(v = malloc(len)))
			return errno == ERANGE ? -ENOMEM : -errno;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len) < 0)
			r = -errno;
	}
	if (r == 0 && len >= sizeof(gid_t)) {
		g = malloc(sizeof(*g) + len);
		if (g) {
			g->refs = 1;
			g->n = len / sizeof(gid_t);
			memcpy(g->gids, v, g->n * sizeof(gid_t));
		} else {
			r = -ENOMEM;
		}
	}
	if (v != small)
		free(v);
	*ret = g;
	return r;
}

static int peer_credentials(int fd, struct ttrpc_peer *peer, struct ttrpc__groups **groups)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	r = peer_groups(fd, groups);
	if (r < 0)
		return r;
	*peer = (struct ttrpc_peer){
		.pid = uc.pid,
		.uid = uc.uid,
		.gid = uc.gid,
		.groups = *groups ? (*groups)->gids : NULL,
		.n_groups = *groups ? (*groups)->n : 0,
	};
	return 0;
}

/* Take @fd as a connection. Return 0, or a negative errno with @fd still open. */
static int conn_new(struct ttrpc_server *srv, int fd)
{
	struct ttrpc__sconn *conn;
	struct ttrpc__groups *groups = NULL;
	struct ttrpc_peer peer;
	int r;

	r = peer_credentials(fd, &peer, &groups);
	if (r < 0)
		return r;
	if (srv->max_connections && srv->stats.connections >= srv->max_connections) {
		srv->stats.connections_refused++;
		ttrpc__log(&srv->log, TTRPC_LOG_WARNING,
			   "refusing connection of pid %d uid %u: connection limit %llu reached",
			   (int)peer.pid, (unsigned)peer.uid,
			   (unsigned long long)srv->max_connections);
		r = -EMFILE;
		goto fail;
	}
	if (srv->admit && (r = srv->admit(&peer, srv->admit_userdata)) != 0) {
		srv->stats.connections_refused++;
		ttrpc__log(&srv->log, TTRPC_LOG_WARNING,
			   "refusing connection of pid %d uid %u gid %u: %s", (int)peer.pid,
			   (unsigned)peer.uid, (unsigned)peer.gid, strerror(r < 0 ? -r : EPERM));
		r = -EPERM;
		goto fail;
	}
	r = -ENOMEM;
	if (evutil_make_socket_nonblocking(fd) < 0) {
		r = -errno;
		goto fail;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		goto fail;
	conn->writable = event_new(srv->base, -1, 0, on_writable, conn);
	conn->timer = evtimer_new(srv->base, on_timer, conn);
	if (!conn->writable || !conn->timer ||
	    ttrpc__conn_init(&conn->io, srv->base, fd, &sconn_ops, conn, TTRPC__OUTPUT_LOW,
			     srv->pool, &conn->reader) < 0) {
		if (conn->writable)
			event_free(conn->writable);
		if (conn->timer)
			event_free(conn->timer);
		free(conn);
		goto fail;
	}
	conn->srv = srv;
	conn->peer = peer;
	conn->groups = groups;
	LIST_INIT(&conn->waiting);
	ttrpc__frame_reader_init(&conn->reader, srv->max_message);

	ttrpc__idmap_init(&conn->calls);
	LIST_INSERT_HEAD(&srv->conns, conn, link);
	conn_timer_update(conn);
	srv->stats.connections++;
	srv->stats.connections_total++;
	ttrpc__log(&srv->log, TTRPC_LOG_DEBUG, "connection from pid %d uid %u gid %u",
		   (int)peer.pid, (unsigned)peer.uid, (unsigned)peer.gid);
	return 0;
fail:
	ttrpc__groups_unref(groups);
	return r;
}

/* ---- listeners ---- */

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	if (conn_new(arg, fd) < 0)
		close(fd);
}

/* The pause is over: accept again; what still waits in the backlogs comes first. */
static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc_server *srv = arg;
	struct ttrpc__listener *l;

	LIST_FOREACH(l, &srv->listeners, link)
		evconnlistener_enable(l->lev);
}

static bool out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/*
 * accept() failed. Out of fds (or memory), the listening socket stays
 * readable, so retrying at once only spins and floods the log: rest every
 * listener of the server for ACCEPT_PAUSE_MS instead, while the
 * connections already open are served as usual (they need no new fd) and
 * new ones wait in the backlog. Failures are reported at most once per
 * ACCEPT_REPORT_US, with how many there were since the last report.
 */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct ttrpc_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	bool pause = out_of_resources(err);
	uint64_t now = ttrpc__now_us();
	struct ttrpc__listener *l;

	srv->accept_failures++;
	if (pause) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = ACCEPT_PAUSE_MS * 1000 };

		LIST_FOREACH(l, &srv->listeners, link)
			evconnlistener_disable(l->lev);
		evtimer_add(srv->accept_resume, &tv);
	}
	if (now < srv->accept_next_log_us)
		return;
	if (pause)
		ttrpc__log(
			&srv->log, TTRPC_LOG_ERR,
			"accept: %s (%llu %s since the last report): new connections wait in the backlog, %d ms at a time; open ones are served",
			strerror(err), (unsigned long long)srv->accept_failures,
			ttrpc__plural(srv->accept_failures, "time", "times"), ACCEPT_PAUSE_MS);
	else
		ttrpc__log(&srv->log, TTRPC_LOG_ERR, "accept: %s (%llu %s since the last report)",
			   strerror(err), (unsigned long long)srv->accept_failures,
			   ttrpc__plural(srv->accept_failures, "time", "times"));
	srv->accept_failures = 0;
	srv->accept_next_log_us = now + ACCEPT_REPORT_US;
}

static int listener_add(struct ttrpc_server *srv, int fd, const char *path)
{
	struct ttrpc__listener *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	if (path && !(l->path = strdup(path))) {
		free(l);
		return -ENOMEM;
	}
	/* Backlog 0: the socket is listening already. */
	l->lev = evconnlistener_new(srv->base, on_accept, srv,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l->lev) {
		free(l->path);
		free(l);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	LIST_INSERT_HEAD(&srv->listeners, l, link);
	return 0;
}

static void listener_free(struct ttrpc__listener *l)
{
	LIST_REMOVE(l, link);
	evconnlistener_free(l->lev);
	if (l->path)
		unlink(l->path);
	free(l->path);
	free(l);
}

/* A socket file nobody accepts on is left over from a dead server. */
static int remove_stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return -errno;
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

/*
 * chown() only when the file is not the owner's and group's already: a file
 * a process makes is its own, and a sandbox may deny chown() altogether
 * (systemd's SystemCallFilter=~@privileged).
 */
static int set_owner(const char *path, uid_t owner, gid_t group)
{
	struct stat st;

	if (owner == (uid_t)-1 && group == (gid_t)-1)
		return 0;
	if (lstat(path, &st) < 0)
		return -errno;
	if ((owner == (uid_t)-1 || owner == st.st_uid) &&
	    (group == (gid_t)-1 || group == st.st_gid))
		return 0;
	return chown(path, owner, group) < 0 ? -errno : 0;
}

TTRPC_EXPORT int ttrpc_unix_listen(const char *path, mode_t mode, uid_t owner, gid_t group,
				   int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	r = remove_stale_socket(&sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Nobody can connect before listen(), so setting these here is race-free. */
	r = chmod(path, mode) < 0 ? -errno : set_owner(path, owner, group);
	if (r == 0 && listen(fd, SOMAXCONN) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlink(path);
		return r;
	}
	*ret = fd;
	return 0;
}

TTRPC_EXPORT int ttrpc_server_listen_unix(struct ttrpc_server *srv, const char *path, mode_t mode)
{
	int fd, r;

	r = ttrpc_unix_listen(path, mode, (uid_t)-1, (gid_t)-1, &fd);
	if (r < 0)
		return r;
	r = listener_add(srv, fd, path);
	if (r < 0) {
		close(fd);
		unlink(path);
	}
	return r;
}

TTRPC_EXPORT int ttrpc_server_adopt_listener(struct ttrpc_server *srv, int fd)
{
	int r = ttrpc__stream_socket(fd, true);

	if (r < 0)
		return r;
	if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0)
		return -errno;
	return listener_add(srv, fd, NULL);
}

TTRPC_EXPORT int ttrpc_server_adopt_conn(struct ttrpc_server *srv, int fd)
{
	int r = ttrpc__stream_socket(fd, false);

	return r < 0 ? r : conn_new(srv, fd);
}

/* ---- the server ---- */

TTRPC_EXPORT int ttrpc_server_new(struct event_base *base, struct ttrpc_server **ret)
{
	struct ttrpc_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return -ENOMEM;
	srv->base = base;
	srv->max_message = TTRPC_MAX_MESSAGE_SIZE;
	srv->max_output = DEFAULT_MAX_OUTPUT;
	srv->frame_timeout_ms = DEFAULT_FRAME_TIMEOUT_MS;
	LIST_INIT(&srv->services);
	LIST_INIT(&srv->retiring);
	LIST_INIT(&srv->listeners);
	LIST_INIT(&srv->conns);
	LIST_INIT(&srv->dead);
	LIST_INIT(&srv->calls);
	srv->reaper = event_new(base, -1, 0, on_reap, srv);
	srv->accept_resume = evtimer_new(base, on_accept_resume, srv);
	srv->pool = ttrpc__pool_new(base);
	if (!srv->reaper || !srv->accept_resume || !srv->pool) {
		if (srv->reaper)
			event_free(srv->reaper);
		if (srv->accept_resume)
			event_free(srv->accept_resume);
		ttrpc__pool_free(srv->pool);
		free(srv);
		return -ENOMEM;
	}
	*ret = srv;
	return 0;
}

static void retire_events_free(struct ttrpc__service *svc);

TTRPC_EXPORT void ttrpc_server_free(struct ttrpc_server *srv)
{
	struct ttrpc__service *svc;

	if (!srv)
		return;
	while (!LIST_EMPTY(&srv->listeners))
		listener_free(LIST_FIRST(&srv->listeners));
	while (!LIST_EMPTY(&srv->conns))
		conn_close(LIST_FIRST(&srv->conns));
	on_reap(-1, 0, srv);
	while (!LIST_EMPTY(&srv->calls))
		ttrpc__call_orphan(LIST_FIRST(&srv->calls));
	while ((svc = LIST_FIRST(&srv->services))) {
		LIST_REMOVE(svc, link);
		ttrpc__service_unref(svc);
	}
	/* Nobody is told any more: what is left of them goes with their calls. */
	while ((svc = LIST_FIRST(&srv->retiring))) {
		LIST_REMOVE(svc, link);
		retire_events_free(svc);
		if (svc->refs == 0) {
			free(svc->name);
			free(svc);
		}
	}
	if (srv->shutdown_timer)
		event_free(srv->shutdown_timer);
	if (srv->shutdown_done)
		event_free(srv->shutdown_done);
	event_free(srv->reaper);
	event_free(srv->accept_resume);
	ttrpc__pool_free(srv->pool);
	free(srv->interceptors);
	free(srv);
}

TTRPC_EXPORT void ttrpc_server_set_log(struct ttrpc_server *srv, ttrpc_log_fn fn, void *userdata)
{
	srv->log.fn = fn;
	srv->log.userdata = userdata;
}

TTRPC_EXPORT void ttrpc_server_set_log_level(struct ttrpc_server *srv, int level)
{
	srv->log.max_level = level;
}

TTRPC_EXPORT int ttrpc_server_set_limit(struct ttrpc_server *srv, enum ttrpc_limit limit,
					uint64_t value)
{
	switch (limit) {
	case TTRPC_LIMIT_MESSAGE_SIZE:
		if (value < 64 || value > TTRPC_MAX_MESSAGE_SIZE)
			return -EINVAL;
		srv->max_message = (uint32_t)value;
		return 0;
	case TTRPC_LIMIT_OUTPUT_QUEUE:
		if (value == 0)
			return -EINVAL;
		srv->max_output = value;
		return 0;
	case TTRPC_LIMIT_CONNECTIONS:
		srv->max_connections = value;
		return 0;
	case TTRPC_LIMIT_CALLS_PER_CONNECTION:
		srv->max_calls_per_conn = value;
		return 0;
	case TTRPC_LIMIT_STREAMS_PER_CONNECTION:
		srv->max_streams_per_conn = value;
		return 0;
	case TTRPC_LIMIT_FRAME_TIMEOUT_MS:
		srv->frame_timeout_ms = value;
		return 0;
	case TTRPC_LIMIT_IDLE_TIMEOUT_MS:
		srv->idle_timeout_ms = value;
		return 0;
	}
	return -EINVAL;
}

TTRPC_EXPORT int ttrpc_server_register(struct ttrpc_server *srv, const char *name,
				       const struct ttrpc_method *methods, void *userdata)
{
	struct ttrpc__service *svc;

	if (!name || !*name || !methods)
		return -EINVAL;
	for (const struct ttrpc_method *m = methods; m->name; m++) {
		if (!m->input || !m->output)
			return -EINVAL;
		if (m->kind == TTRPC_METHOD_UNARY ? !m->unary : !m->stream)
			return -EINVAL;
		if (m->kind > TTRPC_METHOD_BIDI_STREAM)
			return -EINVAL;
		for (const struct ttrpc_method *o = methods; o != m; o++)
			if (strcmp(o->name, m->name) == 0)
				return -EINVAL;
	}
	if (find_service(srv, name))
		return -EEXIST;
	svc = calloc(1, sizeof(*svc));
	if (!svc || !(svc->name = strdup(name))) {
		free(svc);
		return -ENOMEM;
	}
	svc->methods = methods;
	svc->userdata = userdata;
	svc->refs = 1;
	LIST_INSERT_HEAD(&srv->services, svc, link);
	return 0;
}

TTRPC_EXPORT int ttrpc_server_unregister(struct ttrpc_server *srv, const char *name)
{
	struct ttrpc__service *svc = find_service(srv, name);

	if (!svc)
		return -ENOENT;
	LIST_REMOVE(svc, link);
	ttrpc__service_unref(svc);
	return 0;
}

static void retire_events_free(struct ttrpc__service *svc)
{
	if (svc->retire_timer)
		event_free(svc->retire_timer);
	if (svc->retired)
		event_free(svc->retired);
	svc->retire_timer = NULL;
	svc->retired = NULL;
}

static void on_retired(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__service *svc = arg;

	LIST_REMOVE(svc, link);
	retire_events_free(svc);
	svc->retired_cb(svc->srv, svc->name, svc->retired_userdata);
	free(svc->name);
	free(svc);
}

/* Lines naming the calls a timeout cancels, at most; then a count of the rest. */
#define CANCELLED_NAMED 16

/*
 * Cancel the unanswered calls of @svc (NULL: of every service) with
 * UNAVAILABLE @message, each named in the log first (its method, its peer,
 * how long it ran) after @why: a handler that never answers is found by
 * its name. One by one: a handler told may finish others, so the walk
 * starts over each time.
 */
static void cancel_unanswered(struct ttrpc_server *srv, const struct ttrpc__service *svc,
			      const char *why, const char *message)
{
	uint64_t now = ttrpc__now_us();
	struct ttrpc_call *call;
	size_t n = 0;

	LIST_FOREACH(call, &srv->calls, link) {
		if (call->answered || (svc && call->svc != svc) || n++ >= CANCELLED_NAMED)
			continue;
		ttrpc__log(&srv->log, TTRPC_LOG_WARNING,
			   "%s: cancelling %s/%s of pid %d uid %u, in flight for %.1f s", why,
			   call->req->service, call->req->method, (int)call->peer.pid,
			   (unsigned)call->peer.uid,
			   (double)(now > call->arrival ? now - call->arrival : 0) / 1e6);
	}
	if (n > CANCELLED_NAMED)
		ttrpc__log(&srv->log, TTRPC_LOG_WARNING, "%s: cancelling %zu more %s", why,
			   n - CANCELLED_NAMED,
			   ttrpc__plural(n - CANCELLED_NAMED, "call", "calls"));
	for (;;) {
		LIST_FOREACH(call, &srv->calls, link)
			if (!call->answered && (!svc || call->svc == svc))
				break;
		if (!call)
			break;
		ttrpc__call_abort(call, TTRPC_UNAVAILABLE, message, true);
	}
}

static void on_retire_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__service *svc = arg;
	char why[256];

	snprintf(why, sizeof(why), "service %s retired", svc->name);
	cancel_unanswered(svc->srv, svc, why, "service retired");
}

TTRPC_EXPORT int ttrpc_server_retire(struct ttrpc_server *srv, const char *name,
				     unsigned timeout_ms, ttrpc_retired_fn done, void *userdata)
{
	struct ttrpc__service *svc = find_service(srv, name);

	if (!svc)
		return -ENOENT;
	if (!done)
		return -EINVAL;
	svc->retired = event_new(srv->base, -1, 0, on_retired, svc);
	if (svc->retired && timeout_ms > 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000,
				      .tv_usec = (timeout_ms % 1000) * 1000 };

		svc->retire_timer = evtimer_new(srv->base, on_retire_timeout, svc);
		if (svc->retire_timer && evtimer_add(svc->retire_timer, &tv) < 0) {
			event_free(svc->retire_timer);
			svc->retire_timer = NULL;
		}
		if (!svc->retire_timer)
			retire_events_free(svc);
	}
	if (!svc->retired)
		return -ENOMEM;
	svc->srv = srv;
	svc->retired_cb = done;
	svc->retired_userdata = userdata;
	LIST_REMOVE(svc, link);
	LIST_INSERT_HEAD(&srv->retiring, svc, link);
	/* The registration's reference: the last call's, or this, tells. */
	ttrpc__service_unref(svc);
	return 0;
}

TTRPC_EXPORT void ttrpc_server_set_handoff(struct ttrpc_server *srv, ttrpc_handoff_fn fn,
					   void *userdata)
{
	srv->handoff = fn;
	srv->handoff_userdata = userdata;
}

TTRPC_EXPORT void ttrpc_server_set_admission(struct ttrpc_server *srv, ttrpc_admit_fn fn,
					     void *userdata)
{
	srv->admit = fn;
	srv->admit_userdata = userdata;
}

TTRPC_EXPORT int ttrpc_server_add_interceptor(struct ttrpc_server *srv,
					      const struct ttrpc_server_interceptor *ic)
{
	struct ttrpc_server_interceptor *v;

	v = realloc(srv->interceptors, (srv->n_interceptors + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[srv->n_interceptors++] = *ic;
	srv->interceptors = v;
	return 0;
}

TTRPC_EXPORT void ttrpc_server_foreach_call(const struct ttrpc_server *srv, ttrpc_call_visit_fn fn,
					    void *userdata)
{
	const struct ttrpc_call *call;

	/* A call finished while library code still held it is over already. */
	LIST_FOREACH(call, &srv->calls, link)
		if (!call->finished && !fn(call, userdata))
			return;
}

TTRPC_EXPORT void ttrpc_server_get_stats(const struct ttrpc_server *srv,
					 struct ttrpc_server_stats *stats)
{
	const struct ttrpc__sconn *conn;

	*stats = srv->stats;
	stats->bytes_queued = 0;
	LIST_FOREACH(conn, &srv->conns, link)
		stats->bytes_queued += evbuffer_get_length(conn->io.out);
}

/* ---- graceful shutdown ---- */

/* What the calls still unanswered at the shutdown timeout are told. */
#define SHUTDOWN_MESSAGE \
	"the server is stopping: the call was still running at its shutdown timeout"
/* How long their connections may take to write those answers. */
#define SHUTDOWN_GRACE_MS 1000

static void on_shutdown_done(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc_server *srv = arg;

	if (srv->shutdown_timer)
		evtimer_del(srv->shutdown_timer);
	if (srv->shutdown_cb)
		srv->shutdown_cb(srv, srv->drained, srv->shutdown_userdata);
}

static void maybe_finish_shutdown(struct ttrpc_server *srv)
{
	if (srv->shutting_down && srv->shutdown_done && LIST_EMPTY(&srv->conns))
		event_active(srv->shutdown_done, 0, 0);
}

/*
 * The timeout passed: every call still unanswered is answered UNAVAILABLE,
 * so that its client learns why, and cancelled; each connection closes
 * once its answers are written. A peer that does not read them within
 * SHUTDOWN_GRACE_MS is cut off when the timer fires again.
 */
static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval grace = { .tv_sec = SHUTDOWN_GRACE_MS / 1000,
					      .tv_usec = SHUTDOWN_GRACE_MS % 1000 * 1000 };
	struct ttrpc_server *srv = arg;

	srv->drained = false;
	if (!srv->shutdown_expired) {
		srv->shutdown_expired = true;
		cancel_unanswered(srv, NULL, "shutdown timeout", SHUTDOWN_MESSAGE);
		if (!LIST_EMPTY(&srv->conns) && evtimer_add(srv->shutdown_timer, &grace) == 0)
			return;
	}
	while (!LIST_EMPTY(&srv->conns))
		conn_close(LIST_FIRST(&srv->conns));
}

TTRPC_EXPORT int ttrpc_server_shutdown(struct ttrpc_server *srv, unsigned timeout_ms,
				       ttrpc_shutdown_fn cb, void *userdata)
{
	struct ttrpc__sconn *conn, *next;

	if (srv->shutting_down)
		return -EALREADY;
	srv->shutdown_done = event_new(srv->base, -1, 0, on_shutdown_done, srv);
	if (!srv->shutdown_done)
		return -ENOMEM;
	if (timeout_ms > 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000,
				      .tv_usec = (timeout_ms % 1000) * 1000 };

		srv->shutdown_timer = evtimer_new(srv->base, on_shutdown_timeout, srv);
		if (!srv->shutdown_timer || evtimer_add(srv->shutdown_timer, &tv) < 0) {
			event_free(srv->shutdown_done);
			srv->shutdown_done = NULL;
			return -ENOMEM;
		}
	}
	srv->shutting_down = true;
	srv->drained = true;
	srv->shutdown_cb = cb;
	srv->shutdown_userdata = userdata;
	while (!LIST_EMPTY(&srv->listeners))
		listener_free(LIST_FIRST(&srv->listeners));
	for (conn = LIST_FIRST(&srv->conns); conn; conn = next) {
		next = LIST_NEXT(conn, link);
		ttrpc__conn_set_reading(&conn->io, false);
		if (conn->calls.len == 0)
			conn_close_flushed(conn);
	}
	maybe_finish_shutdown(srv);
	return 0;
}

/* ---- admission presets ---- */

TTRPC_EXPORT int ttrpc_admit_root(const struct ttrpc_peer *peer, void *unused)
{
	return peer->uid == 0 ? 0 : -EPERM;
}

TTRPC_EXPORT int ttrpc_admit_same_user(const struct ttrpc_peer *peer, void *unused)
{
	return peer->uid == geteuid() && peer->gid == getegid() ? 0 : -EPERM;
}

TTRPC_EXPORT int ttrpc_admit_allowlist(const struct ttrpc_peer *peer, void *list)
{
	const struct ttrpc_allowlist *l = list;

	for (size_t i = 0; i < l->n_uids; i++)
		if (l->uids[i] == peer->uid)
			return 0;
	for (size_t i = 0; i < l->n_gids; i++) {
		if (l->gids[i] == peer->gid)
			return 0;
		for (size_t j = 0; j < peer->n_groups; j++)
			if (l->gids[i] == peer->groups[j])
				return 0;
	}
	return -EPERM;
}
