/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the frame codec: header bytes, length limits, reassembly from chunks. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <ttrpc/common.h>

#include "frame.h"

/* splitmix64: the same sequence on every libc, unlike rand(). */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rng_next(s) % ((uint64_t)hi - lo + 1));
}

static uint8_t *random_bytes(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rng_next(&seed);
	return p;
}

static void add_frame(struct evbuffer *b, uint32_t len, uint32_t id, uint8_t type, uint8_t flags,
		      const uint8_t *payload)
{
	struct ttrpc__frame_header h = {
		.length = len, .stream_id = id, .type = type, .flags = flags
	};
	uint8_t raw[TTRPC__HEADER_SIZE];

	ttrpc__frame_header_encode(&h, raw);
	ck_assert_int_eq(evbuffer_add(b, raw, sizeof(raw)), 0);
	if (len > 0)
		ck_assert_int_eq(evbuffer_add(b, payload, len), 0);
}

/* Expects a whole frame next, checks it and consumes it. */
static void expect_frame(struct ttrpc__frame_reader *r, struct evbuffer *b, uint32_t len,
			 uint32_t id, uint8_t type, uint8_t flags, const uint8_t *payload)
{
	struct ttrpc__frame_header h;
	const uint8_t *p = (const uint8_t *)"sentinel";
	/* the rest of a skipped oversized payload goes first */
	size_t before = evbuffer_get_length(b) - (size_t)r->discard;

	ck_assert_int_eq(ttrpc__frame_next(r, b, &h, &p), TTRPC__FRAME_OK);
	ck_assert_uint_eq(h.length, len);
	ck_assert_uint_eq(h.stream_id, id);
	ck_assert_uint_eq(h.type, type);
	ck_assert_uint_eq(h.flags, flags);
	if (len == 0) {
		ck_assert_ptr_null(p);
	} else {
		ck_assert_ptr_nonnull(p);
		ck_assert_mem_eq(p, payload, len);
	}
	ttrpc__frame_consume(r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), before - TTRPC__HEADER_SIZE - len);
}

static void expect_need_more(struct ttrpc__frame_reader *r, struct evbuffer *b)
{
	struct ttrpc__frame_header h;
	const uint8_t *p = NULL;

	ck_assert_int_eq(ttrpc__frame_next(r, b, &h, &p), TTRPC__FRAME_NEED_MORE);
}

