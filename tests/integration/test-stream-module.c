/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streaming example module (services/stream) through a real ttrpcd:
 * Count and Chat deliver, a client that leaves frees its streams, a slow
 * reader pauses Count and loses nothing, reload re-reads max-streams (and
 * refuses a bad one with the module's words), and the streams end with a
 * status when ttrpcd stops or unloads the module.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <ttrpc/ttrpc.h>

#include "control.ttrpc-c.h"
#include "daemon-harness.h"
#include "daemon-peer.h"
#include "stream.ttrpc-c.h"

/* More ticks than the output queue (1 MiB) and a socket hold together. */
#define SLOW_TICKS 200000

/*
 * The config: one listener, the stream module with @settings (NULL: not
 * enabled). The drain timeout is far longer than the default 10 s: under
 * valgrind, reading a full queue of ticks after SIGTERM takes longer than
 * that, and the daemon would cut the reader off (test_stop).
 */
static const char *stream_config(const char *settings)
{
	const char *conf = path_in("ttrpcd.conf");
	char *module = NULL;

	if (settings)
		ck_assert_int_ge(asprintf(&module, "[module stream]\nfile = %s\n%s",
					  build_path("services/stream/.libs/stream.so"), settings),
				 0);
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = debug\ndrain-timeout = 120s\n"
		   "[listener api]\npath = %s\n%s",
		   tmp, path_in("sock"), module ? module : "");
	free(module);
	return conf;
}

static void start(struct proc *p, const char *settings)
{
	daemon_start(p, stream_config(settings), NULL);
	ck_assert(log_wait(p, "ready: 1 module"));
}

static void stop(struct proc *p)
{
	kill(p->pid, SIGTERM);
	ck_assert_int_eq(proc_wait(p, 0), 0);
}

static struct ttrpc_client *client(void)
{
	struct ttrpc_client *c;

	ck_assert_int_eq(ttrpc_client_open(path_in("sock"), &c), 0);
	return c;
}

/* Open Count for @count ticks (0: forever); every stream has a deadline, so none hangs. */
static struct ttrpc_client_stream *count(struct ttrpc_client *c, uint64_t n)
{
	Stream__V1__CountRequest req = STREAM__V1__COUNT_REQUEST__INIT;
	const struct ttrpc_call_opts opts = { .timeout_us = 60000000 };
	struct ttrpc_client_stream *s;

	req.count = n;
	ck_assert_int_eq(stream__v1__streamer_count_open_sync(c, &req, &opts, &s), 0);
	return s;
}

static struct ttrpc_client_stream *chat(struct ttrpc_client *c)
{
	const struct ttrpc_call_opts opts = { .timeout_us = 60000000 };
	struct ttrpc_client_stream *s;

	ck_assert_int_eq(stream__v1__streamer_chat_open_sync(c, &opts, &s), 0);
	return s;
}

/*
 * The next tick of a Count: its number; 0 at the end (OK); else -(the
 * status code), its message into @why when not NULL.
 */
static int64_t next_tick(struct ttrpc_client_stream *s, char *why, size_t size)
{
	Stream__V1__Tick *t = NULL;
	struct ttrpc_status st = { 0 };
	int r = stream__v1__streamer_count_recv_sync(s, &t, &st);
	int64_t n;

	if (r == 1) {
		n = (int64_t)t->n;
		protobuf_c_message_free_unpacked(&t->base, NULL);
		ck_assert_int_gt(n, 0);
		return n;
	}
	ck_assert_msg(r == 0 || r == -EREMOTEIO, "recv: %s", strerror(-r));
	if (why)
		snprintf(why, size, "%s", st.message ? st.message : "");
	n = r == 0 ? 0 : -(int64_t)st.code;
	ttrpc_status_clear(&st);
	return n;
}

/* Send @text on a Chat and return the echo (kept), or NULL when it ended. */
static const char *say(struct ttrpc_client_stream *s, const char *text)
{
	Stream__V1__ChatMessage msg = STREAM__V1__CHAT_MESSAGE__INIT, *back = NULL;
	char *echo;

	msg.text = (char *)text;
	ck_assert_int_eq(stream__v1__streamer_chat_client_send_sync(s, &msg), 0);
	if (stream__v1__streamer_chat_recv_sync(s, &back, NULL) != 1)
		return NULL;
	echo = strdup(back->text);
	protobuf_c_message_free_unpacked(&back->base, NULL);
	return keep(echo);
}

