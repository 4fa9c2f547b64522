/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile peers against the real ttrpcd: each case sends the
 * daemon, on a raw socket, what no well-behaved client sends, and checks
 * that ttrpcd stays up, that a well-behaved client on another connection is
 * served before, during and after, that the daemon's RSS grows by less than
 * 64 MiB (a generous bound on memory, not a measure), and that the reaction
 * is the documented one: a status with its exact message, or the connection
 * closed with one log line. Every limit of [limits] is reached once.
 * Every wait is bounded; nothing asserts on timing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "check-parts.h"
#include "daemon-harness.h"
#include "daemon-peer.h"
#include "interop.pb-c.h"
#include "ttrpc/request.pb-c.h"

/* How much the daemon's RSS may grow over a case: generous, but bounded. */
#define RSS_GROWTH_KIB (64 * 1024)

static struct proc d;
static const char *sock;          /* the listener's path, set by serve() */
static struct ttrpc_client *good; /* NULL: a connection per call */
static long rss_before;

/* An Echo on the well-behaved client's connection, answered with @text. */
static void good_call(const char *text)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct ttrpc_client *c = good;
	ProtobufCMessage *resp = NULL;

	if (!c)
		ck_assert_int_eq(ttrpc_client_open(sock, &c), 0);
	req.text = (char *)text;
	ck_assert_int_eq(ttrpc_client_call_sync(c, INTEROP, "Echo", &req.base,
						&ttrpc__interop__v1__echo_response__descriptor,
						NULL, &resp, NULL),
			 0);
	ck_assert_str_eq(((Ttrpc__Interop__V1__EchoResponse *)resp)->text, text);
	protobuf_c_message_free_unpacked(resp, NULL);
	if (c != good)
		ttrpc_client_free(c);
}

/*
 * Start ttrpcd with the interop module, at the default log level, with
 * @limits as its [limits] section; the well-behaved client connects (keeps
 * its connection when @persistent) and is served once.
 */
static void serve(const char *limits, bool persistent)
{
	const char *conf = path_in("ttrpcd.conf");

	sock = path_in("sock");
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[limits]\n%s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n",
		   tmp, limits ? limits : "", sock, build_path("tests/interop/.libs/interop.so"));
	daemon_start(&d, conf, NULL);
	ck_assert(log_wait(&d, "ready: 1 module"));
	good = NULL;
	if (persistent)
		ck_assert_int_eq(ttrpc_client_open(sock, &good), 0);
	good_call("before");
	rss_before = proc_rss_kib(d.pid);
	ck_assert_int_gt(rss_before, 0);
}

static size_t count(const char *haystack, const char *needle);

/*
 * The client is served after the case, ttrpcd is up and its memory bounded;
 * then it stops, and its log holds no warning or error but @warning, once
 * (NULL: none at all).
 */
static void finish(const char *name, const char *warning)
{
	long rss_after;

	good_call("after");
	ck_assert(proc_alive(&d));
	rss_after = proc_rss_kib(d.pid);
	fprintf(stderr, "%s: ttrpcd RSS %ld KiB before, %ld KiB after\n", name, rss_before,
		rss_after);
	ck_assert_int_lt(rss_after - rss_before, RSS_GROWTH_KIB);
	ttrpc_client_free(good);
	good = NULL;
	kill(d.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&d, 0), 0);
	ck_assert_msg(count(d.log, "<3>") + count(d.log, "<4>") == (warning ? 1u : 0u) &&
			      (!warning || count(d.log, warning) == 1),
		      "expected %s in the log:\n%s", warning ? warning : "no warning", d.log);
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *s = strstr(haystack, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* The first frame to come is the Echo answer on @id: nothing came before it. */
static void expect_echo(int fd, uint32_t id)
{
	peer_echo(fd, id, "raw");
	peer_expect(fd, id, TTRPC_OK, "");
}

/* ---- malformed frames ---- */

START_TEST(test_garbage)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: ttrpcd\r\n\r\n";
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	ck_assert_int_eq(peer_write(fd, http, strlen(http)), 0);
	/* "GET " read as a length, "/ HT" as the stream id. */
	peer_expect(fd, 0x2f204854, TTRPC_RESOURCE_EXHAUSTED,
		    "message length 1195725856 exceed maximum message size of 4194304");
	good_call("during");
	ck_assert(peer_wait_eof(fd, WAIT_MS));
	close(fd);
	finish("garbage", "not ttrpc (reserved length byte is 0x47)");
}
END_TEST

