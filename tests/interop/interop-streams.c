/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streaming methods of ttrpc.interop.v1.Interop. Each keeps a small state
 * per call, freed when the call ends, however it ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "interop-streams.h"
#include "interop.pb-c.h"

/* ---- Download ---- */

struct download {
	uint32_t next, count;
	ProtobufCBinaryData payload;
	bool lent; /* the library frees the payload once it is sent */
};

static void download_free(struct download *d)
{
	if (!d->lent)
		free(d->payload.data);
	free(d);
}

static void download_cancelled(struct ttrpc_call *call, int code, void *arg)
{
	ttrpc_call_fail(call, code, "download cancelled");
	download_free(arg);
}

/* Send until done or the output queue is full; then wait to be called again. */
static void download_pump(struct ttrpc_call *call, void *arg)
{
	struct download *d = arg;
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;

	chunk.payload = d->payload;
	while (d->next < d->count) {
		int r;

		chunk.index = d->next;
		r = ttrpc_call_send(call, &chunk.base);
		if (r == -EAGAIN) {
			ttrpc_call_on_writable(call, download_pump, d);
			return;
		}
		if (r < 0) {
			ttrpc_call_fail(call, TTRPC_INTERNAL, "download: send: %s", strerror(-r));
			download_free(d);
			return;
		}
		d->next++;
	}
	ttrpc_call_end(call);
	download_free(d);
}

void interop_download(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	const Ttrpc__Interop__V1__StreamRequest *req = (const void *)msg;
	struct download *d = calloc(1, sizeof(*d));

	if (!d || !(d->payload.data = calloc(1, req->size ? req->size : 1))) {
		free(d);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	d->count = req->count;
	d->payload.len = req->size;
	for (uint32_t i = 0; i < req->size; i++)
		d->payload.data[i] = (uint8_t)(i * 7 % 251);
	/* Every chunk is sent from the one payload, without a copy; without
	 * the memory to lend it, each is copied. */
	d->lent = ttrpc_call_lend(call, d->payload.data, d->payload.len, free, d->payload.data) ==
		  0;
	ttrpc_call_on_cancel(call, download_cancelled, d);
	download_pump(call, d);
}

/* ---- Upload ---- */

struct upload {
	uint32_t count;
	uint64_t bytes;
};

static void upload_message(struct ttrpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Ttrpc__Interop__V1__Chunk *chunk = (const void *)msg;
	struct upload *u = arg;

	u->count++;
	u->bytes += chunk->payload.len;
}

static void upload_end(struct ttrpc_call *call, void *arg)
{
	Ttrpc__Interop__V1__Summary summary = TTRPC__INTEROP__V1__SUMMARY__INIT;
	struct upload *u = arg;

	summary.count = u->count;
	summary.bytes = u->bytes;
	free(u);
	ttrpc_call_reply(call, &summary.base);
}

static void upload_cancelled(struct ttrpc_call *call, int code, void *arg)
{
	free(arg);
	ttrpc_call_fail(call, code, "upload cancelled");
}

void interop_upload(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	struct upload *u = calloc(1, sizeof(*u));

	if (!u) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ttrpc_call_on_message(call, upload_message, upload_end, u);
	ttrpc_call_on_cancel(call, upload_cancelled, u);
}

/* ---- Chat ---- */

/* Echoes that waited for room; bounded, so a client that sends and never
 * reads costs at most CHAT_BACKLOG bytes before the call fails. */
#define CHAT_BACKLOG (4u << 20)

struct chat_item {
	Ttrpc__Interop__V1__Chunk *chunk;
	STAILQ_ENTRY(chat_item) link;
};

struct chat {
	STAILQ_HEAD(, chat_item) backlog;
	size_t backlog_bytes;
	bool client_done;
};

static void chat_free(struct chat *c)
{
	struct chat_item *it;

	while ((it = STAILQ_FIRST(&c->backlog))) {
		STAILQ_REMOVE_HEAD(&c->backlog, link);
		protobuf_c_message_free_unpacked(&it->chunk->base, NULL);
		free(it);
	}
	free(c);
}

static void chat_cancelled(struct ttrpc_call *call, int code, void *arg)
{
	chat_free(arg);
	ttrpc_call_fail(call, code, "chat cancelled");
}

/* Send the backlog; end the call once the client is done and all is sent. */
static void chat_flush(struct ttrpc_call *call, void *arg)
{
	struct chat *c = arg;
	struct chat_item *it;

	while ((it = STAILQ_FIRST(&c->backlog))) {
		int r = ttrpc_call_send(call, &it->chunk->base);

		if (r == -EAGAIN) {
			ttrpc_call_on_writable(call, chat_flush, c);
			return;
		}
		if (r < 0) {
			ttrpc_call_fail(call, TTRPC_INTERNAL, "chat: send: %s", strerror(-r));
			chat_free(c);
			return;
		}
		STAILQ_REMOVE_HEAD(&c->backlog, link);
		c->backlog_bytes -= it->chunk->payload.len;
		protobuf_c_message_free_unpacked(&it->chunk->base, NULL);
		free(it);
	}
	if (c->client_done) {
		ttrpc_call_end(call);
		chat_free(c);
	}
}

static void chat_message(struct ttrpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Ttrpc__Interop__V1__Chunk *chunk = (const void *)msg;
	struct chat *c = arg;
	struct chat_item *it;
	uint8_t *buf;
	size_t len;

	if (STAILQ_EMPTY(&c->backlog) && ttrpc_call_send(call, msg) != -EAGAIN)
		return;
	if (c->backlog_bytes + chunk->payload.len > CHAT_BACKLOG) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "chat: the client does not read");
		chat_free(c);
		return;
	}
	/* Keep a copy: the message is borrowed. */
	len = protobuf_c_message_get_packed_size(msg);
	buf = malloc(len ? len : 1);
	it = calloc(1, sizeof(*it));
	if (buf && it) {
		protobuf_c_message_pack(msg, buf);
		it->chunk = ttrpc__interop__v1__chunk__unpack(NULL, len, buf);
	}
	free(buf);
	if (!it || !it->chunk) {
		free(it);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		chat_free(c);
		return;
	}
	STAILQ_INSERT_TAIL(&c->backlog, it, link);
	c->backlog_bytes += chunk->payload.len;
	ttrpc_call_on_writable(call, chat_flush, c);
}

static void chat_end(struct ttrpc_call *call, void *arg)
{
	struct chat *c = arg;

	c->client_done = true;
	if (STAILQ_EMPTY(&c->backlog))
		chat_flush(call, c);
}

void interop_chat(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	struct chat *c = calloc(1, sizeof(*c));

	if (!c) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	STAILQ_INIT(&c->backlog);
	ttrpc_call_on_message(call, chat_message, chat_end, c);
	ttrpc_call_on_cancel(call, chat_cancelled, c);
}
