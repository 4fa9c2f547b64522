/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The life of one server call: created when its Request is read, answered
 * once (by its handler, its deadline, or the server), freed once its
 * handler has finished it. The two ends are independent: a call answered by
 * its deadline waits for its handler, and a handler's answer to a call that
 * is already answered is dropped. It is in flight from its Request until it
 * is freed.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <event2/buffer.h>

#include <event2/event.h>

#include "refmsg.h"
#include "server-private.h"
#include "wire.h"

void ttrpc__service_unref(struct ttrpc__service *svc)
{
	if (!svc || --svc->refs > 0)
		return;
	/* Retired: its owner hears of it from the loop, which then frees it. */
	if (svc->retired) {
		event_active(svc->retired, EV_TIMEOUT, 1);
		return;
	}
	free(svc->name);
	free(svc);
}

/* Room for the envelope and input of a small call in the call's own block. */
#define CALL_ARENA 512

/* What an answer of the call may refer to instead of copying. */
static struct ttrpc__ref *call_find_ref(void *ctx, const uint8_t *p, size_t len)
{
	struct ttrpc_call *call = ctx;
	struct ttrpc__ref *ref;

	if (call->in_ref && ttrpc__ref_holds(call->in_ref, p, len))
		return call->in_ref;
	/* A message being delivered, from a large frame still in the input. */
	if (call->conn && (ref = ttrpc__conn_in_ref(&call->conn->io, p, len)))
		return ref;
	return ttrpc__lent_find(call->lent, p, len);
}

struct ttrpc_call *ttrpc__call_alloc(void)
{
	struct ttrpc_call *call = calloc(1, sizeof(*call) + CALL_ARENA);

	if (call) {
		ttrpc__arena_init(&call->arena, call->arena_buf, CALL_ARENA);
		call->refs.find = call_find_ref;
		call->refs.ctx = call;
	}
	return call;
}

void ttrpc__call_discard(struct ttrpc_call *call)
{
	if (call->in_ref)
		ttrpc__ref_put(call->in_ref);
	if (call->lent)
		ttrpc__lent_clear(&call->lent);
	ttrpc__arena_release(&call->arena);
	free(call);
}

void ttrpc__call_hold(struct ttrpc_call *call, struct ttrpc__ref *ref)
{
	ttrpc__ref_get(ref);
	call->in_ref = ref;
}

int ttrpc__call_attach(struct ttrpc_call *call, struct ttrpc__sconn *conn, uint32_t id,
		       Ttrpc__Request *req)
{
	if (ttrpc__idmap_put(&conn->calls, id, call) < 0)
		return -ENOMEM;
	call->srv = conn->srv;
	call->conn = conn;
	call->id = id;
	call->req = req;
	call->peer = conn->peer;
	call->groups = ttrpc__groups_ref(conn->groups);
	call->arrival = ttrpc__now_us();
	LIST_INSERT_HEAD(&conn->srv->calls, call, link);
	conn->srv->stats.calls_in_flight++;
	return 0;
}

static void call_free(struct ttrpc_call *call)
{
	/* In flight until now: a call cancelled still holds its handler. */
	if (call->srv) {
		LIST_REMOVE(call, link);
		call->srv->stats.calls_in_flight--;
	}
	if (call->deadline_ev)
		event_free(call->deadline_ev);
	ttrpc__service_unref(call->svc);
	ttrpc__groups_unref(call->groups);
	ttrpc__call_discard(call);
}

static void pin(struct ttrpc_call *call)
{
	call->busy++;
}

static void unpin(struct ttrpc_call *call)
{
	if (--call->busy == 0 && call->finished)
		call_free(call);
}

/* Decide the outcome: leave the stream table, tell interceptors, count. */
static void call_settle(struct ttrpc_call *call, int code)
{
	struct ttrpc_server *srv = call->srv;
	struct ttrpc__sconn *conn = call->conn;

	call->answered = true;
	if (call->waiting) {
		LIST_REMOVE(call, wait_link);
		call->waiting = false;
	}
	if (call->deadline_ev) {
		event_free(call->deadline_ev);
		call->deadline_ev = NULL;
	}
	if (!srv)
		return;
	for (size_t i = 0; i < srv->n_interceptors; i++)
		if (srv->interceptors[i].on_done)
			srv->interceptors[i].on_done(call, code, srv->interceptors[i].userdata);
	srv->stats.calls_total++;
	if (code != TTRPC_OK)
		srv->stats.calls_failed++;
	if (conn) {
		call->conn = NULL;
		if (call->method && call->method->kind != TTRPC_METHOD_UNARY)
			conn->n_streams--;
		ttrpc__idmap_remove(&conn->calls, call->id);
		ttrpc__sconn_call_done(conn);
	}
}