START_TEST(test_header_encode_bytes)
{
	static const uint8_t want[TTRPC__HEADER_SIZE] = {
		0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x03, 0x05,
	};
	struct ttrpc__frame_header h = {
		.length = 0x01020304,
		.stream_id = 0x0a0b0c0d,
		.type = 3,
		.flags = 5,
	};
	uint8_t out[TTRPC__HEADER_SIZE];

	memset(out, 0xee, sizeof(out));
	ttrpc__frame_header_encode(&h, out);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* One field at a time at its extreme, so a field written at the wrong offset shows. */
START_TEST(test_header_encode_each_field)
{
	static const struct {
		struct ttrpc__frame_header h;
		uint8_t raw[TTRPC__HEADER_SIZE];
	} cases[] = {
		{ { .length = 0xffffffff }, { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0 } },
		{ { .length = 1 }, { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 } },
		{ { .length = TTRPC_MAX_MESSAGE_SIZE }, { 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0 } },
		{ { .stream_id = 0xffffffff }, { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0 } },
		{ { .stream_id = 1 }, { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 } },
		{ { .stream_id = 0x80000000 }, { 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0 } },
		{ { .type = TTRPC__TYPE_REQUEST }, { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 } },
		{ { .type = TTRPC__TYPE_RESPONSE }, { 0, 0, 0, 0, 0, 0, 0, 0, 2, 0 } },
		{ { .type = 0xff }, { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0 } },
		{ { .flags = TTRPC__FLAG_REMOTE_CLOSED }, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
		{ { .flags = TTRPC__FLAG_NO_DATA }, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 4 } },
		{ { .flags = 0xff }, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[TTRPC__HEADER_SIZE];
		struct ttrpc__frame_header back;

		memset(out, 0xee, sizeof(out));
		ttrpc__frame_header_encode(&cases[i].h, out);
		ck_assert_msg(memcmp(out, cases[i].raw, sizeof(out)) == 0, "encode case %zu", i);

		memset(&back, 0xee, sizeof(back));
		ttrpc__frame_header_decode(cases[i].raw, &back);
		ck_assert_msg(back.length == cases[i].h.length &&
				      back.stream_id == cases[i].h.stream_id &&
				      back.type == cases[i].h.type &&
				      back.flags == cases[i].h.flags,
			      "decode case %zu", i);
	}
}
END_TEST

START_TEST(test_header_decode_bytes)
{
	static const uint8_t raw[TTRPC__HEADER_SIZE] = {
		0x00, 0x3f, 0xa5, 0x17, 0xde, 0xad, 0xbe, 0xef, 0x02, 0x06,
	};
	struct ttrpc__frame_header h;

	memset(&h, 0, sizeof(h));
	ttrpc__frame_header_decode(raw, &h);
	ck_assert_uint_eq(h.length, 0x003fa517);
	ck_assert_uint_eq(h.stream_id, 0xdeadbeef);
	ck_assert_uint_eq(h.type, TTRPC__TYPE_RESPONSE);
	ck_assert_uint_eq(h.flags, TTRPC__FLAG_REMOTE_OPEN | TTRPC__FLAG_NO_DATA);
}
END_TEST

START_TEST(test_next_empty_buffer)
{
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	ck_assert_uint_eq(r.max_length, TTRPC_MAX_MESSAGE_SIZE);
	expect_need_more(&r, b);
	/* consume without a pending frame must not eat anything */
	evbuffer_add(b, "abc", 3);
	ttrpc__frame_consume(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 3);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_next_zero_length)
{
	static const uint8_t raw[] = { 0, 0, 0, 0, 0, 0, 0, 9, 3, 1 };
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	evbuffer_add(b, raw, sizeof(raw));
	expect_frame(&r, b, 0, 9, TTRPC__TYPE_DATA, TTRPC__FLAG_REMOTE_CLOSED, NULL);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	expect_need_more(&r, b);
	evbuffer_free(b);
}
END_TEST

/* The limit is inclusive: 4 MiB exactly is a valid frame, in one piece. */
START_TEST(test_next_max_length_accepted)
{
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	uint8_t *payload = random_bytes(TTRPC_MAX_MESSAGE_SIZE, 1);

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	add_frame(b, TTRPC_MAX_MESSAGE_SIZE, 1, TTRPC__TYPE_REQUEST, 0, payload);
	expect_frame(&r, b, TTRPC_MAX_MESSAGE_SIZE, 1, TTRPC__TYPE_REQUEST, 0, payload);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	free(payload);
	evbuffer_free(b);
}
END_TEST

/* A whole max-size frame minus its last byte must wait, not be cut short. */
START_TEST(test_next_max_length_incomplete)
{
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	uint8_t *payload = random_bytes(TTRPC_MAX_MESSAGE_SIZE, 2);
	struct ttrpc__frame_header h = { .length = TTRPC_MAX_MESSAGE_SIZE,
					 .stream_id = 3,
					 .type = 1 };
	uint8_t raw[TTRPC__HEADER_SIZE];

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	ttrpc__frame_header_encode(&h, raw);
	evbuffer_add(b, raw, sizeof(raw));
	evbuffer_add(b, payload, TTRPC_MAX_MESSAGE_SIZE - 1);
	expect_need_more(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), TTRPC__HEADER_SIZE + TTRPC_MAX_MESSAGE_SIZE - 1);
	evbuffer_add(b, payload + TTRPC_MAX_MESSAGE_SIZE - 1, 1);
	expect_frame(&r, b, TTRPC_MAX_MESSAGE_SIZE, 3, 1, 0, payload);
	free(payload);
	evbuffer_free(b);
}
END_TEST

/*
 * One byte over the limit: the header is reported and consumed, the payload
 * never buffered but skipped as it trickles in, and the stream stays in sync.
 */
START_TEST(test_next_oversized_skipped_in_chunks)
{
	static const size_t chunks[] = { 1, 9, 4096, 1000000, 3000000 };
	const uint32_t len = TTRPC_MAX_MESSAGE_SIZE + 1;
	static const uint8_t next_payload[] = "after the big one";
	const uint32_t next_len = sizeof(next_payload);
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	struct evbuffer *next = evbuffer_new();
	uint8_t *payload = random_bytes(len, 3);
	struct ttrpc__frame_header h = { .length = len, .stream_id = 77, .type = 1, .flags = 0 };
	uint8_t raw[TTRPC__HEADER_SIZE];
	const uint8_t *p = NULL;
	size_t off = 0;
	uint8_t *tail;

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	ttrpc__frame_header_encode(&h, raw);
	evbuffer_add(b, raw, sizeof(raw));
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_OVERSIZED);
	ck_assert_uint_eq(h.length, len);
	ck_assert_uint_eq(h.stream_id, 77);
	ck_assert_uint_eq(h.type, TTRPC__TYPE_REQUEST);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		evbuffer_add(b, payload + off, chunks[i]);
		off += chunks[i];
		expect_need_more(&r, b);
		ck_assert_msg(evbuffer_get_length(b) == 0, "chunk %zu was buffered", i);
	}
	ck_assert_uint_lt(off, len);

	/* The rest of the payload arrives with the next frame's first bytes. */
	add_frame(next, next_len, 79, TTRPC__TYPE_REQUEST, TTRPC__FLAG_REMOTE_CLOSED, next_payload);
	tail = evbuffer_pullup(next, -1);
	evbuffer_add(b, payload + off, len - off);
	evbuffer_add(b, tail, 3);
	expect_need_more(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 3);
	evbuffer_add(b, tail + 3, TTRPC__HEADER_SIZE + next_len - 3);
	expect_frame(&r, b, next_len, 79, TTRPC__TYPE_REQUEST, TTRPC__FLAG_REMOTE_CLOSED,
		     next_payload);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	expect_need_more(&r, b);

	free(payload);
	evbuffer_free(next);
	evbuffer_free(b);
}
END_TEST

