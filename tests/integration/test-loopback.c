/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loopback: a libttrpc server and its clients on one real libevent loop,
 * talking over real unix sockets. Raw sockets play misbehaving peers, so the
 * protocol edge cases are checked byte for byte.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "check-parts.h"
#include "harness.h"
#include "interop.pb-c.h"

/* ---- asynchronous call results ---- */

struct outcome {
	bool done;
	int error;
	int code;
	char message[256];
	ProtobufCBinaryData payload; /* Echo's payload, copied */
	char *text;
	size_t n_pairs;
	char pairs[8][2][32];
};

static void outcome_clear(struct outcome *o)
{
	free(o->payload.data);
	free(o->text);
	memset(o, 0, sizeof(*o));
}

static void on_result(const struct ttrpc_result *r, void *arg)
{
	struct outcome *o = arg;

	o->done = true;
	o->error = r->error;
	o->code = r->code;
	snprintf(o->message, sizeof(o->message), "%s", r->message);
	if (!r->response)
		return;
	if (r->response->descriptor == &ttrpc__interop__v1__echo_response__descriptor) {
		const Ttrpc__Interop__V1__EchoResponse *e = (const void *)r->response;

		o->payload.len = e->payload.len;
		o->payload.data = malloc(e->payload.len + 1);
		memcpy(o->payload.data, e->payload.data, e->payload.len);
		o->text = strdup(e->text);
	} else if (r->response->descriptor == &ttrpc__interop__v1__metadata_response__descriptor) {
		const Ttrpc__Interop__V1__MetadataResponse *m = (const void *)r->response;

		o->n_pairs = m->n_pairs;
		for (size_t i = 0; i < m->n_pairs && i < 8; i++) {
			snprintf(o->pairs[i][0], 32, "%s", m->pairs[i]->key);
			snprintf(o->pairs[i][1], 32, "%s", m->pairs[i]->value);
		}
	}
}

static int call_echo(struct ttrpc_client *c, const void *data, size_t len, const char *text,
		     const struct ttrpc_call_opts *opts, struct outcome *o, uint32_t *id)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;

	req.payload.data = (uint8_t *)data;
	req.payload.len = len;
	req.text = (char *)text;
	return ttrpc_client_call(c, SVC, "Echo", &req.base,
				 &ttrpc__interop__v1__echo_response__descriptor, opts, on_result, o,
				 id);
}

static int call_sleep(struct ttrpc_client *c, uint64_t millis, uint64_t timeout_us,
		      struct outcome *o, uint32_t *id)
{
	Ttrpc__Interop__V1__SleepRequest req = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	struct ttrpc_call_opts opts = { .timeout_us = timeout_us };

	req.millis = millis;
	return ttrpc_client_call(c, SVC, "Sleep", &req.base, &ttrpc__interop__v1__empty__descriptor,
				 &opts, on_result, o, id);
}

static int call_fail(struct ttrpc_client *c, const char *service, int code, const char *msg,
		     struct outcome *o)
{
	Ttrpc__Interop__V1__FailRequest req = TTRPC__INTEROP__V1__FAIL_REQUEST__INIT;

	req.code = code;
	req.message = (char *)msg;
	return ttrpc_client_call(c, service, "Fail", &req.base,
				 &ttrpc__interop__v1__empty__descriptor, NULL, on_result, o, NULL);
}

/* ---- unary basics ---- */

START_TEST(test_echo)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	ck_assert_int_eq(call_echo(c, "hello", 5, "text", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.error, 0);
	ck_assert_int_eq(o.code, TTRPC_OK);
	ck_assert_uint_eq(o.payload.len, 5);
	ck_assert_mem_eq(o.payload.data, "hello", 5);
	ck_assert_str_eq(o.text, "text");
	outcome_clear(&o);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_status_errors)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;

	ck_assert_int_eq(call_fail(c, SVC, TTRPC_NOT_FOUND, "no such thing", &o), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.error, 0);
	ck_assert_int_eq(o.code, TTRPC_NOT_FOUND);
	ck_assert_str_eq(o.message, "no such thing");
	outcome_clear(&o);

	ck_assert_int_eq(call_fail(c, "no.Such", 3, "x", &o), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_UNIMPLEMENTED);
	ck_assert_str_eq(o.message, "service no.Such");
	outcome_clear(&o);

	ck_assert_int_eq(ttrpc_client_call(c, SVC, "Nope", &empty.base,
					   &ttrpc__interop__v1__empty__descriptor, NULL, on_result,
					   &o, NULL),
			 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_UNIMPLEMENTED);
	ck_assert_str_eq(o.message, "method Nope");
	outcome_clear(&o);
	ck_assert_uint_eq(stats().calls_failed, 3);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_metadata)
{
	static const struct ttrpc_kv md[] = { { "k1", "v1" }, { "dup", "a" }, { "dup", "b" } };
	struct ttrpc_call_opts opts = { .metadata = md, .n_metadata = 3 };
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	ck_assert_int_eq(ttrpc_client_call(c, SVC, "Metadata", &empty.base,
					   &ttrpc__interop__v1__metadata_response__descriptor,
					   &opts, on_result, &o, NULL),
			 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	ck_assert_uint_eq(o.n_pairs, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(o.pairs[i][0], md[i].key);
		ck_assert_str_eq(o.pairs[i][1], md[i].value);
	}
	outcome_clear(&o);
	ttrpc_client_free(c);
}
END_TEST

/* ---- deadlines and cancellation ---- */

START_TEST(test_deadline_exceeded)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	/* The client's own timer and the server's both say DEADLINE_EXCEEDED. */
	ck_assert_int_eq(call_sleep(c, 10000, 100000, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.error, 0);
	ck_assert_int_eq(o.code, TTRPC_DEADLINE_EXCEEDED);
	outcome_clear(&o);
	run_for(50);
	/* The server cancelled the handler: nothing is left in flight. */
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	ck_assert_uint_eq(ttrpc_client_pending(c), 0);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_client_gone_cancels)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	ck_assert_int_eq(call_sleep(c, 10000, 0, &o, NULL), 0);
	run_for(30);
	ck_assert_uint_eq(stats().calls_in_flight, 1);
	ttrpc_client_free(c); /* client gone: the server must cancel the call */
	ck_assert(o.done);
	ck_assert_int_eq(o.error, -ECANCELED);
	outcome_clear(&o);
	run_for(50);
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	ck_assert_uint_eq(stats().connections, 0);
}
END_TEST

START_TEST(test_cancel_keeps_connection)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 }, e = { 0 };
	uint32_t id;

	ck_assert_int_eq(call_sleep(c, 100, 0, &o, &id), 0);
	ck_assert_int_eq(ttrpc_client_cancel(c, id), 0);
	ck_assert(o.done);
	ck_assert_int_eq(o.code, TTRPC_CANCELLED);
	ck_assert_int_eq(ttrpc_client_cancel(c, id), -ENOENT);
	/* the late response arrives and is dropped; the connection goes on */
	run_for(200);
	ck_assert(ttrpc_client_is_connected(c));
	ck_assert_int_eq(call_echo(c, "x", 1, "", NULL, &e, NULL), 0);
	run_until(&e.done, 5000);
	ck_assert_int_eq(e.code, TTRPC_OK);
	outcome_clear(&o);
	outcome_clear(&e);
	ttrpc_client_free(c);
}
END_TEST

