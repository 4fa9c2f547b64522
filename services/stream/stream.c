/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streaming example: stream.v1.Streamer on the generated code, a
 * server stream (Count) and a bidirectional one (Chat). What every
 * streaming module does: finish a stream whose client went away, wait for
 * room when the client reads slowly, apply its settings on reload, and end
 * its streams when ttrpcd stops or unloads it. Copy it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <ttrpc/module.h>

#include "stream.ttrpc-c.h"

/* One open stream, of Count or of Chat, until its call is finished. */
struct stream {
	struct ttrpc_call *call;
	uint64_t next, count; /* Count: the next tick, the last one (0: none) */
	LIST_ENTRY(stream) link;
};

static LIST_HEAD(, stream) streams = LIST_HEAD_INITIALIZER(streams);
static unsigned n_streams, max_streams;
static struct ttrpcd_host *self; /* this module in the daemon, from init on */

/* Every call is finished exactly once: forget it with it. */
static void stream_free(struct stream *s)
{
	LIST_REMOVE(s, link);
	n_streams--;
	free(s);
}

/*
 * The client went away or its deadline passed: the call must still be
 * finished (nothing is sent), and its state freed.
 */
static void on_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	ttrpc_call_fail(call, code, "cancelled");
	stream_free(userdata);
}

/* A new stream, or NULL when the call was failed. */
static struct stream *stream_new(struct ttrpc_call *call)
{
	struct stream *s = n_streams < max_streams ? calloc(1, sizeof(*s)) : NULL;

	if (!s) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "max-streams (%u) reached",
				max_streams);
		return NULL;
	}
	s->call = call;
	LIST_INSERT_HEAD(&streams, s, link);
	n_streams++;
	ttrpc_call_on_cancel(call, on_cancel, s);
	return s;
}

/*
 * Send ticks until the last one, or until the connection's output queue is
 * full (-EAGAIN): then wait for room, and go on from the same tick.
 */
static void send_ticks(struct ttrpc_call *call, void *userdata)
{
	struct stream *s = userdata;
	Stream__V1__Tick tick = STREAM__V1__TICK__INIT;
	int r = 0;

	while (r == 0 && (s->count == 0 || s->next <= s->count)) {
		tick.n = s->next;
		r = stream__v1__streamer_count_send(call, &tick);
		if (r == 0)
			s->next++;
	}
	if (r == -EAGAIN) {
		ttrpcd_host_log(self, TTRPC_LOG_DEBUG, "Count: the client reads slowly, waiting");
		ttrpc_call_on_writable(call, send_ticks, s);
	} else if (r == 0) {
		ttrpc_call_end(call);
		stream_free(s);
	} /* else cancelled: on_cancel comes from the loop and finishes it */
}

static void on_count(struct ttrpc_call *call, const Stream__V1__CountRequest *req, void *data)
{
	struct stream *s = stream_new(call);

	(void)data;
	if (!s)
		return;
	s->next = 1;
	s->count = req->count;
	send_ticks(call, s);
}

static void on_chat_message(struct ttrpc_call *call, const Stream__V1__ChatMessage *msg,
			    void *userdata)
{
	/* Messages keep coming whether or not the client reads the answers:
	 * one that never reads is ended, instead of queued without bound. */
	if (stream__v1__streamer_chat_send(call, msg) == -EAGAIN) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "the client does not read");
		stream_free(userdata);
	}
}

/* The client closed its side: so do we. */
static void on_chat_end(struct ttrpc_call *call, void *userdata)
{
	ttrpc_call_end(call);
	stream_free(userdata);
}

static void on_chat(struct ttrpc_call *call, void *data)
{
	struct stream *s = stream_new(call);

	(void)data;
	if (s)
		stream__v1__streamer_chat_on_message(call, on_chat_message, on_chat_end, s);
}

static const struct stream__v1__streamer_handlers streamer = { .count = on_count, .chat = on_chat };

/*
 * The service goes NOT_SERVING when ttrpcd stops or a reload disabled the
 * module: end the streams now, or the stop waits for them (drain-timeout)
 * and the module cannot be unloaded.
 */
static void on_serving(struct ttrpcd_host *host, const char *service, int status, void *data)
{
	bool stopping = ttrpcd_host_get_serving(host, "") == TTRPCD_NOT_SERVING;

	(void)data;
	if (status != TTRPCD_NOT_SERVING || strcmp(service, STREAM__V1__STREAMER__NAME) != 0)
		return;
	while (!LIST_EMPTY(&streams)) {
		struct stream *s = LIST_FIRST(&streams);

		ttrpc_call_fail(s->call, TTRPC_UNAVAILABLE, "%s",
				stopping ? "ttrpcd is stopping" : "the module is unloaded");
		stream_free(s);
	}
}

/*
 * [module stream] max-streams = N: read at start and on every reload,
 * applied whole or not at all. Streams already open stay open.
 */
static int stream_configure(struct ttrpcd_host *host)
{
	const char *v = ttrpcd_host_config(host, "max-streams");
	char *end = NULL;
	unsigned long n = v ? strtoul(v, &end, 10) : 64;

	if (v && (*end || n < 1 || n > 65536))
		return ttrpcd_host_fail(host, -EINVAL,
					"max-streams = '%s': not a number from 1 to 65536", v);
	max_streams = (unsigned)n;
	return 0;
}

static int stream_init(struct ttrpcd_host *host)
{
	struct ttrpc_service svc = stream__v1__streamer_service(&streamer);
	int r = stream_configure(host);

	self = host;
	if (r == 0)
		r = ttrpcd_host_register_service(host, &svc);
	if (r == 0)
		ttrpcd_host_watch_serving(host, on_serving, NULL);
	return r;
}

static const char *const stream_keys[] = { "max-streams", NULL };

static const struct ttrpcd_service_decl stream_services[] = {
	{ STREAM__V1__STREAMER__NAME, stream__v1__streamer_methods },
	TTRPCD_SERVICES_END,
};

TTRPCD_MODULE_DEFINE(.name = "stream", .flags = TTRPCD_MODULE_UNLOAD_SAFE,
		     .config_keys = stream_keys, .init = stream_init, .reload = stream_configure,
		     .services = stream_services, );