/* Oversized payload already buffered behind its header, followed by a valid frame. */
START_TEST(test_next_oversized_coalesced)
{
	const uint32_t len = TTRPC_MAX_MESSAGE_SIZE + 1;
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	uint8_t *payload = random_bytes(len, 4);
	struct ttrpc__frame_header h;
	const uint8_t *p = NULL;

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	add_frame(b, len, 5, TTRPC__TYPE_REQUEST, 0, payload);
	add_frame(b, 4, 7, TTRPC__TYPE_REQUEST, 0, (const uint8_t *)"ok!!");
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_OVERSIZED);
	ck_assert_uint_eq(h.stream_id, 5);
	ck_assert_uint_eq(h.length, len);
	expect_frame(&r, b, 4, 7, TTRPC__TYPE_REQUEST, 0, (const uint8_t *)"ok!!");
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	free(payload);
	evbuffer_free(b);
}
END_TEST

/* The reserved high byte set means a foreign protocol, not merely a big frame. */
START_TEST(test_next_corrupt_first_byte)
{
	static const uint8_t raw[] = { 0x01, 0, 0, 5, 0, 0, 0, 1, 1, 0, 'h', 'e', 'l', 'l', 'o' };
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	const uint8_t *p = NULL;

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	evbuffer_add(b, raw, sizeof(raw));
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_CORRUPT);
	ck_assert_uint_eq(h.length, 0x01000005);
	ck_assert_uint_eq(h.stream_id, 1);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof(raw) - TTRPC__HEADER_SIZE);
	evbuffer_free(b);

	/* Even under a tiny limit, a non-zero first byte is CORRUPT, not OVERSIZED. */
	b = evbuffer_new();
	ttrpc__frame_reader_init(&r, 100);
	evbuffer_add(b, http, sizeof(http) - 1);
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_CORRUPT);
	ck_assert_uint_eq(h.length, 0x47455420);
	evbuffer_free(b);

	b = evbuffer_new();
	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	evbuffer_add(b, "\x80\0\0\0\0\0\0\1\1\0", TTRPC__HEADER_SIZE);
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_CORRUPT);
	ck_assert_uint_eq(h.length, 0x80000000);
	evbuffer_free(b);
}
END_TEST

