/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streams (ttrpc protocol 1.2) over real unix sockets on one libevent loop:
 * the interop streaming methods through the client API, the exact framing
 * through a raw peer, cancellation, disconnects and backpressure.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "harness.h"
#include "interop.pb-c.h"

#define STREAMS "test.Streams"

/* Never ends by itself: for deadlines, metadata and Data after close. */
static void on_hold(struct ttrpc_call *call, const ProtobufCMessage *req, void *userdata);

/* Download, Upload and Chat are the interop service's; Hold is this suite's. */
static const struct ttrpc_method stream_methods[] = {
	TTRPC_BIDI_STREAM("Hold", &ttrpc__interop__v1__chunk__descriptor,
			  &ttrpc__interop__v1__chunk__descriptor, on_hold),
	TTRPC_METHODS_END,
};

/* What the Hold handler saw. */
static struct {
	int calls, messages, ends, cancels;
	char md_value[32];
	uint64_t deadline;
} hold;

static void hold_message(struct ttrpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	hold.messages++;
}

static void hold_end(struct ttrpc_call *call, void *arg)
{
	hold.ends++;
}

static void hold_cancel(struct ttrpc_call *call, int code, void *arg)
{
	hold.cancels++;
	ttrpc_call_fail(call, code, "held");
}

static void on_hold(struct ttrpc_call *call, const ProtobufCMessage *req, void *userdata)
{
	const char *v = ttrpc_call_metadata_get(call, "who");

	hold.calls++;
	snprintf(hold.md_value, sizeof(hold.md_value), "%s", v ? v : "");
	hold.deadline = ttrpc_call_deadline(call);
	ttrpc_call_on_message(call, hold_message, hold_end, NULL);
	ttrpc_call_on_cancel(call, hold_cancel, NULL);
}

static void stream_setup(void)
{
	setup();
	memset(&hold, 0, sizeof(hold));
	ck_assert_int_eq(ttrpc_server_register(srv, STREAMS, stream_methods, NULL), 0);
}

/* ---- a client-side sink for one stream ---- */

struct sink {
	bool done;
	int error, code;
	char message[128];
	uint32_t n, next_index, bad_index;
	uint64_t bytes;
	uint32_t summary_count;
	uint64_t summary_bytes;
	int writable;
};

static void sink_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *arg)
{
	const Ttrpc__Interop__V1__Chunk *chunk = (const void *)msg;
	struct sink *k = arg;

	if (chunk->index != k->next_index)
		k->bad_index++;
	for (size_t i = 0; i < chunk->payload.len; i++)
		if (chunk->payload.data[i] != (uint8_t)(i * 7 % 251)) {
			k->bad_index++;
			break;
		}
	k->next_index++;
	k->n++;
	k->bytes += chunk->payload.len;
}

static void sink_done(struct ttrpc_client_stream *s, const struct ttrpc_result *r, void *arg)
{
	struct sink *k = arg;

	k->done = true;
	k->error = r->error;
	k->code = r->code;
	snprintf(k->message, sizeof(k->message), "%s", r->message);
	if (r->response) {
		const Ttrpc__Interop__V1__Summary *sum = (const void *)r->response;

		k->summary_count = sum->count;
		k->summary_bytes = sum->bytes;
	}
}

static void sink_writable(struct ttrpc_client_stream *s, void *arg)
{
	((struct sink *)arg)->writable++;
}

static const struct ttrpc_stream_handlers sink_handlers = {
	.on_message = sink_message,
	.on_done = sink_done,
	.on_writable = sink_writable,
};

static struct ttrpc_client_stream *download(struct ttrpc_client *c, uint32_t count, uint32_t size,
					    struct sink *k)
{
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	struct ttrpc_client_stream *s;

	req.count = count;
	req.size = size;
	ck_assert_int_eq(ttrpc_client_stream_open(c, SVC, "Download", TTRPC_METHOD_SERVER_STREAM,
						  &req.base, &ttrpc__interop__v1__chunk__descriptor,
						  NULL, &sink_handlers, k, &s),
			 0);
	return s;
}

