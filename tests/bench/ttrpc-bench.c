/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpc-bench: a load generator on libttrpc's async client. C connections on
 * one event loop, K calls in flight on each, payload S bytes, for a duration
 * or a count of calls. Method echo (unary Echo), download (server-streaming
 * Download of N chunks of S bytes) or upload (client-streaming Upload of N
 * chunks of S bytes); a call of a stream is the whole stream. The payload
 * is lent to the library, which sends it without a copy (as the raw client
 * writes from its buffer).
 *
 * Prints calls/s and p50/p99/p99.9 latency, then one line for scripts:
 *   RESULT client=c server=NAME method=M conns=C inflight=K size=S calls=N errors=E
 *          secs=T rate=R p50_us=.. p99_us=.. p999_us=.. [chunks=.. chunk_rate=..]
 * Exit status 0 only if calls completed and none failed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "hist.h"
#include "interop.pb-c.h"

#define SERVICE "ttrpc.interop.v1.Interop"

struct bench;

/* One call slot: a connection keeps K of them busy. */
struct slot {
	struct bench *b;
	struct ttrpc_client *client;
	struct ttrpc_client_stream *upload; /* the stream being sent */
	uint64_t start_ns;
	uint32_t chunks;
};

enum method { ECHO, DOWNLOAD, UPLOAD };
static const char *const method_names[] = { "echo", "download", "upload" };

struct bench {
	struct event_base *base;
	enum method method;
	uint32_t size, n_chunks;
	uint64_t max_calls;
	uint64_t issued, done, errors, in_flight, chunks;
	uint64_t t0_ns, t_end_ns;
	bool stopping;
	Ttrpc__Interop__V1__EchoRequest echo;
	Ttrpc__Interop__V1__StreamRequest stream;
	Ttrpc__Interop__V1__Chunk chunk;
	struct hist hist;
	char first_error[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Counts an error; the first one is kept for the report. */
static TTRPC_PRINTF(2, 3) void record_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->errors++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof(b->first_error), fmt, ap);
	va_end(ap);
}

/* Marks the end of the measured window: later completions only drain. */
static void stop(struct bench *b)
{
	if (b->stopping)
		return;
	b->stopping = true;
	b->t_end_ns = now_ns();
}

static void start_call(struct slot *s);

static void call_done(struct slot *s, const struct ttrpc_result *res)
{
	struct bench *b = s->b;

	b->in_flight--;
	if (res->error)
		record_error(b, "transport error %d: %s", res->error, strerror(-res->error));
	else if (res->code != TTRPC_OK)
		record_error(b, "status %d: %s", res->code, res->message);
	else if (b->method != ECHO && s->chunks != b->n_chunks)
		record_error(b, "%s: %" PRIu32 " chunks of %" PRIu32, method_names[b->method],
			     s->chunks, b->n_chunks);
	else if (!b->stopping) {
		hist_add(&b->hist, now_ns() - s->start_ns);
		b->done++;
		b->chunks += s->chunks;
		if (b->max_calls && b->done >= b->max_calls)
			stop(b);
	}
	/* A slot that failed is not reused: its connection is likely gone. */
	if (!b->stopping && !res->error && res->code == TTRPC_OK)
		start_call(s);
	if (b->in_flight == 0) {
		stop(b);
		event_base_loopbreak(b->base);
	}
}

static void on_echo(const struct ttrpc_result *res, void *arg)
{
	struct slot *s = arg;
	const Ttrpc__Interop__V1__EchoResponse *resp = (const void *)res->response;

	if (!res->error && res->code == TTRPC_OK && resp->payload.len != s->b->size) {
		struct ttrpc_result bad = *res;

		bad.code = TTRPC_DATA_LOSS;
		bad.message = "echo: payload length differs";
		call_done(s, &bad);
		return;
	}
	call_done(s, res);
}

static void on_chunk(struct ttrpc_client_stream *st, const ProtobufCMessage *msg, void *arg)
{
	const Ttrpc__Interop__V1__Chunk *chunk = (const void *)msg;
	struct slot *s = arg;

	/* A short chunk is not counted: the call then fails on its count. */
	if (chunk->payload.len == s->b->size)
		s->chunks++;
}

static void on_stream_done(struct ttrpc_client_stream *st, const struct ttrpc_result *res,
			   void *arg)
{
	call_done(arg, res);
}

static const struct ttrpc_stream_handlers download_handlers = {
	.on_message = on_chunk,
	.on_done = on_stream_done,
};

static void on_upload_done(struct ttrpc_client_stream *st, const struct ttrpc_result *res,
			   void *arg)
{
	const Ttrpc__Interop__V1__Summary *sum = (const void *)res->response;
	struct slot *s = arg;

	s->upload = NULL;
	/* The chunk count is checked by call_done: a wrong summary zeroes it. */
	if (!res->error && res->code == TTRPC_OK &&
	    (sum->count != s->chunks || sum->bytes != (uint64_t)s->chunks * s->b->size))
		s->chunks = 0;
	call_done(s, res);
}

