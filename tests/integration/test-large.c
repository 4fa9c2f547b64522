/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Large messages sent and received by reference, over real unix sockets on
 * one libevent loop: payloads that point into the frames they came in,
 * answers sent from the request or from lent memory, and every way the
 * memory can go away while bytes still refer to it. Each payload carries a
 * pattern of its own, so a stale or reused buffer shows; the suite also runs
 * under valgrind and ASan, which see any reference that outlives its memory.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "harness.h"
#include "interop.pb-c.h"

#define LARGE "test.Large"
#define MIB (1u << 20)
/* The largest Echo payload whose request fits the 4 MiB frame limit. */
#define MAX_PAYLOAD (TTRPC_MAX_MESSAGE_SIZE - 100)

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

static bool intact(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(i * 31 + seed + (i >> 12)))
			return false;
	return true;
}

/* ---- the server side: test.Large ---- */

/* The seed of an answer's pattern: the request's text, else 0. */
static uint8_t seed_of(const Ttrpc__Interop__V1__EchoRequest *req)
{
	return req->text && *req->text ? (uint8_t)atoi(req->text) : 0;
}

static struct {
	int released;          /* lent memory released */
	bool released_once;    /* the same, for run_until() */
	bool released_intact;  /* and it still held its pattern then */
	int released_in_reply; /* ... before ttrpc_call_reply() returned */
	struct ttrpc_call *held;
	bool holding;
	int cancels;
	uint32_t checked, bad;
	bool stream_waiting;
} srv_seen;

/* Fresh: a new buffer of the request's size, freed and overwritten right after the reply. */
static void on_fresh(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	const Ttrpc__Interop__V1__EchoRequest *req = (const void *)msg;
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;
	uint8_t *buf = malloc(req->payload.len);

	fill(buf, req->payload.len, seed_of(req));
	resp.payload.data = buf;
	resp.payload.len = req->payload.len;
	ck_assert_int_eq(ttrpc_call_reply(call, &resp.base), 0);
	memset(buf, 0xdd, req->payload.len);
	free(buf);
}

struct lent_buf {
	uint8_t *p;
	size_t n;
	uint8_t seed;
};

static void release_lent(void *arg)
{
	struct lent_buf *b = arg;

	srv_seen.released++;
	srv_seen.released_once = true;
	srv_seen.released_intact = intact(b->p, b->n, b->seed);
	memset(b->p, 0xdd, b->n);
	free(b->p);
	free(b);
}

static struct lent_buf *lend(struct ttrpc_call *call, size_t n, uint8_t seed)
{
	struct lent_buf *b = malloc(sizeof(*b));

	b->p = malloc(n);
	b->n = n;
	b->seed = seed;
	fill(b->p, n, seed);
	ck_assert_int_eq(ttrpc_call_lend(call, b->p, n, release_lent, b), 0);
	return b;
}

/* Lend: the answer from lent memory, from the loop; released once it is written. */
static void lend_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc_call *call = arg;
	const Ttrpc__Interop__V1__EchoRequest *req = (const void *)ttrpc_call_request(call);
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;
	struct lent_buf *b = lend(call, req->payload.len, seed_of(req));

	resp.payload.data = b->p;
	resp.payload.len = b->n;
	ck_assert_int_eq(ttrpc_call_reply(call, &resp.base), 0);
	srv_seen.released_in_reply = srv_seen.released;
}

static void on_lend(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	event_base_once(ttrpc_call_base(call), -1, EV_TIMEOUT, lend_fire, call, NULL);
}

/* Later: the request's own payload echoed from a timer, after the frame was consumed. */
static void later_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc_call *call = arg;
	const Ttrpc__Interop__V1__EchoRequest *req = (const void *)ttrpc_call_request(call);
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	resp.payload = req->payload;
	ttrpc_call_reply(call, &resp.base);
}

static void on_later(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	event_base_once(ttrpc_call_base(call), -1, EV_TIMEOUT, later_fire, call, NULL);
}

/* Hold: kept unanswered until the test finishes it (srv_seen.held). */
static void on_hold(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	srv_seen.held = call;
	srv_seen.holding = true;
}

/* Check: a client stream whose chunks must carry the pattern seeded by their index. */
static void check_message(struct ttrpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Ttrpc__Interop__V1__Chunk *c = (const void *)msg;

	if (intact(c->payload.data, c->payload.len, (uint8_t)c->index))
		srv_seen.checked++;
	else
		srv_seen.bad++;
}