void ttrpc__call_abort(struct ttrpc_call *call, int code, const char *message, bool send)
{
	ttrpc_cancel_fn cb = call->cancel_cb;

	if (call->answered)
		return;
	if (send && call->conn)
		ttrpc__sconn_send_status(call->conn, call->id, code, message);
	call_settle(call, code);
	call->cancelled = true;
	call->cancel_cb = NULL;
	if (cb)
		cb(call, code, call->cancel_userdata);
}

void ttrpc__call_orphan(struct ttrpc_call *call)
{
	LIST_REMOVE(call, link);
	call->srv = NULL;
	call->conn = NULL;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	ttrpc__call_abort(arg, TTRPC_DEADLINE_EXCEEDED, "deadline exceeded", true);
}

void ttrpc__call_start(struct ttrpc_call *call, struct ttrpc__service *svc,
		       const struct ttrpc_method *method, ProtobufCMessage *input)
{
	struct ttrpc_server *srv = call->srv;
	int64_t timeout_ns = call->req->timeout_nano;

	call->svc = svc;
	svc->refs++;
	call->method = method;
	call->input = input;

	if (timeout_ns < 0) {
		ttrpc__call_abort(call, TTRPC_DEADLINE_EXCEEDED,
				  "deadline exceeded before the call started", true);
		call_free(call);
		return;
	}
	if (timeout_ns > 0) {
		uint64_t us = (uint64_t)timeout_ns / 1000;
		struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
				      .tv_usec = (suseconds_t)(us % 1000000) };

		call->deadline = call->arrival + us;
		call->deadline_ev = evtimer_new(srv->base, on_deadline, call);
		if (!call->deadline_ev || evtimer_add(call->deadline_ev, &tv) < 0) {
			ttrpc__call_abort(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory", true);
			call_free(call);
			return;
		}
	}

	pin(call);
	for (size_t i = 0; i < srv->n_interceptors && !call->answered; i++) {
		const struct ttrpc_server_interceptor *ic = &srv->interceptors[i];

		if (ic->on_call && ic->on_call(call, ic->userdata) != 0 && !call->answered)
			ttrpc__call_abort(call, TTRPC_PERMISSION_DENIED, "rejected by interceptor",
					  true);
	}
	/* Refused or finished by an interceptor: no handler will finish it. */
	if (call->answered) {
		call->finished = true;
		unpin(call);
		return;
	}
	if (method->kind == TTRPC_METHOD_UNARY) {
		method->unary(call, input, svc->userdata);
	} else {
		method->stream(call, input, svc->userdata);
		/* A client stream's first message rode in the Request: deliver it
		 * now that the handler has said where messages go. */
		if (call->first && !call->answered && call->deliver)
			call->deliver(call, call->first, call->on_message, call->message_userdata);
	}
	unpin(call);
}

/* Free a finished call, unless library code further up the stack still uses it. */
static void release(struct ttrpc_call *call)
{
	if (call->busy)
		call->finished = true;
	else
		call_free(call);
}

/* The handler's answer: send it unless the call was answered already, then free. */
static int call_finish(struct ttrpc_call *call, int code, const char *message,
		       const ProtobufCMessage *response)
{
	struct ttrpc__sconn *conn = call->conn;
	int r = 0;

	if (call->answered) {
		release(call);
		return -ECANCELED;
	}
	if (conn && response) {
		r = ttrpc__wire_response_ok(ttrpc__sconn_output(conn), call->id, response,
					    conn->srv->max_message, &call->refs);
		if (r == -EMSGSIZE) {
			char msg[128];

			snprintf(msg, sizeof(msg),
				 "response of %zu bytes exceeds maximum message size of %u",
				 protobuf_c_message_get_packed_size(response),
				 conn->srv->max_message);
			ttrpc__log(&conn->srv->log, TTRPC_LOG_WARNING, "%s.%s: %s", call->svc->name,
				   call->method->name, msg);
			code = TTRPC_RESOURCE_EXHAUSTED;
			ttrpc__wire_response_status(ttrpc__sconn_output(conn), call->id, code, msg,
						    conn->srv->max_message);
		} else if (r < 0) {
			code = TTRPC_RESOURCE_EXHAUSTED;
			ttrpc__wire_response_status(ttrpc__sconn_output(conn), call->id, code,
						    "out of memory", conn->srv->max_message);
		}
	} else if (conn) {
		r = ttrpc__wire_response_status(ttrpc__sconn_output(conn), call->id, code, message,
						conn->srv->max_message);
	}
	call_settle(call, code);
	if (conn)
		ttrpc__sconn_queued(conn);
	release(call);
	return r;
}