/* ---- concurrency ---- */

#define N_INFLIGHT 1000

START_TEST(test_thousand_in_flight)
{
	struct ttrpc_client *c = connect_client();
	static struct outcome o[N_INFLIGHT];
	char text[N_INFLIGHT][16];
	bool all = false;

	memset(o, 0, sizeof(o));
	for (int i = 0; i < N_INFLIGHT; i++) {
		snprintf(text[i], sizeof(text[i]), "call-%d", i);
		ck_assert_int_eq(call_echo(c, text[i], strlen(text[i]), text[i], NULL, &o[i], NULL),
				 0);
	}
	ck_assert_uint_eq(ttrpc_client_pending(c), N_INFLIGHT);
	while (!all) {
		run_for(5);
		all = true;
		for (int i = 0; i < N_INFLIGHT && all; i++)
			all = o[i].done;
		ck_assert(!timed_out || all || ttrpc_client_pending(c) > 0);
	}
	for (int i = 0; i < N_INFLIGHT; i++) {
		ck_assert_int_eq(o[i].code, TTRPC_OK);
		ck_assert_str_eq(o[i].text, text[i]);
		ck_assert_uint_eq(o[i].payload.len, strlen(text[i]));
		ck_assert_mem_eq(o[i].payload.data, text[i], strlen(text[i]));
		outcome_clear(&o[i]);
	}
	ttrpc_client_free(c);
}
END_TEST

#define N_CONNS 64

START_TEST(test_many_connections)
{
	struct ttrpc_client *c[N_CONNS];
	static struct outcome o[N_CONNS];
	bool all = false;

	memset(o, 0, sizeof(o));
	for (int i = 0; i < N_CONNS; i++)
		c[i] = connect_client();
	for (int i = 0; i < N_CONNS; i++)
		ck_assert_int_eq(call_echo(c[i], &i, sizeof(i), "", NULL, &o[i], NULL), 0);
	for (int n = 0; n < 1000 && !all; n++) {
		run_for(5);
		all = true;
		for (int i = 0; i < N_CONNS; i++)
			all = all && o[i].done;
	}
	ck_assert(all);
	ck_assert_uint_eq(stats().connections, N_CONNS);
	for (int i = 0; i < N_CONNS; i++) {
		ck_assert_int_eq(o[i].code, TTRPC_OK);
		ck_assert_mem_eq(o[i].payload.data, &i, sizeof(i));
		outcome_clear(&o[i]);
		ttrpc_client_free(c[i]);
	}
}
END_TEST

/* ---- shutdown ---- */

static bool shut, shut_drained;

static void on_shutdown(struct ttrpc_server *s, bool drained, void *arg)
{
	shut = true;
	shut_drained = drained;
}

START_TEST(test_graceful_shutdown_drains)
{
	struct ttrpc_client *c = connect_client(), *late;
	struct outcome o[3] = { 0 };

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(call_sleep(c, 150, 0, &o[i], NULL), 0);
	run_for(30);
	shut = false;
	ck_assert_int_eq(ttrpc_server_shutdown(srv, 5000, on_shutdown, NULL), 0);
	ck_assert_int_eq(ttrpc_server_shutdown(srv, 5000, on_shutdown, NULL), -EALREADY);
	/* no new connections once shutting down */
	ck_assert_int_ne(ttrpc_client_connect(base, sock_path, &late), 0);
	run_until(&shut, 5000);
	ck_assert(shut_drained);
	for (int i = 0; i < 3; i++) {
		run_until(&o[i].done, 5000);
		ck_assert_int_eq(o[i].error, 0);
		ck_assert_int_eq(o[i].code, TTRPC_OK);
	}
	run_for(10);
	ck_assert(!ttrpc_client_is_connected(c));
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_shutdown_timeout_cuts_calls)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };
	char want[256];

	ck_assert_int_eq(call_sleep(c, 10000, 0, &o, NULL), 0);
	run_for(30);
	shut = false;
	ck_assert_int_eq(ttrpc_server_shutdown(srv, 100, on_shutdown, NULL), 0);
	run_until(&shut, 5000);
	ck_assert(!shut_drained);
	run_until(&o.done, 5000);
	/* Told why, before the connection closed; and the log names the call. */
	ck_assert_int_eq(o.error, 0);
	ck_assert_int_eq(o.code, TTRPC_UNAVAILABLE);
	ck_assert_str_eq(o.message, "the server is stopping: the call was still running at its "
				    "shutdown timeout");
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	snprintf(want, sizeof(want),
		 "shutdown timeout: cancelling " SVC "/Sleep of pid %d uid %u, in flight for ",
		 (int)getpid(), (unsigned)getuid());
	ck_assert_ptr_nonnull(strstr(logbuf, want));
	run_for(10);
	ck_assert(!ttrpc_client_is_connected(c));
	ttrpc_client_free(c);
}
END_TEST

static int handed_fd = -1;

static void keep_fd(struct ttrpc_server *s, int fd, const struct ttrpc_peer *peer, void *arg)
{
	ck_assert_int_eq(peer->pid, getpid());
	handed_fd = dup(fd);
}

START_TEST(test_handoff_idle_connection)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	ck_assert_int_eq(call_echo(c, "1", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	outcome_clear(&o);
	handed_fd = -1;
	shut = false;
	ttrpc_server_set_handoff(srv, keep_fd, NULL);
	ck_assert_int_eq(ttrpc_server_shutdown(srv, 5000, on_shutdown, NULL), 0);
	/* never inside ttrpc_server_shutdown(), which may be called from a handler */
	ck_assert_int_eq(handed_fd, -1);
	ck_assert(!shut);
	run_until(&shut, 5000);
	ck_assert(shut_drained);
	ck_assert_int_ge(handed_fd, 0);
	ttrpc_server_free(srv);
	/* a request sent while no server runs waits in the socket ... */
	ck_assert_int_eq(call_echo(c, "2", 1, "", NULL, &o, NULL), 0);
	run_for(50);
	ck_assert(!o.done);
	ck_assert(ttrpc_client_is_connected(c));
	/* ... and the next server, adopting the stored fd, answers it */
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
	ck_assert_int_eq(interop_service_register(srv), 0);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, handed_fd), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	ck_assert_mem_eq(o.payload.data, "2", 1);
	outcome_clear(&o);
	ttrpc_client_free(c);
}
END_TEST

/* ---- retiring a service ---- */

static int n_retired;
static char retired_name[64];

static void on_retired(struct ttrpc_server *s, const char *name, void *arg)
{
	ck_assert_ptr_eq(s, srv);
	ck_assert_ptr_eq(arg, &n_retired);
	snprintf(retired_name, sizeof(retired_name), "%s", name);
	n_retired++;
}

/* Until the server holds @n calls in flight (bounded). */
static void wait_in_flight(uint64_t n)
{
	for (int i = 0; i < 1000 && stats().calls_in_flight < n; i++)
		run_for(5);
	ck_assert_uint_eq(stats().calls_in_flight, n);
}