static void check_end(struct ttrpc_call *call, void *arg)
{
	Ttrpc__Interop__V1__Summary sum = TTRPC__INTEROP__V1__SUMMARY__INIT;

	sum.count = srv_seen.checked;
	ttrpc_call_reply(call, &sum.base);
}

static void check_cancel(struct ttrpc_call *call, int code, void *arg)
{
	srv_seen.cancels++;
	ttrpc_call_fail(call, code, "cancelled");
}

static void on_check(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	ttrpc_call_on_message(call, check_message, check_end, NULL);
	ttrpc_call_on_cancel(call, check_cancel, NULL);
}

/* Flood: 1 MiB chunks of lent memory until cancelled; for peers that do not read. */
static void flood_pump(struct ttrpc_call *call, void *arg)
{
	struct lent_buf *b = arg;
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	int r;

	chunk.payload.data = b->p;
	chunk.payload.len = b->n;
	while ((r = ttrpc_call_send(call, &chunk.base)) == 0)
		;
	ck_assert_int_eq(r, -EAGAIN);
	srv_seen.stream_waiting = true;
	ttrpc_call_on_writable(call, flood_pump, b);
}

static void flood_cancel(struct ttrpc_call *call, int code, void *arg)
{
	srv_seen.cancels++;
	ttrpc_call_fail(call, code, "cancelled");
}

static void on_flood(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	ttrpc_call_on_cancel(call, flood_cancel, NULL);
	flood_pump(call, lend(call, MIB, 7));
}

static const struct ttrpc_method large_methods[] = {
	TTRPC_UNARY("Fresh", &ttrpc__interop__v1__echo_request__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_fresh),
	TTRPC_UNARY("Lend", &ttrpc__interop__v1__echo_request__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_lend),
	TTRPC_UNARY("Later", &ttrpc__interop__v1__echo_request__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_later),
	TTRPC_UNARY("Hold", &ttrpc__interop__v1__echo_request__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_hold),
	TTRPC_CLIENT_STREAM("Check", &ttrpc__interop__v1__chunk__descriptor,
			    &ttrpc__interop__v1__summary__descriptor, on_check),
	TTRPC_SERVER_STREAM("Flood", &ttrpc__interop__v1__stream_request__descriptor,
			    &ttrpc__interop__v1__chunk__descriptor, on_flood),
	TTRPC_METHODS_END,
};

static void large_setup(void)
{
	setup();
	memset(&srv_seen, 0, sizeof(srv_seen));
	ck_assert_int_eq(ttrpc_server_register(srv, LARGE, large_methods, NULL), 0);
}

/* ---- the client side ---- */

struct answer {
	bool done;
	int error, code;
	size_t len;
	bool intact;
};

static uint8_t answer_seed;

static void on_answer(const struct ttrpc_result *r, void *arg)
{
	struct answer *a = arg;

	a->done = true;
	a->error = r->error;
	a->code = r->code;
	if (r->response) {
		const Ttrpc__Interop__V1__EchoResponse *resp = (const void *)r->response;

		a->len = resp->payload.len;
		a->intact = intact(resp->payload.data, resp->payload.len, answer_seed);
	}
}

/* Call @svc/@method with a payload of @n bytes seeded @seed; the answer must carry it. */
static void expect_echo(struct ttrpc_client *c, const char *svc, const char *method, size_t n,
			uint8_t seed)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct answer a = { 0 };
	char text[8];

	req.payload.data = malloc(n);
	req.payload.len = n;
	fill(req.payload.data, n, seed);
	snprintf(text, sizeof(text), "%u", seed);
	req.text = text;
	answer_seed = seed;
	ck_assert_int_eq(ttrpc_client_call(c, svc, method, &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   on_answer, &a, NULL),
			 0);
	/* the request is borrowed: the client copied or sent it already */
	memset(req.payload.data, 0xdd, n);
	free(req.payload.data);
	run_until(&a.done, 20000);
	ck_assert_int_eq(a.error, 0);
	ck_assert_int_eq(a.code, TTRPC_OK);
	ck_assert_uint_eq(a.len, n);
	ck_assert_msg(a.intact, "%s/%s of %zu bytes: the answer is not what was sent", svc, method,
		      n);
}

