/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client: the mirror image of the server connection. Requests are
 * serialized into the connection's output; responses are matched to
 * pending calls by stream id. A call that was cancelled or timed out leaves
 * the table, so its late response is read and dropped and the connection
 * stays usable.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <ttrpc/client.h>

#include "arena.h"
#include "block.h"
#include "conn.h"
#include "frame.h"
#include "idmap.h"
#include "log.h"
#include "proto/ttrpc/request.pb-c.h"
#include "refmsg.h"
#include "stream.h"
#include "wire.h"

struct ttrpc_client_call {
	struct ttrpc_client *client;
	uint32_t id;
	enum ttrpc_method_kind kind;
	struct ttrpc_stream_handlers handlers; /* streams */
	struct ttrpc__stream st;
	bool waiting; /* streams: in client->waiting */
	LIST_ENTRY(ttrpc_client_call) wait_link;
	unsigned busy;       /* a callback runs: do not free */
	bool finished;       /* completed while busy */
	bool keep;           /* blocking stream: freed by its owner */
	bool completed;      /* on_done ran (kept streams) */
	const char *service; /* copies, stored after the struct */
	const char *method;
	struct ttrpc_kv *extra; /* metadata added by interceptors, owned */
	size_t n_extra;
	const ProtobufCMessageDescriptor *response_type;
	ttrpc_client_cb cb;
	void *userdata;
	struct event *timer;
};

struct sync_stream;

/* The public face of a streaming call; the same object as its call. */
struct ttrpc_client_stream {
	struct ttrpc_client_call cc;
	struct sync_stream *sync; /* blocking streams only */
};

struct ttrpc_client {
	struct event_base *base;
	bool own_base;
	struct ttrpc__conn io;
	unsigned busy; /* callbacks run: ttrpc_client_free() waits for them */
	bool free_pending;
	bool connected;
	struct ttrpc__frame_reader reader;
	struct ttrpc__idmap calls;
	LIST_HEAD(, ttrpc_client_call) waiting; /* streams waiting for output room */
	uint32_t next_id;
	struct ttrpc__log log;
	struct ttrpc_client_interceptor *interceptors;
	size_t n_interceptors;
	struct ttrpc__pool *pool; /* blocks of large frames */
	struct ttrpc__lent *lent; /* what requests may be sent from by reference */
	struct ttrpc__refs refs;
};

static void cc_free(struct ttrpc_client_call *cc)
{
	if (cc->waiting)
		LIST_REMOVE(cc, wait_link);
	for (size_t i = 0; i < cc->n_extra; i++) {
		free((char *)cc->extra[i].key);
		free((char *)cc->extra[i].value);
	}
	free(cc->extra);
	if (cc->timer)
		event_free(cc->timer);
	free(cc);
}

/* Deliver the outcome of a call that has left the table, then free it. */
static void cc_complete(struct ttrpc_client_call *cc, const struct ttrpc_result *res)
{
	struct ttrpc_client *c = cc->client;

	/* The outcome is decided: a deadline that passes later must not decide
	 * again (a blocking stream outlives its end). */
	if (cc->timer) {
		event_free(cc->timer);
		cc->timer = NULL;
	}

	for (size_t i = 0; i < c->n_interceptors; i++)
		if (c->interceptors[i].on_done)
			c->interceptors[i].on_done(cc, res, c->interceptors[i].userdata);
	if (cc->kind == TTRPC_METHOD_UNARY)
		cc->cb(res, cc->userdata);
	else
		cc->handlers.on_done((struct ttrpc_client_stream *)cc, res, cc->userdata);
	if (cc->keep)
		cc->completed = true;
	else if (cc->busy)
		cc->finished = true;
	else
		cc_free(cc);
}

static void cc_fail(struct ttrpc_client_call *cc, int error, int code, const char *message)
{
	struct ttrpc_result res = { .error = error, .code = code, .message = message };

	cc_complete(cc, &res);
}

static void fail_all(struct ttrpc_client *c, int error, const char *why)
{
	struct ttrpc_client_call *cc;

	while ((cc = ttrpc__idmap_pop(&c->calls)))
		cc_fail(cc, error, TTRPC_UNAVAILABLE, why);
}

