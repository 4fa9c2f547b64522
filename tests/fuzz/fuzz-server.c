/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a whole server connection fed arbitrary bytes. A
 * ttrpc_server serves the interop service, a streaming service of every
 * kind ("test.Streams", as the loopback suite registers it) and an
 * interceptor, on one end of a socketpair adopted as a connection; the
 * input is written to the other end. Afterwards everything is freed, and
 * LeakSanitizer checks that nothing remains.
 *
 * Input: byte 0 holds options (below), the rest is the byte stream.
 * TTRPC_FUZZ_MASK=0xNN in the environment clears option bits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "fuzz-peer.h"
#include "interop-service.h"
#include "interop-streams.h"
#include "interop.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Option bits of byte 0. */
#define OPT_CHUNK(o) ((o)&3)        /* bytes per write: all, 1, 7, 61 */
#define OPT_END(o) (((o) >> 2) & 3) /* how the connection ends, see end_names */
#define OPT_SMALL_MESSAGE 0x10      /* 100-byte message limit */
#define OPT_TIGHT \
	0x20                  /* 3 calls and 1 stream in flight; with END_HALF,
                                          * 1 ms frame and idle timeouts too */
#define OPT_OUTPUT_LIMIT 0x40 /* 2 KiB output queue: the connection is dropped */
#define OPT_NO_READ 0x80      /* the peer never reads its answers */

enum {
	END_EOF,      /* the peer closes; the server notices */
	END_SHUTDOWN, /* graceful shutdown, then the peer closes */
	END_FREE,     /* ttrpc_server_free() with everything live */
	END_HALF,     /* the peer shuts its write side; the server may still answer */
};

static const size_t chunk_sizes[4] = { 0, 1, 7, 61 };

/* Option bits that TTRPC_FUZZ_MASK turns off, so that fuzzing can go on
 * past a known crash that needs them until it is fixed. */
static uint8_t masked;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *mask = getenv("TTRPC_FUZZ_MASK");

	if (mask)
		masked = (uint8_t)strtoul(mask, NULL, 0);
	return 0;
}

/*
 * Download as the interop contract has it, with the request clamped: the
 * contract allocates size bytes and sends count chunks, which an input could
 * set to 4 GiB. 48 chunks of 32 KiB still pass the output's high watermark.
 */
static void on_download(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	Ttrpc__Interop__V1__StreamRequest req = *(const Ttrpc__Interop__V1__StreamRequest *)msg;

	if (req.count > 48)
		req.count = 48;
	if (req.size > 32768)
		req.size = 32768;
	interop_download(call, &req.base, userdata);
}

/* Never ends by itself: a stream left open until the connection goes. */
static void hold_message(struct ttrpc_call *call, const ProtobufCMessage *msg, void *arg)
{
}

static void hold_end(struct ttrpc_call *call, void *arg)
{
}

static void hold_cancel(struct ttrpc_call *call, int code, void *arg)
{
	ttrpc_call_fail(call, code, "held");
}

static void on_hold(struct ttrpc_call *call, const ProtobufCMessage *req, void *userdata)
{
	ttrpc_call_on_message(call, hold_message, hold_end, NULL);
	ttrpc_call_on_cancel(call, hold_cancel, NULL);
}

/*
 * Answers from the loop, never from a callback: the end when the client has
 * closed its side, the failure when cancelled. A call still waiting at
 * ttrpc_server_free() is orphaned and finished after it.
 */
struct later {
	struct ttrpc_call *call;
	struct event *ev;
	bool cancelled;
};

static void later_fire(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	if (l->cancelled)
		ttrpc_call_fail(l->call, TTRPC_CANCELLED, "later");
	else
		ttrpc_call_end(l->call);
	event_free(l->ev);
	free(l);
}

static void later_schedule(struct later *l)
{
	static const struct timeval now = { 0, 0 };

	if (!event_pending(l->ev, EV_TIMEOUT, NULL))
		FUZZ_CHECK(evtimer_add(l->ev, &now) == 0);
}

static void later_end(struct ttrpc_call *call, void *arg)
{
	later_schedule(arg);
}

static void later_cancel(struct ttrpc_call *call, int code, void *arg)
{
	struct later *l = arg;

	l->cancelled = true;
	later_schedule(l);
}

static void on_later(struct ttrpc_call *call, const ProtobufCMessage *req, void *userdata)
{
	struct later *l = calloc(1, sizeof(*l));

	FUZZ_CHECK(l);
	l->call = call;
	l->ev = evtimer_new(ttrpc_call_base(call), later_fire, l);
	FUZZ_CHECK(l->ev);
	ttrpc_call_on_message(call, hold_message, later_end, l);
	ttrpc_call_on_cancel(call, later_cancel, l);
}

static const struct ttrpc_method stream_methods[] = {
	TTRPC_SERVER_STREAM("Download", &ttrpc__interop__v1__stream_request__descriptor,
			    &ttrpc__interop__v1__chunk__descriptor, on_download),
	TTRPC_CLIENT_STREAM("Upload", &ttrpc__interop__v1__chunk__descriptor,
			    &ttrpc__interop__v1__summary__descriptor, interop_upload),
	TTRPC_BIDI_STREAM("Chat", &ttrpc__interop__v1__chunk__descriptor,
			  &ttrpc__interop__v1__chunk__descriptor, interop_chat),
	TTRPC_BIDI_STREAM("Hold", &ttrpc__interop__v1__chunk__descriptor,
			  &ttrpc__interop__v1__chunk__descriptor, on_hold),
	TTRPC_BIDI_STREAM("Later", &ttrpc__interop__v1__chunk__descriptor,
			  &ttrpc__interop__v1__chunk__descriptor, on_later),
	TTRPC_METHODS_END,
};