/* Send chunks until all are sent or the output is full, then close. */
static void upload_pump(struct ttrpc_client_stream *st, void *arg)
{
	struct slot *s = arg;
	struct bench *b = s->b;
	int r = 0;

	while (s->chunks < b->n_chunks) {
		b->chunk.index = s->chunks;
		r = ttrpc_client_stream_send(st, &b->chunk.base);
		if (r < 0)
			break;
		s->chunks++;
	}
	if (r == -EAGAIN)
		return;
	if (r == 0)
		r = ttrpc_client_stream_close_send(st);
	if (r < 0) {
		record_error(b, "upload: send: %s", strerror(-r));
		ttrpc_client_stream_cancel(st);
	}
}

static const struct ttrpc_stream_handlers upload_handlers = {
	.on_done = on_upload_done,
	.on_writable = upload_pump,
};

static void start_call(struct slot *s)
{
	struct bench *b = s->b;
	int r;

	/* With a count, issue no more than it: the last calls need not wait. */
	if (b->max_calls && b->issued >= b->max_calls)
		return;
	s->start_ns = now_ns();
	s->chunks = 0;
	switch (b->method) {
	case DOWNLOAD: {
		struct ttrpc_client_stream *st;

		r = ttrpc_client_stream_open(
			s->client, SERVICE, "Download", TTRPC_METHOD_SERVER_STREAM, &b->stream.base,
			&ttrpc__interop__v1__chunk__descriptor, NULL, &download_handlers, s, &st);
		break;
	}
	case UPLOAD:
		r = ttrpc_client_stream_open(s->client, SERVICE, "Upload",
					     TTRPC_METHOD_CLIENT_STREAM, NULL,
					     &ttrpc__interop__v1__summary__descriptor, NULL,
					     &upload_handlers, s, &s->upload);
		break;
	default:
		r = ttrpc_client_call(s->client, SERVICE, "Echo", &b->echo.base,
				      &ttrpc__interop__v1__echo_response__descriptor, NULL, on_echo,
				      s, NULL);
		break;
	}
	if (r < 0) {
		record_error(b, "cannot start a call: %d %s", r, strerror(-r));
		return;
	}
	b->issued++;
	b->in_flight++;
	if (b->method == UPLOAD)
		upload_pump(s->upload, s);
}

/* The payload is lent to every connection and freed after them all. */
static void keep(void *payload)
{
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	stop(b);
	if (b->in_flight == 0)
		event_base_loopbreak(b->base);
}

/* Sizes as bytes, with an optional K or M suffix (binary). */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end)
		return -1;
	*ret = v;
	return 0;
}

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s -s PATH [options]\n"
		"  -s, --socket PATH     the server's unix socket\n"
		"  -c, --conns C         connections (default 1)\n"
		"  -k, --inflight K      calls in flight per connection (default 1)\n"
		"  -S, --size S          payload bytes, or chunk bytes for download; K/M suffix (64)\n"
		"  -m, --method M        echo, download or upload (default echo)\n"
		"  -N, --chunks N        chunks per download or upload (default 10000)\n"
		"  -d, --duration SECS   measured time (default 3)\n"
		"  -n, --count N         stop after N calls instead\n"
		"  -w, --warmup SECS     unmeasured calls first (default 0)\n"
		"  -l, --server-name X   server name for the RESULT line (default ?)\n"
		"      --hold            then keep the connections open until killed\n",
		argv0);
}

