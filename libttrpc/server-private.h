/* SPDX-License-Identifier: Apache-2.0 */
/* Server internals shared by server.c (connections, dispatch) and call.c. */
#ifndef TTRPC_SERVER_PRIVATE_H
#define TTRPC_SERVER_PRIVATE_H

#include <stdbool.h>
#include <sys/queue.h>

#include <ttrpc/server.h>

#include "arena.h"
#include "block.h"
#include "conn.h"
#include "frame.h"
#include "idmap.h"
#include "log.h"
#include "proto/ttrpc/request.pb-c.h"
#include "stream.h"

struct event;
struct evconnlistener;

/* A registered service; calls hold a reference so unregistering is safe. */
struct ttrpc__service {
	char *name;
	const struct ttrpc_method *methods;
	void *userdata;
	unsigned refs;
	LIST_ENTRY(ttrpc__service) link; /* in srv->services, or srv->retiring */
	/* ttrpc_server_retire(): told from the loop once the last call is freed */
	struct ttrpc_server *srv;
	struct event *retired;       /* activated when refs reach 0 */
	struct event *retire_timer;  /* cancels the calls still unanswered */
	ttrpc_retired_fn retired_cb; /* NULL: a plain unregistered service */
	void *retired_userdata;
};

/*
 * A peer's supplementary groups, read once at accept and shared, by
 * reference count, by its connection and every call made on it: a call
 * may outlive its connection.
 */
struct ttrpc__groups {
	unsigned refs;
	size_t n;
	gid_t gids[];
};

struct ttrpc__listener {
	struct evconnlistener *lev;
	char *path; /* set when the server bound it and must unlink it */
	LIST_ENTRY(ttrpc__listener) link;
};

struct ttrpc__sconn {
	struct ttrpc_server *srv;
	struct ttrpc__conn io;
	struct ttrpc_peer peer;
	struct ttrpc__groups *groups; /* what peer.groups points into; NULL: none */
	struct ttrpc__frame_reader reader;
	uint32_t last_request_id;
	struct ttrpc__idmap calls;       /* stream id -> unanswered call */
	LIST_HEAD(, ttrpc_call) waiting; /* calls waiting for the output to drain */
	struct event *writable;          /* waiting calls, a drop, a close: from the loop */
	bool closed;                     /* torn down; freed from the loop later */
	bool closing;                    /* close as soon as the output is flushed */
	bool dropping;                   /* over the output cap: closed from the loop */
	unsigned n_streams;              /* streaming calls in calls */
	struct event *timer;             /* the frame or idle timeout, per timer_mode */
	enum { TIMER_NONE, TIMER_FRAME, TIMER_IDLE } timer_mode;
	LIST_ENTRY(ttrpc__sconn) link; /* in srv->conns, then in srv->dead */
};

struct ttrpc_call {
	struct ttrpc_server *srv;  /* NULL once the server is freed */
	struct ttrpc__sconn *conn; /* NULL once answered or the connection is gone */
	struct ttrpc__service *svc;
	const struct ttrpc_method *method;
	uint32_t id;
	Ttrpc__Request *req;
	ProtobufCMessage *input;
	struct event *deadline_ev;
	uint64_t deadline;
	uint64_t arrival;
	struct ttrpc_peer peer;
	struct ttrpc__groups *groups; /* a reference to the connection's */
	ttrpc_cancel_fn cancel_cb;
	void *cancel_userdata;
	void *userdata;
	bool answered; /* the outcome is decided; interceptors were told */
	bool cancelled;
	unsigned busy; /* library code runs on the call: finishing must not free it */
	bool finished; /* finished while busy: freed when the last user returns */
	/* streams */
	struct ttrpc__stream st;
	ProtobufCMessage *first; /* a client stream's first message, from the Request */
	/* The client's messages go to deliver(call, msg, on_message, ...). */
	ttrpc_message_trampoline_fn deliver;
	ttrpc_any_fn on_message;
	ttrpc_end_fn on_end;
	void *message_userdata;
	ttrpc_writable_fn on_writable;
	void *writable_userdata;
	bool waiting; /* in conn->waiting */
	LIST_ENTRY(ttrpc_call) wait_link;
	LIST_ENTRY(ttrpc_call) link; /* in srv->calls while srv lives */
	/* The block of a large Request when the input points into it, and
	 * what the handler lent: answers may be sent from them by reference. */
	struct ttrpc__ref *in_ref;
	struct ttrpc__lent *lent;
	struct ttrpc__refs refs;
	/* The Request, the input and a client stream's first message live
	 * here, starting in the block allocated with the call. */
	struct ttrpc__arena arena;
	_Alignas(16) uint8_t arena_buf[];
};