TTRPC_EXPORT int ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *response)
{
	if (!response || response->descriptor != call->method->output ||
	    call->method->kind == TTRPC_METHOD_SERVER_STREAM ||
	    call->method->kind == TTRPC_METHOD_BIDI_STREAM) {
		call_finish(call, TTRPC_INTERNAL,
			    "ttrpc: handler replied with a message of the wrong type", NULL);
		return -EINVAL;
	}
	return call_finish(call, TTRPC_OK, NULL, response);
}

TTRPC_EXPORT int ttrpc_call_fail(struct ttrpc_call *call, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == TTRPC_OK)
		code = TTRPC_UNKNOWN;
	return call_finish(call, code, msg, NULL);
}

TTRPC_EXPORT int ttrpc_call_end(struct ttrpc_call *call)
{
	struct ttrpc__sconn *conn = call->conn;
	enum ttrpc_method_kind kind = call->method->kind;

	if (kind != TTRPC_METHOD_SERVER_STREAM && kind != TTRPC_METHOD_BIDI_STREAM) {
		call_finish(call, TTRPC_INTERNAL,
			    "ttrpc: handler ended a call that must be answered with a message",
			    NULL);
		return -EINVAL;
	}
	if (call->answered) {
		release(call);
		return -ECANCELED;
	}
	ttrpc__stream_close_local(&call->st);
	if (conn) {
		ttrpc__wire_data(ttrpc__sconn_output(conn), call->id,
				 TTRPC__FLAG_REMOTE_CLOSED | TTRPC__FLAG_NO_DATA, NULL, 0, NULL);
	}
	call_settle(call, TTRPC_OK);
	if (conn)
		ttrpc__sconn_queued(conn);
	release(call);
	return 0;
}

TTRPC_EXPORT int ttrpc_call_send(struct ttrpc_call *call, const ProtobufCMessage *msg)
{
	struct ttrpc__sconn *conn = call->conn;
	struct evbuffer *out;
	int r;

	if (ttrpc__stream_can_send(&call->st) == -EINVAL)
		return -EINVAL;
	if (!msg || msg->descriptor != call->method->output)
		return -EINVAL;
	if (call->answered || !conn)
		return -ECANCELED;
	out = ttrpc__sconn_output(conn);
	if (evbuffer_get_length(out) > TTRPC__OUTPUT_HIGH)
		return -EAGAIN;
	r = ttrpc__wire_data(out, call->id, 0, msg, conn->srv->max_message, &call->refs);
	if (r < 0)
		return r;
	ttrpc__sconn_queued(conn);
	return call->answered ? -ECANCELED : 0;
}

TTRPC_EXPORT void ttrpc_call_on_writable(struct ttrpc_call *call, ttrpc_writable_fn cb,
					 void *userdata)
{
	call->on_writable = cb;
	call->writable_userdata = userdata;
	if (cb && !call->answered && call->conn)
		ttrpc__sconn_wait_writable(call->conn, call);
}

void ttrpc__call_writable(struct ttrpc_call *call)
{
	ttrpc_writable_fn cb = call->on_writable;

	call->on_writable = NULL;
	if (!cb || call->answered)
		return;
	pin(call);
	cb(call, call->writable_userdata);
	unpin(call);
}

TTRPC_EXPORT int ttrpc_call_lend(struct ttrpc_call *call, const void *data, size_t len,
				 ttrpc_release_fn release_fn, void *userdata)
{
	if (!release_fn || (!data && len))
		return -EINVAL;
	return ttrpc__lend(&call->lent, data, len, release_fn, userdata);
}

TTRPC_EXPORT void ttrpc_call_on_message_typed(struct ttrpc_call *call,
					      ttrpc_message_trampoline_fn trampoline,
					      ttrpc_any_fn typed, ttrpc_end_fn on_end,
					      void *userdata)
{
	call->deliver = trampoline;
	call->on_message = typed;
	call->on_end = on_end;
	call->message_userdata = userdata;
}

/* A plain ttrpc_message_fn goes through the typed path as its own type. */
static void deliver_plain(struct ttrpc_call *call, const ProtobufCMessage *msg, ttrpc_any_fn fn,
			  void *userdata)
{
	((ttrpc_message_fn)fn)(call, msg, userdata);
}

TTRPC_EXPORT void ttrpc_call_on_message(struct ttrpc_call *call, ttrpc_message_fn on_message,
					ttrpc_end_fn on_end, void *userdata)
{
	ttrpc_call_on_message_typed(call, on_message ? deliver_plain : NULL,
				    (ttrpc_any_fn)on_message, on_end, userdata);
}