static void disconnect(struct ttrpc_client *c, int error, const char *why)
{
	if (!c->connected)
		return;
	c->connected = false;
	ttrpc__conn_stop(&c->io);
	fail_all(c, error, why);
}

static void handle_response(struct ttrpc_client *c, const struct ttrpc__frame_header *h,
			    const uint8_t *payload)
{
	struct ttrpc_client_call *cc = ttrpc__idmap_remove(&c->calls, h->stream_id);
	struct ttrpc_result res = { .message = "" };
	_Alignas(16) uint8_t buf[1024];
	struct ttrpc__arena arena;
	Ttrpc__Response *resp;
	ProtobufCMessage *msg = NULL;
	bool in_block, referenced;

	if (!cc) {
		ttrpc__log(&c->log, TTRPC_LOG_DEBUG,
			   "dropping response for stream %u: no call waits for it", h->stream_id);
		return;
	}
	/* The envelope and the response live for the callback only; a large
	 * frame's payload and bytes fields stay in its block (refmsg.h). */
	ttrpc__arena_init(&arena, buf, sizeof(buf));
	in_block = ttrpc__conn_in_ref(&c->io, payload, h->length);
	resp = (Ttrpc__Response *)ttrpc__unpack_ref(&ttrpc__response__descriptor, &arena.allocator,
						    h->length, payload,
						    in_block ? &referenced : NULL);
	if (!resp) {
		ttrpc__arena_release(&arena);
		cc_fail(cc, 0, TTRPC_INTERNAL,
			"ttrpc: response is not a valid ttrpc.Response message");
		return;
	}
	if (resp->status && resp->status->code != TTRPC_OK) {
		res.code = resp->status->code;
		res.message = resp->status->message ? resp->status->message : "";
	} else if (cc->kind == TTRPC_METHOD_SERVER_STREAM || cc->kind == TTRPC_METHOD_BIDI_STREAM) {
		/* A Response ends a server stream; its payload is not a message. */
	} else {
		msg = ttrpc__unpack_ref(cc->response_type, &arena.allocator, resp->payload.len,
					resp->payload.data, in_block ? &referenced : NULL);
		if (msg) {
			res.response = msg;
		} else {
			res.code = TTRPC_INTERNAL;
			res.message = "ttrpc: error unmarshalling response payload";
		}
	}
	cc_complete(cc, &res);
	ttrpc__arena_release(&arena);
}

/* A Data frame of a server that streams: a message, the end, or both. */
static void handle_data(struct ttrpc_client *c, struct ttrpc_client_call *cc,
			const struct ttrpc__frame_header *h, const uint8_t *payload)
{
	static const struct ttrpc_result ok = { .message = "" };
	bool last = h->flags & TTRPC__FLAG_REMOTE_CLOSED;

	if (last)
		ttrpc__idmap_remove(&c->calls, cc->id);
	cc->busy++;
	if (!(h->flags & TTRPC__FLAG_NO_DATA)) {
		_Alignas(16) uint8_t buf[512];
		struct ttrpc__arena arena;
		bool in_block = ttrpc__conn_in_ref(&c->io, payload, h->length), referenced;
		ProtobufCMessage *msg;

		ttrpc__arena_init(&arena, buf, sizeof(buf));
		msg = ttrpc__unpack_ref(cc->response_type, &arena.allocator, h->length, payload,
					in_block ? &referenced : NULL);

		if (!msg) {
			if (!last)
				ttrpc__idmap_remove(&c->calls, cc->id);
			cc_fail(cc, 0, TTRPC_INTERNAL, "ttrpc: error unmarshalling stream message");
			last = false;
		} else {
			cc->handlers.on_message((struct ttrpc_client_stream *)cc, msg,
						cc->userdata);
		}
		ttrpc__arena_release(&arena);
	}
	if (last && !cc->finished)
		cc_complete(cc, &ok);
	if (--cc->busy == 0 && cc->finished)
		cc_free(cc);
}

