/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the client's response path. A ttrpc_client on one end
 * of a socketpair has unary calls, a stream of each kind and two blocking
 * streams pending (stream ids 1, 3, ... 17 in the order below), and an
 * interceptor; the input is what the server sends.
 * The callbacks re-enter the client as applications do: cancel streams,
 * send (Chat sends back what it receives, from the frame it came in), start
 * calls, free the client; uploaded chunks are sent from lent memory. Checked: every call and stream the
 * client accepted completes exactly once, whatever arrives, and nothing
 * leaks.
 *
 * Input: byte 0 holds options (below), the rest is the server's byte stream.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "fuzz-peer.h"
#include "interop.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SVC "ttrpc.interop.v1.Interop"

/* Option bits of byte 0. */
#define OPT_CHUNK(o) ((o)&3)  /* bytes per write: all, 1, 7, 61 */
#define OPT_FREE_IN_CB 0x04   /* free the client from the first completion */
#define OPT_CANCEL_SELF 0x08  /* a stream cancels itself on its first message */
#define OPT_CANCEL_OTHER 0x10 /* a message cancels the other streams and call 9 */
#define OPT_SEND_MORE 0x20    /* Chat answers messages; completions start calls */
#define OPT_CLOSE_SEND 0x40   /* Upload and Chat close their side at once */
#define OPT_EOF 0x80          /* the server closes at the end, before the free */

static const size_t chunk_sizes[4] = { 0, 1, 7, 61 };

enum { DOWNLOAD, UPLOAD, CHAT, N_STREAMS };
enum { SYNC_DOWNLOAD, SYNC_UPLOAD, N_SYNC };

#define MAX_UNARY 8

/* One call or stream the client accepted, and how often it completed. */
struct rec {
	unsigned done;
	uint32_t id;
	struct ttrpc_client_stream *s; /* streams, until on_done */
};

static struct {
	struct ttrpc_client *c; /* NULL once freed */
	uint8_t opt;
	unsigned released; /* the lent payload */
	struct rec unary[MAX_UNARY];
	size_t n_unary;
	struct rec streams[N_STREAMS];
	struct ttrpc_client_stream *sync[N_SYNC];
	unsigned intercepted, seen_done;
} fz;

static void start_echo(uint64_t timeout_us);

static void completed(struct rec *r)
{
	FUZZ_CHECK(r->done == 0);
	r->done++;
	if ((fz.opt & OPT_FREE_IN_CB) && fz.c) {
		struct ttrpc_client *c = fz.c;

		fz.c = NULL;
		ttrpc_client_free(c);
	}
}

static void on_unary(const struct ttrpc_result *res, void *userdata)
{
	struct rec *r = userdata;

	FUZZ_CHECK(res->message);
	/* A unary call that succeeded has its response. */
	FUZZ_CHECK(res->error != 0 || res->code != TTRPC_OK || res->response);
	completed(r);
	if ((fz.opt & OPT_SEND_MORE) && fz.c)
		start_echo(0);
}

static void start_echo(uint64_t timeout_us)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct ttrpc_call_opts opts = { .timeout_us = timeout_us };
	struct rec *r;

	if (fz.n_unary == MAX_UNARY)
		return;
	r = &fz.unary[fz.n_unary];
	req.text = "fuzz";
	if (ttrpc_client_call(fz.c, SVC, "Echo", &req.base,
			      &ttrpc__interop__v1__echo_response__descriptor, &opts, on_unary, r,
			      &r->id) == 0)
		fz.n_unary++;
}

static void cancel_others(struct rec *self)
{
	for (int i = 0; i < N_STREAMS && fz.c; i++)
		if (&fz.streams[i] != self && fz.streams[i].s)
			ttrpc_client_stream_cancel(fz.streams[i].s);
	/* the unary call with a deadline */
	for (size_t i = 0; i < fz.n_unary && fz.c; i++)
		if (fz.unary[i].id == 9 && !fz.unary[i].done)
			FUZZ_CHECK(ttrpc_client_cancel(fz.c, 9) == 0);
}