START_TEST(test_oversized_length)
{
	size_t big = (4u << 20) + 1;
	char *junk = malloc(big);
	int fd;

	ck_assert_ptr_nonnull(junk);
	memset(junk, 'x', big);
	serve(NULL, true);
	fd = peer_connect(sock);
	/* 4 MiB + 1 four times over: skipped as it arrives, never buffered. */
	for (uint32_t id = 1; id <= 7; id += 2) {
		ck_assert_int_eq(peer_send(fd, (uint32_t)big, id, PEER_REQUEST, 0, junk, big), 0);
		peer_expect(fd, id, TTRPC_RESOURCE_EXHAUSTED,
			    "message length 4194305 exceed maximum message size of 4194304");
		good_call("during");
	}
	/* The connection is kept. */
	expect_echo(fd, 9);
	close(fd);
	free(junk);
	finish("oversized length", NULL);
}
END_TEST

START_TEST(test_reserved_length_byte)
{
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	ck_assert_int_eq(peer_send(fd, 0x01000000, 1, PEER_REQUEST, 0, NULL, 0), 0);
	peer_expect(fd, 1, TTRPC_RESOURCE_EXHAUSTED,
		    "message length 16777216 exceed maximum message size of 4194304");
	ck_assert(peer_wait_eof(fd, WAIT_MS));
	close(fd);
	finish("reserved length byte", "not ttrpc (reserved length byte is 0x01)");
}
END_TEST

START_TEST(test_cut_short)
{
	uint8_t half[50] = { 0 };
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	/* A header that announces 100 bytes, 50 of them, and the peer leaves. */
	ck_assert_int_eq(peer_send(fd, 100, 1, PEER_REQUEST, 0, half, sizeof(half)), 0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	good_call("during");
	/* Nothing is answered; the connection is closed. */
	ck_assert(peer_wait_eof(fd, WAIT_MS));
	close(fd);
	finish("cut short", NULL);
}
END_TEST

START_TEST(test_trickled_header)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	uint8_t *env, hdr[10];
	size_t n, sent = 0;
	bool closed = false;
	int fd;

	serve("frame-timeout = 500ms", true);
	req.text = (char *)"slow";
	n = peer_request(&env, "Echo", &req.base, NULL, NULL);
	peer_header(hdr, (uint32_t)n, 1, PEER_REQUEST, 0);
	fd = peer_connect(sock);
	/* One byte per 100 ms, until ttrpcd closes or the header is out; then stall. */
	while (sent < sizeof(hdr) && !closed) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (peer_write(fd, hdr + sent, 1) < 0)
			break;
		sent++;
		closed = poll(&p, 1, 100) > 0;
	}
	good_call("during");
	ck_assert(peer_wait_eof(fd, WAIT_MS));
	close(fd);
	free(env);
	finish("trickled header", "a frame stayed incomplete for 500 ms");
}
END_TEST

START_TEST(test_unknown_type)
{
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	ck_assert_int_eq(peer_send(fd, 3, 1, 0x7f, 0, "abc", 3), 0);
	/* A Response sent to the server is no request either. */
	ck_assert_int_eq(peer_send(fd, 0, 3, PEER_RESPONSE, 0, NULL, 0), 0);
	good_call("during");
	/* Ignored: the next answer is that of the next request. */
	expect_echo(fd, 5);
	close(fd);
	finish("unknown type", NULL);
}
END_TEST

START_TEST(test_even_stream_id)
{
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	peer_echo(fd, 2, "even");
	peer_expect(fd, 2, TTRPC_INVALID_ARGUMENT,
		    "StreamID must be odd for client initiated streams");
	ck_assert_int_eq(peer_send(fd, 0, 4, PEER_DATA, 0, NULL, 0), 0);
	peer_expect(fd, 4, TTRPC_INVALID_ARGUMENT,
		    "StreamID must be odd for client initiated streams");
	good_call("during");
	expect_echo(fd, 1);
	close(fd);
	finish("even stream id", NULL);
}
END_TEST

/* A Sleep of a minute on @id: in flight until the connection goes. */
static void long_sleep(int fd, uint32_t id)
{
	Ttrpc__Interop__V1__SleepRequest req = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;

	req.millis = 60000;
	ck_assert_int_eq(peer_call(fd, id, 0, "Sleep", &req.base), 0);
}