static void handle_frame(struct ttrpc_client *c, const struct ttrpc__frame_header *h,
			 const uint8_t *payload)
{
	struct ttrpc_client_call *cc;

	switch (h->type) {
	case TTRPC__TYPE_RESPONSE:
		handle_response(c, h, payload);
		break;
	case TTRPC__TYPE_DATA:
		cc = ttrpc__idmap_get(&c->calls, h->stream_id);
		if (!cc)
			break;
		switch (ttrpc__stream_recv(&cc->st, h->type, h->flags)) {
		case TTRPC__EV_ERR_NOT_STREAM:
			ttrpc__idmap_remove(&c->calls, h->stream_id);
			cc_fail(cc, 0, TTRPC_INTERNAL,
				"ttrpc: protocol error: Data frame from a server that does not stream");
			break;
		case TTRPC__EV_MESSAGE:
		case TTRPC__EV_MESSAGE_END:
		case TTRPC__EV_END:
			handle_data(c, cc, h, payload);
			break;
		default:
			break;
		}
		break;
	default:
		ttrpc__log(&c->log, TTRPC_LOG_DEBUG, "ignoring frame of type %u on stream %u",
			   h->type, h->stream_id);
		break;
	}
}

static void client_free(struct ttrpc_client *c);

/* Callbacks may free the client: hold it until they have returned. */
static void hold(struct ttrpc_client *c)
{
	c->busy++;
}

static void release(struct ttrpc_client *c)
{
	if (--c->busy == 0 && c->free_pending)
		client_free(c);
}

static void on_read(struct ttrpc__conn *io)
{
	struct ttrpc_client *c = io->owner;
	struct evbuffer *in = io->in;
	struct ttrpc__frame_header h;
	const uint8_t *payload;
	struct ttrpc_client_call *cc;
	char msg[128];
	bool more = true;

	hold(c);
	while (more && c->connected) {
		switch (ttrpc__frame_next(&c->reader, in, &h, &payload)) {
		case TTRPC__FRAME_NEED_MORE:
			more = false;
			break;
		case TTRPC__FRAME_OK:
			handle_frame(c, &h, payload);
			ttrpc__frame_consume(&c->reader, in);
			break;
		case TTRPC__FRAME_OVERSIZED:
			/* Only that stream fails, as Go's client does; the rest is skipped. */
			cc = ttrpc__idmap_remove(&c->calls, h.stream_id);
			snprintf(msg, sizeof(msg),
				 "message length %u exceed maximum message size of %u", h.length,
				 c->reader.max_length);
			if (cc)
				cc_fail(cc, 0, TTRPC_RESOURCE_EXHAUSTED, msg);
			break;
		case TTRPC__FRAME_CORRUPT:
			ttrpc__log(
				&c->log, TTRPC_LOG_WARNING,
				"closing connection: the server does not speak ttrpc (frame length %u)",
				h.length);
			disconnect(c, -EPROTO, "ttrpc: protocol error");
			more = false;
			break;
		}
	}
	release(c);
}

static void on_error(struct ttrpc__conn *io, int err)
{
	struct ttrpc_client *c = io->owner;

	hold(c);
	disconnect(c, err < 0 ? err : -ECONNRESET, "ttrpc: closed");
	release(c);
}

static void on_write(struct ttrpc__conn *io);

static const struct ttrpc__conn_ops client_ops = {
	.read = on_read,
	.write = on_write,
	.error = on_error,
};

/* What a request or stream message may refer to instead of copying. */
static struct ttrpc__ref *client_find_ref(void *ctx, const uint8_t *p, size_t len)
{
	struct ttrpc_client *c = ctx;
	struct ttrpc__ref *ref = ttrpc__conn_in_ref(&c->io, p, len);

	return ref ? ref : ttrpc__lent_find(c->lent, p, len);
}

TTRPC_EXPORT int ttrpc_client_new(struct event_base *base, int fd, struct ttrpc_client **ret)
{
	struct ttrpc_client *c;
	int r = ttrpc__stream_socket(fd, false);

	if (r < 0)
		return r;
	if (evutil_make_socket_nonblocking(fd) < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->pool = ttrpc__pool_new(base)))
		goto fail;
	if (ttrpc__conn_init(&c->io, base, fd, &client_ops, c, TTRPC__OUTPUT_LOW, c->pool,
			     &c->reader) < 0)
		goto fail;
	c->refs.find = client_find_ref;
	c->refs.ctx = c;
	c->base = base;
	c->connected = true;
	c->next_id = 1;
	ttrpc__frame_reader_init(&c->reader, TTRPC_MAX_MESSAGE_SIZE);
	ttrpc__idmap_init(&c->calls);
	LIST_INIT(&c->waiting);
	*ret = c;
	return 0;