START_TEST(test_echo_sizes)
{
	static const size_t sizes[] = { 0, 4095, 4096, 32 << 10, 64 << 10, 1 << 20, MAX_PAYLOAD };
	struct ttrpc_client *c = connect_client();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		expect_echo(c, SVC, "Echo", sizes[i], (uint8_t)i);
	/* one connection, its blocks reused: each answer still its own */
	for (int i = 0; i < 20; i++)
		expect_echo(c, SVC, "Echo", MIB + (size_t)i, (uint8_t)(100 + i));
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_reply_from_memory_freed_after_reply)
{
	struct ttrpc_client *c = connect_client();

	expect_echo(c, LARGE, "Fresh", MIB, 3);
	expect_echo(c, LARGE, "Fresh", MAX_PAYLOAD, 4);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_reply_from_lent_memory)
{
	struct ttrpc_client *c = connect_client();

	/* the reply's bytes were queued, not written: the memory was still lent
	 * when ttrpc_call_reply() returned; it was released once they were
	 * written (the client has them), intact until then */
	expect_echo(c, LARGE, "Lend", 2 * MIB, 5);
	ck_assert_int_eq(srv_seen.released_in_reply, 0);
	ck_assert_int_eq(srv_seen.released, 1);
	ck_assert(srv_seen.released_intact);
	/* small: copied, released within ttrpc_call_reply(), which finished the call */
	expect_echo(c, LARGE, "Lend", 100, 6);
	ck_assert_int_eq(srv_seen.released_in_reply, 2);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_reply_from_request_after_frame_consumed)
{
	struct ttrpc_client *c = connect_client();

	expect_echo(c, LARGE, "Later", MIB, 8);
	expect_echo(c, LARGE, "Later", 100 << 10, 9);
	ttrpc_client_free(c);
}
END_TEST

