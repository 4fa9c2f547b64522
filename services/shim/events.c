/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The publisher of task events: a queue of packed ForwardRequests, sent one
 * at a time with the libttrpc client so that containerd sees them in order.
 * A failed Forward is tried again after 1, 2, 3, 4 times the retry delay
 * (the Go shim's publisher: 5 requeues, a second more each time), then the
 * event is dropped; a broken connection is made again for the next try.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttrpc/ttrpc.h>

#include "events.h"
#include "events.ttrpc-c.h"
#include "shim.h"

typedef Containerd__Services__Events__Ttrpc__V1__ForwardRequest ForwardRequest;

/* How long a Forward may take, and how many times one is tried. */
#define FORWARD_TIMEOUT_US (5 * 1000 * 1000)
#define FORWARD_TRIES 5

struct item {
	struct item *next;
	char *topic;
	uint8_t *data; /* the packed ForwardRequest */
	size_t len;
	int tries;
};

struct shim_events {
	struct event_base *base;
	const char *address, *ns;
	unsigned retry_ms;
	struct ttrpc_client *client;
	struct item *head, **tail;
	bool busy; /* a Forward is under way */
	struct event *retry;
};

long shim_event_pack(const char *ns, const char *topic, const char *name,
		     const ProtobufCMessage *msg, const struct timespec *ts, uint8_t **ret)
{
	ForwardRequest req = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	Ttrpcd__Shim__Types__Timestamp t = TTRPCD__SHIM__TYPES__TIMESTAMP__INIT;
	Ttrpcd__Shim__Types__Any any = TTRPCD__SHIM__TYPES__ANY__INIT;
	size_t n = protobuf_c_message_get_packed_size(msg), len;
	char *url = NULL;
	uint8_t *body = malloc(n ? n : 1), *out = NULL;

	if (!body || asprintf(&url, "containerd.events.%s", name) < 0) {
		free(body);
		return -ENOMEM;
	}
	protobuf_c_message_pack(msg, body);
	t.seconds = ts->tv_sec;
	t.nanos = (int32_t)ts->tv_nsec;
	any.type_url = url;
	any.value.data = body;
	any.value.len = n;
	env.timestamp = &t;
	env.namespace_ = (char *)ns;
	env.topic = (char *)topic;
	env.event = &any;
	req.envelope = &env;
	len = protobuf_c_message_get_packed_size(&req.base);
	out = malloc(len ? len : 1);
	if (out)
		protobuf_c_message_pack(&req.base, out);
	free(url);
	free(body);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return (long)len;
}

static void kick(struct shim_events *ev);

static void pop(struct shim_events *ev)
{
	struct item *e = ev->head;

	ev->head = e->next;
	if (!ev->head)
		ev->tail = &ev->head;
	free(e->topic);
	free(e->data);
	free(e);
}

static void forwarded(struct shim_events *ev, int error, int code, const char *message)
{
	struct item *e = ev->head;

	ev->busy = false;
	if (error == 0 && code == TTRPC_OK) {
		pop(ev);
		kick(ev);
		return;
	}
	shim_log(TTRPC_LOG_WARNING, "event %s: forward failed (try %d): %s", e->topic, e->tries,
		 error ? strerror(-error) : message);
	if (error) {
		ttrpc_client_free(ev->client);
		ev->client = NULL;
	}
	if (e->tries >= FORWARD_TRIES) {
		shim_log(TTRPC_LOG_ERR, "event %s: dropped after %d tries", e->topic, e->tries);
		pop(ev);
		kick(ev);
		return;
	}
	unsigned ms = ev->retry_ms * (unsigned)e->tries;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev->retry, &tv);
}

static void on_forwarded(const struct ttrpc_result *r, const Ttrpcd__Shim__Types__Empty *resp,
			 void *userdata)
{
	(void)resp;
	forwarded(userdata, r->error, r->code, r->message);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kick(arg);
}

static void kick(struct shim_events *ev)
{
	/* containerd takes the namespace of an event from the call's metadata. */
	const struct ttrpc_kv md[] = { { "containerd-namespace-ttrpc", ev->ns } };
	const struct ttrpc_call_opts opts = {
		.timeout_us = FORWARD_TIMEOUT_US,
		.metadata = md,
		.n_metadata = 1,
	};
	struct item *e = ev->head;
	ForwardRequest *req;
	int r;

	if (ev->busy || !e || evtimer_pending(ev->retry, NULL))
		return;
	e->tries++;
	ev->busy = true;
	if (!ev->client) {
		r = ttrpc_client_connect(ev->base, ev->address, &ev->client);
		if (r < 0) {
			ev->client = NULL;
			forwarded(ev, r, TTRPC_UNAVAILABLE, "");
			return;
		}
	}
	req = containerd__services__events__ttrpc__v1__forward_request__unpack(NULL, e->len,
									       e->data);
	if (!req) {
		forwarded(ev, -ENOMEM, TTRPC_UNAVAILABLE, "");
		return;
	}
	r = containerd__services__events__ttrpc__v1__events_forward(ev->client, req, &opts,
								    on_forwarded, ev, NULL);
	containerd__services__events__ttrpc__v1__forward_request__free_unpacked(req, NULL);
	if (r < 0)
		forwarded(ev, r, TTRPC_UNAVAILABLE, "");
}

int shim_events_new(struct event_base *base, const char *address, const char *ns, unsigned retry_ms,
		    struct shim_events **ret)
{
	struct shim_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	ev->base = base;
	ev->address = address && *address ? address : NULL;
	ev->ns = ns;
	ev->retry_ms = retry_ms;
	ev->tail = &ev->head;
	ev->retry = evtimer_new(base, on_retry, ev);
	if (!ev->retry) {
		free(ev);
		return -ENOMEM;
	}
	*ret = ev;
	return 0;
}

void shim_events_free(struct shim_events *ev)
{
	if (!ev)
		return;
	ttrpc_client_free(ev->client);
	while (ev->head)
		pop(ev);
	event_free(ev->retry);
	free(ev);
}

void shim_events_publish(struct shim_events *ev, const char *topic, const char *name,
			 const ProtobufCMessage *msg)
{
	struct item *e;
	struct timespec ts;
	long len;

	if (!ev->address)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	e = calloc(1, sizeof(*e));
	if (!e || !(e->topic = strdup(topic)) ||
	    (len = shim_event_pack(ev->ns, topic, name, msg, &ts, &e->data)) < 0) {
		shim_log(TTRPC_LOG_ERR, "event %s: out of memory, dropped", topic);
		if (e)
			free(e->topic);
		free(e);
		return;
	}
	e->len = (size_t)len;
	*ev->tail = e;
	ev->tail = &e->next;
	kick(ev);
}

bool shim_events_pending(const struct shim_events *ev)
{
	return ev && (ev->head || ev->busy);
}