fail:
	if (c)
		ttrpc__pool_free(c->pool);
	free(c);
	return -ENOMEM;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* connect(2) on a unix socket completes at once or fails: no need to wait. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

TTRPC_EXPORT int ttrpc_client_connect(struct event_base *base, const char *path,
				      struct ttrpc_client **ret)
{
	int fd = connect_unix(path), r;

	if (fd < 0)
		return fd;
	r = ttrpc_client_new(base, fd, ret);
	if (r < 0)
		close(fd);
	return r;
}

TTRPC_EXPORT int ttrpc_client_open(const char *path, struct ttrpc_client **ret)
{
	struct event_base *base = event_base_new();
	int r;

	if (!base)
		return -ENOMEM;
	r = ttrpc_client_connect(base, path, ret);
	if (r < 0) {
		event_base_free(base);
		return r;
	}
	(*ret)->own_base = true;
	return 0;
}

static void client_free(struct ttrpc_client *c)
{
	ttrpc__conn_deinit(&c->io);
	ttrpc__lent_clear(&c->lent);
	ttrpc__pool_free(c->pool);
	ttrpc__idmap_clear(&c->calls);
	if (c->own_base)
		event_base_free(c->base);
	free(c->interceptors);
	free(c);
}

TTRPC_EXPORT void ttrpc_client_free(struct ttrpc_client *c)
{
	struct ttrpc_client_call *cc;

	if (!c || c->free_pending)
		return;
	c->free_pending = true;
	hold(c);
	c->connected = false;
	ttrpc__conn_stop(&c->io);
	while ((cc = ttrpc__idmap_pop(&c->calls)))
		cc_fail(cc, -ECANCELED, TTRPC_CANCELLED, "ttrpc: client freed");
	release(c);
}

TTRPC_EXPORT void ttrpc_client_set_log(struct ttrpc_client *c, ttrpc_log_fn fn, void *userdata)
{
	c->log.fn = fn;
	c->log.userdata = userdata;
}

TTRPC_EXPORT void ttrpc_client_set_log_level(struct ttrpc_client *c, int level)
{
	c->log.max_level = level;
}