struct ttrpc_server {
	struct event_base *base;
	struct ttrpc__log log;
	uint32_t max_message;
	uint64_t max_output;
	uint64_t max_connections;
	uint64_t max_calls_per_conn;
	uint64_t max_streams_per_conn;
	uint64_t frame_timeout_ms;
	uint64_t idle_timeout_ms;
	LIST_HEAD(, ttrpc__service) services;
	LIST_HEAD(, ttrpc__service) retiring; /* retired, with calls left */
	LIST_HEAD(, ttrpc__listener) listeners;
	LIST_HEAD(, ttrpc__sconn) conns;
	/* Closed connections are freed from the loop, never under a caller's
	 * feet: a handler may reply on a connection that its own reply closes. */
	LIST_HEAD(, ttrpc__sconn) dead;
	struct event *reaper;
	struct ttrpc__pool *pool; /* blocks of the connections' large frames */
	LIST_HEAD(, ttrpc_call) calls;
	ttrpc_handoff_fn handoff;
	void *handoff_userdata;
	ttrpc_admit_fn admit;
	void *admit_userdata;
	struct ttrpc_server_interceptor *interceptors;
	size_t n_interceptors;
	struct ttrpc_server_stats stats;
	/* accept failures: pause the listeners, report once per interval */
	struct event *accept_resume;
	uint64_t accept_failures;    /* since the last report */
	uint64_t accept_next_log_us; /* CLOCK_MONOTONIC; 0: report the next at once */
	/* graceful shutdown */
	bool shutting_down;
	bool drained;
	bool shutdown_expired; /* the timeout passed: the answers' grace runs */
	struct event *shutdown_timer;
	struct event *shutdown_done;
	ttrpc_shutdown_fn shutdown_cb;
	void *shutdown_userdata;
};

uint64_t ttrpc__now_us(void);

/* call.c */
/* A call not yet attached to a connection, to decode its Request into. */
struct ttrpc_call *ttrpc__call_alloc(void);
/* Free a call that was never attached. */
void ttrpc__call_discard(struct ttrpc_call *call);
/* Enter the call in its connection's stream table. Return: 0 or -ENOMEM. */
int ttrpc__call_attach(struct ttrpc_call *call, struct ttrpc__sconn *conn, uint32_t id,
		       Ttrpc__Request *req);
/* The call's input points into @ref: hold it until the call is freed. */
void ttrpc__call_hold(struct ttrpc_call *call, struct ttrpc__ref *ref);
void ttrpc__call_start(struct ttrpc_call *call, struct ttrpc__service *svc,
		       const struct ttrpc_method *method, ProtobufCMessage *input);
/* End an unanswered call from the server side: send @code (when the connection
 * is usable and @send), then tell the handler it is cancelled. */
void ttrpc__call_abort(struct ttrpc_call *call, int code, const char *message, bool send);
/* Forget the server (it is being freed); the call waits for its handler. */
void ttrpc__call_orphan(struct ttrpc_call *call);
void ttrpc__service_unref(struct ttrpc__service *svc);

/* Deliver a Data frame of the client to its stream call. */
void ttrpc__call_data(struct ttrpc_call *call, uint8_t flags, const uint8_t *payload, size_t len);
/* The connection's output went below its low watermark. */
void ttrpc__call_writable(struct ttrpc_call *call);

/* server.c */

/* Take a reference to @g (NULL is accepted and returned). */
struct ttrpc__groups *ttrpc__groups_ref(struct ttrpc__groups *g);
/* Drop a reference; the last one frees. NULL is accepted. */
void ttrpc__groups_unref(struct ttrpc__groups *g);

/* Append a status Response to the connection. */
void ttrpc__sconn_send_status(struct ttrpc__sconn *conn, uint32_t id, int code,
			      const char *message);
/* Something was appended to the output: enforce the cap, schedule the write. */
void ttrpc__sconn_queued(struct ttrpc__sconn *conn);
/* A call of the connection was answered (removed from its stream table). */
void ttrpc__sconn_call_done(struct ttrpc__sconn *conn);
struct evbuffer *ttrpc__sconn_output(struct ttrpc__sconn *conn);
/* Queue @call to be told when the output drains. */
void ttrpc__sconn_wait_writable(struct ttrpc__sconn *conn, struct ttrpc_call *call);

#endif
