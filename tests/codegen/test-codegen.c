/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The code protoc-gen-ttrpc-c generates for sample.proto, compiled and run:
 * a server and a client in one process, over a real unix socket, on one
 * libevent loop. Every generated client stub is called, asynchronously and
 * blocking (the blocking stream stubs against a server in a child process);
 * the streaming handlers take their messages through the typed _on_message()
 * wrappers, and are also driven with the library's untyped stream API.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "sample.ttrpc-c.h"

typedef Codegen__Sample__V1alpha2__GetFooBARRequest FooRequest;
typedef Codegen__Sample__V1alpha2__GetFooBARRequest__Filter Filter;
typedef Codegen__Sample__V1alpha2__HTTPStatus HttpStatus;
typedef Codegen__Types__Thing Thing;

static struct event_base *base;
static struct ttrpc_server *srv;
static struct ttrpc_client *client;
static char dir[] = "/tmp/ttrpc-codegen.XXXXXX";
static char sock[128];

/* Where the handlers leave what they saw, to check that userdata arrives. */
struct state {
	int calls;
	uint64_t pushed;
};

static struct state state;

/* ---- server ---- */

static void on_get_foo_bar(struct ttrpc_call *call, const FooRequest *req, void *userdata)
{
	HttpStatus resp = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT;
	struct state *st = userdata;

	st->calls++;
	resp.code = 200;
	resp.text = req->name;
	codegen__sample__v1alpha2__foo__service_get_foo_bar_reply(call, &resp);
}

static void on_list_things(struct ttrpc_call *call, const Filter *req, void *userdata)
{
	Thing resp = CODEGEN__TYPES__THING__INIT;
	struct state *st = userdata;

	st->calls++;
	resp.name = req->prefix;
	resp.size = (int64_t)strlen(req->prefix);
	codegen__sample__v1alpha2__foo__service_list_things_reply(call, &resp);
}

/* Watch: as many statuses as the name has characters, then the end; "fail" fails. */
static void on_watch(struct ttrpc_call *call, const FooRequest *req, void *userdata)
{
	HttpStatus msg = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT;

	if (strcmp(req->name, "fail") == 0) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "no watching %s", req->name);
		return;
	}
	for (size_t i = 0; i < strlen(req->name); i++) {
		msg.code = (int32_t)i;
		ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_send(call, &msg), 0);
	}
	ttrpc_call_end(call);
}

/* Push: the sum of the sizes sent, in the reply. */
static void on_push_message(struct ttrpc_call *call, const Thing *thing, void *userdata)
{
	struct state *st = userdata;

	st->pushed += (uint64_t)thing->size;
}

static void on_push_end(struct ttrpc_call *call, void *userdata)
{
	HttpStatus resp = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT;
	struct state *st = userdata;

	resp.code = (int32_t)st->pushed;
	codegen__sample__v1alpha2__foo__service_push_reply(call, &resp);
}

static void on_push(struct ttrpc_call *call, void *userdata)
{
	struct state *st = userdata;

	st->pushed = 0;
	codegen__sample__v1alpha2__foo__service_push_on_message(call, on_push_message, on_push_end,
								userdata);
}

/* Relay: each message back. */
static void on_relay_message(struct ttrpc_call *call, const HttpStatus *msg, void *userdata)
{
	codegen__sample__v1alpha2__foo__service_relay_send(call, msg);
}

static void on_relay_end(struct ttrpc_call *call, void *userdata)
{
	ttrpc_call_end(call);
}

static void on_relay(struct ttrpc_call *call, void *userdata)
{
	codegen__sample__v1alpha2__foo__service_relay_on_message(call, on_relay_message,
								 on_relay_end, userdata);
}

static void on_check(struct ttrpc_call *call, const FooRequest *req, void *userdata)
{
	HttpStatus resp = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT;

	resp.code = 1;
	resp.text = "SERVING";
	codegen__sample__v1alpha2__health_check_reply(call, &resp);
}