static void check_download(uint32_t count, uint32_t size)
{
	struct ttrpc_client *c = connect_client();
	struct sink k = { 0 };

	download(c, count, size, &k);
	run_until(&k.done, 30000);
	ck_assert_int_eq(k.error, 0);
	ck_assert_msg(k.code == TTRPC_OK, "Download(%u, %u): %s", count, size, k.message);
	ck_assert_uint_eq(k.n, count);
	ck_assert_uint_eq(k.bytes, (uint64_t)count * size);
	ck_assert_uint_eq(k.bad_index, 0);
	ttrpc_client_free(c);
}

START_TEST(test_download_0)
{
	check_download(0, 1024);
}
END_TEST
START_TEST(test_download_1)
{
	check_download(1, 1024);
}
END_TEST
START_TEST(test_download_1000)
{
	check_download(1000, 1024);
}
END_TEST
START_TEST(test_download_10_mib)
{
	check_download(10, 1 << 20);
}
END_TEST

static void check_upload(uint32_t count)
{
	struct ttrpc_client *c = connect_client();
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	struct ttrpc_client_stream *s;
	uint8_t data[1024] = { 0 };
	struct sink k = { 0 };

	ck_assert_int_eq(ttrpc_client_stream_open(c, SVC, "Upload", TTRPC_METHOD_CLIENT_STREAM,
						  NULL, &ttrpc__interop__v1__summary__descriptor,
						  NULL, &sink_handlers, &k, &s),
			 0);
	chunk.payload.data = data;
	chunk.payload.len = sizeof(data);
	for (uint32_t i = 0; i < count; i++) {
		int r;

		chunk.index = i;
		while ((r = ttrpc_client_stream_send(s, &chunk.base)) == -EAGAIN)
			run_for(1);
		ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), -EPIPE);
	ck_assert_int_eq(ttrpc_client_stream_send(s, &chunk.base), -EPIPE);
	run_until(&k.done, 30000);
	ck_assert_int_eq(k.code, TTRPC_OK);
	ck_assert_uint_eq(k.summary_count, count);
	ck_assert_uint_eq(k.summary_bytes, (uint64_t)count * sizeof(data));
	ttrpc_client_free(c);
}

START_TEST(test_upload_0)
{
	check_upload(0);
}
END_TEST
START_TEST(test_upload_1)
{
	check_upload(1);
}
END_TEST
START_TEST(test_upload_1000)
{
	check_upload(1000);
}
END_TEST

static struct ttrpc_client_stream *open_chat(struct ttrpc_client *c, const char *method,
					     const struct ttrpc_call_opts *opts, struct sink *k)
{
	struct ttrpc_client_stream *s;

	const char *service = strcmp(method, "Hold") == 0 ? STREAMS : SVC;

	ck_assert_int_eq(ttrpc_client_stream_open(c, service, method, TTRPC_METHOD_BIDI_STREAM,
						  NULL, &ttrpc__interop__v1__chunk__descriptor,
						  opts, &sink_handlers, k, &s),
			 0);
	return s;
}

static int send_chunk(struct ttrpc_client_stream *s, uint32_t index, size_t size)
{
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	uint8_t *data = malloc(size ? size : 1);
	int r;

	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 % 251);
	chunk.index = index;
	chunk.payload.data = data;
	chunk.payload.len = size;
	r = ttrpc_client_stream_send(s, &chunk.base);
	free(data);
	return r;
}

START_TEST(test_chat_lockstep)
{
	struct ttrpc_client *c = connect_client();
	struct sink k = { 0 };
	struct ttrpc_client_stream *s = open_chat(c, "Chat", NULL, &k);

	for (uint32_t i = 0; i < 100; i++) {
		ck_assert_int_eq(send_chunk(s, i, 16), 0);
		for (int n = 0; n < 5000 && k.n == i; n++)
			run_for(1);
		ck_assert_uint_eq(k.n, i + 1); /* each answer before the next question */
	}
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	run_until(&k.done, 5000);
	ck_assert_int_eq(k.code, TTRPC_OK);
	ck_assert_uint_eq(k.bad_index, 0);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_chat_pipelined)
{
	struct ttrpc_client *c = connect_client();
	struct sink k = { 0 };
	struct ttrpc_client_stream *s = open_chat(c, "Chat", NULL, &k);

	for (uint32_t i = 0; i < 1000; i++)
		ck_assert_int_eq(send_chunk(s, i, 100), 0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	run_until(&k.done, 10000);
	ck_assert_int_eq(k.code, TTRPC_OK);
	ck_assert_uint_eq(k.n, 1000);
	ck_assert_uint_eq(k.bad_index, 0);
	ttrpc_client_free(c);
}
END_TEST

/* ---- interleaving, cancellation, disconnects ---- */

struct echo_done {
	bool done;
	int code;
};

static void on_echo(const struct ttrpc_result *r, void *arg)
{
	struct echo_done *e = arg;

	e->done = true;
	e->code = r->error ? -1 : r->code;
}

static void echo(struct ttrpc_client *c, struct echo_done *e)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;

	ck_assert_int_eq(ttrpc_client_call(c, SVC, "Echo", &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   on_echo, e, NULL),
			 0);
}