/* How a Chat ends: 0 (OK) or the status code, its message into @why. */
static int chat_end(struct ttrpc_client_stream *s, char *why, size_t size)
{
	Stream__V1__ChatMessage *m = NULL;
	struct ttrpc_status st = { 0 };
	int r = stream__v1__streamer_chat_recv_sync(s, &m, &st);

	ck_assert_msg(r == 0 || r == -EREMOTEIO, "recv: %d", r);
	snprintf(why, size, "%s", st.message ? st.message : "");
	r = r == 0 ? 0 : st.code;
	ttrpc_status_clear(&st);
	return r;
}

/* Calls in flight in the daemon, this Stats call included. */
static uint64_t calls_in_flight(struct ttrpc_client *c)
{
	Ttrpcd__V1__StatsRequest req = TTRPCD__V1__STATS_REQUEST__INIT;
	Ttrpcd__V1__StatsResponse *resp;
	uint64_t n;

	ck_assert_int_eq(ttrpcd__v1__control_stats_sync(c, &req, NULL, &resp, NULL), 0);
	n = resp->calls_in_flight;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return n;
}

/* Reload through the control service: 0 or the status code, its message into @why. */
static int reload(struct ttrpc_client *c, char *why, size_t size)
{
	Ttrpcd__V1__ReloadRequest req = TTRPCD__V1__RELOAD_REQUEST__INIT;
	Ttrpcd__V1__ReloadResponse *resp = NULL;
	struct ttrpc_status st = { 0 };
	int r = ttrpcd__v1__control_reload_sync(c, &req, NULL, &resp, &st);

	snprintf(why, size, "%s", st.message ? st.message : "");
	if (r == 0)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	r = r == -EREMOTEIO ? st.code : r;
	ttrpc_status_clear(&st);
	return r;
}

START_TEST(test_count_and_chat)
{
	struct ttrpc_client *c;
	struct ttrpc_client_stream *s;
	char why[256];
	struct proc p;

	start(&p, "");
	c = client();
	s = count(c, 3);
	for (int64_t i = 1; i <= 3; i++)
		ck_assert_int_eq(next_tick(s, NULL, 0), i);
	ck_assert_int_eq(next_tick(s, NULL, 0), 0);
	ttrpc_client_stream_free_sync(s);

	s = chat(c);
	ck_assert_str_eq(say(s, "hello"), "hello");
	ck_assert_str_eq(say(s, ""), "");
	ck_assert_str_eq(say(s, "again"), "again");
	ck_assert_int_eq(ttrpc_client_stream_close_send(s), 0);
	ck_assert_int_eq(chat_end(s, why, sizeof(why)), 0);
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	stop(&p);
}
END_TEST

/*
 * A client that goes away mid-stream: the module finishes both calls
 * (Stats counts them no more) and frees their streams, which max-streams
 * would count otherwise.
 */