/* Resize is left NULL: it must answer UNIMPLEMENTED. */
static const struct codegen__sample__v1alpha2__foo__service_handlers foo_handlers = {
	.get_foo_bar = on_get_foo_bar,
	.list_things = on_list_things,
	.watch = on_watch,
	.push = on_push,
	.relay = on_relay,
	.userdata = &state,
};

static const struct codegen__sample__v1alpha2__health_handlers health_handlers = {
	.check = on_check,
};

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/ttrpc-codegen.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s", dir);
	memset(&state, 0, sizeof(state));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_register(srv, &foo_handlers), 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__health_register(srv, &health_handlers), 0);
	ck_assert_int_eq(ttrpc_server_listen_unix(srv, sock, 0600), 0);
	ck_assert_int_eq(ttrpc_client_connect(base, sock, &client), 0);
}

static void teardown(void)
{
	ttrpc_client_free(client);
	ttrpc_server_free(srv);
	event_base_free(base);
	rmdir(dir);
}

/* ---- asynchronous stubs ---- */

struct outcome {
	bool done;
	int error, code;
	int32_t status;
	char text[64];
	int64_t size;
};

static void run_until(const bool *done)
{
	for (int i = 0; !*done && i < 10000; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_msg(*done, "the call did not complete");
}

static void note(struct outcome *o, const struct ttrpc_result *r, const char *text)
{
	o->done = true;
	o->error = r->error;
	o->code = r->code;
	snprintf(o->text, sizeof(o->text), "%s", text ? text : "");
}

static void on_status(const struct ttrpc_result *r, const HttpStatus *resp, void *userdata)
{
	struct outcome *o = userdata;

	note(o, r, resp ? resp->text : r->message);
	if (resp)
		o->status = resp->code;
}

static void on_thing(const struct ttrpc_result *r, const Thing *resp, void *userdata)
{
	struct outcome *o = userdata;

	note(o, r, resp ? resp->name : r->message);
	if (resp)
		o->size = resp->size;
}

START_TEST(async_stubs)
{
	FooRequest req = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__INIT;
	Filter filter = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__FILTER__INIT;
	Thing thing = CODEGEN__TYPES__THING__INIT;
	struct outcome get = { 0 }, list = { 0 }, resize = { 0 }, check = { 0 };
	uint32_t id = 0;

	req.name = "foo";
	filter.prefix = "pre";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_get_foo_bar(client, &req, NULL,
									     on_status, &get, &id),
			 0);
	ck_assert_uint_ne(id, 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_list_things(client, &filter, NULL,
									     on_thing, &list, NULL),
			 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_resize(client, &thing, NULL,
									on_thing, &resize, NULL),
			 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__health_check(client, &req, NULL, on_status,
								 &check, NULL),
			 0);
	run_until(&get.done);
	run_until(&list.done);
	run_until(&resize.done);
	run_until(&check.done);

	ck_assert_int_eq(get.error, 0);
	ck_assert_int_eq(get.code, TTRPC_OK);
	ck_assert_int_eq(get.status, 200);
	ck_assert_str_eq(get.text, "foo");
	ck_assert_int_eq(list.code, TTRPC_OK);
	ck_assert_str_eq(list.text, "pre");
	ck_assert_int_eq(list.size, 3);
	ck_assert_int_eq(resize.error, 0);
	ck_assert_int_eq(resize.code, TTRPC_UNIMPLEMENTED);
	ck_assert_str_eq(resize.text, "method Resize");
	ck_assert_int_eq(check.code, TTRPC_OK);
	ck_assert_str_eq(check.text, "SERVING");
	/* The userdata of the handlers' struct reached them. */
	ck_assert_int_eq(state.calls, 2);

	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_get_foo_bar(client, &req, NULL,
									     NULL, NULL, NULL),
			 -EINVAL);
}
END_TEST

/* ---- blocking stubs ---- */