TTRPC_EXPORT int ttrpc_client_add_interceptor(struct ttrpc_client *c,
					      const struct ttrpc_client_interceptor *ic)
{
	struct ttrpc_client_interceptor *v;

	v = realloc(c->interceptors, (c->n_interceptors + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[c->n_interceptors++] = *ic;
	c->interceptors = v;
	return 0;
}

TTRPC_EXPORT int ttrpc_client_lend(struct ttrpc_client *c, const void *data, size_t len,
				   ttrpc_release_fn release_fn, void *userdata)
{
	if (!release_fn || (!data && len))
		return -EINVAL;
	return ttrpc__lend(&c->lent, data, len, release_fn, userdata);
}

TTRPC_EXPORT int ttrpc_client_unlend(struct ttrpc_client *c, const void *data)
{
	return ttrpc__unlend(&c->lent, data);
}

TTRPC_EXPORT bool ttrpc_client_is_connected(const struct ttrpc_client *c)
{
	return c->connected;
}

TTRPC_EXPORT size_t ttrpc_client_pending(const struct ttrpc_client *c)
{
	return c->calls.len;
}

TTRPC_EXPORT const char *ttrpc_client_call_service(const struct ttrpc_client_call *cc)
{
	return cc->service;
}

TTRPC_EXPORT const char *ttrpc_client_call_method(const struct ttrpc_client_call *cc)
{
	return cc->method;
}

TTRPC_EXPORT int ttrpc_client_call_add_metadata(struct ttrpc_client_call *cc, const char *key,
						const char *value)
{
	struct ttrpc_kv *v = realloc(cc->extra, (cc->n_extra + 1) * sizeof(*v));
	char *k, *val;

	if (!v)
		return -ENOMEM;
	cc->extra = v;
	k = strdup(key);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	v[cc->n_extra].key = k;
	v[cc->n_extra].value = val;
	cc->n_extra++;
	return 0;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc_client_call *cc = arg;
	struct ttrpc_client *c = cc->client;

	hold(c);
	ttrpc__idmap_remove(&c->calls, cc->id);
	cc_fail(cc, 0, TTRPC_DEADLINE_EXCEEDED, "deadline exceeded");
	release(c);
}

/* Serialize the request with the caller's and the interceptors' metadata. */
static int write_request(struct ttrpc_client *c, struct ttrpc_client_call *cc, uint8_t flags,
			 const ProtobufCMessage *request, const struct ttrpc_call_opts *opts)
{
	struct ttrpc__request_head head = {
		.service = cc->service,
		.method = cc->method,
		.timeout_nano = (int64_t)(opts->timeout_us * 1000),
		.metadata = opts->metadata,
		.n_metadata = opts->n_metadata,
	};
	struct ttrpc_kv *all = NULL;
	int r;

	if (cc->n_extra > 0) {
		all = calloc(opts->n_metadata + cc->n_extra, sizeof(*all));
		if (!all)
			return -ENOMEM;
		if (opts->n_metadata)
			memcpy(all, opts->metadata, opts->n_metadata * sizeof(*all));
		memcpy(all + opts->n_metadata, cc->extra, cc->n_extra * sizeof(*all));
		head.metadata = all;
		head.n_metadata += cc->n_extra;
	}
	r = ttrpc__wire_request(c->io.out, cc->id, flags, &head, request, c->reader.max_length,
				&c->refs);
	free(all);
	if (r == 0)
		ttrpc__conn_queued(&c->io);
	return r;
}

/*
 * Start a call of any kind: interceptors, deadline, Request on the wire, an
 * entry in the table. On error @cc is freed and no callback runs.
 */
static int start_call(struct ttrpc_client *c, struct ttrpc_client_call *cc,
		      const ProtobufCMessage *request, const struct ttrpc_call_opts *opts)
{
	static const struct ttrpc_call_opts no_opts;
	int r;

	if (!c->connected) {
		r = -ENOTCONN;
		goto fail;
	}
	if (!opts)
		opts = &no_opts;
	for (size_t i = 0; i < c->n_interceptors; i++) {
		const struct ttrpc_client_interceptor *ic = &c->interceptors[i];

		if (ic->on_call && (r = ic->on_call(cc, ic->userdata)) < 0)
			goto fail;
	}
	if (opts->timeout_us > 0) {
		struct timeval tv = { .tv_sec = (time_t)(opts->timeout_us / 1000000),
				      .tv_usec = (suseconds_t)(opts->timeout_us % 1000000) };

		cc->timer = evtimer_new(c->base, on_timeout, cc);
		if (!cc->timer || evtimer_add(cc->timer, &tv) < 0) {
			r = -ENOMEM;
			goto fail;
		}
	}
	/* Ids are given out in the order requests are written, so they increase on the wire. */
	cc->id = c->next_id;
	r = write_request(c, cc, ttrpc__stream_request_flags(cc->kind), request, opts);
	if (r < 0)
		goto fail;
	c->next_id += 2;
	/* On failure the request is queued already: its late response is dropped. */
	r = ttrpc__idmap_put(&c->calls, cc->id, cc);
	if (r < 0)
		goto fail;
	return 0;
fail:
	cc_free(cc);
	return r;
}

static struct ttrpc_client_call *cc_new(struct ttrpc_client *c, const char *service,
					const char *method, enum ttrpc_method_kind kind,
					const ProtobufCMessageDescriptor *response_type,
					void *userdata)
{
	size_t ls = strlen(service) + 1, lm = strlen(method) + 1;
	struct ttrpc_client_call *cc = calloc(1, sizeof(struct ttrpc_client_stream) + ls + lm);
	char *names;

	if (!cc)
		return NULL;
	/* One allocation: the names outlive the caller's strings for on_done. */
	names = (char *)((struct ttrpc_client_stream *)cc + 1);
	cc->client = c;
	cc->service = memcpy(names, service, ls);
	cc->method = memcpy(names + ls, method, lm);
	cc->kind = kind;
	ttrpc__stream_init(&cc->st, TTRPC__ROLE_CLIENT, kind);
	cc->response_type = response_type;
	cc->userdata = userdata;
	return cc;
}

TTRPC_EXPORT int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
				   const ProtobufCMessage *request,
				   const ProtobufCMessageDescriptor *response_type,
				   const struct ttrpc_call_opts *opts, ttrpc_client_cb cb,
				   void *userdata, uint32_t *id)
{
	struct ttrpc_client_call *cc;
	int r;

	if (!service || !method || !request || !response_type || !cb)
		return -EINVAL;
	cc = cc_new(c, service, method, TTRPC_METHOD_UNARY, response_type, userdata);
	if (!cc)
		return -ENOMEM;
	cc->cb = cb;
	r = start_call(c, cc, request, opts);
	if (r == 0 && id)
		*id = cc->id;
	return r;
}

TTRPC_EXPORT int ttrpc_client_cancel(struct ttrpc_client *c, uint32_t id)
{
	struct ttrpc_client_call *cc = ttrpc__idmap_remove(&c->calls, id);

	if (!cc)
		return -ENOENT;
	cc_fail(cc, 0, TTRPC_CANCELLED, "cancelled");
	return 0;
}

/* ---- streams ---- */

static void run_waiting(struct ttrpc_client *c)
{
	struct ttrpc_client_call *cc;

	while (c->connected && (cc = LIST_FIRST(&c->waiting)) &&
	       evbuffer_get_length(c->io.out) <= TTRPC__OUTPUT_LOW) {
		LIST_REMOVE(cc, wait_link);
		cc->waiting = false;
		if (cc->handlers.on_writable)
			cc->handlers.on_writable((struct ttrpc_client_stream *)cc, cc->userdata);
	}
}

static void on_write(struct ttrpc__conn *io)
{
	struct ttrpc_client *c = io->owner;

	hold(c);
	run_waiting(c);
	release(c);
}

TTRPC_EXPORT int ttrpc_client_stream_open(struct ttrpc_client *c, const char *service,
					  const char *method, enum ttrpc_method_kind kind,
					  const ProtobufCMessage *request,
					  const ProtobufCMessageDescriptor *response_type,
					  const struct ttrpc_call_opts *opts,
					  const struct ttrpc_stream_handlers *handlers,
					  void *userdata, struct ttrpc_client_stream **ret)
{
	bool client_streams = kind == TTRPC_METHOD_CLIENT_STREAM ||
			      kind == TTRPC_METHOD_BIDI_STREAM;
	struct ttrpc_client_call *cc;
	int r;

	if (!service || !method || !response_type || !handlers || !handlers->on_done ||
	    kind == TTRPC_METHOD_UNARY || kind > TTRPC_METHOD_BIDI_STREAM ||
	    (kind != TTRPC_METHOD_CLIENT_STREAM && !handlers->on_message) ||
	    (client_streams ? request != NULL : request == NULL))
		return -EINVAL;
	cc = cc_new(c, service, method, kind, response_type, userdata);
	if (!cc)
		return -ENOMEM;
	cc->handlers = *handlers;
	r = start_call(c, cc, request, opts);
	if (r == 0)
		*ret = (struct ttrpc_client_stream *)cc;
	return r;
}

/* Whether @cc may send a message or close its side: 0, or the errno send and close_send return. */
static int stream_can_send(const struct ttrpc_client_call *cc)
{
	int r = ttrpc__stream_can_send(&cc->st);

	if (r < 0)
		return r;
	if (cc->completed)
		return -EPIPE;
	return cc->client->connected ? 0 : -ENOTCONN;
}

TTRPC_EXPORT int ttrpc_client_stream_send(struct ttrpc_client_stream *s,
					  const ProtobufCMessage *msg)
{
	struct ttrpc_client_call *cc = &s->cc;
	struct ttrpc_client *c = cc->client;
	struct evbuffer *out;
	int r;

	if (!msg)
		return -EINVAL;
	if ((r = stream_can_send(cc)) < 0)
		return r;
	out = c->io.out;
	if (evbuffer_get_length(out) > TTRPC__OUTPUT_HIGH) {
		if (!cc->waiting) {
			LIST_INSERT_HEAD(&c->waiting, cc, wait_link);
			cc->waiting = true;
		}
		return -EAGAIN;
	}
	r = ttrpc__wire_data(out, cc->id, 0, msg, c->reader.max_length, &c->refs);
	if (r == 0)
		ttrpc__conn_queued(&c->io);
	return r;
}

TTRPC_EXPORT int ttrpc_client_stream_close_send(struct ttrpc_client_stream *s)
{
	struct ttrpc_client_call *cc = &s->cc;
	struct ttrpc_client *c = cc->client;
	int r;

	if ((r = stream_can_send(cc)) < 0)
		return r;
	r = ttrpc__wire_data(c->io.out, cc->id, TTRPC__FLAG_REMOTE_CLOSED | TTRPC__FLAG_NO_DATA,
			     NULL, 0, NULL);
	if (r == 0) {
		ttrpc__stream_close_local(&cc->st);
		ttrpc__conn_queued(&c->io);
	}
	return r;
}

TTRPC_EXPORT void ttrpc_client_stream_cancel(struct ttrpc_client_stream *s)
{
	struct ttrpc_client_call *cc = &s->cc;

	ttrpc__idmap_remove(&cc->client->calls, cc->id);
	cc_fail(cc, 0, TTRPC_CANCELLED, "cancelled");
}

TTRPC_EXPORT uint32_t ttrpc_client_stream_id(const struct ttrpc_client_stream *s)
{
	return s->cc.id;
}

/* ---- blocking API ---- */

/* A deep copy of a borrowed message; pack and unpack keep it exact. */
static ProtobufCMessage *copy_message(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy;

	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	return copy;
}

/* ---- blocking streams ---- */

struct sync_msg {
	ProtobufCMessage *msg;
	STAILQ_ENTRY(sync_msg) link;
};

/* What a blocking stream has received and not yet handed out. */
struct sync_stream {
	STAILQ_HEAD(, sync_msg) queue;
	int error;
	int code;
	char *message;
	ProtobufCMessage *reply;
	int oom;
};

static void sync_on_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *arg)
{
	struct sync_stream *ss = arg;
	struct sync_msg *m = malloc(sizeof(*m));

	if (!m || !(m->msg = copy_message(msg))) {
		free(m);
		ss->oom = -ENOMEM;
		return;
	}
	STAILQ_INSERT_TAIL(&ss->queue, m, link);
}