/* The limit belongs to the reader, not to the protocol constant. */
START_TEST(test_next_custom_max)
{
	uint8_t *payload = random_bytes(200, 5);
	struct ttrpc__frame_reader r;
	struct ttrpc__frame_reader big;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	const uint8_t *p = NULL;

	ttrpc__frame_reader_init(&r, 100);
	ck_assert_uint_eq(r.max_length, 100);
	add_frame(b, 100, 1, 1, 0, payload);
	add_frame(b, 101, 3, 1, 0, payload);
	add_frame(b, 99, 5, 1, 0, payload + 1);
	expect_frame(&r, b, 100, 1, 1, 0, payload);
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_OVERSIZED);
	ck_assert_uint_eq(h.length, 101);
	ck_assert_uint_eq(h.stream_id, 3);
	expect_frame(&r, b, 99, 5, 1, 0, payload + 1);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	/* The same 101-byte frame is fine for a reader with the default limit. */
	ttrpc__frame_reader_init(&big, TTRPC_MAX_MESSAGE_SIZE);
	add_frame(b, 101, 3, 1, 0, payload);
	expect_frame(&big, b, 101, 3, 1, 0, payload);

	/* A limit of 0 admits only empty frames. */
	ttrpc__frame_reader_init(&r, 0);
	add_frame(b, 0, 9, 3, 0, NULL);
	add_frame(b, 1, 11, 3, 0, payload);
	expect_frame(&r, b, 0, 9, 3, 0, NULL);
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_OVERSIZED);
	expect_need_more(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	free(payload);
	evbuffer_free(b);
}
END_TEST

/* Bytes arrive one at a time; nothing may be consumed before the frame is whole. */
START_TEST(test_next_split_byte_by_byte)
{
	static const uint8_t payload[] = "hello";
	const uint32_t len = sizeof(payload) - 1;
	struct ttrpc__frame_reader r;
	struct evbuffer *src = evbuffer_new();
	struct evbuffer *b = evbuffer_new();
	const uint8_t *raw;
	size_t total;

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	add_frame(src, len, 0x01020304, 2, 4, payload);
	add_frame(src, 0, 0x05060708, 3, 1, NULL);
	total = evbuffer_get_length(src);
	raw = evbuffer_pullup(src, -1);

	for (size_t i = 0; i < TTRPC__HEADER_SIZE + len - 1; i++) {
		evbuffer_add(b, raw + i, 1);
		expect_need_more(&r, b);
		ck_assert_uint_eq(evbuffer_get_length(b), i + 1);
	}
	evbuffer_add(b, raw + TTRPC__HEADER_SIZE + len - 1, 1);
	expect_frame(&r, b, len, 0x01020304, 2, 4, payload);

	for (size_t i = TTRPC__HEADER_SIZE + len; i < total - 1; i++) {
		evbuffer_add(b, raw + i, 1);
		expect_need_more(&r, b);
	}
	evbuffer_add(b, raw + total - 1, 1);
	expect_frame(&r, b, 0, 0x05060708, 3, 1, NULL);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	evbuffer_free(src);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_next_coalesced)
{
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	add_frame(b, 3, 1, 1, 0, (const uint8_t *)"abc");
	add_frame(b, 0, 3, 3, TTRPC__FLAG_REMOTE_CLOSED, NULL);
	add_frame(b, 5, 1, 2, 0, (const uint8_t *)"defgh");
	/* and half of a fourth */
	evbuffer_add(b, "\0\0\0\2\0\0", 6);

	expect_frame(&r, b, 3, 1, 1, 0, (const uint8_t *)"abc");
	expect_frame(&r, b, 0, 3, 3, TTRPC__FLAG_REMOTE_CLOSED, NULL);
	expect_frame(&r, b, 5, 1, 2, 0, (const uint8_t *)"defgh");
	expect_need_more(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 6);
	evbuffer_add(b, "\0\5\3\0xy", 6);
	expect_frame(&r, b, 2, 5, 3, 0, (const uint8_t *)"xy");
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

/* Consume takes the returned frame and nothing more, and only once. */
START_TEST(test_consume_exactly_one)
{
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	const uint8_t *p = NULL;

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	add_frame(b, 4, 1, 1, 0, (const uint8_t *)"1234");
	add_frame(b, 6, 3, 1, 0, (const uint8_t *)"567890");
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_OK);
	/* next without consume leaves the buffer untouched */
	ck_assert_uint_eq(evbuffer_get_length(b), 2 * TTRPC__HEADER_SIZE + 10);
	ttrpc__frame_consume(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), TTRPC__HEADER_SIZE + 6);
	ttrpc__frame_consume(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), TTRPC__HEADER_SIZE + 6);
	expect_frame(&r, b, 6, 3, 1, 0, (const uint8_t *)"567890");
	ttrpc__frame_consume(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	/* a zero-length frame consumes exactly its header */
	add_frame(b, 0, 5, 3, 0, NULL);
	evbuffer_add(b, "x", 1);
	ck_assert_int_eq(ttrpc__frame_next(&r, b, &h, &p), TTRPC__FRAME_OK);
	ttrpc__frame_consume(&r, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 1);
	evbuffer_free(b);
}
END_TEST