START_TEST(test_client_leaves)
{
	struct ttrpc_client *gone, *c;
	struct ttrpc_client_stream *s, *t, *d;
	char why[256];
	uint64_t n = 0;
	struct proc p;

	start(&p, "max-streams = 2\n");
	gone = client();
	c = client();
	s = count(gone, 0);
	ck_assert_int_eq(next_tick(s, NULL, 0), 1);
	t = chat(gone);
	ck_assert_str_eq(say(t, "x"), "x");
	d = count(c, 1);
	ck_assert_int_eq(next_tick(d, why, sizeof(why)), -TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(why, "max-streams (2) reached");
	ttrpc_client_stream_free_sync(d);
	ck_assert_uint_eq(calls_in_flight(c), 3);

	/* Nothing tells the server of a stream freed: it learns when the client goes. */
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_stream_free_sync(t);
	ttrpc_client_free(gone);
	for (int i = 0; i < WAIT_MS / 10 && (n = calls_in_flight(c)) != 1; i++)
		usleep(10000);
	ck_assert_uint_eq(n, 1);
	s = count(c, 1);
	ck_assert_int_eq(next_tick(s, NULL, 0), 1);
	ck_assert_int_eq(next_tick(s, NULL, 0), 0);
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	stop(&p);
}
END_TEST

/*
 * A raw client (the library's would read into a queue of its own as soon
 * as it runs its loop) asks for @n ticks on stream 1 and reads nothing yet.
 */
static int slow_count(uint64_t n)
{
	Stream__V1__CountRequest req = STREAM__V1__COUNT_REQUEST__INIT;
	int fd = peer_connect(path_in("sock"));

	ck_assert_int_ge(fd, 0);
	req.count = n;
	ck_assert_int_eq(peer_call_to(fd, 1, 0, STREAM__V1__STREAMER__NAME, "Count", &req.base), 0);
	return fd;
}

/*
 * Read the ticks of slow_count(), which must come in order from 1: the
 * last one into @last, and how the stream ended: 0 (OK) or its status
 * code, its message into @why.
 */
static int read_ticks(int fd, uint64_t *last, char *why, size_t size)
{
	struct peer_frame f = { 0 };
	Stream__V1__Tick *t;
	int code = -1;

	*last = 0;
	while (code < 0) {
		ck_assert_int_eq(peer_read(fd, &f, WAIT_MS), 1);
		ck_assert_uint_eq(f.id, 1);
		if (f.type == PEER_RESPONSE) {
			code = peer_status(&f, why, size);
		} else if (f.flags & PEER_NO_DATA) {
			ck_assert_uint_eq(f.flags, PEER_REMOTE_CLOSED | PEER_NO_DATA);
			code = 0;
		} else {
			ck_assert_int_eq(f.type, PEER_DATA);
			t = stream__v1__tick__unpack(NULL, f.length, f.payload);
			ck_assert_ptr_nonnull(t);
			if (t->n != *last + 1)
				ck_abort_msg("tick %llu after %llu", (unsigned long long)t->n,
					     (unsigned long long)*last);
			*last = t->n;
			stream__v1__tick__free_unpacked(t, NULL);
		}
		peer_frame_clear(&f);
	}
	return code;
}

/*
 * A client that reads nothing until the module found the output queue
 * full: Count waits for room, then every tick comes, in order.
 */
START_TEST(test_slow_reader)
{
	char why[256];
	uint64_t last;
	struct proc p;
	int fd;

	start(&p, "");
	fd = slow_count(SLOW_TICKS);
	ck_assert(log_wait(&p, "Count: the client reads slowly, waiting"));
	ck_assert_int_eq(read_ticks(fd, &last, why, sizeof(why)), 0);
	ck_assert_uint_eq(last, SLOW_TICKS);
	close(fd);
	stop(&p);
}
END_TEST

/*
 * A Chat client that writes and never reads: once the echoes it leaves
 * unread fill the connection's output queue, the module ends the stream
 * with RESOURCE_EXHAUSTED instead of queueing without bound, and the
 * daemon goes on serving.
 */
START_TEST(test_chat_never_read)
{
	Stream__V1__ChatMessage msg = STREAM__V1__CHAT_MESSAGE__INIT;
	const struct timeval send_limit = { .tv_sec = 10 };
	size_t text_len = 64 * 1024, len, sent = 0, echoes = 0;
	struct peer_frame f = { 0 };
	struct ttrpc_client *c;
	struct ttrpc_client_stream *s;
	uint8_t *buf;
	char why[256] = "", *text;
	int fd, code = -1;
	struct proc p;

	start(&p, "");
	fd = peer_connect(path_in("sock"));
	ck_assert_int_ge(fd, 0);
	/* The writes below stop when ttrpcd stops reading, if it ever does. */
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof(send_limit)),
			 0);
	ck_assert_int_eq(
		peer_call_to(fd, 1, PEER_REMOTE_OPEN, STREAM__V1__STREAMER__NAME, "Chat", NULL), 0);
	text = malloc(text_len + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', text_len);
	text[text_len] = '\0';
	msg.text = text;
	buf = malloc(stream__v1__chat_message__get_packed_size(&msg));
	ck_assert_ptr_nonnull(buf);
	len = stream__v1__chat_message__pack(&msg, buf);
	/* 4 MiB of messages: more than the 1 MiB queue and the socket hold. */
	while (sent < 64 &&
	       peer_send(fd, (uint32_t)len, 1, PEER_DATA, PEER_REMOTE_OPEN, buf, len) == 0)
		sent++;
	ck_assert_uint_gt(sent, 1024 * 1024 / text_len);
	while (code < 0) {
		ck_assert_int_eq(peer_read(fd, &f, WAIT_MS), 1);
		if (f.id != 1) {
			peer_frame_clear(&f);
			continue;
		}
		if (f.type == PEER_RESPONSE)
			code = peer_status(&f, why, sizeof(why));
		else if (f.flags & PEER_REMOTE_CLOSED)
			code = 0;
		else
			echoes++;
		peer_frame_clear(&f);
	}
	ck_assert_int_eq(code, TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(why, "the client does not read");
	ck_assert_uint_lt(echoes, sent);
	close(fd);
	free(buf);
	free(text);

	c = client();
	s = chat(c);
	ck_assert_str_eq(say(s, "still here"), "still here");
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	stop(&p);
}
END_TEST

/* max-streams as the reload sets it; a bad value fails the reload with the module's reason. */
START_TEST(test_reload)
{
	struct ttrpc_client *c;
	struct ttrpc_client_stream *a, *b, *d;
	char why[256];
	struct proc p;

	start(&p, "max-streams = 1\n");
	c = client();
	a = count(c, 0);
	ck_assert_int_eq(next_tick(a, NULL, 0), 1);
	b = count(c, 1);
	ck_assert_int_eq(next_tick(b, why, sizeof(why)), -TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(why, "max-streams (1) reached");
	ttrpc_client_stream_free_sync(b);

	stream_config("max-streams = 2\n");
	ck_assert_int_eq(reload(c, why, sizeof(why)), 0);
	b = chat(c);
	ck_assert_str_eq(say(b, "two open"), "two open");

	stream_config("max-streams = lots\n");
	ck_assert_int_eq(reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_msg(strstr(why, "max-streams = 'lots': not a number from 1 to 65536"),
		      "the reload said: %s", why);
	ck_assert(log_wait(&p, "max-streams = 'lots': not a number from 1 to 65536"));
	/* The running value stays 2. */
	d = count(c, 1);
	ck_assert_int_eq(next_tick(d, why, sizeof(why)), -TTRPC_RESOURCE_EXHAUSTED);
	ck_assert_str_eq(why, "max-streams (2) reached");
	ttrpc_client_stream_free_sync(d);
	ttrpc_client_stream_free_sync(a);
	ttrpc_client_stream_free_sync(b);
	ttrpc_client_free(c);
	stop(&p);
}
END_TEST

/*
 * SIGTERM with a Chat open and a Count paused by a reader that has not
 * read: both end UNAVAILABLE, the Count after every tick it queued, and
 * ttrpcd exits 0 without waiting for the drain timeout.
 */
START_TEST(test_stop)
{
	struct ttrpc_client *c;
	struct ttrpc_client_stream *t;
	char why[256];
	uint64_t last;
	struct proc p;
	int fd;

	start(&p, "");
	c = client();
	t = chat(c);
	ck_assert_str_eq(say(t, "before"), "before");
	fd = slow_count(0);
	ck_assert(log_wait(&p, "Count: the client reads slowly, waiting"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(chat_end(t, why, sizeof(why)), TTRPC_UNAVAILABLE);
	ck_assert_str_eq(why, "ttrpcd is stopping");
	ck_assert_int_eq(read_ticks(fd, &last, why, sizeof(why)), TTRPC_UNAVAILABLE);
	ck_assert_str_eq(why, "ttrpcd is stopping");
	ck_assert_uint_gt(last, 0);
	close(fd);
	ttrpc_client_stream_free_sync(t);
	ttrpc_client_free(c);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert(strstr(p.log, "all calls finished; exiting"));
}
END_TEST

/*
 * A reload that disables the module: its open streams end UNAVAILABLE,
 * it is unloaded at once (nothing left in flight), and new calls are
 * not routed to it.
 */
START_TEST(test_unload)
{
	struct ttrpc_client *c;
	struct ttrpc_client_stream *s, *t;
	char why[256];
	struct proc p;

	start(&p, "");
	c = client();
	t = chat(c);
	ck_assert_str_eq(say(t, "before"), "before");
	s = count(c, 0);
	ck_assert_int_eq(next_tick(s, NULL, 0), 1);

	stream_config(NULL);
	ck_assert_int_eq(reload(c, why, sizeof(why)), 0);
	ck_assert_int_eq(chat_end(t, why, sizeof(why)), TTRPC_UNAVAILABLE);
	ck_assert_str_eq(why, "the module is unloaded");
	while (next_tick(s, why, sizeof(why)) > 0)
		;
	ck_assert_str_eq(why, "the module is unloaded");
	ck_assert(log_wait(&p, "module 'stream' unloaded: its calls are over"));
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_stream_free_sync(t);
	s = count(c, 1);
	ck_assert_int_eq(next_tick(s, NULL, 0), -TTRPC_UNIMPLEMENTED);
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	stop(&p);
}
END_TEST

static Suite *stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_count_and_chat);
	tcase_add_test(tc, test_client_leaves);
	tcase_add_test(tc, test_slow_reader);
	tcase_add_test(tc, test_chat_never_read);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_unload);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stream_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