START_TEST(test_retire_waits_for_calls)
{
	struct ttrpc_client *c = connect_client();
	struct outcome slow = { 0 }, late = { 0 };

	n_retired = 0;
	ck_assert_int_eq(ttrpc_server_retire(srv, "no.Such", 0, on_retired, &n_retired), -ENOENT);
	ck_assert_int_eq(ttrpc_server_retire(srv, SVC, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(call_sleep(c, 300, 0, &slow, NULL), 0);
	wait_in_flight(1);
	ck_assert_int_eq(ttrpc_server_retire(srv, SVC, 0, on_retired, &n_retired), 0);
	ck_assert_int_eq(n_retired, 0);
	/* Not served any more, and not retired twice. */
	ck_assert_int_eq(ttrpc_server_retire(srv, SVC, 0, on_retired, &n_retired), -ENOENT);
	ck_assert_int_eq(call_echo(c, "x", 1, "", NULL, &late, NULL), 0);
	run_until(&late.done, 5000);
	ck_assert_int_eq(late.code, TTRPC_UNIMPLEMENTED);
	ck_assert_int_eq(n_retired, 0);
	/* The call in flight runs to its end, and only then is it told. */
	run_until(&slow.done, 5000);
	ck_assert_int_eq(slow.code, TTRPC_OK);
	for (int i = 0; i < 100 && n_retired == 0; i++)
		run_for(5);
	ck_assert_int_eq(n_retired, 1);
	ck_assert_str_eq(retired_name, SVC);
	/* Once. */
	run_for(20);
	ck_assert_int_eq(n_retired, 1);
	/* The name can be served again. */
	ck_assert_int_eq(interop_service_register(srv), 0);
	outcome_clear(&late);
	ck_assert_int_eq(call_echo(c, "x", 1, "", NULL, &late, NULL), 0);
	run_until(&late.done, 5000);
	ck_assert_int_eq(late.code, TTRPC_OK);
	outcome_clear(&late);
	ttrpc_client_free(c);
}
END_TEST

/* No call in flight: told from the loop all the same, not from inside. */
START_TEST(test_retire_idle)
{
	n_retired = 0;
	ck_assert_int_eq(ttrpc_server_retire(srv, SVC, 0, on_retired, &n_retired), 0);
	ck_assert_int_eq(n_retired, 0);
	for (int i = 0; i < 100 && n_retired == 0; i++)
		run_for(5);
	ck_assert_int_eq(n_retired, 1);
}
END_TEST

/* Calls past the timeout are cancelled, and their handlers finish them. */
START_TEST(test_retire_timeout_cancels)
{
	struct ttrpc_client *c = connect_client();
	struct outcome slow = { 0 };

	n_retired = 0;
	ck_assert_int_eq(call_sleep(c, 10000, 0, &slow, NULL), 0);
	wait_in_flight(1);
	ck_assert_int_eq(ttrpc_server_retire(srv, SVC, 100, on_retired, &n_retired), 0);
	run_until(&slow.done, 5000);
	ck_assert_int_eq(slow.code, TTRPC_UNAVAILABLE);
	for (int i = 0; i < 100 && n_retired == 0; i++)
		run_for(5);
	ck_assert_int_eq(n_retired, 1);
	ck_assert_ptr_nonnull(
		strstr(logbuf, "service " SVC " retired: cancelling " SVC "/Sleep of pid "));
	ttrpc_client_free(c);
}
END_TEST

/* Freed first: nobody is told, nothing leaks (valgrind, LeakSanitizer). */
START_TEST(test_retire_then_free)
{
	struct ttrpc_client *c = connect_client();
	struct outcome slow = { 0 };

	n_retired = 0;
	ck_assert_int_eq(call_sleep(c, 10000, 0, &slow, NULL), 0);
	wait_in_flight(1);
	ck_assert_int_eq(ttrpc_server_retire(srv, SVC, 0, on_retired, &n_retired), 0);
	ttrpc_server_free(srv);
	srv = NULL;
	run_until(&slow.done, 5000);
	run_for(20);
	ck_assert_int_eq(n_retired, 0);
	ttrpc_client_free(c);
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
}
END_TEST

START_TEST(test_free_with_calls_in_flight)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	ck_assert_int_eq(call_sleep(c, 10000, 0, &o, NULL), 0);
	run_for(30);
	ck_assert_uint_eq(stats().calls_in_flight, 1);
	/* teardown frees the server with the Sleep in flight; its handler is
	 * cancelled and finishes, so LeakSanitizer and valgrind see no leak */
	ttrpc_server_free(srv);
	srv = NULL;
	run_until(&o.done, 5000);
	ck_assert_int_lt(o.error, 0);
	ttrpc_client_free(c);
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
}
END_TEST

START_TEST(test_server_enforces_deadline)
{
	/* Sleep 10 s with timeout_nano = 50 ms and no client-side timer: the
	 * server answers DEADLINE_EXCEEDED itself (Go only sets a context). */
	static const char svc[] = SVC;
	struct raw *r = raw_connect();
	uint8_t buf[128];
	size_t n = 0;

	buf[n++] = 0x0a;
	buf[n++] = sizeof(svc) - 1;
	memcpy(buf + n, svc, sizeof(svc) - 1);
	n += sizeof(svc) - 1;
	memcpy(buf + n, "\x12\x05Sleep\x1a\x03\x08\x90\x4e\x20\x80\xe1\xeb\x17", 17);
	n += 17;
	raw_send(r, (uint32_t)n, 1, 1, 0, buf, n);
	raw_expect_status(r, 1, TTRPC_DEADLINE_EXCEEDED, "deadline exceeded");
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	raw_expect_echo_works(r, 3);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_even_stream_id)
{
	struct raw *r = raw_connect();

	raw_request(r, 2, "Echo", NULL, 0);
	raw_expect_status(r, 2, TTRPC_INVALID_ARGUMENT,
			  "StreamID must be odd for client initiated streams");
	raw_send(r, 0, 4, 3, 0, NULL, 0); /* a Data frame too */
	raw_expect_status(r, 4, TTRPC_INVALID_ARGUMENT, "StreamID must be odd");
	raw_expect_echo_works(r, 1);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_reused_id)
{
	struct raw *r = raw_connect();

	raw_expect_echo_works(r, 5);
	raw_request(r, 5, "Echo", NULL, 0);
	raw_expect_status(r, 5, TTRPC_INVALID_ARGUMENT,
			  "StreamID cannot be re-used and must increment");
	raw_request(r, 3, "Echo", NULL, 0);
	raw_expect_status(r, 3, TTRPC_INVALID_ARGUMENT,
			  "StreamID cannot be re-used and must increment");
	raw_expect_echo_works(r, 7);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_bad_request_protobuf)
{
	struct raw *r = raw_connect();
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };

	raw_send(r, sizeof(garbage), 1, 1, 0, garbage, sizeof(garbage));
	raw_expect_status(r, 1, TTRPC_INVALID_ARGUMENT, "unmarshal request error: ");
	raw_expect_echo_works(r, 3);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_bad_payload)
{
	struct raw *r = raw_connect();
	static const uint8_t bad[] = { 0x0a, 0x05, 'a' }; /* bytes field cut short */

	raw_request(r, 1, "Echo", bad, sizeof(bad));
	raw_expect_status(r, 1, TTRPC_INTERNAL, "ttrpc: error unmarshalling payload: ");
	raw_expect_echo_works(r, 3);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_data_frames)
{
	struct raw *r = raw_connect();
	static const uint8_t sleep_1s[] = { 0x08, 0xe8, 0x07 }; /* millis = 1000 */

	raw_send(r, 0, 9, 3, 0, NULL, 0);
	raw_expect_status(r, 9, TTRPC_INVALID_ARGUMENT, "StreamID is no longer active");
	/* Data on a live unary call: Go's server dies here; we end that call */
	raw_request(r, 11, "Sleep", sleep_1s, sizeof(sleep_1s));
	run_for(20);
	ck_assert_uint_eq(stats().calls_in_flight, 1);
	raw_send(r, 1, 11, 3, 0, "x", 1);
	raw_expect_status(r, 11, TTRPC_INVALID_ARGUMENT, "Data frame on a unary call");
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	/* the Sleep's own answer never comes on that id: the next frame is the echo */
	raw_expect_echo_works(r, 13);
	run_for(1100);
	raw_expect_echo_works(r, 15);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_unknown_type_ignored)
{
	struct raw *r = raw_connect();

	raw_send(r, 3, 1, 9, 0, "abc", 3);
	raw_send(r, 0, 3, 2, 0, NULL, 0); /* a Response sent to the server */
	raw_expect_echo_works(r, 5);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_oversized_discarded)
{
	struct raw *r = raw_connect();
	size_t n = TTRPC_MAX_MESSAGE_SIZE + 1;
	uint8_t *junk = calloc(1, n);

	raw_send(r, (uint32_t)n, 1, 1, 0, junk, n);
	raw_expect_status(r, 1, TTRPC_RESOURCE_EXHAUSTED,
			  "message length 4194305 exceed maximum message size of 4194304");
	raw_expect_echo_works(r, 3);
	free(junk);
	raw_free(r);
}
END_TEST