START_TEST(test_stream_id_reused)
{
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	long_sleep(fd, 1);
	peer_echo(fd, 1, "again");
	peer_expect(fd, 1, TTRPC_INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
	good_call("during");
	expect_echo(fd, 3);
	/* The Sleep is cancelled when its client leaves. */
	close(fd);
	finish("stream id reused", NULL);
	ck_assert_ptr_nonnull(strstr(d.log, "all calls finished"));
}
END_TEST

START_TEST(test_data_on_unary)
{
	Ttrpc__Interop__V1__Chunk chunk = TTRPC__INTEROP__V1__CHUNK__INIT;
	uint8_t buf[64];
	size_t n;
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	long_sleep(fd, 1);
	n = protobuf_c_message_pack(&chunk.base, buf);
	ck_assert_int_eq(peer_send(fd, (uint32_t)n, 1, PEER_DATA, 0, buf, n), 0);
	/* The call is ended with this status, and the Sleep's own answer never comes. */
	peer_expect(fd, 1, TTRPC_INVALID_ARGUMENT, "Data frame on a unary call: the call is ended");
	good_call("during");
	expect_echo(fd, 3);
	close(fd);
	finish("data on a unary call", NULL);
}
END_TEST

START_TEST(test_data_after_remote_closed)
{
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	struct peer_frame f;
	size_t chunks = 0;
	char msg[256];
	int fd, r;

	serve(NULL, true);
	fd = peer_connect(sock);
	/* A Download that will not end on its own; the client's side is closed from the start. */
	req.count = 1000000;
	req.size = 1024;
	ck_assert_int_eq(peer_call(fd, 1, PEER_REMOTE_CLOSED, "Download", &req.base), 0);
	ck_assert_int_eq(peer_send(fd, 0, 1, PEER_DATA, PEER_NO_DATA, NULL, 0), 0);
	/* Chunks already queued come first, then the status that ends the stream. */
	while ((r = peer_read(fd, &f, WAIT_MS)) == 1 && f.type == PEER_DATA) {
		ck_assert_uint_eq(f.id, 1);
		chunks++;
		peer_frame_clear(&f);
	}
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(f.id, 1);
	ck_assert_int_eq(peer_status(&f, msg, sizeof(msg)), TTRPC_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "data handling error: ttrpc: stream closed");
	peer_frame_clear(&f);
	ck_assert_uint_lt(chunks, 1000000);
	good_call("during");
	expect_echo(fd, 3);
	close(fd);
	finish("data after remote closed", NULL);
}
END_TEST

START_TEST(test_payload_not_protobuf)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	uint8_t env[128];
	size_t n;
	int fd;

	serve(NULL, true);
	fd = peer_connect(sock);
	/* The envelope itself is not a ttrpc.Request. */
	ck_assert_int_eq(peer_send(fd, sizeof(junk), 1, PEER_REQUEST, 0, junk, sizeof(junk)), 0);
	peer_expect(fd, 1, TTRPC_INVALID_ARGUMENT,
		    "unmarshal request error: not a valid ttrpc.Request protobuf message");
	/* A good envelope around an input that is not an EchoRequest. */
	req.service = (char *)INTEROP;
	req.method = (char *)"Echo";
	req.payload.data = (uint8_t *)junk;
	req.payload.len = sizeof(junk);
	n = ttrpc__request__pack(&req, env);
	ck_assert_int_eq(peer_send(fd, (uint32_t)n, 3, PEER_REQUEST, 0, env, n), 0);
	peer_expect(fd, 3, TTRPC_INTERNAL,
		    "ttrpc: error unmarshalling payload: not a valid ttrpc.interop.v1.EchoRequest "
		    "protobuf message");
	good_call("during");
	expect_echo(fd, 5);
	close(fd);
	finish("payload not protobuf", NULL);
}
END_TEST

/* ---- load and limits ---- */

START_TEST(test_pipelined_without_reading)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	static uint8_t payload[1024];
	uint8_t *env, *batch;
	size_t n, frame, written = 0;
	int fd;

	serve("output-queue = 1048576", true);
	req.payload.data = payload;
	req.payload.len = sizeof(payload);
	n = peer_request(&env, "Echo", &req.base, NULL, NULL);
	frame = 10 + n;
	batch = malloc(frame * 100);
	ck_assert_ptr_nonnull(batch);
	fd = peer_connect(sock);
	/* 10,000 calls, 100 per write, and not one answer read. */
	for (uint32_t i = 0; i < 10000; i += 100) {
		for (uint32_t j = 0; j < 100; j++) {
			peer_header(batch + j * frame, (uint32_t)n, 2 * (i + j) + 1, PEER_REQUEST,
				    0);
			memcpy(batch + j * frame + 10, env, n);
		}
		if (peer_write(fd, batch, frame * 100) < 0)
			break; /* dropped already */
		written += 100;
	}
	fprintf(stderr, "pipelined: %zu calls written before the drop\n", written);
	ck_assert(log_wait(&d, "over the output limit of 1048576 (the peer does not read)"));
	good_call("during");
	ck_assert(peer_wait_eof(fd, WAIT_MS));
	close(fd);
	free(batch);
	free(env);
	finish("10,000 pipelined calls",
	       "over the output limit of 1048576 (the peer does not read)");
}
END_TEST