static void sync_on_done(struct ttrpc_client_stream *s, const struct ttrpc_result *r, void *arg)
{
	struct sync_stream *ss = arg;

	ss->error = r->error;
	ss->code = r->code;
	ss->message = strdup(r->message);
	if (r->response)
		ss->reply = copy_message(r->response);
}

static int sync_run_once(struct ttrpc_client *c)
{
	return event_base_loop(c->base, EVLOOP_ONCE) < 0 ? -EIO : 0;
}

/* A blocking stream outlives its end, so that its owner can read the rest. */
TTRPC_EXPORT int ttrpc_client_stream_open_sync(struct ttrpc_client *c, const char *service,
					       const char *method, enum ttrpc_method_kind kind,
					       const ProtobufCMessage *request,
					       const ProtobufCMessageDescriptor *response_type,
					       const struct ttrpc_call_opts *opts,
					       struct ttrpc_client_stream **ret)
{
	static const struct ttrpc_stream_handlers h = {
		.on_message = sync_on_message,
		.on_done = sync_on_done,
	};
	struct sync_stream *ss = calloc(1, sizeof(*ss));
	struct ttrpc_client_stream *s;
	int r;

	if (!ss)
		return -ENOMEM;
	STAILQ_INIT(&ss->queue);
	r = ttrpc_client_stream_open(c, service, method, kind, request, response_type, opts, &h, ss,
				     &s);
	if (r < 0) {
		free(ss);
		return r;
	}
	s->sync = ss;
	s->cc.keep = true;
	/*
	 * On the wire before this returns, as far as the socket takes it, so
	 * that the server has the call even when the caller next waits on
	 * something else. Without running the loop: no callback of another
	 * call on this client runs in here.
	 */
	ttrpc__conn_write_now(&c->io);
	*ret = s;
	return 0;
}