/* Bytes a thread writes to a socket as fast as it takes them, as Go's client does. */
struct writer {
	pthread_t thread;
	int fd;
	const uint8_t *p;
	size_t n;
	int done; /* 1 written, -1 failed; set by the thread */
};

static void *write_all(void *arg)
{
	struct writer *w = arg;
	const uint8_t *p = w->p;
	size_t n = w->n;
	int done = 1;

	while (n > 0) {
		struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
		ssize_t put = write(w->fd, p, n);

		if (put < 0 && errno != EAGAIN) {
			done = -1;
			break;
		}
		if (put < 0)
			poll(&pfd, 1, -1);
		else
			p += put, n -= (size_t)put;
	}
	__atomic_store_n(&w->done, done, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The payload being skipped is not read as frames: junk whose last 64 KiB
 * read, at every other offset, as the header of a 2 MiB frame, which would
 * swallow the call after it while waiting for the rest (the connection then
 * hangs until its frame timeout). The server's reads stop anywhere in the
 * junk: a thread writes it as fast as the socket takes it.
 */
START_TEST(test_edge_oversized_junk_like_headers)
{
	struct raw *r = raw_connect();
	size_t n = TTRPC_MAX_MESSAGE_SIZE + 1;
	uint8_t *buf = calloc(1, n + 20);

	/* both parities of the junk's length */
	for (uint32_t id = 1; id <= 5; id += 4) {
		struct writer w = { .fd = bufferevent_getfd(r->bev), .p = buf };
		size_t len = n + id / 4;

		memset(buf, 0, 10);
		buf[0] = (uint8_t)(len >> 24);
		buf[1] = (uint8_t)(len >> 16);
		buf[2] = (uint8_t)(len >> 8);
		buf[3] = (uint8_t)len;
		buf[7] = (uint8_t)id;
		buf[8] = 1;
		for (size_t i = len - (64 << 10); i < len; i++)
			buf[10 + i] = i % 2 ? 0x20 : 0x00;
		w.n = 10 + len;
		ck_assert_int_eq(pthread_create(&w.thread, NULL, write_all, &w), 0);
		raw_expect_status(r, id, TTRPC_RESOURCE_EXHAUSTED, "message length 419430");
		/* the server reads the rest while the loop runs */
		while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
			run_for(5);
		ck_assert_int_eq(pthread_join(w.thread, NULL), 0);
		ck_assert_int_eq(w.done, 1);
		raw_expect_echo_works(r, id + 2);
	}
	free(buf);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_max_size_accepted)
{
	struct raw *r = raw_connect();
	size_t n = TTRPC_MAX_MESSAGE_SIZE;
	uint8_t *frame = calloc(1, n);
	struct frame f;

	/* A Request of exactly 4 MiB: unknown fields fill it up (field 15, bytes). */
	frame[0] = 0x0a;
	frame[1] = (uint8_t)strlen(SVC);
	memcpy(frame + 2, SVC, strlen(SVC));
	size_t i = 2 + strlen(SVC);
	memcpy(frame + i,
	       "\x12\x04"
	       "Echo",
	       6);
	i += 6;
	size_t rest = n - i - 1 - 4;
	frame[i++] = 0x7a;
	frame[i++] = (uint8_t)(rest | 0x80);
	frame[i++] = (uint8_t)((rest >> 7) | 0x80);
	frame[i++] = (uint8_t)((rest >> 14) | 0x80);
	frame[i++] = (uint8_t)(rest >> 21);
	ck_assert_uint_eq(i + rest, n);
	raw_send(r, (uint32_t)n, 1, 1, 0, frame, n);
	ck_assert(raw_next(r, &f, 10000));
	ck_assert_uint_eq(f.id, 1);
	ck_assert_uint_eq(f.type, 2);
	ck_assert_mem_eq(f.payload, "\x0a\x00", 2); /* an OK status: it was served */
	free(f.payload);
	free(frame);
	raw_free(r);
}
END_TEST

START_TEST(test_edge_corrupt_length_closes)
{
	struct raw *r = raw_connect();
	struct frame f;

	raw_send(r, 0x01000000, 1, 1, 0, NULL, 0);
	raw_expect_status(r, 1, TTRPC_RESOURCE_EXHAUSTED, "message length 16777216 exceed");
	ck_assert(!raw_next(r, &f, 5000)); /* then closed */
	ck_assert_ptr_nonnull(strstr(logbuf, "not ttrpc"));
	raw_free(r);
}
END_TEST

/* ---- output cap: a peer that sends and never reads ---- */

START_TEST(test_slow_reader_capped)
{
	struct raw *r = raw_connect();
	struct ttrpc_client *good = connect_client();
	struct outcome o = { 0 };
	uint8_t *req = malloc(70000);
	size_t len = 0;

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_OUTPUT_QUEUE, 1 << 20), 0);
	/* Stop reading: the raw peer's input is never drained. */
	bufferevent_disable(r->bev, EV_READ);
	/* Echo requests with a 64 KiB payload each: 200 of them are 12.8 MiB of answers. */
	len += (size_t)snprintf((char *)req, 64,
				"\x0a%c%s\x12\x04"
				"Echo",
				(int)strlen(SVC), SVC);
	memcpy(req + len, "\x1a\x84\x80\x04\x0a\x80\x80\x04",
	       8); /* payload{ payload = 65536 bytes } */
	len += 8;
	memset(req + len, 'x', 65536);
	len += 65536;
	for (int n = 0; n < 400 && stats().connections < 2; n++)
		run_for(5);
	ck_assert_uint_eq(stats().connections, 2);
	for (uint32_t i = 0; i < 200; i++)
		raw_send(r, (uint32_t)len, 2 * i + 1, 1, 0, req, len);
	for (int n = 0; n < 400 && stats().connections == 2; n++)
		run_for(10);
	ck_assert_uint_eq(stats().connections, 1);
	ck_assert_ptr_nonnull(strstr(logbuf, "over the output limit"));
	/* everyone else is served throughout */
	ck_assert_int_eq(call_echo(good, "y", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	outcome_clear(&o);
	free(req);
	ttrpc_client_free(good);
	raw_free(r);
}
END_TEST

/* ---- oversized responses and handlers of a test service ---- */

static void on_big(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	resp.payload.len = TTRPC_MAX_MESSAGE_SIZE;
	resp.payload.data = calloc(1, resp.payload.len);
	ck_assert_int_eq(ttrpc_call_reply(call, &resp.base), -EMSGSIZE);
	free(resp.payload.data);
}

static void on_wrong_type(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;

	ck_assert_int_eq(ttrpc_call_reply(call, &empty.base), -EINVAL);
}

/* The calls Hold keeps, unfinished whatever befalls them, until the test finishes them. */
static struct ttrpc_call *held[4];
static size_t n_held;

static void on_hold(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	ck_assert_uint_lt(n_held, 4);
	held[n_held++] = call;
}

static const struct ttrpc_method test_methods[] = {
	TTRPC_UNARY("Hold", &ttrpc__interop__v1__empty__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_hold),
	TTRPC_UNARY("Big", &ttrpc__interop__v1__empty__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_big),
	TTRPC_UNARY("WrongType", &ttrpc__interop__v1__empty__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_wrong_type),
	TTRPC_METHODS_END,
};

static int call_test_opts(struct ttrpc_client *c, const char *method,
			  const struct ttrpc_call_opts *opts, struct outcome *o)
{
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;

	return ttrpc_client_call(c, "test.Service", method, &empty.base,
				 &ttrpc__interop__v1__echo_response__descriptor, opts, on_result, o,
				 NULL);
}

static int call_test(struct ttrpc_client *c, const char *method, struct outcome *o)
{
	return call_test_opts(c, method, NULL, o);
}

/* What ttrpc_server_foreach_call() showed; @stop_after: visits before it says stop. */
struct seen {
	size_t n, stop_after;
	bool cancelled;
	char name[64];
	pid_t pid;
};

static bool see_call(const struct ttrpc_call *call, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->cancelled = ttrpc_call_is_cancelled(call);
	snprintf(s->name, sizeof(s->name), "%s/%s", ttrpc_call_service(call),
		 ttrpc_call_method(call));
	s->pid = ttrpc_call_peer(call)->pid;
	return s->n != s->stop_after;
}

static struct seen seen_calls(size_t stop_after)
{
	struct seen s = { .stop_after = stop_after };

	ttrpc_server_foreach_call(srv, see_call, &s);
	return s;
}

/* Until Hold holds @n calls (bounded). */
static void wait_held(size_t n)
{
	for (int i = 0; i < 1000 && n_held < n; i++)
		run_for(5);
	ck_assert_uint_eq(n_held, n);
}

/*
 * A call answered by its deadline, or whose client left, is in flight
 * until its handler finishes it: counted, and visited as cancelled.
 */
START_TEST(test_cancelled_call_stays_in_flight)
{
	const struct ttrpc_call_opts opts = { .timeout_us = 20000 };
	struct outcome o = { 0 }, o2 = { 0 };
	struct ttrpc_client *c;
	struct seen s;

	ck_assert_int_eq(ttrpc_server_register(srv, "test.Service", test_methods, NULL), 0);
	c = connect_client();
	n_held = 0;
	ck_assert_int_eq(call_test_opts(c, "Hold", &opts, &o), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_DEADLINE_EXCEEDED);
	wait_held(1);
	/* The server's own deadline answered it too. */
	for (int i = 0; i < 1000 && !ttrpc_call_is_cancelled(held[0]); i++)
		run_for(5);
	ck_assert(ttrpc_call_is_cancelled(held[0]));
	ck_assert_uint_eq(stats().calls_in_flight, 1);
	s = seen_calls(0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert(s.cancelled);
	ck_assert_str_eq(s.name, "test.Service/Hold");
	ck_assert_int_eq(s.pid, getpid());
	ck_assert_int_eq(ttrpc_call_fail(held[0], TTRPC_INTERNAL, "late"), -ECANCELED);
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	ck_assert_uint_eq(seen_calls(0).n, 0);

	/* Two held, the visit stopped after the first; then the client goes. */
	outcome_clear(&o);
	n_held = 0;
	ck_assert_int_eq(call_test(c, "Hold", &o), 0);
	ck_assert_int_eq(call_test(c, "Hold", &o2), 0);
	wait_held(2);
	ck_assert(!seen_calls(0).cancelled);
	ck_assert_uint_eq(seen_calls(0).n, 2);
	ck_assert_uint_eq(seen_calls(1).n, 1);
	ttrpc_client_free(c);
	run_for(20);
	ck_assert(ttrpc_call_is_cancelled(held[0]) && ttrpc_call_is_cancelled(held[1]));
	ck_assert_uint_eq(stats().calls_in_flight, 2);
	ck_assert_uint_eq(seen_calls(0).n, 2);
	ck_assert_int_eq(ttrpc_call_fail(held[0], TTRPC_INTERNAL, "late"), -ECANCELED);
	ck_assert_int_eq(ttrpc_call_fail(held[1], TTRPC_INTERNAL, "late"), -ECANCELED);
	ck_assert_uint_eq(stats().calls_in_flight, 0);
	outcome_clear(&o);
	outcome_clear(&o2);
}
END_TEST

START_TEST(test_response_too_large)
{
	struct ttrpc_client *c;
	struct outcome o = { 0 };

	ck_assert_int_eq(ttrpc_server_register(srv, "test.Service", test_methods, NULL), 0);
	c = connect_client();
	ck_assert_int_eq(call_test(c, "Big", &o), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.error, 0);
	ck_assert_int_eq(o.code, TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(o.message, "exceeds maximum message size of 4194304"));
	outcome_clear(&o);
	ck_assert_int_eq(call_test(c, "WrongType", &o), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_INTERNAL);
	outcome_clear(&o);
	/* the connection was kept */
	ck_assert_int_eq(call_echo(c, "z", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	outcome_clear(&o);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_register_rules)
{
	static const struct ttrpc_method dup[] = {
		TTRPC_UNARY("A", &ttrpc__interop__v1__empty__descriptor,
			    &ttrpc__interop__v1__empty__descriptor, on_wrong_type),
		TTRPC_UNARY("A", &ttrpc__interop__v1__empty__descriptor,
			    &ttrpc__interop__v1__empty__descriptor, on_wrong_type),
		TTRPC_METHODS_END,
	};

	ck_assert_int_eq(ttrpc_server_register(srv, SVC, test_methods, NULL), -EEXIST);
	ck_assert_int_eq(ttrpc_server_register(srv, "", test_methods, NULL), -EINVAL);
	ck_assert_int_eq(ttrpc_server_register(srv, "x.Dup", dup, NULL), -EINVAL);
	ck_assert_int_eq(ttrpc_server_unregister(srv, "x.Dup"), -ENOENT);
	ck_assert_int_eq(ttrpc_server_unregister(srv, SVC), 0);
	ck_assert_int_eq(interop_service_register(srv), 0);
	/* a live socket path is not stolen */
	ck_assert_int_eq(ttrpc_server_listen_unix(srv, sock_path, 0600), -EADDRINUSE);
}
END_TEST

/* ---- interceptors ---- */

static int n_on_call, n_on_done, last_done_code;

static int deny_fail(struct ttrpc_call *call, void *arg)
{
	n_on_call++;
	if (strcmp(ttrpc_call_method(call), "Fail") == 0) {
		ttrpc_call_fail(call, TTRPC_PERMISSION_DENIED, "interceptor says no");
		return 1;
	}
	return 0;
}

static void count_done(struct ttrpc_call *call, int code, void *arg)
{
	n_on_done++;
	last_done_code = code;
}

static int add_md(struct ttrpc_client_call *cc, void *arg)
{
	return ttrpc_client_call_add_metadata(cc, "added-by", "interceptor");
}

START_TEST(test_interceptors)
{
	struct ttrpc_server_interceptor sic = { deny_fail, count_done, NULL };
	struct ttrpc_client_interceptor cic = { add_md, NULL, NULL };
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;
	struct ttrpc_client *c = connect_client();
	struct outcome o = { 0 };

	n_on_call = n_on_done = 0;
	ck_assert_int_eq(ttrpc_server_add_interceptor(srv, &sic), 0);
	ck_assert_int_eq(ttrpc_client_add_interceptor(c, &cic), 0);
	ck_assert_int_eq(call_fail(c, SVC, TTRPC_NOT_FOUND, "x", &o), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_PERMISSION_DENIED);
	ck_assert_str_eq(o.message, "interceptor says no");
	outcome_clear(&o);
	ck_assert_int_eq(ttrpc_client_call(c, SVC, "Metadata", &empty.base,
					   &ttrpc__interop__v1__metadata_response__descriptor, NULL,
					   on_result, &o, NULL),
			 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	ck_assert_uint_eq(o.n_pairs, 1);
	ck_assert_str_eq(o.pairs[0][0], "added-by");
	ck_assert_str_eq(o.pairs[0][1], "interceptor");
	outcome_clear(&o);
	ck_assert_int_eq(n_on_call, 2);
	ck_assert_int_eq(n_on_done, 2);
	ck_assert_int_eq(last_done_code, TTRPC_OK);
	ttrpc_client_free(c);
}
END_TEST

/* ---- admission and adopted sockets ---- */

START_TEST(test_admission)
{
	/* A uid that is not the test's own, whoever runs it. */
	const uid_t other_uid[] = { geteuid() == 65534 ? 65533 : 65534 };
	const struct ttrpc_allowlist only_other = { .uids = other_uid, .n_uids = 1 };
	struct ttrpc_client *c;
	struct outcome o = { 0 };
	ttrpc_server_set_admission(srv, ttrpc_admit_allowlist, (void *)&only_other);
	c = connect_client();
	ck_assert_int_eq(call_echo(c, "a", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_lt(o.error, 0); /* closed on accept */
	ck_assert_ptr_nonnull(strstr(logbuf, "refusing connection"));
	ck_assert_uint_eq(stats().connections_refused, 1);
	outcome_clear(&o);
	ttrpc_client_free(c);

	ttrpc_server_set_admission(srv, ttrpc_admit_same_user, NULL);
	c = connect_client();
	ck_assert_int_eq(call_echo(c, "a", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	outcome_clear(&o);
	ttrpc_client_free(c);
}
END_TEST

/* The supplementary groups the server saw, at accept and per call. */
static gid_t seen_groups[2][16];
static size_t n_seen_groups[2];

static void record_groups(const struct ttrpc_peer *peer, int slot)
{
	n_seen_groups[slot] = peer->n_groups;
	for (size_t i = 0; i < peer->n_groups && i < 16; i++)
		seen_groups[slot][i] = peer->groups[i];
}

static int admit_recording(const struct ttrpc_peer *peer, void *list)
{
	record_groups(peer, 0);
	return ttrpc_admit_allowlist(peer, list);
}

static int record_call_groups(struct ttrpc_call *call, void *unused)
{
	record_groups(ttrpc_call_peer(call), 1);
	return 0;
}

static bool has_gid(int slot, gid_t g)
{
	for (size_t i = 0; i < n_seen_groups[slot]; i++)
		if (seen_groups[slot][i] == g)
			return true;
	return false;
}

/* A group of the process's other than its primary one, in @gid: whether it has one. */
static bool supplementary_group(gid_t *gid)
{
	gid_t groups[64];
	int n = getgroups(64, groups);

	for (int i = n - 1; i >= 0; i--) {
		if (groups[i] != getegid()) {
			*gid = groups[i];
			return true;
		}
	}
	return false;
}

/* Root gives itself the groups; anyone else needs one. */
static const char *missing_groups(void)
{
	gid_t gid;

	if (geteuid() == 0 || supplementary_group(&gid))
		return NULL;
	return "needs root, or a supplementary group besides the primary one";
}

/*
 * A peer whose supplementary group is listed is admitted, though neither
 * its uid nor its primary gid is; the call sees the groups as well. As
 * root the test gives itself the groups (and puts its own back after: under
 * valgrind the tests share one process); otherwise it uses those it has.
 */
START_TEST(test_admission_supplementary_groups)
{
	static const gid_t other[] = { 4242 };
	static const struct ttrpc_allowlist only_other = { .gids = other, .n_gids = 1 };
	const struct ttrpc_server_interceptor ic = { .on_call = record_call_groups };
	gid_t saved[64], mine[2] = { 4343, 4242 }, listed[1];
	struct ttrpc_allowlist by_group = { .gids = listed, .n_gids = 1 };
	int n_saved = getgroups(64, saved);
	struct ttrpc_client *c;
	struct outcome o = { 0 };

	ck_assert_int_ge(n_saved, 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(setgroups(2, mine), 0);
		listed[0] = mine[1];
	} else {
		ck_assert(supplementary_group(&listed[0]));
	}
	ck_assert_uint_ne(listed[0], getegid());
	ck_assert_int_eq(ttrpc_server_add_interceptor(srv, &ic), 0);

	ttrpc_server_set_admission(srv, admit_recording, &by_group);
	c = connect_client();
	ck_assert_int_eq(call_echo(c, "g", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	ck_assert(has_gid(0, listed[0]));
	ck_assert(has_gid(1, listed[0]));
	ck_assert_uint_eq(n_seen_groups[1], n_seen_groups[0]);
	outcome_clear(&o);
	ttrpc_client_free(c);

	/* Not one of its groups: refused. */
	if (listed[0] != other[0]) {
		ttrpc_server_set_admission(srv, ttrpc_admit_allowlist, (void *)&only_other);
		c = connect_client();
		ck_assert_int_eq(call_echo(c, "h", 1, "", NULL, &o, NULL), 0);
		run_until(&o.done, 5000);
		ck_assert_int_lt(o.error, 0);
		outcome_clear(&o);
		ttrpc_client_free(c);
	}
	if (geteuid() == 0)
		ck_assert_int_eq(setgroups((size_t)n_saved, saved), 0);
}
END_TEST

START_TEST(test_adopt_conn_and_listener)
{
	struct ttrpc_client *c;
	struct outcome o = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[128];
	int sv[2], lfd;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, sv[0]), 0);
	ck_assert_int_eq(ttrpc_client_new(base, sv[1], &c), 0);
	ck_assert_int_eq(call_echo(c, "p", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	outcome_clear(&o);
	ttrpc_client_free(c);

	/* a blocking, listening socket as systemd passes it */
	snprintf(path, sizeof(path), "%s/adopted.sock", dir_path);
	strcpy(sa.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(ttrpc_server_adopt_listener(srv, lfd), -EINVAL); /* not listening yet */
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(ttrpc_server_adopt_listener(srv, lfd), 0);
	ck_assert_int_eq(ttrpc_client_connect(base, path, &c), 0);
	ck_assert_int_eq(call_echo(c, "q", 1, "", NULL, &o, NULL), 0);
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	outcome_clear(&o);
	ttrpc_client_free(c);
	ttrpc_server_free(srv);
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
	/* the server never unlinks the path of a socket it did not bind */
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	unlink(sock_path);
}
END_TEST

/* Whether @fd is still open (the function that failed left it to us). */
static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* Whether the peer of @fd sees the end of the connection. */
static bool peer_closed(int fd)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&pf, 1, 5000) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static int refuse_all(const struct ttrpc_peer *peer, void *arg)
{
	return -EACCES;
}

/*
 * One rule for every function that takes an fd: on failure the caller
 * keeps it, open; on success it is the library's, closed when the client
 * or server is freed.
 */
START_TEST(test_fd_kept_on_failure)
{
	struct sockaddr_un auto_addr = { .sun_family = AF_UNIX };
	int pipefd[2], dgram[2], sv[2], more[2], lfd;
	struct ttrpc_client *c;

	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, more), 0);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	/* an address of the abstract namespace, chosen by the kernel */
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&auto_addr, sizeof(sa_family_t)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);

	/* not a socket, not a stream, listening or not as each wants */
	ck_assert_int_eq(ttrpc_client_new(base, pipefd[0], &c), -ENOTSOCK);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, pipefd[0]), -ENOTSOCK);
	ck_assert_int_eq(ttrpc_server_adopt_listener(srv, pipefd[0]), -ENOTSOCK);
	ck_assert(fd_open(pipefd[0]));
	ck_assert_int_eq(ttrpc_client_new(base, dgram[0], &c), -EINVAL);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, dgram[0]), -EINVAL);
	ck_assert(fd_open(dgram[0]));
	ck_assert_int_eq(ttrpc_client_new(base, lfd, &c), -EINVAL);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, lfd), -EINVAL);
	ck_assert(fd_open(lfd));
	ck_assert_int_eq(ttrpc_server_adopt_listener(srv, sv[0]), -EINVAL);
	ck_assert(fd_open(sv[0]));

	/* refused by admission: -EPERM, whatever the hook returned */
	ttrpc_server_set_admission(srv, refuse_all, NULL);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, sv[0]), -EPERM);
	ck_assert(fd_open(sv[0]));
	ttrpc_server_set_admission(srv, NULL, NULL);

	/* over the connection limit: -EMFILE, said as itself */
	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_CONNECTIONS, 1), 0);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, more[0]), 0);
	ck_assert_int_eq(ttrpc_server_adopt_conn(srv, sv[0]), -EMFILE);
	ck_assert(fd_open(sv[0]));
	ck_assert_uint_eq(stats().connections_refused, 2);
	ck_assert_ptr_nonnull(strstr(logbuf, "connection limit 1 reached"));

	/* taken on success: closed with its owner */
	ck_assert_int_eq(ttrpc_client_new(base, sv[0], &c), 0);
	ttrpc_client_free(c);
	ck_assert(peer_closed(sv[1]));
	ttrpc_server_free(srv);
	ck_assert(peer_closed(more[1]));
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);

	close(pipefd[0]);
	close(pipefd[1]);
	close(dgram[0]);
	close(dgram[1]);
	close(sv[1]);
	close(more[1]);
	close(lfd);
	unlink(sock_path);
}
END_TEST