static void expect_bad_arguments(struct ttrpc_call *call)
{
	ck_assert_int_eq(ttrpc_call_lend(call, "x", 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(ttrpc_call_lend(call, NULL, 1, free, NULL), -EINVAL);
}

START_TEST(test_lend_arguments)
{
	struct ttrpc_client *c = connect_client();
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct answer a = { 0 };

	ck_assert_int_eq(ttrpc_client_lend(c, "x", 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(ttrpc_client_lend(c, NULL, 1, free, NULL), -EINVAL);
	ck_assert_int_eq(ttrpc_client_unlend(c, "x"), -ENOENT);
	ck_assert_int_eq(ttrpc_client_call(c, LARGE, "Hold", &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   on_answer, &a, NULL),
			 0);
	run_until(&srv_seen.holding, 5000);
	expect_bad_arguments(srv_seen.held);
	ttrpc_call_fail(srv_seen.held, TTRPC_ABORTED, "done");
	run_until(&a.done, 5000);
	ck_assert_int_eq(a.code, TTRPC_ABORTED);
	ttrpc_client_free(c);
}
END_TEST

/* The input of a call that outlives its server still points into a live frame. */
START_TEST(test_held_input_outlives_server)
{
	struct ttrpc_client *c = connect_client();
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;
	const Ttrpc__Interop__V1__EchoRequest *in;
	struct ttrpc_call *call;
	struct answer a = { 0 };

	req.payload.data = malloc(MIB);
	req.payload.len = MIB;
	fill(req.payload.data, MIB, 11);
	ck_assert_int_eq(ttrpc_client_call(c, LARGE, "Hold", &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   on_answer, &a, NULL),
			 0);
	free(req.payload.data);
	run_until(&srv_seen.holding, 5000);
	call = srv_seen.held;
	/* teardown() frees no server */
	ttrpc_server_free(srv);
	srv = NULL;
	in = (const void *)ttrpc_call_request(call);
	ck_assert(intact(in->payload.data, in->payload.len, 11));
	resp.payload = in->payload;
	ck_assert_int_eq(ttrpc_call_reply(call, &resp.base), -ECANCELED);
	run_until(&a.done, 5000);
	ck_assert_int_ne(a.error, 0);
	ttrpc_client_free(c);
}
END_TEST

/* ---- streams ---- */

struct chunks {
	bool done;
	int code;
	uint32_t n, bad, summary;
};

static void chunks_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *arg)
{
	const Ttrpc__Interop__V1__Chunk *c = (const void *)msg;
	struct chunks *k = arg;

	if (c->payload.len == MIB && intact(c->payload.data, c->payload.len, (uint8_t)c->index))
		k->n++;
	else
		k->bad++;
}

static void chunks_done(struct ttrpc_client_stream *s, const struct ttrpc_result *r, void *arg)
{
	struct chunks *k = arg;

	k->done = true;
	k->code = r->error ? -1 : r->code;
	if (r->response)
		k->summary = ((const Ttrpc__Interop__V1__Summary *)r->response)->count;
}

static const struct ttrpc_stream_handlers chunks_handlers = {
	.on_message = chunks_message,
	.on_done = chunks_done,
};

static void keep(void *unused)
{
}

/*
 * Open @method, send @n chunks of 1 MiB from @mem (lent), each seeded by its
 * index, close and wait for the end.
 */
static void stream_up(struct ttrpc_client *c, const char *svc, const char *method,
		      enum ttrpc_method_kind kind, const ProtobufCMessageDescriptor *out,
		      uint8_t *mem, uint32_t n, struct chunks *k)
{
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	struct ttrpc_client_stream *s;

	ck_assert_int_eq(ttrpc_client_stream_open(c, svc, method, kind, NULL, out, NULL,
						  &chunks_handlers, k, &s),
			 0);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = mem + (size_t)i * MIB;
		int r;

		fill(p, MIB, (uint8_t)i);
		chunk.index = i;
		chunk.payload.data = p;
		chunk.payload.len = MIB;
		while ((r = ttrpc_client_stream_send(s, &chunk.base)) == -EAGAIN)
			run_for(1);
		ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	run_until(&k->done, 30000);
	ck_assert_int_eq(k->code, TTRPC_OK);
}

/* Chat echoes each message from within its callback: from the frame it came in. */
START_TEST(test_chat_echoes_from_the_frame)
{
	struct ttrpc_client *c = connect_client();
	uint8_t *mem = malloc(8 * MIB);
	struct chunks k = { 0 };

	ck_assert_int_eq(ttrpc_client_lend(c, mem, 8 * MIB, free, mem), 0);
	stream_up(c, SVC, "Chat", TTRPC_METHOD_BIDI_STREAM, &ttrpc__interop__v1__chunk__descriptor,
		  mem, 8, &k);
	ck_assert_uint_eq(k.n, 8);
	ck_assert_uint_eq(k.bad, 0);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_client_stream_from_lent_memory)
{
	struct ttrpc_client *c = connect_client();
	uint8_t *mem = malloc(6 * MIB);
	struct chunks k = { 0 };

	ck_assert_int_eq(ttrpc_client_lend(c, mem, 6 * MIB, keep, NULL), 0);
	stream_up(c, LARGE, "Check", TTRPC_METHOD_CLIENT_STREAM,
		  &ttrpc__interop__v1__summary__descriptor, mem, 6, &k);
	ck_assert_uint_eq(k.summary, 6);
	ck_assert_uint_eq(srv_seen.bad, 0);
	/* the memory may change once nothing refers to it */
	ck_assert_int_eq(ttrpc_client_unlend(c, mem), 0);
	ttrpc_client_free(c);
	free(mem);
}
END_TEST

/* A large first message in the Request of a client stream (Go's clients send one). */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

START_TEST(test_first_message_in_request)
{
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	size_t inner_len, n = 0;
	uint8_t *inner, *req;
	struct raw *r = raw_connect();
	struct frame f;

	chunk.index = 0;
	chunk.payload.data = malloc(MIB);
	chunk.payload.len = MIB;
	fill(chunk.payload.data, MIB, 0);
	inner_len = ttrpc__interop__v1__chunk__get_packed_size(&chunk);
	inner = malloc(inner_len);
	ttrpc__interop__v1__chunk__pack(&chunk, inner);
	req = malloc(inner_len + 64);
	req[n++] = 0x0a;
	req[n++] = (uint8_t)strlen(LARGE);
	memcpy(req + n, LARGE, strlen(LARGE));
	n += strlen(LARGE);
	req[n++] = 0x12;
	req[n++] = 5;
	memcpy(req + n, "Check", 5);
	n += 5;
	req[n++] = 0x1a;
	n += put_varint(req + n, inner_len);
	memcpy(req + n, inner, inner_len);
	n += inner_len;
	/* Request with remote-open, then CloseSend */
	raw_send(r, (uint32_t)n, 1, 1, 0x2, req, n);
	raw_send(r, 0, 1, 3, 0x1 | 0x4, NULL, 0);
	ck_assert(raw_next(r, &f, 10000));
	ck_assert_uint_eq(f.type, 2);
	free(f.payload);
	ck_assert_uint_eq(srv_seen.checked, 1);
	ck_assert_uint_eq(srv_seen.bad, 0);
	raw_free(r);
	free(req);
	free(inner);
	free(chunk.payload.data);
}
END_TEST

/* A peer that reads nothing and goes away: the queued references are let go, once. */
START_TEST(test_peer_gone_with_referenced_chunks_queued)
{
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	uint8_t packed[16];
	struct raw *r = raw_connect();
	size_t n = ttrpc__interop__v1__stream_request__pack(&req, packed);
	size_t svc_len = strlen(LARGE), len = 0;
	uint8_t buf[64];

	buf[len++] = 0x0a;
	buf[len++] = (uint8_t)svc_len;
	memcpy(buf + len, LARGE, svc_len);
	len += svc_len;
	buf[len++] = 0x12;
	buf[len++] = 5;
	memcpy(buf + len, "Flood", 5);
	len += 5;
	buf[len++] = 0x1a;
	buf[len++] = (uint8_t)n;
	memcpy(buf + len, packed, n);
	len += n;
	/* the raw peer is told to read nothing more */
	bufferevent_disable(r->bev, EV_READ);
	raw_send(r, (uint32_t)len, 1, 1, 0, buf, len);
	run_until(&srv_seen.stream_waiting, 10000);
	ck_assert_uint_gt(stats().bytes_queued, 256 << 10);
	ck_assert_int_eq(srv_seen.released, 0);
	raw_free(r);
	run_until(&srv_seen.released_once, 10000);
	ck_assert_int_eq(srv_seen.released, 1);
	ck_assert(srv_seen.released_intact);
	ck_assert_int_eq(srv_seen.cancels, 1);
	run_for(50);
	ck_assert_int_eq(srv_seen.released, 1);
}
END_TEST

/* Over the output cap: the connection is dropped with its references. */
START_TEST(test_output_cap_drops_referenced_chunks)
{
	struct ttrpc_client *c = connect_client();
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	struct ttrpc_client_stream *s;
	struct chunks k = { 0 };

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_OUTPUT_QUEUE, MIB / 2), 0);
	ck_assert_int_eq(ttrpc_client_stream_open(c, LARGE, "Flood", TTRPC_METHOD_SERVER_STREAM,
						  &req.base, &ttrpc__interop__v1__chunk__descriptor,
						  NULL, &chunks_handlers, &k, &s),
			 0);
	run_until(&k.done, 10000);
	ck_assert_int_ne(k.code, TTRPC_OK);
	run_until(&srv_seen.released_once, 10000);
	ck_assert_int_eq(srv_seen.released, 1);
	ck_assert(srv_seen.released_intact);
	ttrpc_client_free(c);
}
END_TEST

/* ---- the client's lent memory when nothing is read ---- */

static int client_released;

static void count_release(void *p)
{
	client_released++;
	free(p);
}

START_TEST(test_client_lent_memory_released_on_free)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct ttrpc_client *c;
	struct answer a = { 0 };
	int sv[2];

	/* a server that never reads: the request stays queued */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(ttrpc_client_new(base, sv[0], &c), 0);
	client_released = 0;
	req.payload.len = MAX_PAYLOAD;
	req.payload.data = malloc(req.payload.len);
	fill(req.payload.data, req.payload.len, 1);
	ck_assert_int_eq(ttrpc_client_lend(c, req.payload.data, req.payload.len, count_release,
					   req.payload.data),
			 0);
	ck_assert_int_eq(ttrpc_client_call(c, SVC, "Echo", &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   on_answer, &a, NULL),
			 0);
	run_for(20);
	ck_assert_int_eq(ttrpc_client_unlend(c, req.payload.data), 0);
	ck_assert_int_eq(client_released, 0);
	ttrpc_client_free(c);
	ck_assert(a.done);
	ck_assert_int_eq(a.error, -ECANCELED);
	ck_assert_int_eq(client_released, 1);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("large");
	TCase *tc = tcase_create("large");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, large_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_echo_sizes);
	tcase_add_test(tc, test_reply_from_memory_freed_after_reply);
	tcase_add_test(tc, test_reply_from_lent_memory);
	tcase_add_test(tc, test_reply_from_request_after_frame_consumed);
	tcase_add_test(tc, test_lend_arguments);
	tcase_add_test(tc, test_held_input_outlives_server);
	tcase_add_test(tc, test_chat_echoes_from_the_frame);
	tcase_add_test(tc, test_client_stream_from_lent_memory);
	tcase_add_test(tc, test_first_message_in_request);
	tcase_add_test(tc, test_peer_gone_with_referenced_chunks_queued);
	tcase_add_test(tc, test_output_cap_drops_referenced_chunks);
	tcase_add_test(tc, test_client_lent_memory_released_on_free);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