TTRPC_EXPORT int ttrpc_client_stream_send_sync(struct ttrpc_client_stream *s,
					       const ProtobufCMessage *msg)
{
	int r;

	for (;;) {
		if (s->cc.completed)
			return s->sync->error < 0 ? s->sync->error : -EPIPE;
		r = ttrpc_client_stream_send(s, msg);
		if (r == 0) {
			ttrpc__conn_write_now(&s->cc.client->io);
			return 0;
		}
		if (r != -EAGAIN)
			return r;
		r = sync_run_once(s->cc.client);
		if (r < 0)
			return r;
	}
}

TTRPC_EXPORT int ttrpc_client_stream_recv_sync(struct ttrpc_client_stream *s,
					       ProtobufCMessage **msg, struct ttrpc_status *status)
{
	struct sync_stream *ss = s->sync;
	struct sync_msg *m;
	int r;

	*msg = NULL;
	while (STAILQ_EMPTY(&ss->queue) && !s->cc.completed && !ss->oom)
		if ((r = sync_run_once(s->cc.client)) < 0)
			return r;
	if ((m = STAILQ_FIRST(&ss->queue))) {
		STAILQ_REMOVE_HEAD(&ss->queue, link);
		*msg = m->msg;
		free(m);
		return 1;
	}
	if (ss->oom)
		return ss->oom;
	if (ss->error < 0)
		return ss->error;
	if (ss->code != TTRPC_OK) {
		if (status) {
			status->code = ss->code;
			status->message = strdup(ss->message ? ss->message : "");
		}
		return -EREMOTEIO;
	}
	*msg = ss->reply;
	ss->reply = NULL;
	return 0;
}