/* ---- a client freed from its own callbacks ---- */

struct self_free {
	struct ttrpc_client *c;
	struct outcome other; /* a call still in flight when the client goes */
	int calls;
	bool done;
};

static void free_on_result(const struct ttrpc_result *r, void *arg)
{
	struct self_free *sf = arg;

	sf->calls++;
	ck_assert_int_eq(r->code, TTRPC_OK);
	ttrpc_client_free(sf->c);
	/* the other call was completed inside, before the free returned */
	ck_assert(sf->other.done);
	ck_assert_int_eq(sf->other.error, -ECANCELED);
	sf->done = true;
}

static void free_on_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *arg)
{
	struct self_free *sf = arg;

	ttrpc_client_free(sf->c);
	sf->done = true;
}

static void freed_done(struct ttrpc_client_stream *s, const struct ttrpc_result *r, void *arg)
{
	struct self_free *sf = arg;

	sf->calls++;
	ck_assert_int_eq(r->error, -ECANCELED);
}

/*
 * A callback may free its own client: a unary callback with another call
 * in flight, and a stream's on_message with more messages of the same
 * read still to come. Valgrind and ASan check that nothing is touched after.
 */
START_TEST(test_client_freed_from_callback)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__StreamRequest sreq = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	static const struct ttrpc_stream_handlers h = {
		.on_message = free_on_message,
		.on_done = freed_done,
	};
	struct self_free sf = { 0 };
	struct ttrpc_client_stream *s;

	sf.c = connect_client();
	ck_assert_int_eq(call_sleep(sf.c, 10000, 0, &sf.other, NULL), 0);
	req.text = "bye";
	ck_assert_int_eq(ttrpc_client_call(sf.c, SVC, "Echo", &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   free_on_result, &sf, NULL),
			 0);
	run_until(&sf.done, 5000);
	ck_assert_int_eq(sf.calls, 1);
	outcome_clear(&sf.other);

	memset(&sf, 0, sizeof(sf));
	sf.c = connect_client();
	sreq.count = 100;
	sreq.size = 16;
	ck_assert_int_eq(ttrpc_client_stream_open(
				 sf.c, SVC, "Download", TTRPC_METHOD_SERVER_STREAM, &sreq.base,
				 &ttrpc__interop__v1__chunk__descriptor, NULL, &h, &sf, &s),
			 0);
	run_until(&sf.done, 5000);
	/* its own on_done ran inside the free: CANCELLED, once */
	ck_assert_int_eq(sf.calls, 1);
	run_for(50);
}
END_TEST