struct frame_desc {
	size_t offset; /* of the header in the stream */
	uint32_t length;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

/*
 * Build @n random frames into one byte stream, feed it in random-sized
 * chunks and check that the reader reports every frame in order: OK with
 * identical bytes within @max, OVERSIZED beyond it.
 */
static void run_random_stream(uint64_t seed, size_t n, uint32_t max, uint32_t longest)
{
	struct frame_desc *fd = calloc(n, sizeof(*fd));
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();
	size_t total = 0, fed = 0, got = 0, oversized = 0;
	uint8_t *stream;

	ck_assert_ptr_nonnull(fd);
	for (size_t i = 0; i < n; i++) {
		uint32_t pick = rng_range(&seed, 0, 9);

		if (pick < 3)
			fd[i].length = rng_range(&seed, 0, 16);
		else if (pick < 8)
			fd[i].length = rng_range(&seed, 17, 2048);
		else
			fd[i].length = rng_range(&seed, 2049, longest);
		fd[i].stream_id = (uint32_t)rng_next(&seed);
		fd[i].type = (uint8_t)rng_next(&seed);
		fd[i].flags = (uint8_t)rng_next(&seed);
		fd[i].offset = total;
		total += TTRPC__HEADER_SIZE + fd[i].length;
	}
	stream = malloc(total);
	ck_assert_ptr_nonnull(stream);
	for (size_t i = 0; i < n; i++) {
		struct ttrpc__frame_header h = {
			.length = fd[i].length,
			.stream_id = fd[i].stream_id,
			.type = fd[i].type,
			.flags = fd[i].flags,
		};

		ttrpc__frame_header_encode(&h, stream + fd[i].offset);
		for (uint32_t j = 0; j < fd[i].length; j++)
			stream[fd[i].offset + TTRPC__HEADER_SIZE + j] = (uint8_t)rng_next(&seed);
	}

	ttrpc__frame_reader_init(&r, max);
	while (fed < total) {
		uint32_t pick = rng_range(&seed, 0, 9);
		size_t chunk;

		if (pick < 5)
			chunk = rng_range(&seed, 1, 32);
		else if (pick < 8)
			chunk = rng_range(&seed, 33, 4096);
		else
			chunk = rng_range(&seed, 4097, 131072);
		if (chunk > total - fed)
			chunk = total - fed;
		ck_assert_int_eq(evbuffer_add(b, stream + fed, chunk), 0);
		fed += chunk;

		for (;;) {
			struct ttrpc__frame_header h;
			const uint8_t *p = NULL;
			enum ttrpc__frame_event ev = ttrpc__frame_next(&r, b, &h, &p);
			const struct frame_desc *want;

			if (ev == TTRPC__FRAME_NEED_MORE)
				break;
			if (got >= n)
				ck_abort_msg("event %d after the last frame", ev);
			want = &fd[got];
			if (h.length != want->length || h.stream_id != want->stream_id ||
			    h.type != want->type || h.flags != want->flags)
				ck_abort_msg("frame %zu: header %u/%u/%u/%u, want %u/%u/%u/%u", got,
					     h.length, h.stream_id, h.type, h.flags, want->length,
					     want->stream_id, want->type, want->flags);
			if (want->length > max) {
				if (ev != TTRPC__FRAME_OVERSIZED)
					ck_abort_msg(
						"frame %zu of %u bytes: event %d, want OVERSIZED",
						got, want->length, ev);
				oversized++;
			} else {
				const uint8_t *exp = stream + want->offset + TTRPC__HEADER_SIZE;

				if (ev != TTRPC__FRAME_OK)
					ck_abort_msg("frame %zu: event %d, want OK", got, ev);
				if (want->length == 0
					    ? p != NULL
					    : (p == NULL || memcmp(p, exp, want->length) != 0))
					ck_abort_msg("frame %zu: payload differs", got);
				ttrpc__frame_consume(&r, b);
			}
			got++;
		}
	}
	ck_assert_uint_eq(got, n);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	if (max < longest)
		ck_assert_uint_gt(oversized, 0);
	else
		ck_assert_uint_eq(oversized, 0);

	free(stream);
	free(fd);
	evbuffer_free(b);
}

START_TEST(test_random_stream)
{
	run_random_stream(0x7474727063ull, 3000, TTRPC_MAX_MESSAGE_SIZE, 32768);
}
END_TEST

START_TEST(test_random_stream_with_oversized)
{
	run_random_stream(0x6f76657273ull, 3000, 20000, 32768);
}
END_TEST

struct fill_ctx {
	const uint8_t *src;
	size_t calls;
	size_t len;
};

static void fill_copy(uint8_t *dst, size_t len, void *ctx)
{
	struct fill_ctx *f = ctx;

	f->calls++;
	f->len = len;
	memcpy(dst, f->src, len);
}

START_TEST(test_append)
{
	static const uint8_t want[] = {
		'p', 'r', 'e', 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x07, 0x03, 0x06, 'w',
		'o', 'r', 'l', 'd',  0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01,
	};
	struct ttrpc__frame_header h1 = {
		.length = 5,
		.stream_id = 0x107,
		.type = TTRPC__TYPE_DATA,
		.flags = TTRPC__FLAG_REMOTE_OPEN | TTRPC__FLAG_NO_DATA,
	};
	struct ttrpc__frame_header h2 = {
		.length = 0,
		.stream_id = 0xffffffff,
		.type = TTRPC__TYPE_RESPONSE,
		.flags = TTRPC__FLAG_REMOTE_CLOSED,
	};
	struct fill_ctx f = { .src = (const uint8_t *)"world" };
	struct evbuffer *b = evbuffer_new();

	/* appends after what is already queued, never over it */
	evbuffer_add(b, "pre", 3);
	ck_assert_int_eq(ttrpc__frame_append(b, &h1, fill_copy, &f), 0);
	ck_assert_uint_eq(f.calls, 1);
	ck_assert_uint_eq(f.len, 5);
	/* an empty payload needs no fill */
	ck_assert_int_eq(ttrpc__frame_append(b, &h2, fill_copy, &f), 0);
	ck_assert_uint_eq(f.calls, 1);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof(want));
	ck_assert_mem_eq(evbuffer_pullup(b, -1), want, sizeof(want));
	evbuffer_free(b);
}
END_TEST