START_TEST(sync_stubs)
{
	FooRequest req = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__INIT;
	Filter filter = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__FILTER__INIT;
	Thing thing = CODEGEN__TYPES__THING__INIT, *tresp = NULL;
	struct ttrpc_status st = { 0 };
	HttpStatus *sresp = NULL;

	req.name = "bar";
	filter.prefix = "four";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_get_foo_bar_sync(
				 client, &req, NULL, &sresp, &st),
			 0);
	ck_assert_int_eq(sresp->code, 200);
	ck_assert_str_eq(sresp->text, "bar");
	codegen__sample__v1alpha2__httpstatus__free_unpacked(sresp, NULL);

	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_list_things_sync(
				 client, &filter, NULL, &tresp, NULL),
			 0);
	ck_assert_int_eq(tresp->size, 4);
	codegen__types__thing__free_unpacked(tresp, NULL);

	ck_assert_int_eq(
		codegen__sample__v1alpha2__health_check_sync(client, &req, NULL, &sresp, NULL), 0);
	ck_assert_str_eq(sresp->text, "SERVING");
	codegen__sample__v1alpha2__httpstatus__free_unpacked(sresp, NULL);

	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_resize_sync(client, &thing, NULL,
									     &tresp, &st),
			 -EREMOTEIO);
	ck_assert_ptr_null(tresp);
	ck_assert_int_eq(st.code, TTRPC_UNIMPLEMENTED);
	ck_assert_str_eq(st.message, "method Resize");
	ttrpc_status_clear(&st);
}
END_TEST

/* ---- the generated streaming handlers, through the library's stream API ---- */

static const char *const foo_service = CODEGEN__SAMPLE__V1ALPHA2__FOO__SERVICE__NAME;