START_TEST(test_client_errors)
{
	struct ttrpc_client *c;
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct outcome o = { 0 };

	ck_assert_int_eq(ttrpc_client_connect(base, "/nonexistent/x.sock", &c), -ENOENT);
	c = connect_client();
	req.payload.len = TTRPC_MAX_MESSAGE_SIZE;
	req.payload.data = calloc(1, req.payload.len);
	ck_assert_int_eq(ttrpc_client_call(c, SVC, "Echo", &req.base,
					   &ttrpc__interop__v1__echo_response__descriptor, NULL,
					   on_result, &o, NULL),
			 -EMSGSIZE);
	free(req.payload.data);
	ck_assert(!o.done); /* a failed call never calls back */
	ck_assert_uint_eq(ttrpc_client_pending(c), 0);
	/* the server goes away: pending calls fail with a transport error */
	ck_assert_int_eq(call_sleep(c, 10000, 0, &o, NULL), 0);
	run_for(20);
	ttrpc_server_free(srv);
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
	run_until(&o.done, 5000);
	ck_assert_int_lt(o.error, 0);
	ck_assert(!ttrpc_client_is_connected(c));
	ck_assert_int_eq(call_echo(c, "a", 1, "", NULL, &o, NULL), -ENOTCONN);
	outcome_clear(&o);
	ttrpc_client_free(c);
	unlink(sock_path);
}
END_TEST

