/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seeds of the frame, server and client fuzz targets into
 * DIR/fuzz-frame, DIR/fuzz-server and DIR/fuzz-client: real frames,
 * packed by protobuf-c, for each thing a peer may send. Run by
 * `make fuzz-corpus` (in a --enable-fuzzing build) after a change of the
 * wire format or of the targets' option bytes.
 *
 * usage: make-corpus DIR
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frame.h"
#include "interop.pb-c.h"
#include "proto/google/rpc/status.pb-c.h"
#include "proto/ttrpc/request.pb-c.h"

#define SVC "ttrpc.interop.v1.Interop"
#define STREAMS "test.Streams"

/* The targets' option bytes (fuzz-server.c, fuzz-client.c). */
#define S_CHUNK1 0x01
#define S_CHUNK7 0x02
#define S_CHUNK61 0x03
#define S_SHUTDOWN (1 << 2)
#define S_FREE (2 << 2)
#define S_HALF (3 << 2)
#define S_SMALL_MESSAGE 0x10
#define S_TIGHT 0x20
#define S_OUTPUT_LIMIT 0x40
#define S_NO_READ 0x80
#define C_CHUNK1 0x01
#define C_CHUNK61 0x03
#define C_FREE_IN_CB 0x04
#define C_CANCEL_SELF 0x08
#define C_CANCEL_OTHER 0x10
#define C_SEND_MORE 0x20
#define C_CLOSE_SEND 0x40
#define C_EOF 0x80

#define F_RC 0x1 /* remote closed */
#define F_RO 0x2 /* remote open */
#define F_ND 0x4 /* no data */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("realloc");
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void header(struct buf *b, uint32_t len, uint32_t id, uint8_t type, uint8_t flags)
{
	struct ttrpc__frame_header h = {
		.length = len, .stream_id = id, .type = type, .flags = flags
	};
	uint8_t raw[TTRPC__HEADER_SIZE];

	ttrpc__frame_header_encode(&h, raw);
	put(b, raw, sizeof(raw));
}

static void frame(struct buf *b, uint32_t id, uint8_t type, uint8_t flags, const void *p, size_t n)
{
	header(b, (uint32_t)n, id, type, flags);
	if (n)
		put(b, p, n);
}

/* Pack @m into a fresh array; *len receives its size. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *p;

	*len = protobuf_c_message_get_packed_size(m);
	p = malloc(*len ? *len : 1);
	if (!p)
		die("malloc");
	protobuf_c_message_pack(m, p);
	return p;
}

static void message_frame(struct buf *b, uint32_t id, uint8_t type, uint8_t flags,
			  const ProtobufCMessage *m)
{
	size_t len;
	uint8_t *p = pack(m, &len);

	frame(b, id, type, flags, p, len);
	free(p);
}

struct req_opts {
	const char *service; /* default SVC */
	int64_t timeout_nano;
	const char *md_key, *md_value;
	const uint8_t *raw; /* a payload that is not @in packed */
	size_t raw_len;
};

/* A Request frame; @in NULL and no raw payload: no payload field. */
static void request(struct buf *b, uint32_t id, uint8_t flags, const char *method,
		    const ProtobufCMessage *in, const struct req_opts *o)
{
	static const struct req_opts none;
	Ttrpc__Request r = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__KeyValue *kvp = &kv;
	uint8_t *payload = NULL;

	if (!o)
		o = &none;
	r.service = (char *)(o->service ? o->service : SVC);
	r.method = (char *)method;
	r.timeout_nano = o->timeout_nano;
	if (o->md_key) {
		kv.key = (char *)o->md_key;
		kv.value = (char *)o->md_value;
		r.n_metadata = 1;
		r.metadata = &kvp;
	}
	if (o->raw) {
		r.payload.data = (uint8_t *)o->raw;
		r.payload.len = o->raw_len;
	} else if (in) {
		payload = pack(in, &r.payload.len);
		r.payload.data = payload;
	}
	message_frame(b, id, TTRPC__TYPE_REQUEST, flags, &r.base);
	free(payload);
}

/* A Response frame: @code with @message, or OK with @out as payload. */
static void response(struct buf *b, uint32_t id, int code, const char *message,
		     const ProtobufCMessage *out)
{
	Ttrpc__Response r = TTRPC__RESPONSE__INIT;
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	uint8_t *payload = NULL;

	st.code = code;
	st.message = (char *)(message ? message : "");
	r.status = &st;
	if (out) {
		payload = pack(out, &r.payload.len);
		r.payload.data = payload;
	}
	message_frame(b, id, TTRPC__TYPE_RESPONSE, 0, &r.base);
	free(payload);
}