START_TEST(test_streams_and_unary_interleaved)
{
	struct ttrpc_client *c = connect_client();
	struct sink d1 = { 0 }, d2 = { 0 }, up = { 0 };
	struct echo_done e[50] = { 0 };
	struct ttrpc_client_stream *u;

	download(c, 2000, 1024, &d1);
	ck_assert_int_eq(ttrpc_client_stream_open(c, SVC, "Upload", TTRPC_METHOD_CLIENT_STREAM,
						  NULL, &ttrpc__interop__v1__summary__descriptor,
						  NULL, &sink_handlers, &up, &u),
			 0);
	for (int i = 0; i < 50; i++) {
		echo(c, &e[i]);
		ck_assert_int_eq(send_chunk(u, (uint32_t)i, 10), 0);
		if (i == 25)
			download(c, 100, 10, &d2);
	}
	ck_assert_int_eq(ttrpc_client_stream_close_send(u), 0);
	run_until(&d1.done, 30000);
	run_until(&d2.done, 30000);
	run_until(&up.done, 30000);
	for (int i = 0; i < 50; i++) {
		run_until(&e[i].done, 5000);
		ck_assert_int_eq(e[i].code, TTRPC_OK);
	}
	ck_assert_uint_eq(d1.n, 2000);
	ck_assert_uint_eq(d2.n, 100);
	ck_assert_uint_eq(up.summary_count, 50);
	ck_assert_uint_eq(d1.bad_index + d2.bad_index, 0);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_cancel_mid_download)
{
	struct ttrpc_client *c = connect_client();
	struct sink k = { 0 };
	struct echo_done e = { 0 };
	struct ttrpc_client_stream *s = download(c, 5000, 1024, &k);

	while (k.n < 10)
		run_for(1);
	ttrpc_client_stream_cancel(s);
	ck_assert(k.done);
	ck_assert_int_eq(k.code, TTRPC_CANCELLED);
	/* The server streams on (no cancel frame exists); the client drops it
	 * all and the connection stays usable. */
	echo(c, &e);
	run_until(&e.done, 10000);
	ck_assert_int_eq(e.code, TTRPC_OK);
	ck_assert_uint_lt(k.n, 5000);
	for (int n = 0; n < 1000 && stats().calls_in_flight > 0; n++)
		run_for(5);
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	ck_assert(ttrpc_client_is_connected(c));
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_disconnect_mid_stream_frees_server_side)
{
	struct ttrpc_client *gone = connect_client(), *stays = connect_client();
	struct sink g1 = { 0 }, g2 = { 0 }, g3 = { 0 }, k = { 0 };

	download(gone, 1000000, 1024, &g1);
	open_chat(gone, "Chat", NULL, &g2);
	open_chat(gone, "Hold", NULL, &g3);
	download(stays, 3000, 1024, &k);
	while (g1.n < 10 || hold.calls == 0)
		run_for(1);
	ck_assert_uint_ge(stats().calls_in_flight, 3);
	ttrpc_client_free(gone);
	ck_assert_int_eq(g1.error, -ECANCELED);
	run_until(&k.done, 30000);
	ck_assert_int_eq(k.code, TTRPC_OK);
	ck_assert_uint_eq(k.n, 3000);
	for (int n = 0; n < 1000 && stats().calls_in_flight > 0; n++)
		run_for(5);
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	ck_assert_int_eq(hold.cancels, 1);
	ttrpc_client_free(stays);
}
END_TEST

/* ---- deadlines, metadata and interceptors travel with streams ---- */

static int seen_stream_kind = -1;

static int note_kind(struct ttrpc_call *call, void *arg)
{
	if (strcmp(ttrpc_call_method(call), "Hold") == 0)
		seen_stream_kind = ttrpc_call_kind(call);
	return 0;
}