/* ---- limits: each one reached ---- */

START_TEST(test_limit_frame_timeout)
{
	struct raw *r = raw_connect(), *trickle = raw_connect();
	struct frame f;
	static const uint8_t header[10] = { 0, 0, 0, 5, 0, 0, 0, 1, 1, 0 };

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_FRAME_TIMEOUT_MS, 300), 0);
	/* a frame cut short, then silence */
	raw_send(r, 100, 1, 1, 0, "abc", 3);
	/* a header trickled a byte at a time: progress does not extend the timer */
	for (int i = 0; i < 10 && !trickle->eof; i++) {
		bufferevent_write(trickle->bev, &header[i], 1);
		run_for(100);
	}
	ck_assert(!raw_next(r, &f, 5000));
	ck_assert(trickle->eof);
	ck_assert_ptr_nonnull(strstr(logbuf, "a frame stayed incomplete for 300 ms"));
	raw_free(r);
	raw_free(trickle);
	/* a well-behaved connection is not touched */
	r = raw_connect();
	raw_expect_echo_works(r, 1);
	run_for(500);
	raw_expect_echo_works(r, 3);
	raw_free(r);
}
END_TEST

START_TEST(test_limit_idle_timeout)
{
	struct ttrpc_client *busy = connect_client(), *idle = connect_client();
	struct outcome o = { 0 };

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_IDLE_TIMEOUT_MS, 200), 0);
	/* a call in flight keeps its connection open past the idle timeout */
	ck_assert_int_eq(call_sleep(busy, 600, 0, &o, NULL), 0);
	run_for(400);
	ck_assert(!ttrpc_client_is_connected(idle));
	ck_assert(ttrpc_client_is_connected(busy));
	run_until(&o.done, 5000);
	ck_assert_int_eq(o.code, TTRPC_OK);
	run_for(400);
	ck_assert(!ttrpc_client_is_connected(busy));
	ck_assert_ptr_nonnull(strstr(logbuf, "idle for 200 ms"));
	ttrpc_client_free(busy);
	ttrpc_client_free(idle);
}
END_TEST