START_TEST(stream_handlers)
{
	FooRequest req = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__INIT;
	Thing thing = CODEGEN__TYPES__THING__INIT;
	HttpStatus relay = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT;
	struct ttrpc_client_stream *s;
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *msg;
	int n = 0, r;

	/* Watch: one message per character of the name. */
	req.name = "abcd";
	ck_assert_int_eq(ttrpc_client_stream_open_sync(
				 client, foo_service, "Watch", TTRPC_METHOD_SERVER_STREAM,
				 &req.base, &codegen__sample__v1alpha2__httpstatus__descriptor,
				 NULL, &s),
			 0);
	while ((r = ttrpc_client_stream_recv_sync(s, &msg, &st)) == 1) {
		ck_assert_int_eq(((HttpStatus *)msg)->code, n++);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(n, 4);
	ttrpc_client_stream_free_sync(s);

	/* Push: the sum of the sizes sent. */
	ck_assert_int_eq(ttrpc_client_stream_open_sync(
				 client, foo_service, "Push", TTRPC_METHOD_CLIENT_STREAM, NULL,
				 &codegen__sample__v1alpha2__httpstatus__descriptor, NULL, &s),
			 0);
	for (thing.size = 1; thing.size <= 3; thing.size++)
		ck_assert_int_eq(ttrpc_client_stream_send_sync(s, &thing.base), 0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	msg = NULL;
	ck_assert_int_eq(ttrpc_client_stream_recv_sync(s, &msg, &st), 0);
	ck_assert_ptr_nonnull(msg);
	ck_assert_int_eq(((HttpStatus *)msg)->code, 6);
	protobuf_c_message_free_unpacked(msg, NULL);
	ttrpc_client_stream_free_sync(s);

	/* Relay: each message comes back. */
	ck_assert_int_eq(ttrpc_client_stream_open_sync(
				 client, foo_service, "Relay", TTRPC_METHOD_BIDI_STREAM, NULL,
				 &codegen__sample__v1alpha2__httpstatus__descriptor, NULL, &s),
			 0);
	relay.code = 42;
	ck_assert_int_eq(ttrpc_client_stream_send_sync(s, &relay.base), 0);
	ck_assert_int_eq(ttrpc_client_stream_recv_sync(s, &msg, &st), 1);
	ck_assert_int_eq(((HttpStatus *)msg)->code, 42);
	protobuf_c_message_free_unpacked(msg, NULL);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	ck_assert_int_eq(ttrpc_client_stream_recv_sync(s, &msg, &st), 0);
	ttrpc_client_stream_free_sync(s);
}
END_TEST

/* ---- asynchronous stream stubs ---- */

/* What a stream's typed handlers saw. */
struct sink {
	bool done;
	int error, code;
	char message[64];
	int messages;                       /* on_message calls */
	int32_t last;                       /* code of the last message */
	int32_t reply;                      /* Push's reply, -1 without one */
	int writable;                       /* on_writable calls */
	struct ttrpc_client_stream *stream; /* the stream the handlers were given */
};

/* The handlers are given the stream _open() returned (learnt here when @ret was NULL). */
static void same_stream(struct sink *k, struct ttrpc_client_stream *s)
{
	if (!k->stream)
		k->stream = s;
	ck_assert_ptr_eq(s, k->stream);
}

static void sink_done(struct sink *k, struct ttrpc_client_stream *s, const struct ttrpc_result *r)
{
	ck_assert(!k->done);
	same_stream(k, s);
	k->done = true;
	k->error = r->error;
	k->code = r->code;
	snprintf(k->message, sizeof(k->message), "%s", r->message);
}

static void on_stream_status(struct ttrpc_client_stream *s, const HttpStatus *msg, void *userdata)
{
	struct sink *k = userdata;

	same_stream(k, s);
	ck_assert_int_eq(msg->code, k->messages);
	k->messages++;
	k->last = msg->code;
}

static void on_stream_done(struct ttrpc_client_stream *s, const struct ttrpc_result *r,
			   void *userdata)
{
	sink_done(userdata, s, r);
}

static void on_push_done(struct ttrpc_client_stream *s, const struct ttrpc_result *r,
			 const HttpStatus *reply, void *userdata)
{
	struct sink *k = userdata;

	sink_done(k, s, r);
	k->reply = reply ? reply->code : -1;
}

static void on_stream_writable(struct ttrpc_client_stream *s, void *userdata)
{
	struct sink *k = userdata;

	same_stream(k, s);
	k->writable++;
}

static const struct codegen__sample__v1alpha2__foo__service_watch_stream_handlers watch_handlers = {
	.on_message = on_stream_status,
	.on_done = on_stream_done,
};

static const struct codegen__sample__v1alpha2__foo__service_push_stream_handlers push_handlers = {
	.on_done = on_push_done,
	.on_writable = on_stream_writable,
};

static const struct codegen__sample__v1alpha2__foo__service_relay_stream_handlers relay_handlers = {
	.on_message = on_stream_status,
	.on_done = on_stream_done,
	.on_writable = on_stream_writable,
};

START_TEST(async_stream_stubs)
{
	FooRequest req = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__INIT;
	Thing thing = CODEGEN__TYPES__THING__INIT;
	HttpStatus status = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT;
	struct sink watch = { 0 }, failed = { 0 }, push = { 0 }, relay = { 0 }, cancelled = { 0 };

	/* Watch: one message per character of the name, then OK. */
	req.name = "abcde";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open(
				 client, &req, NULL, &watch_handlers, &watch, &watch.stream),
			 0);
	ck_assert_ptr_nonnull(watch.stream);
	req.name = "fail";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open(
				 client, &req, NULL, &watch_handlers, &failed, &failed.stream),
			 0);

	/* Push: three messages, the end, and the sum in the reply. */
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_push_open(
				 client, NULL, &push_handlers, &push, &push.stream),
			 0);
	for (thing.size = 1; thing.size <= 3; thing.size++)
		ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_push_client_send(
					 push.stream, &thing),
				 0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(push.stream), 0);

	/* Relay: three messages come back, then the end after ours. */
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_relay_open(
				 client, NULL, &relay_handlers, &relay, &relay.stream),
			 0);
	for (status.code = 0; status.code < 3; status.code++)
		ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_relay_client_send(
					 relay.stream, &status),
				 0);

	run_until(&watch.done);
	run_until(&failed.done);
	run_until(&push.done);
	for (int i = 0; i < 10000 && relay.messages < 3; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(relay.messages, 3);
	ck_assert(!relay.done);
	ck_assert_int_eq(ttrpc_client_stream_close_send(relay.stream), 0);
	run_until(&relay.done);

	ck_assert_int_eq(watch.error, 0);
	ck_assert_int_eq(watch.code, TTRPC_OK);
	ck_assert_int_eq(watch.messages, 5);
	ck_assert_int_eq(failed.code, TTRPC_INVALID_ARGUMENT);
	ck_assert_str_eq(failed.message, "no watching fail");
	ck_assert_int_eq(failed.messages, 0);
	ck_assert_int_eq(push.code, TTRPC_OK);
	ck_assert_int_eq(push.reply, 6);
	ck_assert_int_eq(relay.code, TTRPC_OK);
	ck_assert_int_eq(relay.messages, 3);
	ck_assert_int_eq(relay.last, 2);

	/* A cancelled stream ends at once; its closure goes with it. */
	req.name = "abc";
	ck_assert_int_eq(
		codegen__sample__v1alpha2__foo__service_watch_open(
			client, &req, NULL, &watch_handlers, &cancelled, &cancelled.stream),
		0);
	ttrpc_client_stream_cancel(cancelled.stream);
	ck_assert(cancelled.done);
	ck_assert_int_eq(cancelled.code, TTRPC_CANCELLED);
	/* The connection is still good, and @ret may be NULL. */
	memset(&watch, 0, sizeof(watch));
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open(
				 client, &req, NULL, &watch_handlers, &watch, NULL),
			 0);
	run_until(&watch.done);
	ck_assert_int_eq(watch.code, TTRPC_OK);
	ck_assert_int_eq(watch.messages, 3);
}
END_TEST