START_TEST(test_connection_limit)
{
	int fds[3], extra, again = -1;
	uint32_t id = 1;

	serve("connections = 4", true);
	for (int i = 0; i < 3; i++) {
		fds[i] = peer_connect(sock);
		expect_echo(fds[i], id);
	}
	/* The fifth: accepted by the kernel, closed by ttrpcd without an answer. */
	extra = peer_connect(sock);
	ck_assert_int_ge(extra, 0);
	ck_assert(peer_wait_eof(extra, WAIT_MS));
	close(extra);
	/* The others did not notice. */
	id += 2;
	for (int i = 0; i < 3; i++)
		expect_echo(fds[i], id);
	good_call("during");
	/* Once one leaves, a new one is served (the close may take a turn of the loop). */
	close(fds[0]);
	for (uint64_t end = now_ms() + WAIT_MS; again < 0 && now_ms() < end;) {
		struct peer_frame f;

		again = peer_connect(sock);
		ck_assert_int_ge(again, 0);
		peer_echo(again, 1, "again");
		if (peer_read(again, &f, WAIT_MS) == 1) {
			ck_assert_int_eq(peer_status(&f, NULL, 0), TTRPC_OK);
			peer_frame_clear(&f);
		} else {
			close(again);
			again = -1;
		}
	}
	ck_assert_int_ge(again, 0);
	close(again);
	close(fds[1]);
	close(fds[2]);
	finish("connections beyond the limit", "connection limit 4 reached");
}
END_TEST

/* Both sides need a thousand descriptors and some; ttrpcd inherits the limit. */
enum { IDLE_CONNS = 1000, IDLE_FDS = 2 * IDLE_CONNS + 100 };

static const char *missing_fds(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= IDLE_FDS))
		return NULL;
	return "needs a hard RLIMIT_NOFILE of 2100 descriptors or more (ulimit -Hn)";
}

START_TEST(test_idle_connections)
{
	struct rlimit rl;
	int *fds = calloc(IDLE_CONNS, sizeof(int));

	ck_assert_ptr_nonnull(fds);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= IDLE_FDS);
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096 ? 4096 : rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	serve(NULL, true);
	for (int i = 0; i < IDLE_CONNS; i++) {
		fds[i] = peer_connect(sock);
		ck_assert_int_ge(fds[i], 0);
	}
	good_call("during");
	/* The first and the last of them are served too. */
	expect_echo(fds[0], 1);
	expect_echo(fds[IDLE_CONNS - 1], 1);
	for (int i = 0; i < IDLE_CONNS; i++)
		close(fds[i]);
	free(fds);
	finish("1,000 idle connections", NULL);
}
END_TEST

START_TEST(test_limit_calls_per_connection)
{
	int fd;

	serve("calls-per-connection = 2", true);
	fd = peer_connect(sock);
	long_sleep(fd, 1);
	long_sleep(fd, 3);
	peer_echo(fd, 5, "third");
	peer_expect(fd, 5, TTRPC_RESOURCE_EXHAUSTED,
		    "too many calls in flight on this connection (limit 2)");
	good_call("during");
	close(fd);
	finish("calls per connection", NULL);
}
END_TEST

/* Skip the Download's chunks until the Response on @id. */
static void expect_past_chunks(int fd, uint32_t id, int code, const char *message)
{
	struct peer_frame f;
	char msg[256];
	int r;

	while ((r = peer_read(fd, &f, WAIT_MS)) == 1 && f.type == PEER_DATA)
		peer_frame_clear(&f);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(f.id, id);
	ck_assert_int_eq(peer_status(&f, msg, sizeof(msg)), code);
	ck_assert_str_eq(msg, message);
	peer_frame_clear(&f);
}

START_TEST(test_limit_streams_per_connection)
{
	Ttrpc__Interop__V1__StreamRequest req = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	int fd;

	serve("streams-per-connection = 1", true);
	fd = peer_connect(sock);
	req.count = 1000000;
	req.size = 1024;
	ck_assert_int_eq(peer_call(fd, 1, PEER_REMOTE_CLOSED, "Download", &req.base), 0);
	ck_assert_int_eq(peer_call(fd, 3, PEER_REMOTE_CLOSED, "Download", &req.base), 0);
	expect_past_chunks(fd, 3, TTRPC_RESOURCE_EXHAUSTED,
			   "too many streams in flight on this connection (limit 1)");
	/* A unary call is no stream. */
	peer_echo(fd, 5, "unary");
	expect_past_chunks(fd, 5, TTRPC_OK, "");
	good_call("during");
	close(fd);
	finish("streams per connection", NULL);
}
END_TEST