static void on_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *userdata)
{
	struct rec *r = userdata;

	FUZZ_CHECK(!r->done && r->s == s && msg);
	if (!fz.c)
		return;
	if (fz.opt & OPT_CANCEL_OTHER)
		cancel_others(r);
	if ((fz.opt & OPT_SEND_MORE) && r == &fz.streams[CHAT] && fz.c && r->s) {
		/* Fails once the side is closed; either way nothing may break. */
		ttrpc_client_stream_send(s, msg);
		ttrpc_client_stream_close_send(s);
	}
	if ((fz.opt & OPT_CANCEL_SELF) && fz.c && r->s)
		ttrpc_client_stream_cancel(s);
}

/* Uploaded chunks are sent from this, lent to the client until Upload ends. */
static uint8_t lent_payload[64];

static void on_release(void *userdata)
{
	fz.released++;
}

static void on_done(struct ttrpc_client_stream *s, const struct ttrpc_result *res, void *userdata)
{
	struct rec *r = userdata;

	FUZZ_CHECK(r->s == s && res->message);
	r->s = NULL;
	if (r == &fz.streams[UPLOAD] && fz.c)
		FUZZ_CHECK(ttrpc_client_unlend(fz.c, lent_payload) == 0);
	completed(r);
}

static const struct ttrpc_stream_handlers handlers = {
	.on_message = on_message,
	.on_done = on_done,
};

static void open_stream(int which, const char *method, enum ttrpc_method_kind kind,
			const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp)
{
	struct rec *r = &fz.streams[which];

	FUZZ_CHECK(ttrpc_client_stream_open(fz.c, SVC, method, kind, req, resp, NULL, &handlers, r,
					    &r->s) == 0);
	r->id = ttrpc_client_stream_id(r->s);
}

/* Metadata on every call; the outcome seen before the callback. */
static int ic_call(struct ttrpc_client_call *cc, void *userdata)
{
	FUZZ_CHECK(ttrpc_client_call_service(cc) && ttrpc_client_call_method(cc));
	fz.intercepted++;
	return ttrpc_client_call_add_metadata(cc, "fuzz", ttrpc_client_call_method(cc));
}

static void ic_done(struct ttrpc_client_call *cc, const struct ttrpc_result *res, void *userdata)
{
	FUZZ_CHECK(res->message);
	fz.seen_done++;
}

static const struct ttrpc_client_interceptor interceptor = {
	.on_call = ic_call,
	.on_done = ic_done,
};

/* Read a blocking stream to its end; only once it has ended, as nothing
 * else may run the loop. */