TTRPC_EXPORT void ttrpc_client_stream_free_sync(struct ttrpc_client_stream *s)
{
	struct sync_stream *ss;
	struct sync_msg *m;

	if (!s)
		return;
	if (!s->cc.completed)
		ttrpc_client_stream_cancel(s);
	ss = s->sync;
	while ((m = STAILQ_FIRST(&ss->queue))) {
		STAILQ_REMOVE_HEAD(&ss->queue, link);
		protobuf_c_message_free_unpacked(m->msg, NULL);
		free(m);
	}
	if (ss->reply)
		protobuf_c_message_free_unpacked(ss->reply, NULL);
	free(ss->message);
	free(ss);
	cc_free(&s->cc);
}

/* ---- blocking calls ---- */

struct sync_wait {
	bool done;
	int error;
	ProtobufCMessage *response;
	struct ttrpc_status *status;
	int code;
};

static void on_sync_done(const struct ttrpc_result *res, void *arg)
{
	struct sync_wait *w = arg;
	const ProtobufCMessage *m = res->response;

	w->done = true;
	w->error = res->error;
	w->code = res->code;
	if (res->error == 0 && res->code == TTRPC_OK && m) {
		/* Copy out: the result is borrowed. */
		w->response = copy_message(m);
		if (!w->response)
			w->error = -ENOMEM;
	} else if (res->error == 0 && w->status) {
		w->status->code = res->code;
		w->status->message = strdup(res->message);
	}
}

TTRPC_EXPORT int ttrpc_client_call_sync(struct ttrpc_client *c, const char *service,
					const char *method, const ProtobufCMessage *request,
					const ProtobufCMessageDescriptor *response_type,
					const struct ttrpc_call_opts *opts,
					ProtobufCMessage **response, struct ttrpc_status *status)
{
	struct sync_wait w = { .status = status };
	uint32_t id;
	int r;

	*response = NULL;
	r = ttrpc_client_call(c, service, method, request, response_type, opts, on_sync_done, &w,
			      &id);
	if (r < 0)
		return r;
	while (!w.done) {
		if (event_base_loop(c->base, EVLOOP_ONCE) < 0) {
			ttrpc_client_cancel(c, id);
			ttrpc_status_clear(status);
			return -EIO;
		}
	}
	if (w.error < 0)
		return w.error;
	if (w.code != TTRPC_OK)
		return -EREMOTEIO;
	*response = w.response;
	return 0;
}