/* One measured (or warmup) pass: every slot busy until the deadline or the count. */
static void run(struct bench *b, struct slot *slots, size_t n_slots, struct event *deadline,
		double secs)
{
	struct timeval tv = { (time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6) };

	b->stopping = false;
	b->issued = b->done = b->chunks = 0;
	hist_reset(&b->hist);
	if (!b->max_calls)
		evtimer_add(deadline, &tv);
	b->t0_ns = now_ns();
	for (size_t i = 0; i < n_slots; i++)
		start_call(&slots[i]);
	if (b->in_flight == 0)
		stop(b);
	else
		event_base_dispatch(b->base);
	evtimer_del(deadline);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "inflight", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 'S' },
		{ "method", required_argument, NULL, 'm' },
		{ "chunks", required_argument, NULL, 'N' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "server-name", required_argument, NULL, 'l' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL, *server_name = "?";
	unsigned long conns = 1, inflight = 1;
	double duration = 3, warmup = 0, secs;
	uint64_t size = 64, n_chunks = 10000, count = 0;
	bool hold = false;
	struct bench b = { 0 };
	struct slot *slots;
	struct event *deadline;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:c:k:S:m:N:d:n:w:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'c':
			conns = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			inflight = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			if (parse_size(optarg, &size) < 0 || size > TTRPC_MAX_MESSAGE_SIZE)
				goto bad;
			break;
		case 'm':
			if (strcmp(optarg, "download") == 0)
				b.method = DOWNLOAD;
			else if (strcmp(optarg, "upload") == 0)
				b.method = UPLOAD;
			else if (strcmp(optarg, "echo") != 0)
				goto bad;
			break;
		case 'N':
			if (parse_size(optarg, &n_chunks) < 0 || n_chunks > UINT32_MAX)
				goto bad;
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'n':
			if (parse_size(optarg, &count) < 0)
				goto bad;
			break;
		case 'w':
			warmup = strtod(optarg, NULL);
			break;
		case 'l':
			server_name = optarg;
			break;
		case 'H':
			hold = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			goto bad;
		}
	}
	if (!path || optind != argc || conns == 0 || inflight == 0 || duration <= 0 || warmup < 0)
		goto bad;
	signal(SIGPIPE, SIG_IGN);

	b.size = (uint32_t)size;
	b.n_chunks = (uint32_t)n_chunks;
	ttrpc__interop__v1__echo_request__init(&b.echo);
	ttrpc__interop__v1__stream_request__init(&b.stream);
	ttrpc__interop__v1__chunk__init(&b.chunk);
	b.echo.payload.len = size;
	b.echo.payload.data = malloc(size ? size : 1);
	b.stream.count = b.n_chunks;
	b.stream.size = b.size;
	slots = calloc(conns * inflight, sizeof(*slots));
	b.base = event_base_new();
	deadline = b.base ? evtimer_new(b.base, on_deadline, &b) : NULL;
	if (!b.echo.payload.data || !slots || !deadline) {
		fprintf(stderr, "ttrpc-bench: out of memory\n");
		return 1;
	}
	for (uint64_t i = 0; i < size; i++)
		b.echo.payload.data[i] = (uint8_t)(i * 7 % 251);
	b.chunk.payload = b.echo.payload;

	for (unsigned long i = 0; i < conns; i++) {
		struct ttrpc_client *client;

		r = ttrpc_client_connect(b.base, path, &client);
		if (r == 0)
			r = ttrpc_client_lend(client, b.echo.payload.data, size, keep, NULL);
		if (r < 0) {
			fprintf(stderr, "ttrpc-bench: connection %lu to %s: %s\n", i, path,
				strerror(-r));
			return 1;
		}
		for (unsigned long k = 0; k < inflight; k++) {
			slots[i * inflight + k].b = &b;
			slots[i * inflight + k].client = client;
		}
	}

	/* The warmup runs the same loop and throws its figures away. */
	if (warmup > 0)
		run(&b, slots, conns * inflight, deadline, warmup);
	b.max_calls = count;
	run(&b, slots, conns * inflight, deadline, duration);

	secs = (double)(b.t_end_ns - b.t0_ns) / 1e9;
	printf("%s %s to %s: %lu conns x %lu in flight, %" PRIu64 " B%s\n", method_names[b.method],
	       path, server_name, conns, inflight, size, b.method != ECHO ? " chunks" : "");
	printf("  %" PRIu64 " calls in %.3f s: %.0f calls/s", b.done, secs, b.done / secs);
	if (b.method != ECHO)
		printf(", %.0f chunks/s, %.1f MiB/s", b.chunks / secs,
		       b.chunks * (double)size / secs / (1 << 20));
	printf("\n  latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
	       hist_quantile(&b.hist, 0.5) / 1e3, hist_quantile(&b.hist, 0.99) / 1e3,
	       hist_quantile(&b.hist, 0.999) / 1e3, hist_quantile(&b.hist, 1) / 1e3);
	if (b.errors)
		printf("  %" PRIu64 " errors; the first: %s\n", b.errors, b.first_error);
	printf("RESULT client=c server=%s method=%s conns=%lu inflight=%lu size=%" PRIu64
	       " calls=%" PRIu64 " errors=%" PRIu64 " secs=%.3f rate=%.1f p50_us=%.1f"
	       " p99_us=%.1f p999_us=%.1f",
	       server_name, method_names[b.method], conns, inflight, size, b.done, b.errors, secs,
	       b.done / secs, hist_quantile(&b.hist, 0.5) / 1e3, hist_quantile(&b.hist, 0.99) / 1e3,
	       hist_quantile(&b.hist, 0.999) / 1e3);
	if (b.method != ECHO)
		printf(" chunks=%" PRIu64 " chunk_rate=%.1f", b.chunks, b.chunks / secs);
	printf("\n");
	fflush(stdout);

	/* For the per-connection cost: the server's RSS is read meanwhile. */
	if (hold) {
		printf("holding %lu connections\n", conns);
		fflush(stdout);
		pause();
	}
	r = b.done > 0 && b.errors == 0 ? 0 : 1;
	/* Calls still in flight end here, after the figures were taken. */
	b.stopping = true;
	for (unsigned long i = 0; i < conns; i++)
		ttrpc_client_free(slots[i * inflight].client);
	event_free(deadline);
	event_base_free(b.base);
	free(slots);
	free(b.echo.payload.data);
	return r;
bad:
	usage(stderr, argv[0]);
	return 2;
}