static void drain_sync(struct ttrpc_client_stream *s)
{
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *msg;
	int r;

	while ((r = ttrpc_client_stream_recv_sync(s, &msg, &st)) == 1)
		protobuf_c_message_free_unpacked(msg, NULL);
	if (r == 0 && msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	FUZZ_CHECK(r <= 0 && (r != -EREMOTEIO || st.message));
	ttrpc_status_clear(&st);
	ttrpc_client_stream_free_sync(s);
}

static void quiet_log(int level, const char *msg, void *userdata)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ttrpc__Interop__V1__StreamRequest sreq = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	Ttrpc__Interop__V1__FailRequest freq = TTRPC__INTEROP__V1__FAIL_REQUEST__INIT;
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	struct event_base *base;
	struct fuzz_peer peer;
	struct rec *r;
	int fd;

	if (size < 1)
		return 0;
	memset(&fz, 0, sizeof(fz));
	fz.opt = data[0];

	base = fuzz_base_new();
	fuzz_peer_open(&peer, &fd, data + 1, size - 1);
	peer.chunk = chunk_sizes[OPT_CHUNK(fz.opt)];
	FUZZ_CHECK(ttrpc_client_new(base, fd, &fz.c) == 0);
	ttrpc_client_set_log(fz.c, quiet_log, NULL);
	FUZZ_CHECK(ttrpc_client_lend(fz.c, lent_payload, sizeof(lent_payload), on_release, NULL) ==
		   0);
	FUZZ_CHECK(ttrpc_client_add_interceptor(fz.c, &interceptor) == 0);

	/* Ids: 1 Echo, 3 Download, 5 Upload, 7 Chat, 9 Echo (deadline in an hour),
	 * 11 Fail, 13 Echo (deadline in 1 us), 15 and 17 blocking Download and
	 * Upload. */
	start_echo(0);
	sreq.count = 2;
	open_stream(DOWNLOAD, "Download", TTRPC_METHOD_SERVER_STREAM, &sreq.base,
		    &ttrpc__interop__v1__chunk__descriptor);
	open_stream(UPLOAD, "Upload", TTRPC_METHOD_CLIENT_STREAM, NULL,
		    &ttrpc__interop__v1__summary__descriptor);
	open_stream(CHAT, "Chat", TTRPC_METHOD_BIDI_STREAM, NULL,
		    &ttrpc__interop__v1__chunk__descriptor);
	/* A deadline far away: its timer must be freed with the call. */
	start_echo(3600ull * 1000000);
	r = &fz.unary[fz.n_unary];
	freq.code = TTRPC_NOT_FOUND;
	FUZZ_CHECK(ttrpc_client_call(fz.c, SVC, "Fail", &freq.base,
				     &ttrpc__interop__v1__empty__descriptor, NULL, on_unary, r,
				     &r->id) == 0);
	fz.n_unary++;
	/* A deadline of 1 us: it passes on the next loop iteration. */
	start_echo(1);
	sreq.count = 3;
	FUZZ_CHECK(ttrpc_client_stream_open_sync(fz.c, SVC, "Download", TTRPC_METHOD_SERVER_STREAM,
						 &sreq.base, &ttrpc__interop__v1__chunk__descriptor,
						 NULL, &fz.sync[SYNC_DOWNLOAD]) == 0);
	FUZZ_CHECK(ttrpc_client_stream_open_sync(fz.c, SVC, "Upload", TTRPC_METHOD_CLIENT_STREAM,
						 NULL, &ttrpc__interop__v1__summary__descriptor,
						 NULL, &fz.sync[SYNC_UPLOAD]) == 0);
	FUZZ_CHECK(fz.n_unary == 4 && ttrpc_client_pending(fz.c) == 9);

	chunk.index = 1;
	chunk.payload.data = lent_payload;
	chunk.payload.len = sizeof(lent_payload);
	FUZZ_CHECK(ttrpc_client_stream_send(fz.streams[UPLOAD].s, &chunk.base) == 0);
	FUZZ_CHECK(ttrpc_client_stream_send_sync(fz.sync[SYNC_UPLOAD], &chunk.base) == 0);
	if (fz.opt & OPT_CLOSE_SEND) {
		FUZZ_CHECK(ttrpc_client_stream_close_send(fz.streams[UPLOAD].s) == 0);
		FUZZ_CHECK(ttrpc_client_stream_close_send(fz.streams[CHAT].s) == 0);
		FUZZ_CHECK(ttrpc_client_stream_close_send(fz.sync[SYNC_UPLOAD]) == 0);
	}

	fuzz_peer_run(&peer, base, (peer.chunk ? size / peer.chunk : 1) + 64);
	if (fz.opt & OPT_EOF) {
		fuzz_peer_close(&peer);
		fuzz_peer_run(&peer, base, 16);
		/* The connection is gone: nothing can be pending. */
		FUZZ_CHECK(!fz.c ||
			   (!ttrpc_client_is_connected(fz.c) && ttrpc_client_pending(fz.c) == 0));
	}
	if (fz.c)
		ttrpc_client_free(fz.c);
	fz.c = NULL;
	/* Everything has ended with the client: the blocking streams hold
	 * what they received, to be read and freed. */
	for (int i = 0; i < N_SYNC; i++)
		drain_sync(fz.sync[i]);
	FUZZ_CHECK(fz.seen_done == fz.intercepted);
	/* Once, when Upload ended or with the client. */
	FUZZ_CHECK(fz.released == 1);

	/* Exactly once each: a second completion trapped in completed(). */
	for (size_t i = 0; i < fz.n_unary; i++)
		FUZZ_CHECK(fz.unary[i].done == 1);
	for (int i = 0; i < N_STREAMS; i++)
		FUZZ_CHECK(fz.streams[i].done == 1 && !fz.streams[i].s);

	fuzz_peer_close(&peer);
	event_base_free(base);
	return 0;
}
