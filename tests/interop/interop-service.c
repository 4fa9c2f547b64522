/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc.interop.v1.Interop: every method, each as the contract says. */
#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>

#include "interop-service.h"
#include "interop-streams.h"
#include "interop.ttrpc-c.h"

static void on_echo(struct ttrpc_call *call, const Ttrpc__Interop__V1__EchoRequest *req,
		    void *userdata)
{
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	resp.payload = req->payload;
	resp.text = req->text;
	ttrpc__interop__v1__interop_echo_reply(call, &resp);
}

struct sleeper {
	struct ttrpc_call *call;
	struct event *timer;
};

static void sleeper_free(struct sleeper *s)
{
	event_free(s->timer);
	free(s);
}

static void on_sleep_done(evutil_socket_t fd, short what, void *arg)
{
	struct sleeper *s = arg;
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;

	ttrpc__interop__v1__interop_sleep_reply(s->call, &empty);
	sleeper_free(s);
}

static void on_sleep_cancel(struct ttrpc_call *call, int code, void *arg)
{
	struct sleeper *s = arg;

	ttrpc_call_fail(call, code, "sleep cancelled");
	sleeper_free(s);
}

static void on_sleep(struct ttrpc_call *call, const Ttrpc__Interop__V1__SleepRequest *req,
		     void *userdata)
{
	struct timeval tv = { .tv_sec = (time_t)(req->millis / 1000),
			      .tv_usec = (suseconds_t)(req->millis % 1000) * 1000 };
	struct sleeper *s = calloc(1, sizeof(*s));

	if (!s || !(s->timer = evtimer_new(ttrpc_call_base(call), on_sleep_done, s)) ||
	    evtimer_add(s->timer, &tv) < 0) {
		if (s && s->timer)
			event_free(s->timer);
		free(s);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->call = call;
	ttrpc_call_on_cancel(call, on_sleep_cancel, s);
}

static void on_fail(struct ttrpc_call *call, const Ttrpc__Interop__V1__FailRequest *req,
		    void *userdata)
{
	ttrpc_call_fail(call, req->code, "%s", req->message);
}

static void on_metadata(struct ttrpc_call *call, const Ttrpc__Interop__V1__Empty *req,
			void *userdata)
{
	Ttrpc__Interop__V1__MetadataResponse resp = TTRPC__INTEROP__V1__METADATA_RESPONSE__INIT;
	size_t n = ttrpc_call_metadata_count(call);
	Ttrpc__Interop__V1__KeyValue *kv = calloc(n ? n : 1, sizeof(*kv));
	Ttrpc__Interop__V1__KeyValue **kvp = calloc(n ? n : 1, sizeof(*kvp));

	if (!kv || !kvp) {
		free(kv);
		free(kvp);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct ttrpc_kv pair;

		ttrpc_call_metadata_at(call, i, &pair);
		ttrpc__interop__v1__key_value__init(&kv[i]);
		kv[i].key = (char *)pair.key;
		kv[i].value = (char *)pair.value;
		kvp[i] = &kv[i];
	}
	resp.n_pairs = n;
	resp.pairs = kvp;
	ttrpc__interop__v1__interop_metadata_reply(call, &resp);
	free(kv);
	free(kvp);
}

static void on_peer(struct ttrpc_call *call, const Ttrpc__Interop__V1__Empty *req, void *userdata)
{
	const struct ttrpc_peer *peer = ttrpc_call_peer(call);
	Ttrpc__Interop__V1__PeerResponse resp = TTRPC__INTEROP__V1__PEER_RESPONSE__INIT;

	resp.pid = peer->pid;
	resp.uid = peer->uid;
	resp.gid = peer->gid;
	ttrpc__interop__v1__interop_peer_reply(call, &resp);
}

/* The streaming methods live in interop-streams.c, typed there for any table. */
static void on_download(struct ttrpc_call *call, const Ttrpc__Interop__V1__StreamRequest *req,
			void *userdata)
{
	interop_download(call, &req->base, userdata);
}

static void on_upload(struct ttrpc_call *call, void *userdata)
{
	interop_upload(call, NULL, userdata);
}

static void on_chat(struct ttrpc_call *call, void *userdata)
{
	interop_chat(call, NULL, userdata);
}

const struct ttrpc__interop__v1__interop_handlers interop_service_handlers = {
	.echo = on_echo,
	.sleep = on_sleep,
	.fail = on_fail,
	.metadata = on_metadata,
	.peer = on_peer,
	.download = on_download,
	.upload = on_upload,
	.chat = on_chat,
};

int interop_service_register(struct ttrpc_server *srv)
{
	return ttrpc__interop__v1__interop_register(srv, &interop_service_handlers);
}