/* What append writes, the reader takes back unchanged, even at the limit. */
START_TEST(test_append_roundtrip_max)
{
	uint8_t *payload = random_bytes(TTRPC_MAX_MESSAGE_SIZE, 6);
	struct ttrpc__frame_header h = {
		.length = TTRPC_MAX_MESSAGE_SIZE,
		.stream_id = 0x7fffffff,
		.type = TTRPC__TYPE_RESPONSE,
	};
	struct fill_ctx f = { .src = payload };
	struct ttrpc__frame_reader r;
	struct evbuffer *b = evbuffer_new();

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	ck_assert_int_eq(ttrpc__frame_append(b, &h, fill_copy, &f), 0);
	h.length = 1;
	h.stream_id = 2;
	f.src = (const uint8_t *)"z";
	ck_assert_int_eq(ttrpc__frame_append(b, &h, fill_copy, &f), 0);
	ck_assert_uint_eq(evbuffer_get_length(b),
			  2 * TTRPC__HEADER_SIZE + TTRPC_MAX_MESSAGE_SIZE + 1);
	expect_frame(&r, b, TTRPC_MAX_MESSAGE_SIZE, 0x7fffffff, TTRPC__TYPE_RESPONSE, 0, payload);
	expect_frame(&r, b, 1, 2, TTRPC__TYPE_RESPONSE, 0, (const uint8_t *)"z");
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	free(payload);
	evbuffer_free(b);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("header");

	tcase_add_test(tc, test_header_encode_bytes);
	tcase_add_test(tc, test_header_encode_each_field);
	tcase_add_test(tc, test_header_decode_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("next");
	/* 4 MiB frames are copied a few times; slow under valgrind and ASan */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_next_empty_buffer);
	tcase_add_test(tc, test_next_zero_length);
	tcase_add_test(tc, test_next_max_length_accepted);
	tcase_add_test(tc, test_next_max_length_incomplete);
	tcase_add_test(tc, test_next_oversized_skipped_in_chunks);
	tcase_add_test(tc, test_next_oversized_coalesced);
	tcase_add_test(tc, test_next_corrupt_first_byte);
	tcase_add_test(tc, test_next_custom_max);
	tcase_add_test(tc, test_next_split_byte_by_byte);
	tcase_add_test(tc, test_next_coalesced);
	tcase_add_test(tc, test_consume_exactly_one);
	tcase_add_test(tc, test_random_stream);
	tcase_add_test(tc, test_random_stream_with_oversized);
	suite_add_tcase(s, tc);

	tc = tcase_create("append");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_append_roundtrip_max);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