static void data(struct buf *b, uint32_t id, uint8_t flags, const ProtobufCMessage *m)
{
	if (m)
		message_frame(b, id, TTRPC__TYPE_DATA, flags, m);
	else
		frame(b, id, TTRPC__TYPE_DATA, flags, NULL, 0);
}

static const char *out_dir;

static void write_file(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path);
}

/* A connection seed: the option byte, then the stream. */
static void seed(const char *target, const char *name, uint8_t opt, struct buf *b)
{
	struct buf out = { 0 };

	put(&out, &opt, 1);
	put(&out, b->p, b->n);
	write_file(target, name, out.p, out.n);
	free(out.p);
}

/* A frame-target seed: @b cut into records of @chunk bytes. */
static void frame_seed(const char *name, uint8_t limit, struct buf *b, size_t chunk)
{
	struct buf out = { 0 };

	put(&out, &limit, 1);
	for (size_t pos = 0; pos < b->n; pos += chunk) {
		uint8_t n = (uint8_t)(b->n - pos < chunk ? b->n - pos : chunk);

		put(&out, &n, 1);
		put(&out, b->p + pos, n);
	}
	write_file("fuzz-frame", name, out.p, out.n);
	free(out.p);
}

static void reset(struct buf *b)
{
	b->n = 0;
}

static Ttrpc__Interop__V1__Chunk chunk_msg(uint32_t index, const char *bytes)
{
	Ttrpc__Interop__V1__Chunk c = TTRPC__INTEROP__V1__CHUNK__INIT;

	c.index = index;
	c.payload.data = (uint8_t *)bytes;
	c.payload.len = strlen(bytes);
	return c;
}