START_TEST(test_stream_deadline_metadata_interceptor)
{
	static const struct ttrpc_kv md[] = { { "who", "stream-client" } };
	struct ttrpc_server_interceptor ic = { note_kind, NULL, NULL };
	struct ttrpc_call_opts opts = { .timeout_us = 200000, .metadata = md, .n_metadata = 1 };
	struct ttrpc_client *c;
	struct sink k = { 0 };

	ck_assert_int_eq(ttrpc_server_add_interceptor(srv, &ic), 0);
	c = connect_client();
	open_chat(c, "Hold", &opts, &k);
	run_until(&k.done, 5000);
	ck_assert_int_eq(k.code, TTRPC_DEADLINE_EXCEEDED);
	ck_assert_str_eq(hold.md_value, "stream-client");
	ck_assert_uint_gt(hold.deadline, 0);
	ck_assert_int_eq(seen_stream_kind, TTRPC_METHOD_BIDI_STREAM);
	for (int n = 0; n < 200 && hold.cancels == 0; n++)
		run_for(5);
	ck_assert_int_eq(hold.cancels, 1); /* the server enforced it too */
	ttrpc_client_free(c);
}
END_TEST

/* ---- backpressure ---- */

START_TEST(test_reader_that_stops_bounds_writer_memory)
{
	static const uint8_t req[] = {
		0x08, 0xa0, 0x8d, 0x06, 0x10, 0x80, 0x08
	}; /* 100000 x 1 KiB */
	struct raw *r = raw_connect();
	struct ttrpc_client *c = connect_client();
	struct sink k = { 0 };
	uint8_t buf[256];
	size_t n = 0;

	/* Download over a raw connection that never reads. */
	bufferevent_disable(r->bev, EV_READ);
	buf[n++] = 0x0a;
	buf[n++] = (uint8_t)strlen(SVC);
	memcpy(buf + n, SVC, strlen(SVC));
	n += strlen(SVC);
	memcpy(buf + n,
	       "\x12\x08"
	       "Download\x1a\x07",
	       12);
	n += 12;
	memcpy(buf + n, req, sizeof(req));
	n += sizeof(req);
	raw_send(r, (uint32_t)n, 1, 1, 1, buf, n);
	for (int i = 0; i < 100; i++)
		run_for(5);
	/* The writer paused at the watermark instead of queueing 100 MiB. */
	ck_assert_uint_eq(stats().calls_in_flight, 1);
	ck_assert_uint_le(stats().bytes_queued, 2u << 20);
	ck_assert_uint_eq(stats().connections, 2);
	/* and another stream on another connection is served meanwhile */
	download(c, 100, 1024, &k);
	run_until(&k.done, 10000);
	ck_assert_uint_eq(k.n, 100);
	raw_free(r);
	for (int i = 0; i < 1000 && stats().calls_in_flight > 0; i++)
		run_for(5);
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_client_send_backpressure)
{
	struct ttrpc_client *c = connect_client();
	struct sink k = { 0 };
	struct ttrpc_client_stream *s = open_chat(c, "Hold", NULL, &k);
	int sent = 0, r;

	/* Without running the loop nothing is written: the queue fills. */
	while ((r = send_chunk(s, (uint32_t)sent, 64 * 1024)) == 0)
		sent++;
	ck_assert_int_eq(r, -EAGAIN);
	ck_assert_int_le(sent, 20); /* about 1 MiB of 64 KiB chunks */
	ck_assert_int_gt(sent, 0);
	for (int n = 0; n < 1000 && k.writable == 0; n++)
		run_for(1);
	ck_assert_int_eq(k.writable, 1);
	ck_assert_int_eq(send_chunk(s, (uint32_t)sent, 16), 0);
	ttrpc_client_stream_cancel(s);
	ttrpc_client_free(c);
}
END_TEST

/* ---- the framing on the wire, byte by byte ---- */

static size_t put_request(uint8_t *buf, const char *method, const void *payload, size_t n)
{
	const char *service = strcmp(method, "Hold") == 0 ? STREAMS : SVC;
	size_t len = 0;

	buf[len++] = 0x0a;
	buf[len++] = (uint8_t)strlen(service);
	memcpy(buf + len, service, strlen(service));
	len += strlen(service);
	buf[len++] = 0x12;
	buf[len++] = (uint8_t)strlen(method);
	memcpy(buf + len, method, strlen(method));
	len += strlen(method);
	if (payload) {
		buf[len++] = 0x1a;
		buf[len++] = (uint8_t)n;
		memcpy(buf + len, payload, n);
		len += n;
	}
	return len;
}