/*
 * Metadata "fuzz" steers the interceptor: "deny" refuses by return value,
 * "fail" finishes the call itself, "reply" answers a unary call before its
 * handler runs (a wrong-type reply for anything else).
 */
static int on_call(struct ttrpc_call *call, void *userdata)
{
	const char *v = ttrpc_call_metadata_get(call, "fuzz");

	/* What a handler may ask of any call, before it has started. */
	FUZZ_CHECK(ttrpc_call_service(call) && ttrpc_call_method(call));
	FUZZ_CHECK(ttrpc_call_kind(call) <= TTRPC_METHOD_BIDI_STREAM);
	FUZZ_CHECK(!ttrpc_call_is_cancelled(call));
	FUZZ_CHECK(!ttrpc_call_deadline(call) ||
		   ttrpc_call_deadline(call) >= ttrpc_call_arrival(call));
	if (!v)
		return 0;
	if (strcmp(v, "deny") == 0)
		return 1;
	if (strcmp(v, "fail") == 0) {
		ttrpc_call_fail(call, TTRPC_PERMISSION_DENIED, "interceptor says %s", v);
		return 1;
	}
	if (strcmp(v, "reply") == 0) {
		Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;

		ttrpc_call_reply(call, &empty.base);
		return 1;
	}
	return 0;
}

static void on_done(struct ttrpc_call *call, int code, void *userdata)
{
	unsigned *done = userdata;

	(*done)++;
}

static void quiet_log(int level, const char *msg, void *userdata)
{
}

static void on_shutdown(struct ttrpc_server *srv, bool drained, void *userdata)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttrpc_server_interceptor ic = { .on_call = on_call, .on_done = on_done };
	struct ttrpc_server_stats st;
	struct event_base *base;
	struct ttrpc_server *srv;
	struct fuzz_peer peer;
	unsigned done = 0;
	bool timeouts;
	size_t max_iter;
	uint8_t opt;
	int fd;

	if (size < 1)
		return 0;
	opt = data[0] & ~masked;

	base = fuzz_base_new();
	FUZZ_CHECK(ttrpc_server_new(base, &srv) == 0);
	ttrpc_server_set_log(srv, quiet_log, NULL);
	FUZZ_CHECK(interop_service_register(srv) == 0);
	FUZZ_CHECK(ttrpc_server_register(srv, "test.Streams", stream_methods, NULL) == 0);
	ic.userdata = &done;
	FUZZ_CHECK(ttrpc_server_add_interceptor(srv, &ic) == 0);
	if (opt & OPT_SMALL_MESSAGE)
		FUZZ_CHECK(ttrpc_server_set_limit(srv, TTRPC_LIMIT_MESSAGE_SIZE, 100) == 0);
	if (opt & OPT_TIGHT) {
		FUZZ_CHECK(ttrpc_server_set_limit(srv, TTRPC_LIMIT_CALLS_PER_CONNECTION, 3) == 0);
		FUZZ_CHECK(ttrpc_server_set_limit(srv, TTRPC_LIMIT_STREAMS_PER_CONNECTION, 1) == 0);
	}
	/* Only in one mode of eight: waiting for the timers costs 2 ms a run. */
	timeouts = (opt & OPT_TIGHT) && OPT_END(opt) == END_HALF;
	if (timeouts) {
		FUZZ_CHECK(ttrpc_server_set_limit(srv, TTRPC_LIMIT_FRAME_TIMEOUT_MS, 1) == 0);
		FUZZ_CHECK(ttrpc_server_set_limit(srv, TTRPC_LIMIT_IDLE_TIMEOUT_MS, 1) == 0);
	}
	if (opt & OPT_OUTPUT_LIMIT)
		FUZZ_CHECK(ttrpc_server_set_limit(srv, TTRPC_LIMIT_OUTPUT_QUEUE, 2048) == 0);

	fuzz_peer_open(&peer, &fd, data + 1, size - 1);
	peer.chunk = chunk_sizes[OPT_CHUNK(opt)];
	peer.no_read = opt & OPT_NO_READ;
	FUZZ_CHECK(ttrpc_server_adopt_conn(srv, fd) == 0);

	/* One iteration per chunk, and room for streams to flow out. */
	max_iter = (peer.chunk ? size / peer.chunk : 1) + 256;
	fuzz_peer_run(&peer, base, max_iter);

	switch (OPT_END(opt)) {
	case END_EOF:
		fuzz_peer_close(&peer);
		fuzz_peer_run(&peer, base, 64);
		/* A closed connection leaves no call in flight, whatever it held. */
		ttrpc_server_get_stats(srv, &st);
		FUZZ_CHECK(st.connections > 0 || st.calls_in_flight == 0);
		break;
	case END_SHUTDOWN:
		FUZZ_CHECK(ttrpc_server_shutdown(srv, 0, on_shutdown, NULL) == 0);
		fuzz_peer_run(&peer, base, 256);
		fuzz_peer_close(&peer);
		fuzz_peer_run(&peer, base, 64);
		break;
	case END_FREE:
		break;
	case END_HALF:
		if (timeouts) {
			/* A frame cut short, or nothing in flight: either timer fires. */
			static const struct timeval wait = { 0, 2000 };

			event_base_loopexit(base, &wait);
			event_base_dispatch(base);
		}
		fuzz_peer_shutdown_write(&peer);
		fuzz_peer_run(&peer, base, 256);
		break;
	}
	/* Every decided call was seen once by the interceptor; protocol errors
	 * answered without a call are counted in calls_total as well. */
	ttrpc_server_get_stats(srv, &st);
	FUZZ_CHECK(done <= st.calls_total);

	ttrpc_server_free(srv);
	fuzz_peer_close(&peer);
	/* Calls of "Later" finish now, orphaned. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	return 0;
}