static void server_seeds(void)
{
	Ttrpc__Interop__V1__EchoRequest echo = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__SleepRequest sleep = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	Ttrpc__Interop__V1__SleepRequest nap = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	Ttrpc__Interop__V1__FailRequest fail = TTRPC__INTEROP__V1__FAIL_REQUEST__INIT;
	Ttrpc__Interop__V1__Empty empty = TTRPC__INTEROP__V1__EMPTY__INIT;
	Ttrpc__Interop__V1__StreamRequest dl = TTRPC__INTEROP__V1__STREAM_REQUEST__INIT;
	Ttrpc__Interop__V1__Chunk c1 = chunk_msg(1, "ab"), c2 = chunk_msg(2, "cdef");
	struct req_opts o;
	struct buf b = { 0 };
	char big[200];

	echo.text = "hello";
	echo.payload.data = (uint8_t *)"\x00\x01\x02";
	echo.payload.len = 3;
	sleep.millis = 60000;
	nap.millis = 0;
	fail.code = 5;
	fail.message = "nope";

	request(&b, 1, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "echo", 0, &b);
	request(&b, 3, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "echo-bytewise", S_CHUNK1, &b);
	frame_seed("echo", 0x80, &b, 255);
	frame_seed("echo-bytewise", 0x80, &b, 1);

	reset(&b);
	request(&b, 1, 0, "Echo", &echo.base, NULL);
	request(&b, 3, 0, "Sleep", &nap.base, NULL);
	request(&b, 5, 0, "Fail", &fail.base, NULL);
	o = (struct req_opts){ .md_key = "who", .md_value = "fuzz" };
	request(&b, 7, 0, "Metadata", &empty.base, &o);
	request(&b, 9, 0, "Peer", &empty.base, NULL);
	o = (struct req_opts){ .timeout_nano = -1 };
	request(&b, 11, 0, "Echo", &echo.base, &o);
	o = (struct req_opts){ .timeout_nano = 3600000000000ll };
	request(&b, 13, 0, "Sleep", &sleep.base, &o);
	request(&b, 15, 0, "Download", &dl.base, NULL); /* unimplemented in the interop service */
	seed("fuzz-server", "unary-all", 0, &b);
	seed("fuzz-server", "unary-all-shutdown", S_SHUTDOWN | S_CHUNK7, &b);
	frame_seed("unary-all", 0x80, &b, 7);

	reset(&b);
	dl.count = 3;
	dl.size = 16;
	o = (struct req_opts){ .service = STREAMS };
	request(&b, 1, F_RC, "Download", &dl.base, &o);
	seed("fuzz-server", "download", 0, &b);
	reset(&b);
	dl.count = 48;
	dl.size = 32768;
	request(&b, 1, F_RC, "Download", &dl.base, &o);
	request(&b, 3, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "download-unread", S_NO_READ, &b);
	seed("fuzz-server", "download-output-limit", S_NO_READ | S_OUTPUT_LIMIT, &b);
	seed("fuzz-server", "download-free", S_FREE, &b);

	reset(&b);
	request(&b, 1, F_RO, "Upload", NULL, &o);
	data(&b, 1, 0, &c1.base);
	data(&b, 1, 0, &c2.base);
	data(&b, 1, F_RC | F_ND, NULL);
	seed("fuzz-server", "upload", 0, &b);
	frame_seed("upload", 0x80, &b, 3);
	reset(&b);
	request(&b, 1, F_RO, "Upload", &c1.base, &o);
	data(&b, 1, F_RC, &c2.base);
	seed("fuzz-server", "upload-first-last", 0, &b);

	reset(&b);
	request(&b, 1, F_RO, "Chat", NULL, &o);
	data(&b, 1, 0, &c1.base);
	data(&b, 1, F_ND, NULL);
	data(&b, 1, 0, &c2.base);
	data(&b, 1, F_RC | F_ND, NULL);
	data(&b, 1, 0, &c1.base); /* after close */
	seed("fuzz-server", "chat", 0, &b);
	seed("fuzz-server", "chat-half-close", S_HALF, &b);

	reset(&b);
	o = (struct req_opts){ .service = STREAMS, .md_key = "who", .md_value = "x" };
	request(&b, 1, F_RO, "Hold", NULL, &o);
	data(&b, 1, 0, &c1.base);
	o = (struct req_opts){ .service = STREAMS };
	request(&b, 3, F_RO, "Hold", NULL, &o);
	data(&b, 3, F_RC | F_ND, NULL);
	data(&b, 3, 0, &c1.base);
	seed("fuzz-server", "hold", 0, &b);
	seed("fuzz-server", "hold-shutdown", S_SHUTDOWN, &b);

	/* Deadlines under a microsecond expire on the next loop iteration. */
	reset(&b);
	o = (struct req_opts){ .timeout_nano = 1 };
	request(&b, 1, 0, "Sleep", &sleep.base, &o);
	o = (struct req_opts){ .service = STREAMS, .timeout_nano = 999 };
	request(&b, 3, F_RO, "Hold", NULL, &o);
	request(&b, 5, F_RO, "Chat", NULL, &o);
	seed("fuzz-server", "deadline", 0, &b);

	/* Answers from the loop; left open, orphaned by the free. */
	reset(&b);
	o = (struct req_opts){ .service = STREAMS };
	request(&b, 1, F_RO, "Later", NULL, &o);
	data(&b, 1, F_RC, &c1.base);
	request(&b, 3, F_RO, "Later", &c2.base, &o);
	data(&b, 3, 0, &c1.base);
	seed("fuzz-server", "later", 0, &b);
	seed("fuzz-server", "later-free", S_FREE, &b);

	reset(&b);
	request(&b, 1, 0, "Sleep", &sleep.base, NULL);
	request(&b, 3, 0, "Sleep", &sleep.base, NULL);
	request(&b, 5, 0, "Echo", &echo.base, NULL);
	data(&b, 1, 0, &c1.base); /* Data on a live unary call */
	seed("fuzz-server", "call-limit", S_TIGHT, &b);

	/* Two streams over the limit of one; a frame left half sent times out. */
	reset(&b);
	o = (struct req_opts){ .service = STREAMS };
	request(&b, 1, F_RO, "Hold", NULL, &o);
	request(&b, 3, F_RO, "Chat", NULL, &o);
	data(&b, 1, 0, &c1.base);
	seed("fuzz-server", "stream-limit", S_TIGHT, &b);
	b.n -= 3;
	seed("fuzz-server", "frame-timeout", S_TIGHT | S_HALF, &b);
	reset(&b);
	request(&b, 1, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "idle-timeout", S_TIGHT | S_HALF, &b);

	reset(&b);
	o = (struct req_opts){ .md_key = "fuzz", .md_value = "deny" };
	request(&b, 1, 0, "Echo", &echo.base, &o);
	o.md_value = "fail";
	request(&b, 3, 0, "Echo", &echo.base, &o);
	o.md_value = "reply";
	request(&b, 5, 0, "Sleep", &sleep.base, &o);
	request(&b, 7, 0, "Echo", &echo.base, &o);
	seed("fuzz-server", "interceptor", 0, &b);

	/* Every protocol error of the README's table, then a good call. */
	reset(&b);
	request(&b, 2, 0, "Echo", &echo.base, NULL); /* even id */
	request(&b, 1, 0, "Echo", &echo.base, NULL);
	request(&b, 1, 0, "Echo", &echo.base, NULL);             /* id re-used */
	data(&b, 3, 0, &c1.base);                                /* unknown stream */
	data(&b, 1, 0, &c1.base);                                /* finished stream */
	frame(&b, 5, 9, 0, "x", 1);                              /* unknown type */
	response(&b, 5, 0, NULL, &empty.base);                   /* Response to the server */
	frame(&b, 7, TTRPC__TYPE_REQUEST, 0, "\xff\xff\xff", 3); /* not protobuf */
	o = (struct req_opts){ .service = "no.Such" };
	request(&b, 9, 0, "Echo", &echo.base, &o);    /* unknown service */
	request(&b, 11, 0, "Nope", &echo.base, NULL); /* unknown method */
	o = (struct req_opts){ .raw = (const uint8_t *)"\x0a\x05x", .raw_len = 3 };
	request(&b, 13, 0, "Echo", NULL, &o); /* bad input message */
	request(&b, 15, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "protocol-errors", 0, &b);
	frame_seed("protocol-errors", 0x80, &b, 61);
	frame_seed("protocol-errors-small-limit", 10, &b, 13);

	/* Large messages, in a fuzzing build over 64 bytes a frame and 16 a
	 * bytes field: frames read into blocks, inputs that point into them,
	 * answers sent from the request, the frame and lent memory. */
	reset(&b);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	echo.payload.data = (uint8_t *)big;
	echo.payload.len = sizeof(big) - 1;
	request(&b, 1, 0, "Echo", &echo.base, NULL);
	c1 = chunk_msg(1, big);
	o = (struct req_opts){ .service = STREAMS };
	request(&b, 3, F_RO, "Chat", NULL, &o);
	data(&b, 3, 0, &c1.base);
	request(&b, 5, F_RO, "Upload", &c1.base, &o);
	data(&b, 5, 0, &c1.base);
	data(&b, 5, F_RC | F_ND, NULL);
	dl.count = 4;
	dl.size = 100;
	request(&b, 7, F_RC, "Download", &dl.base, &o);
	data(&b, 3, F_RC, &c1.base);
	request(&b, 9, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "large", S_CHUNK61, &b);
	seed("fuzz-server", "large-unread", S_CHUNK61 | S_NO_READ | S_OUTPUT_LIMIT, &b);
	seed("fuzz-server", "large-free", S_CHUNK7 | S_FREE, &b);
	/* The peer leaves in the middle of a frame being read into a block. */
	reset(&b);
	request(&b, 1, 0, "Echo", &echo.base, NULL);
	b.n -= 50;
	seed("fuzz-server", "large-cut", S_CHUNK61, &b);
	c1 = chunk_msg(1, "ab");
	echo.payload.data = (uint8_t *)"\x00\x01\x02";
	echo.payload.len = 3;

	reset(&b);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	echo.text = big;
	request(&b, 1, 0, "Echo", &echo.base, NULL); /* over the 100-byte limit */
	echo.text = "hello";
	request(&b, 3, 0, "Echo", &echo.base, NULL);
	seed("fuzz-server", "oversized", S_SMALL_MESSAGE, &b);
	frame_seed("oversized", 33, &b, 50);

	reset(&b);
	header(&b, 0x01000010, 1, TTRPC__TYPE_REQUEST, 0); /* reserved byte set */
	put(&b, "GET / HTTP/1.1\r\n", 16);
	seed("fuzz-server", "corrupt", 0, &b);
	frame_seed("corrupt", 0x80, &b, 5);
	free(b.p);
}