START_TEST(async_stream_errors)
{
	FooRequest req = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__INIT;
	struct codegen__sample__v1alpha2__foo__service_watch_stream_handlers no_message = {
		.on_done = on_stream_done,
	};
	struct codegen__sample__v1alpha2__foo__service_push_stream_handlers no_done = {
		.on_writable = on_stream_writable,
	};
	struct sink k = { 0 };
	struct ttrpc_client_stream *s = NULL;

	req.name = "x";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open(client, &req, NULL,
									    NULL, &k, &s),
			 -EINVAL);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open(client, &req, NULL,
									    &no_message, &k, &s),
			 -EINVAL);
	ck_assert_int_eq(
		codegen__sample__v1alpha2__foo__service_push_open(client, NULL, &no_done, &k, &s),
		-EINVAL);
	/* Refused by the library: the closure is freed (see the sanitizer build). */
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open(
				 client, NULL, NULL, &watch_handlers, &k, &s),
			 -EINVAL);
	ck_assert_ptr_null(s);
	ck_assert(!k.done);
}
END_TEST

/* on_writable of the typed handlers: fill the output queue without running the loop. */
START_TEST(async_stream_writable)
{
	static char big[64 * 1024];
	Thing thing = CODEGEN__TYPES__THING__INIT;
	struct sink k = { 0 };
	int sent = 0, r;

	memset(big, 'x', sizeof(big) - 1);
	thing.name = big;
	thing.size = 1;
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_push_open(
				 client, NULL, &push_handlers, &k, &k.stream),
			 0);
	while ((r = codegen__sample__v1alpha2__foo__service_push_client_send(k.stream, &thing)) ==
	       0)
		sent++;
	ck_assert_int_eq(r, -EAGAIN);
	ck_assert_int_gt(sent, 0);
	for (int i = 0; i < 10000 && !k.writable; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(k.writable, 1);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_push_client_send(k.stream, &thing),
			 0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(k.stream), 0);
	run_until(&k.done);
	ck_assert_int_eq(k.code, TTRPC_OK);
	ck_assert_int_eq(k.reply, sent + 1);
}
END_TEST

/* ---- blocking stream stubs, against a server in a child process ---- */