void ttrpc__call_data(struct ttrpc_call *call, uint8_t flags, const uint8_t *payload, size_t len)
{
	enum ttrpc__stream_event ev = ttrpc__stream_recv(&call->st, TTRPC__TYPE_DATA, flags);
	ProtobufCMessage *msg;

	switch (ev) {
	case TTRPC__EV_ERR_UNARY:
		/* Go's server dereferences nil here and dies; end the call instead. */
		ttrpc__call_abort(call, TTRPC_INVALID_ARGUMENT,
				  "Data frame on a unary call: the call is ended", true);
		return;
	case TTRPC__EV_ERR_CLOSED:
		ttrpc__call_abort(call, TTRPC_INVALID_ARGUMENT,
				  "data handling error: ttrpc: stream closed", true);
		return;
	case TTRPC__EV_MESSAGE:
	case TTRPC__EV_MESSAGE_END:
	case TTRPC__EV_END:
		break;
	default:
		return;
	}
	pin(call);
	if (ev != TTRPC__EV_END) {
		_Alignas(16) uint8_t buf[512];
		struct ttrpc__arena arena;
		bool in_block = ttrpc__conn_in_ref(&call->conn->io, payload, len), referenced;

		/* The message lives for the callback only: decode it on the stack,
		 * its large bytes fields left in the block of a large frame. */
		ttrpc__arena_init(&arena, buf, sizeof(buf));
		msg = ttrpc__unpack_ref(call->method->input, &arena.allocator, len, payload,
					in_block ? &referenced : NULL);
		if (!msg) {
			char why[160];

			snprintf(
				why, sizeof(why),
				"ttrpc: error unmarshalling payload: not a valid %s protobuf message",
				call->method->input->name);
			ttrpc__call_abort(call, TTRPC_INTERNAL, why, true);
		} else {
			if (call->deliver && !call->answered)
				call->deliver(call, msg, call->on_message, call->message_userdata);
		}
		ttrpc__arena_release(&arena);
	}
	/* A closing frame may carry the last message; Go answers that with an
	 * error after delivering it, which ends the stream twice: just close. */
	if (ev != TTRPC__EV_MESSAGE && !call->answered && call->on_end)
		call->on_end(call, call->message_userdata);
	unpin(call);
}

TTRPC_EXPORT enum ttrpc_method_kind ttrpc_call_kind(const struct ttrpc_call *call)
{
	return call->method->kind;
}

TTRPC_EXPORT const char *ttrpc_call_service(const struct ttrpc_call *call)
{
	return call->req->service;
}

TTRPC_EXPORT const char *ttrpc_call_method(const struct ttrpc_call *call)
{
	return call->req->method;
}

TTRPC_EXPORT const ProtobufCMessage *ttrpc_call_request(const struct ttrpc_call *call)
{
	return call->input;
}

TTRPC_EXPORT size_t ttrpc_call_metadata_count(const struct ttrpc_call *call)
{
	return call->req->n_metadata;
}

TTRPC_EXPORT int ttrpc_call_metadata_at(const struct ttrpc_call *call, size_t index,
					struct ttrpc_kv *kv)
{
	if (index >= call->req->n_metadata)
		return -ERANGE;
	kv->key = call->req->metadata[index]->key;
	kv->value = call->req->metadata[index]->value;
	return 0;
}

TTRPC_EXPORT const char *ttrpc_call_metadata_get(const struct ttrpc_call *call, const char *key)
{
	for (size_t i = 0; i < call->req->n_metadata; i++)
		if (strcasecmp(call->req->metadata[i]->key, key) == 0)
			return call->req->metadata[i]->value;
	return NULL;
}

TTRPC_EXPORT uint64_t ttrpc_call_deadline(const struct ttrpc_call *call)
{
	return call->deadline;
}

TTRPC_EXPORT uint64_t ttrpc_call_arrival(const struct ttrpc_call *call)
{
	return call->arrival;
}

TTRPC_EXPORT const struct ttrpc_peer *ttrpc_call_peer(const struct ttrpc_call *call)
{
	return &call->peer;
}

TTRPC_EXPORT struct event_base *ttrpc_call_base(const struct ttrpc_call *call)
{
	return call->srv ? call->srv->base : NULL;
}

TTRPC_EXPORT bool ttrpc_call_is_cancelled(const struct ttrpc_call *call)
{
	return call->cancelled;
}

TTRPC_EXPORT void ttrpc_call_on_cancel(struct ttrpc_call *call, ttrpc_cancel_fn cb, void *userdata)
{
	call->cancel_cb = cb;
	call->cancel_userdata = userdata;
}

TTRPC_EXPORT void ttrpc_call_set_userdata(struct ttrpc_call *call, void *userdata)
{
	call->userdata = userdata;
}

TTRPC_EXPORT void *ttrpc_call_get_userdata(const struct ttrpc_call *call)
{
	return call->userdata;
}