static void expect_frame(struct raw *r, uint32_t id, uint8_t type, uint8_t flags, const void *p,
			 size_t n)
{
	struct frame f;

	ck_assert(raw_next(r, &f, 5000));
	ck_assert_uint_eq(f.id, id);
	ck_assert_uint_eq(f.type, type);
	ck_assert_uint_eq(f.flags, flags);
	ck_assert_uint_eq(f.length, n);
	if (n)
		ck_assert_mem_eq(f.payload, p, n);
	free(f.payload);
}

START_TEST(test_wire_server_stream)
{
	static const uint8_t two_empty[] = { 0x08, 0x02 }; /* count = 2, size = 0 */
	struct raw *r = raw_connect();
	uint8_t buf[128];
	size_t n = put_request(buf, "Download", two_empty, sizeof(two_empty));

	raw_send(r, (uint32_t)n, 1, 1, 0x1 /* remote closed */, buf, n);
	/* Chunk{index 0} is an empty message: a zero-length Data without NO_DATA */
	expect_frame(r, 1, 3, 0, NULL, 0);
	expect_frame(r, 1, 3, 0, "\x08\x01", 2);
	/* the end: Data, remote closed | no data */
	expect_frame(r, 1, 3, 0x5, NULL, 0);
	raw_expect_echo_works(r, 3);
	raw_free(r);
}
END_TEST

START_TEST(test_wire_client_stream)
{
	struct raw *r = raw_connect();
	uint8_t buf[128];
	size_t n = put_request(buf, "Upload", NULL, 0);

	/* Go's client: Request with remote open, no payload, no NO_DATA; no
	 * empty first message may be invented from it */
	raw_send(r, (uint32_t)n, 1, 1, 0x2, buf, n);
	raw_send(r, 3, 1, 3, 0, "\x12\x01x", 3);
	raw_send(r, 0, 1, 3, 0, NULL, 0);   /* an empty message counts */
	raw_send(r, 0, 1, 3, 0x4, NULL, 0); /* no data: nothing */
	raw_send(r, 0, 1, 3, 0x5, NULL, 0); /* CloseSend */
	/* Response{status OK, payload Summary{count 2, bytes 1}} */
	expect_frame(r, 1, 2, 0, "\x0a\x00\x12\x04\x08\x02\x10\x01", 8);
	/* the stream is finished */
	raw_send(r, 0, 1, 3, 0, NULL, 0);
	raw_expect_status(r, 1, TTRPC_INVALID_ARGUMENT, "StreamID is no longer active");
	raw_free(r);
}
END_TEST

START_TEST(test_wire_bidi_and_data_after_close)
{
	struct raw *r = raw_connect();
	uint8_t buf[128];
	size_t n = put_request(buf, "Chat", NULL, 0);

	raw_send(r, (uint32_t)n, 1, 1, 0x2, buf, n);
	raw_send(r, 2, 1, 3, 0, "\x08\x07", 2);
	expect_frame(r, 1, 3, 0, "\x08\x07", 2);
	/* the last message may ride on the closing frame */
	raw_send(r, 2, 1, 3, 0x1, "\x08\x08", 2);
	expect_frame(r, 1, 3, 0, "\x08\x08", 2);
	expect_frame(r, 1, 3, 0x5, NULL, 0);

	/* Data after the client closed, on a stream the server keeps open */
	n = put_request(buf, "Hold", NULL, 0);
	raw_send(r, (uint32_t)n, 3, 1, 0x2, buf, n);
	raw_send(r, 0, 3, 3, 0x5, NULL, 0);
	raw_send(r, 2, 3, 3, 0, "\x08\x01", 2);
	raw_expect_status(r, 3, TTRPC_INVALID_ARGUMENT,
			  "data handling error: ttrpc: stream closed");
	ck_assert_int_eq(hold.ends, 1);
	ck_assert_int_eq(hold.messages, 0);
	ck_assert_int_eq(hold.cancels, 1);

	/* Data on a server stream: the client closed its side with the Request */
	n = put_request(buf, "Download", "\x08\x05\x10\x01", 4);
	raw_send(r, (uint32_t)n, 5, 1, 0x1, buf, n);
	raw_send(r, 2, 5, 3, 0, "\x08\x01", 2);
	raw_free(r);
}
END_TEST