START_TEST(sync_stream_stubs)
{
	FooRequest req = CODEGEN__SAMPLE__V1ALPHA2__GET_FOO_BARREQUEST__INIT;
	Thing thing = CODEGEN__TYPES__THING__INIT;
	HttpStatus status = CODEGEN__SAMPLE__V1ALPHA2__HTTPSTATUS__INIT, *msg;
	struct ttrpc_status st = { 0 };
	struct ttrpc_client_stream *s;
	struct ttrpc_client *c;
	int n = 0, r;
	pid_t pid;

	/* A blocking client runs its own loop: the server's runs in a child. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		event_reinit(base);
		event_base_dispatch(base);
		_exit(0);
	}
	ck_assert_int_eq(ttrpc_client_open(sock, &c), 0);

	/* Watch: typed messages, then the end. */
	req.name = "abcd";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open_sync(c, &req, NULL, &s),
			 0);
	while ((r = codegen__sample__v1alpha2__foo__service_watch_recv_sync(s, &msg, &st)) == 1) {
		ck_assert_int_eq(msg->code, n++);
		codegen__sample__v1alpha2__httpstatus__free_unpacked(msg, NULL);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_ptr_null(msg);
	ck_assert_int_eq(n, 4);
	ttrpc_client_stream_free_sync(s);

	/* Watch failed by the server: its status. */
	req.name = "fail";
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_open_sync(c, &req, NULL, &s),
			 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_watch_recv_sync(s, &msg, &st),
			 -EREMOTEIO);
	ck_assert_ptr_null(msg);
	ck_assert_int_eq(st.code, TTRPC_INVALID_ARGUMENT);
	ck_assert_str_eq(st.message, "no watching fail");
	ttrpc_status_clear(&st);
	ttrpc_client_stream_free_sync(s);

	/* Push: the reply at the end. */
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_push_open_sync(c, NULL, &s), 0);
	for (thing.size = 1; thing.size <= 4; thing.size++)
		ck_assert_int_eq(
			codegen__sample__v1alpha2__foo__service_push_client_send_sync(s, &thing),
			0);
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_push_recv_sync(s, &msg, &st), 0);
	ck_assert_ptr_nonnull(msg);
	ck_assert_int_eq(msg->code, 10);
	codegen__sample__v1alpha2__httpstatus__free_unpacked(msg, NULL);
	ttrpc_client_stream_free_sync(s);

	/* Relay: in lockstep, then the end. */
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_relay_open_sync(c, NULL, &s), 0);
	for (status.code = 0; status.code < 3; status.code++) {
		ck_assert_int_eq(
			codegen__sample__v1alpha2__foo__service_relay_client_send_sync(s, &status),
			0);
		ck_assert_int_eq(
			codegen__sample__v1alpha2__foo__service_relay_recv_sync(s, &msg, &st), 1);
		ck_assert_int_eq(msg->code, status.code);
		codegen__sample__v1alpha2__httpstatus__free_unpacked(msg, NULL);
	}
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	ck_assert_int_eq(codegen__sample__v1alpha2__foo__service_relay_recv_sync(s, &msg, &st), 0);
	ck_assert_ptr_null(msg);
	ttrpc_client_stream_free_sync(s);

	ttrpc_client_free(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(register_errors)
{
	ck_assert_int_eq(codegen__sample__v1alpha2__health_register(srv, NULL), -EINVAL);
	ck_assert_int_eq(codegen__sample__v1alpha2__health_register(srv, &health_handlers),
			 -EEXIST);
}
END_TEST

/* _service() binds the name, the method table and the typed handlers. */
START_TEST(service_binding)
{
	struct ttrpc_service svc = codegen__sample__v1alpha2__foo__service_service(&foo_handlers);

	ck_assert_str_eq(svc.name, "codegen.sample.v1alpha2.Foo_Service");
	ck_assert_ptr_eq(svc.methods, codegen__sample__v1alpha2__foo__service_methods);
	ck_assert_ptr_eq(svc.userdata, &foo_handlers);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("codegen");
	TCase *tc = tcase_create("generated");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, async_stubs);
	tcase_add_test(tc, sync_stubs);
	tcase_add_test(tc, stream_handlers);
	tcase_add_test(tc, async_stream_stubs);
	tcase_add_test(tc, async_stream_errors);
	tcase_add_test(tc, async_stream_writable);
	tcase_add_test(tc, sync_stream_stubs);
	tcase_add_test(tc, register_errors);
	tcase_add_test(tc, service_binding);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