static void client_seeds(void)
{
	Ttrpc__Interop__V1__EchoResponse echo = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;
	Ttrpc__Interop__V1__Summary sum = TTRPC__INTEROP__V1__SUMMARY__INIT;
	Ttrpc__Interop__V1__Chunk c1 = chunk_msg(0, "ab"), c2 = chunk_msg(1, "cdef"), cbig;
	struct buf b = { 0 };
	char big[200];

	echo.text = "fuzz";
	sum.count = 1;

	/* Ids: 1 Echo, 3 Download, 5 Upload, 7 Chat, 9 Echo (deadline), 11 Fail,
	 * 13 Echo (1 us deadline), 15 blocking Download, 17 blocking Upload. */
	response(&b, 1, 0, NULL, &echo.base);
	data(&b, 3, 0, &c1.base);
	data(&b, 7, 0, &c1.base);
	data(&b, 3, 0, &c2.base);
	data(&b, 3, F_RC | F_ND, NULL);
	response(&b, 5, 0, NULL, &sum.base);
	data(&b, 7, F_RC, &c2.base);
	response(&b, 9, 0, NULL, &echo.base);
	response(&b, 11, 5, "nope", NULL);
	data(&b, 15, 0, &c1.base);
	data(&b, 15, 0, &c2.base);
	response(&b, 13, 0, NULL, &echo.base);
	data(&b, 15, F_RC | F_ND, NULL);
	response(&b, 17, 0, NULL, &sum.base);
	seed("fuzz-client", "all-ok", 0, &b);
	seed("fuzz-client", "all-ok-bytewise", C_CHUNK1, &b);
	seed("fuzz-client", "free-in-callback", C_FREE_IN_CB, &b);
	seed("fuzz-client", "cancel", C_CANCEL_SELF | C_CANCEL_OTHER, &b);
	seed("fuzz-client", "send-more", C_SEND_MORE | C_CLOSE_SEND | C_CHUNK61, &b);
	frame_seed("client-all-ok", 0x80, &b, 17);

	reset(&b);
	data(&b, 1, 0, &c1.base);                                  /* Data on a unary call */
	response(&b, 3, 1, "cancelled", NULL);                     /* a status ends a stream */
	response(&b, 99, 0, NULL, &echo.base);                     /* nobody waits */
	data(&b, 5, 0, &c1.base);                                  /* Data on a client stream */
	response(&b, 7, 0, NULL, &echo.base);                      /* OK ends a bidi stream */
	frame(&b, 9, 9, 0, "?", 1);                                /* unknown type */
	frame(&b, 11, TTRPC__TYPE_RESPONSE, 0, "\xff", 1);         /* not protobuf */
	data(&b, 3, 0, &c1.base);                                  /* after the end */
	response(&b, 15, 13, "broken", NULL);                      /* a blocking stream fails */
	frame(&b, 17, TTRPC__TYPE_RESPONSE, 0, "\x12\x01\xff", 3); /* reply not a Summary */
	seed("fuzz-client", "errors", 0, &b);
	seed("fuzz-client", "errors-eof", C_EOF, &b);

	/* Large messages (over 64 bytes a frame in a fuzzing build) in blocks. */
	reset(&b);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	echo.payload.data = (uint8_t *)big;
	echo.payload.len = sizeof(big) - 1;
	cbig = chunk_msg(2, big);
	response(&b, 1, 0, NULL, &echo.base);
	data(&b, 3, 0, &cbig.base);
	data(&b, 7, 0, &cbig.base);
	data(&b, 15, 0, &cbig.base);
	response(&b, 5, 0, NULL, &sum.base);
	seed("fuzz-client", "large", C_CHUNK61 | C_SEND_MORE, &b);
	seed("fuzz-client", "large-free", C_CHUNK61 | C_FREE_IN_CB, &b);
	reset(&b);
	data(&b, 3, 0, &cbig.base);
	b.n -= 50; /* a frame being read into a block, cut short, then EOF */
	seed("fuzz-client", "large-cut", C_CHUNK61 | C_EOF, &b);
	echo.payload.data = NULL;
	echo.payload.len = 0;

	reset(&b);
	header(&b, 5u << 20, 1, TTRPC__TYPE_RESPONSE, 0); /* over 4 MiB: skipped */
	put(&b, "skipped", 7);
	seed("fuzz-client", "oversized", C_EOF, &b);
	reset(&b);
	response(&b, 1, 0, NULL, &echo.base);
	header(&b, 0x7f000000, 3, TTRPC__TYPE_DATA, 0); /* reserved byte set */
	seed("fuzz-client", "corrupt", 0, &b);
	reset(&b);
	data(&b, 3, 0, &c1.base);
	b.n -= 2; /* cut short, then EOF */
	seed("fuzz-client", "truncated", C_EOF, &b);
	free(b.p);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
		die(out_dir);
	server_seeds();
	client_seeds();
	return 0;
}
