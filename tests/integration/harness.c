/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test harness of the loopback suites: one libevent loop, a server with
 * the interop service on a fresh socket, and a raw peer that writes and reads
 * frames byte by byte.
 */
#include <check.h>
#include <errno.h>
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

#include "harness.h"
#include "interop-service.h"

struct event_base *base;
struct ttrpc_server *srv;
char sock_path[108];
char dir_path[64];

/* Log lines of the server, so tests can assert the documented ones. */
char logbuf[8192];

static void capture_log(int level, const char *msg, void *arg)
{
	size_t used = strlen(logbuf);

	snprintf(logbuf + used, sizeof(logbuf) - used, "<%d>%s\n", level, msg);
}

/* ---- running the loop until something happened ---- */

bool timed_out;

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	timed_out = true;
}

/* Run the loop until *flag is set; fail the test after @ms milliseconds. */
void run_until(const bool *flag, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	struct event *guard = evtimer_new(base, on_guard, NULL);

	timed_out = false;
	evtimer_add(guard, &tv);
	while (!*flag && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	ck_assert_msg(*flag, "timed out after %d ms", ms);
}

/* Run the loop for @ms milliseconds. */
void run_for(int ms)
{
	bool never = false;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	struct event *guard = evtimer_new(base, on_guard, NULL);

	timed_out = false;
	evtimer_add(guard, &tv);
	while (!never && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
}

/* ---- fixture: a server with the interop service on a fresh socket ---- */

void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	strcpy(dir_path, "/tmp/ttrpc-loopback-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir_path));
	snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir_path);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
	logbuf[0] = '\0';
	ttrpc_server_set_log(srv, capture_log, NULL);
	ck_assert_int_eq(interop_service_register(srv), 0);
	ck_assert_int_eq(ttrpc_server_listen_unix(srv, sock_path, 0660), 0);
}

void teardown(void)
{
	ttrpc_server_free(srv);
	srv = NULL;
	/* the server unlinks the socket it bound */
	ck_assert_int_eq(access(sock_path, F_OK), -1);
	/* and a test leaves nothing else behind */
	ck_assert_msg(rmdir(dir_path) == 0, "rmdir %s: %s", dir_path, strerror(errno));
	event_base_free(base);
}

struct ttrpc_client *connect_client(void)
{
	struct ttrpc_client *c;

	ck_assert_int_eq(ttrpc_client_connect(base, sock_path, &c), 0);
	return c;
}

struct ttrpc_server_stats stats(void)
{
	struct ttrpc_server_stats st;

	ttrpc_server_get_stats(srv, &st);
	return st;
}

/* ---- a raw peer: frames written and read byte by byte ---- */

static void raw_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct raw *r = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		r->eof = true;
}

struct raw *raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct raw *r = calloc(1, sizeof(*r));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	evutil_make_socket_nonblocking(fd);
	r->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(r->bev, NULL, NULL, raw_on_event, r);
	bufferevent_enable(r->bev, EV_READ);
	return r;
}

void raw_free(struct raw *r)
{
	bufferevent_free(r->bev);
	free(r);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void raw_send(struct raw *r, uint32_t length, uint32_t id, uint8_t type, uint8_t flags,
	      const void *payload, size_t n)
{
	uint8_t h[10];

	put32(h, length);
	put32(h + 4, id);
	h[8] = type;
	h[9] = flags;
	bufferevent_write(r->bev, h, sizeof(h));
	if (n)
		bufferevent_write(r->bev, payload, n);
}

/* Pack a ttrpc.Request for the interop service (inner message packed by the caller). */
void raw_request(struct raw *r, uint32_t id, const char *method, const void *payload, size_t n)
{
	uint8_t buf[512];
	size_t len = 0;
	const char *svc = SVC;

	buf[len++] = 0x0a;
	buf[len++] = (uint8_t)strlen(svc);
	memcpy(buf + len, svc, strlen(svc));
	len += strlen(svc);
	buf[len++] = 0x12;
	buf[len++] = (uint8_t)strlen(method);
	memcpy(buf + len, method, strlen(method));
	len += strlen(method);
	if (n) {
		buf[len++] = 0x1a;
		buf[len++] = (uint8_t)n;
		memcpy(buf + len, payload, n);
		len += n;
	}
	raw_send(r, (uint32_t)len, id, 1, 0, buf, len);
}

/* Wait for the next frame (or EOF: returns false). */
bool raw_next(struct raw *r, struct frame *f, int ms)
{
	struct evbuffer *in = bufferevent_get_input(r->bev);
	uint8_t h[10];

	for (int waited = 0; waited < ms; waited += 5) {
		if (evbuffer_get_length(in) >= 10) {
			evbuffer_copyout(in, h, 10);
			f->length = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
			f->id = (uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7];
			f->type = h[8];
			f->flags = h[9];
			if (evbuffer_get_length(in) >= 10 + f->length) {
				evbuffer_drain(in, 10);
				f->payload = malloc(f->length + 1);
				evbuffer_remove(in, f->payload, f->length);
				return true;
			}
		}
		if (r->eof)
			return false;
		run_for(5);
	}
	ck_abort_msg("no frame within %d ms", ms);
	return false;
}

/* Expect a status Response on @id with @code and a message starting with @prefix. */
void raw_expect_status(struct raw *r, uint32_t id, int code, const char *prefix)
{
	struct frame f;
	struct {
		int code;
		char *message;
	} got = { 0, NULL };
	/* Response { Status status = 1 { code = 1; message = 2 } }: decode by hand,
	 * the library's envelope types are not public. */
	size_t i = 0, end;

	ck_assert(raw_next(r, &f, 5000));
	ck_assert_uint_eq(f.type, 2);
	ck_assert_uint_eq(f.id, id);
	ck_assert_uint_eq(f.payload[i++], 0x0a);
	end = i + 1 + f.payload[i];
	i++;
	while (i < end) {
		uint8_t tag = f.payload[i++];

		if (tag == 0x08) {
			got.code = f.payload[i++];
		} else if (tag == 0x12) {
			size_t n = f.payload[i++];

			if (n & 0x80)
				n = (n & 0x7f) | (size_t)f.payload[i++] << 7;
			got.message = strndup((char *)f.payload + i, n);
			i += n;
		} else {
			ck_abort_msg("unexpected tag 0x%x in status", tag);
		}
	}
	ck_assert_int_eq(got.code, code);
	ck_assert_ptr_nonnull(got.message);
	ck_assert_msg(strncmp(got.message, prefix, strlen(prefix)) == 0,
		      "message \"%s\" does not start with \"%s\"", got.message, prefix);
	free(got.message);
	free(f.payload);
}

/* A well-formed Echo on the same raw connection still works. */
void raw_expect_echo_works(struct raw *r, uint32_t id)
{
	static const uint8_t echo_payload[] = { 0x12, 0x02, 'o', 'k' }; /* text = "ok" */
	struct frame f;

	raw_request(r, id, "Echo", echo_payload, sizeof(echo_payload));
	ck_assert(raw_next(r, &f, 5000));
	ck_assert_uint_eq(f.type, 2);
	ck_assert_uint_eq(f.id, id);
	/* 0a 00 (OK status) 12 04 (payload) 12 02 'o' 'k' */
	ck_assert_uint_eq(f.length, 8);
	ck_assert_mem_eq(f.payload, "\x0a\x00\x12\x04\x12\x02ok", 8);
	free(f.payload);
}