START_TEST(test_wire_client_stream_first_message_in_request)
{
	struct raw *r = raw_connect();
	uint8_t buf[128];
	size_t n = put_request(buf, "Upload", "\x12\x02xy", 4);

	/* A Request that carries a payload (field present) starts the stream */
	raw_send(r, (uint32_t)n, 1, 1, 0x2, buf, n);
	raw_send(r, 0, 1, 3, 0x5, NULL, 0);
	expect_frame(r, 1, 2, 0, "\x0a\x00\x12\x04\x08\x01\x10\x02", 8);
	/* unless it says NO_DATA */
	raw_send(r, (uint32_t)n, 3, 1, 0x2 | 0x4, buf, n);
	raw_send(r, 0, 3, 3, 0x5, NULL, 0);
	expect_frame(r, 3, 2, 0, "\x0a\x00", 2); /* Summary{} is empty: no payload field */
	raw_free(r);
}
END_TEST

START_TEST(test_blocking_streams)
{
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	struct ttrpc_client_stream *s;
	struct ttrpc_client *c;
	ProtobufCMessage *m;
	uint32_t got = 0;
	int r;

	/* Blocking clients run their own loop: serve from a child process. */
	pid_t pid = fork();

	if (pid == 0) {
		event_reinit(base);
		event_base_dispatch(base);
		_exit(0);
	}
	ck_assert_int_eq(ttrpc_client_open(sock_path, &c), 0);
	req.count = 300;
	req.size = 1000;
	ck_assert_int_eq(ttrpc_client_stream_open_sync(
				 c, SVC, "Download", TTRPC_METHOD_SERVER_STREAM, &req.base,
				 &ttrpc__interop__v1__chunk__descriptor, NULL, &s),
			 0);
	while ((r = ttrpc_client_stream_recv_sync(s, &m, NULL)) == 1) {
		ck_assert_uint_eq(((Ttrpc__Interop__V1__Chunk *)m)->index, got);
		got++;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(got, 300);
	ttrpc_client_stream_free_sync(s);

	ck_assert_int_eq(
		ttrpc_client_stream_open_sync(c, SVC, "Upload", TTRPC_METHOD_CLIENT_STREAM, NULL,
					      &ttrpc__interop__v1__summary__descriptor, NULL, &s),
		0);
	chunk.payload.data = (uint8_t *)"abc";
	chunk.payload.len = 3;
	for (int i = 0; i < 500; i++)
		ck_assert_int_eq(ttrpc_client_stream_send_sync(s, &chunk.base), 0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	ck_assert_int_eq(ttrpc_client_stream_recv_sync(s, &m, NULL), 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(((Ttrpc__Interop__V1__Summary *)m)->count, 500);
	ck_assert_uint_eq(((Ttrpc__Interop__V1__Summary *)m)->bytes, 1500);
	protobuf_c_message_free_unpacked(m, NULL);
	ttrpc_client_stream_free_sync(s);

	/* A deadline decided once, though both ends enforce it: the stream ends
	 * with DEADLINE_EXCEEDED and its local timer, still due, stays quiet
	 * (it used to end the kept stream a second time and leak). */
	struct ttrpc_call_opts opts = { .timeout_us = 100000 };
	struct ttrpc_status st = { 0 };

	ck_assert_int_eq(ttrpc_client_stream_open_sync(c, STREAMS, "Hold", TTRPC_METHOD_BIDI_STREAM,
						       NULL, &ttrpc__interop__v1__chunk__descriptor,
						       &opts, &s),
			 0);
	ck_assert_int_eq(ttrpc_client_stream_recv_sync(s, &m, &st), -EREMOTEIO);
	ck_assert_int_eq(st.code, TTRPC_DEADLINE_EXCEEDED);
	ttrpc_status_clear(&st);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), -EPIPE);
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/*
 * A blocking open or send is on the wire when it returns, though nothing
 * of the client runs after it: a peer that only listens (no ttrpc server
 * here) can read the request and the message at once.
 */
START_TEST(test_blocking_stream_is_written)
{
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ttrpc_client_stream *down, *up;
	struct ttrpc_client *c;
	uint8_t head[10];
	struct pollfd pfd;
	int lfd, fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/listen-only", dir_path);
	ck_assert_int_ge(lfd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(ttrpc_client_open(sa.sun_path, &c), 0);
	ck_assert_int_ge(fd = accept(lfd, NULL, NULL), 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };

	req.count = 1;
	ck_assert_int_eq(ttrpc_client_stream_open_sync(
				 c, SVC, "Download", TTRPC_METHOD_SERVER_STREAM, &req.base,
				 &ttrpc__interop__v1__chunk__descriptor, NULL, &down),
			 0);
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	ck_assert_int_eq(read(fd, head, sizeof(head)), sizeof(head));
	ck_assert_uint_eq(head[8], 1); /* a request */
	ck_assert_uint_eq(head[7], 1); /* of stream 1 */
	/* its payload, whatever its length */
	while (poll(&pfd, 1, 0) == 1 && read(fd, head, 1) == 1)
		;

	ck_assert_int_eq(
		ttrpc_client_stream_open_sync(c, SVC, "Upload", TTRPC_METHOD_CLIENT_STREAM, NULL,
					      &ttrpc__interop__v1__summary__descriptor, NULL, &up),
		0);
	while (poll(&pfd, 1, 0) == 1 && read(fd, head, 1) == 1)
		;
	chunk.payload.data = (uint8_t *)"abc";
	chunk.payload.len = 3;
	ck_assert_int_eq(ttrpc_client_stream_send_sync(up, &chunk.base), 0);
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	ck_assert_int_eq(read(fd, head, sizeof(head)), sizeof(head));
	ck_assert_uint_eq(head[8], 3); /* data */
	ck_assert_uint_eq(head[7], 3); /* of stream 3 */

	ttrpc_client_stream_free_sync(down);
	ttrpc_client_stream_free_sync(up);
	ttrpc_client_free(c);
	close(fd);
	close(lfd);
	ck_assert_int_eq(unlink(sa.sun_path), 0);
}
END_TEST

START_TEST(test_limit_streams_per_connection)
{
	struct ttrpc_client *c = connect_client();
	struct sink a = { 0 }, b = { 0 };
	struct echo_done e = { 0 };

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_STREAMS_PER_CONNECTION, 1), 0);
	open_chat(c, "Hold", NULL, &a);
	open_chat(c, "Chat", NULL, &b);
	run_until(&b.done, 5000);
	ck_assert_int_eq(b.code, TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(b.message, "too many streams in flight on this connection (limit 1)");
	/* unary calls are not streams */
	echo(c, &e);
	run_until(&e.done, 5000);
	ck_assert_int_eq(e.code, TTRPC_OK);
	ck_assert(!a.done);
	ttrpc_client_free(c);
}
END_TEST

static Suite *streams_suite(void)
{
	Suite *s = suite_create("streams");
	TCase *tc = tcase_create("unix");

	tcase_add_checked_fixture(tc, stream_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_download_0);
	tcase_add_test(tc, test_download_1);
	tcase_add_test(tc, test_download_1000);
	tcase_add_test(tc, test_download_10_mib);
	tcase_add_test(tc, test_upload_0);
	tcase_add_test(tc, test_upload_1);
	tcase_add_test(tc, test_upload_1000);
	tcase_add_test(tc, test_chat_lockstep);
	tcase_add_test(tc, test_chat_pipelined);
	tcase_add_test(tc, test_streams_and_unary_interleaved);
	tcase_add_test(tc, test_cancel_mid_download);
	tcase_add_test(tc, test_disconnect_mid_stream_frees_server_side);
	tcase_add_test(tc, test_stream_deadline_metadata_interceptor);
	tcase_add_test(tc, test_reader_that_stops_bounds_writer_memory);
	tcase_add_test(tc, test_client_send_backpressure);
	tcase_add_test(tc, test_wire_server_stream);
	tcase_add_test(tc, test_wire_client_stream);
	tcase_add_test(tc, test_wire_bidi_and_data_after_close);
	tcase_add_test(tc, test_wire_client_stream_first_message_in_request);
	tcase_add_test(tc, test_blocking_streams);
	tcase_add_test(tc, test_blocking_stream_is_written);
	tcase_add_test(tc, test_limit_streams_per_connection);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(streams_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