START_TEST(test_limit_message_size)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	static uint8_t payload[2000];
	char want[128];
	uint8_t *env;
	size_t n;
	int fd;

	serve("message-size = 1024", true);
	req.payload.data = payload;
	req.payload.len = sizeof(payload);
	n = peer_request(&env, "Echo", &req.base, NULL, NULL);
	fd = peer_connect(sock);
	ck_assert_int_eq(peer_send(fd, (uint32_t)n, 1, PEER_REQUEST, 0, env, n), 0);
	snprintf(want, sizeof(want), "message length %zu exceed maximum message size of 1024", n);
	peer_expect(fd, 1, TTRPC_RESOURCE_EXHAUSTED, want);
	good_call("during");
	expect_echo(fd, 3);
	close(fd);
	free(env);
	finish("message size", NULL);
}
END_TEST

START_TEST(test_limit_idle_timeout)
{
	int fd;

	/* The well-behaved client connects per call: an idle one would be closed too. */
	serve("idle-timeout = 300ms", false);
	fd = peer_connect(sock);
	expect_echo(fd, 1);
	ck_assert(peer_wait_eof(fd, WAIT_MS));
	close(fd);
	finish("idle timeout", NULL);
	ck_assert_uint_ge(count(d.log, ": idle for 300 ms"), 1);
}
END_TEST

static void log_level_config(const char *conf, const char *level)
{
	sock = path_in("sock");
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = %s\n[listener api]\npath = %s\n"
		   "[module interop]\nfile = %s\n",
		   tmp, level, sock, build_path("tests/interop/.libs/interop.so"));
}

/*
 * libttrpc's own DEBUG lines (a line per connection) reach ttrpcd's log
 * only at log-level debug, and follow the level on reload.
 */
START_TEST(test_library_log_level)
{
	const char *conf = path_in("ttrpcd.conf");
	int fd;

	log_level_config(conf, "info");
	daemon_start(&d, conf, NULL);
	ck_assert(log_wait(&d, "ready: 1 module"));
	fd = peer_connect(sock);
	expect_echo(fd, 1);
	close(fd);
	log_level_config(conf, "debug");
	kill(d.pid, SIGHUP);
	ck_assert(log_wait(&d, "configuration reloaded"));
	/* Logged before its answer was sent, had it been logged at all. */
	ck_assert_ptr_null(strstr(d.log, "connection from pid"));
	fd = peer_connect(sock);
	expect_echo(fd, 1);
	ck_assert(log_wait(&d, "connection from pid"));
	ck_assert(log_wait(&d, "call " INTEROP "/Echo stream 1 from pid"));
	close(fd);
	kill(d.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&d, 0), 0);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("peers");
	TCase *lim = tcase_create("limits");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_oversized_length);
	tcase_add_test(tc, test_reserved_length_byte);
	tcase_add_test(tc, test_cut_short);
	tcase_add_test(tc, test_trickled_header);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_even_stream_id);
	tcase_add_test(tc, test_stream_id_reused);
	tcase_add_test(tc, test_data_on_unary);
	tcase_add_test(tc, test_data_after_remote_closed);
	tcase_add_test(tc, test_payload_not_protobuf);
	tcase_add_test(tc, test_pipelined_without_reading);
	tcase_add_test(tc, test_connection_limit);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(lim, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(lim, 120);
	tcase_add_test(lim, test_limit_calls_per_connection);
	tcase_add_test(lim, test_limit_streams_per_connection);
	tcase_add_test(lim, test_limit_message_size);
	tcase_add_test(lim, test_limit_idle_timeout);
	tcase_add_test(lim, test_library_log_level);
	suite_add_tcase(s, lim);
	return s;
}

/* A thousand idle connections, as many descriptors as the hard limit allows. */
static Suite *hostile_fds_suite(void)
{
	Suite *s = suite_create("hostile-fds");
	TCase *tc = tcase_create("peers");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_idle_connections);
	suite_add_tcase(s, tc);
	return s;
}

static const struct check_part parts[] = {
	{ "test-hostile", hostile_suite, NULL },
	{ "test-hostile-fds", hostile_fds_suite, missing_fds },
};

int main(int argc, char **argv)
{
	(void)argc;
	return check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
}