START_TEST(test_limit_calls_per_connection)
{
	struct ttrpc_client *c = connect_client();
	struct outcome o[3] = { 0 };

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_CALLS_PER_CONNECTION, 2), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(call_sleep(c, 200, 0, &o[i], NULL), 0);
	run_until(&o[2].done, 5000);
	ck_assert_int_eq(o[2].code, TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(o[2].message, "too many calls in flight on this connection (limit 2)");
	run_until(&o[0].done, 5000);
	run_until(&o[1].done, 5000);
	ck_assert_int_eq(o[0].code, TTRPC_OK);
	ck_assert_int_eq(o[1].code, TTRPC_OK);
	ttrpc_client_free(c);
}
END_TEST

START_TEST(test_limit_connections)
{
	struct ttrpc_client *a = connect_client(), *b, *c;
	struct outcome oa = { 0 }, oc = { 0 };

	ck_assert_int_eq(ttrpc_server_set_limit(srv, TTRPC_LIMIT_CONNECTIONS, 1), 0);
	ck_assert_int_eq(call_echo(a, "a", 1, "", NULL, &oa, NULL), 0);
	run_until(&oa.done, 5000);
	b = connect_client();
	run_for(100);
	ck_assert(!ttrpc_client_is_connected(b)); /* refused on accept */
	ck_assert_ptr_nonnull(strstr(logbuf, "connection limit 1 reached"));
	outcome_clear(&oa);
	ck_assert_int_eq(call_echo(a, "a", 1, "", NULL, &oa, NULL), 0); /* the first goes on */
	run_until(&oa.done, 5000);
	ck_assert_int_eq(oa.code, TTRPC_OK);
	ttrpc_client_free(a);
	run_for(50);
	c = connect_client(); /* room again */
	ck_assert_int_eq(call_echo(c, "c", 1, "", NULL, &oc, NULL), 0);
	run_until(&oc.done, 5000);
	ck_assert_int_eq(oc.code, TTRPC_OK);
	outcome_clear(&oa);
	outcome_clear(&oc);
	ttrpc_client_free(b);
	ttrpc_client_free(c);
}
END_TEST

static Suite *loopback_suite(void)
{
	Suite *s = suite_create("loopback");
	TCase *tc = tcase_create("unix");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_status_errors);
	tcase_add_test(tc, test_metadata);
	tcase_add_test(tc, test_deadline_exceeded);
	tcase_add_test(tc, test_client_gone_cancels);
	tcase_add_test(tc, test_server_enforces_deadline);
	tcase_add_test(tc, test_cancel_keeps_connection);
	tcase_add_test(tc, test_thousand_in_flight);
	tcase_add_test(tc, test_many_connections);
	tcase_add_test(tc, test_graceful_shutdown_drains);
	tcase_add_test(tc, test_shutdown_timeout_cuts_calls);
	tcase_add_test(tc, test_retire_waits_for_calls);
	tcase_add_test(tc, test_retire_idle);
	tcase_add_test(tc, test_retire_timeout_cancels);
	tcase_add_test(tc, test_retire_then_free);
	tcase_add_test(tc, test_free_with_calls_in_flight);
	tcase_add_test(tc, test_cancelled_call_stays_in_flight);
	tcase_add_test(tc, test_handoff_idle_connection);
	tcase_add_test(tc, test_edge_even_stream_id);
	tcase_add_test(tc, test_edge_reused_id);
	tcase_add_test(tc, test_edge_bad_request_protobuf);
	tcase_add_test(tc, test_edge_bad_payload);
	tcase_add_test(tc, test_edge_data_frames);
	tcase_add_test(tc, test_edge_unknown_type_ignored);
	tcase_add_test(tc, test_edge_oversized_discarded);
	tcase_add_test(tc, test_edge_oversized_junk_like_headers);
	tcase_add_test(tc, test_edge_max_size_accepted);
	tcase_add_test(tc, test_edge_corrupt_length_closes);
	tcase_add_test(tc, test_slow_reader_capped);
	tcase_add_test(tc, test_response_too_large);
	tcase_add_test(tc, test_register_rules);
	tcase_add_test(tc, test_interceptors);
	tcase_add_test(tc, test_admission);
	tcase_add_test(tc, test_adopt_conn_and_listener);
	tcase_add_test(tc, test_client_errors);
	tcase_add_test(tc, test_fd_kept_on_failure);
	tcase_add_test(tc, test_client_freed_from_callback);
	tcase_add_test(tc, test_limit_frame_timeout);
	tcase_add_test(tc, test_limit_idle_timeout);
	tcase_add_test(tc, test_limit_calls_per_connection);
	tcase_add_test(tc, test_limit_connections);
	suite_add_tcase(s, tc);
	return s;
}

/* Admission by a supplementary group, which the process must have or give itself. */
static Suite *loopback_groups_suite(void)
{
	Suite *s = suite_create("loopback-groups");
	TCase *tc = tcase_create("unix");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_admission_supplementary_groups);
	suite_add_tcase(s, tc);
	return s;
}

static const struct check_part parts[] = {
	{ "test-loopback", loopback_suite, NULL },
	{ "test-loopback-groups", loopback_groups_suite, missing_groups },
};

int main(int argc, char **argv)
{
	(void)argc;
	return check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
}
