/*
 * The client: the mirror image of the server connection. Requests are
 * serialized into the bufferevent's output; responses are matched to
 * pending calls by stream id. A call that was cancelled or timed out leaves
 * the table, so its late response is read and dropped and the connection
 * stays usable.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <ttrpc/client.h>

#include "frame.h"
#include "idmap.h"
#include "log.h"
#include "proto/ttrpc/request.pb-c.h"
#include "wire.h"

#define MAX_SINGLE_READ (256 * 1024)

struct ttrpc_client_call {
	struct ttrpc_client *client;
	uint32_t id;
	const char *service; /* borrowed during ttrpc_client_call() only */
	const char *method;
	struct ttrpc_kv *extra; /* metadata added by interceptors, owned */
	size_t n_extra;
	const ProtobufCMessageDescriptor *response_type;
	ttrpc_client_cb cb;
	void *userdata;
	struct event *timer;
};

struct ttrpc_client {
	struct event_base *base;
	bool own_base;
	struct bufferevent *bev;
	bool connected;
	struct ttrpc__frame_reader reader;
	struct ttrpc__idmap calls;
	uint32_t next_id;
	struct ttrpc__log log;
	struct ttrpc_client_interceptor *interceptors;
	size_t n_interceptors;
};

static void cc_free(struct ttrpc_client_call *cc)
{
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

	for (size_t i = 0; i < c->n_interceptors; i++)
		if (c->interceptors[i].on_done)
			c->interceptors[i].on_done(cc, res, c->interceptors[i].userdata);
	cc->service = cc->method = NULL;
	cc->cb(res, cc->userdata);
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
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	fail_all(c, error, why);
}

static void handle_response(struct ttrpc_client *c, const struct ttrpc__frame_header *h,
                            const uint8_t *payload)
{
	struct ttrpc_client_call *cc = ttrpc__idmap_remove(&c->calls, h->stream_id);
	struct ttrpc_result res = { .message = "" };
	Ttrpc__Response *resp;
	ProtobufCMessage *msg = NULL;

	if (!cc) {
		ttrpc__log(&c->log, TTRPC_LOG_DEBUG, "dropping response for stream %u: no call waits for it",
		           h->stream_id);
		return;
	}
	resp = ttrpc__response__unpack(NULL, h->length, payload);
	if (!resp) {
		cc_fail(cc, 0, TTRPC_INTERNAL, "ttrpc: response is not a valid ttrpc.Response message");
		return;
	}
	if (resp->status && resp->status->code != TTRPC_OK) {
		res.code = resp->status->code;
		res.message = resp->status->message ? resp->status->message : "";
	} else {
		msg = protobuf_c_message_unpack(cc->response_type, NULL, resp->payload.len,
		                                resp->payload.data);
		if (msg) {
			res.response = msg;
		} else {
			res.code = TTRPC_INTERNAL;
			res.message = "ttrpc: error unmarshalling response payload";
		}
	}
	cc_complete(cc, &res);
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	ttrpc__response__free_unpacked(resp, NULL);
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
		cc = ttrpc__idmap_remove(&c->calls, h->stream_id);
		if (cc)
			cc_fail(cc, 0, TTRPC_INTERNAL, "ttrpc: protocol error: Data frame on a unary call");
		break;
	default:
		ttrpc__log(&c->log, TTRPC_LOG_DEBUG, "ignoring frame of type %u on stream %u", h->type,
		           h->stream_id);
		break;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ttrpc_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ttrpc__frame_header h;
	const uint8_t *payload;
	struct ttrpc_client_call *cc;
	char msg[128];

	while (c->connected) {
		switch (ttrpc__frame_next(&c->reader, in, &h, &payload)) {
		case TTRPC__FRAME_NEED_MORE:
			return;
		case TTRPC__FRAME_OK:
			handle_frame(c, &h, payload);
			ttrpc__frame_consume(&c->reader, in);
			break;
		case TTRPC__FRAME_OVERSIZED:
			/* Only that stream fails, as Go's client does; the rest is skipped. */
			cc = ttrpc__idmap_remove(&c->calls, h.stream_id);
			snprintf(msg, sizeof(msg), "message length %u exceed maximum message size of %u",
			         h.length, c->reader.max_length);
			if (cc)
				cc_fail(cc, 0, TTRPC_RESOURCE_EXHAUSTED, msg);
			break;
		case TTRPC__FRAME_CORRUPT:
			ttrpc__log(&c->log, TTRPC_LOG_WARNING,
			           "closing connection: the server does not speak ttrpc (frame length %u)",
			           h.length);
			disconnect(c, -EPROTO, "ttrpc: protocol error");
			return;
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ttrpc_client *c = arg;

	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();

		disconnect(c, err ? -err : -ECONNRESET, "ttrpc: closed");
	} else if (what & BEV_EVENT_EOF) {
		disconnect(c, -ECONNRESET, "ttrpc: closed");
	}
}

TTRPC_EXPORT int ttrpc_client_new(struct event_base *base, int fd, struct ttrpc_client **ret)
{
	struct ttrpc_client *c = calloc(1, sizeof(*c));

	if (!c || evutil_make_socket_nonblocking(fd) < 0)
		goto fail;
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev)
		goto fail;
	c->base = base;
	c->connected = true;
	c->next_id = 1;
	ttrpc__frame_reader_init(&c->reader, TTRPC_MAX_MESSAGE_SIZE);
	ttrpc__idmap_init(&c->calls);
	bufferevent_set_max_single_read(c->bev, MAX_SINGLE_READ);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	*ret = c;
	return 0;
fail:
	free(c);
	close(fd);
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
	int fd = connect_unix(path);

	if (fd < 0)
		return fd;
	return ttrpc_client_new(base, fd, ret);
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

TTRPC_EXPORT void ttrpc_client_free(struct ttrpc_client *c)
{
	struct ttrpc_client_call *cc;

	if (!c)
		return;
	while ((cc = ttrpc__idmap_pop(&c->calls)))
		cc_fail(cc, -ECANCELED, TTRPC_CANCELLED, "ttrpc: client freed");
	bufferevent_free(c->bev);
	ttrpc__idmap_clear(&c->calls);
	if (c->own_base)
		event_base_free(c->base);
	free(c->interceptors);
	free(c);
}

TTRPC_EXPORT void ttrpc_client_set_log(struct ttrpc_client *c, ttrpc_log_fn fn, void *userdata)
{
	c->log.fn = fn;
	c->log.userdata = userdata;
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

	ttrpc__idmap_remove(&cc->client->calls, cc->id);
	cc_fail(cc, 0, TTRPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* Serialize the request with the caller's and the interceptors' metadata. */
static int write_request(struct ttrpc_client *c, struct ttrpc_client_call *cc,
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
	r = ttrpc__wire_request(bufferevent_get_output(c->bev), cc->id, 0, &head, request,
	                        c->reader.max_length);
	free(all);
	return r;
}

TTRPC_EXPORT int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                                   const ProtobufCMessage *request,
                                   const ProtobufCMessageDescriptor *response_type,
                                   const struct ttrpc_call_opts *opts, ttrpc_client_cb cb,
                                   void *userdata, uint32_t *id)
{
	static const struct ttrpc_call_opts no_opts;
	struct ttrpc_client_call *cc;
	int r;

	if (!service || !method || !request || !response_type || !cb)
		return -EINVAL;
	if (!c->connected)
		return -ENOTCONN;
	if (!opts)
		opts = &no_opts;
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return -ENOMEM;
	cc->client = c;
	cc->service = service;
	cc->method = method;
	cc->response_type = response_type;
	cc->cb = cb;
	cc->userdata = userdata;
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
	r = write_request(c, cc, request, opts);
	if (r < 0)
		goto fail;
	r = ttrpc__idmap_put(&c->calls, cc->id, cc);
	if (r < 0) {
		/* The request is queued already: the late response will be dropped. */
		c->next_id += 2;
		goto fail;
	}
	c->next_id += 2;
	if (id)
		*id = cc->id;
	return 0;
fail:
	cc_free(cc);
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

/* ---- blocking API ---- */

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
		/* Copy out: the result is borrowed. Pack and unpack keeps it simple and exact. */
		size_t len = protobuf_c_message_get_packed_size(m);
		uint8_t *buf = malloc(len ? len : 1);

		if (!buf) {
			w->error = -ENOMEM;
			return;
		}
		protobuf_c_message_pack(m, buf);
		w->response = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
		free(buf);
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
