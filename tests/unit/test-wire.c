/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the Request/Response envelopes: fields, payload placement, size limits. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <ttrpc/common.h>

#include "frame.h"
#include "proto/ttrpc/request.pb-c.h"
#include "wire.h"

/* Cuts the next frame out of @b with the reader, as a peer would. */
static uint8_t *take_frame(struct evbuffer *b, struct ttrpc__frame_header *h)
{
	struct ttrpc__frame_reader r;
	const uint8_t *p = NULL;
	uint8_t *copy;

	ttrpc__frame_reader_init(&r, TTRPC_MAX_MESSAGE_SIZE);
	ck_assert_int_eq(ttrpc__frame_next(&r, b, h, &p), TTRPC__FRAME_OK);
	copy = malloc(h->length + 1);
	ck_assert_ptr_nonnull(copy);
	if (h->length > 0)
		memcpy(copy, p, h->length);
	ttrpc__frame_consume(&r, b);
	return copy;
}

static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *p;

	*len = protobuf_c_message_get_packed_size(m);
	p = malloc(*len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(protobuf_c_message_pack(m, p), *len);
	return p;
}

/* Frame length the library produced for a request, measured with no limit in the way. */
static size_t request_frame_length(const struct ttrpc__request_head *head,
				   const ProtobufCMessage *msg)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;

	ck_assert_int_eq(ttrpc__wire_request(b, 1, 0, head, msg, UINT32_MAX, NULL), 0);
	n = evbuffer_get_length(b) - TTRPC__HEADER_SIZE;
	evbuffer_free(b);
	return n;
}

static char *repeat(const char *unit, size_t times)
{
	size_t u = strlen(unit);
	char *s = malloc(u * times + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * u, unit, u);
	s[u * times] = '\0';
	return s;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n;

		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xe0) == 0xc0)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0)
			n = 3;
		else
			return false;
		p++;
		for (size_t i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

START_TEST(test_request_fields)
{
	static const struct ttrpc_kv md[] = {
		{ "b-key", "first" },
		{ "a-key", "second" },
		{ "b-key", "third" },
	};
	const struct ttrpc__request_head head = {
		.service = "ttrpc.interop.v1.Interop",
		.method = "Echo",
		.timeout_nano = 1500000000,
		.metadata = md,
		.n_metadata = 3,
	};
	Ttrpc__KeyValue msg = TTRPC__KEY_VALUE__INIT;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	Ttrpc__KeyValue *inner;
	Ttrpc__Request *req;
	uint8_t *packed, *raw;
	size_t packed_len;

	msg.key = "payload key";
	msg.value = "payload value";
	packed = pack_msg(&msg.base, &packed_len);

	ck_assert_int_eq(ttrpc__wire_request(b, 0x1234567, TTRPC__FLAG_REMOTE_CLOSED, &head,
					     &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL),
			 0);
	raw = take_frame(b, &h);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_uint_eq(h.stream_id, 0x1234567);
	ck_assert_uint_eq(h.type, TTRPC__TYPE_REQUEST);
	ck_assert_uint_eq(h.flags, TTRPC__FLAG_REMOTE_CLOSED);

	req = ttrpc__request__unpack(NULL, h.length, raw);
	ck_assert_ptr_nonnull(req);
	ck_assert_str_eq(req->service, "ttrpc.interop.v1.Interop");
	ck_assert_str_eq(req->method, "Echo");
	ck_assert_int_eq(req->timeout_nano, 1500000000);
	ck_assert_uint_eq(req->n_metadata, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(req->metadata[i]->key, md[i].key);
		ck_assert_str_eq(req->metadata[i]->value, md[i].value);
	}
	ck_assert_uint_eq(req->payload.len, packed_len);
	ck_assert_mem_eq(req->payload.data, packed, packed_len);
	inner = ttrpc__key_value__unpack(NULL, req->payload.len, req->payload.data);
	ck_assert_ptr_nonnull(inner);
	ck_assert_str_eq(inner->key, "payload key");
	ck_assert_str_eq(inner->value, "payload value");

	ttrpc__key_value__free_unpacked(inner, NULL);
	ttrpc__request__free_unpacked(req, NULL);
	free(raw);
	free(packed);
	evbuffer_free(b);
}
END_TEST

/* Byte for byte: head fields in field order, then the payload field last. */
START_TEST(test_request_exact_bytes)
{
	static const struct ttrpc_kv md[] = { { "a", "b" } };
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00, 0x0a,
		0x01, 's',  0x12, 0x01, 'm',  0x20, 0x01, 0x2a, 0x06, 0x0a, 0x01,
		'a',  0x12, 0x01, 'b',  0x1a, 0x03, 0x0a, 0x01, 'k',
	};
	const struct ttrpc__request_head head = {
		.service = "s",
		.method = "m",
		.timeout_nano = 1,
		.metadata = md,
		.n_metadata = 1,
	};
	Ttrpc__KeyValue msg = TTRPC__KEY_VALUE__INIT;
	struct evbuffer *b = evbuffer_new();

	msg.key = "k";
	ck_assert_int_eq(
		ttrpc__wire_request(b, 5, 0, &head, &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof(want));
	ck_assert_mem_eq(evbuffer_pullup(b, -1), want, sizeof(want));
	evbuffer_free(b);
}
END_TEST

/* More pairs than the on-stack array holds: order and repeats still kept. */
START_TEST(test_request_many_metadata)
{
	enum { N = 21 };
	struct ttrpc_kv md[N];
	char keys[N][16], vals[N][16];
	const struct ttrpc__request_head head = {
		.service = "svc",
		.method = "M",
		.metadata = md,
		.n_metadata = N,
	};
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	Ttrpc__Request *req;
	uint8_t *raw;

	for (size_t i = 0; i < N; i++) {
		/* keys repeat every third pair; one value is empty */
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i % 3);
		if (i == 7)
			vals[i][0] = '\0';
		else
			snprintf(vals[i], sizeof(vals[i]), "val-%zu", i);
		md[i].key = keys[i];
		md[i].value = vals[i];
	}
	ck_assert_int_eq(ttrpc__wire_request(b, 3, 0, &head, NULL, TTRPC_MAX_MESSAGE_SIZE, NULL),
			 0);
	raw = take_frame(b, &h);
	req = ttrpc__request__unpack(NULL, h.length, raw);
	ck_assert_ptr_nonnull(req);
	ck_assert_uint_eq(req->n_metadata, N);
	for (size_t i = 0; i < N; i++) {
		ck_assert_str_eq(req->metadata[i]->key, keys[i]);
		ck_assert_str_eq(req->metadata[i]->value, vals[i]);
	}
	ck_assert_uint_eq(req->payload.len, 0);
	ttrpc__request__free_unpacked(req, NULL);
	free(raw);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_request_timeouts)
{
	static const int64_t timeouts[] = { 0, 1, 127, 128, -1, INT64_MAX, INT64_MIN };

	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		const struct ttrpc__request_head head = {
			.service = "s",
			.method = "m",
			.timeout_nano = timeouts[i],
		};
		struct evbuffer *b = evbuffer_new();
		struct ttrpc__frame_header h;
		Ttrpc__Request *req;
		uint8_t *raw;

		ck_assert_int_eq(
			ttrpc__wire_request(b, 1, 0, &head, NULL, TTRPC_MAX_MESSAGE_SIZE, NULL), 0);
		raw = take_frame(b, &h);
		req = ttrpc__request__unpack(NULL, h.length, raw);
		ck_assert_ptr_nonnull(req);
		ck_assert_msg(req->timeout_nano == timeouts[i], "timeout %zu", i);
		ck_assert_uint_eq(req->n_metadata, 0);
		ttrpc__request__free_unpacked(req, NULL);
		free(raw);
		evbuffer_free(b);
	}
}
END_TEST

/* The limit covers the whole envelope; over it, the output is left untouched. */
START_TEST(test_request_limit)
{
	static const struct ttrpc_kv md[] = { { "k", "v" } };
	const struct ttrpc__request_head head = {
		.service = "svc",
		.method = "Method",
		.timeout_nano = 5,
		.metadata = md,
		.n_metadata = 1,
	};
	Ttrpc__KeyValue msg = TTRPC__KEY_VALUE__INIT;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	char *big = repeat("x", 300);
	uint8_t *raw;
	size_t len;

	msg.value = big;
	len = request_frame_length(&head, &msg.base);
	evbuffer_add(b, "q", 1);
	ck_assert_int_eq(ttrpc__wire_request(b, 1, 0, &head, &msg.base, (uint32_t)len - 1, NULL),
			 -EMSGSIZE);
	ck_assert_uint_eq(evbuffer_get_length(b), 1);
	ck_assert_int_eq(ttrpc__wire_request(b, 1, 0, &head, &msg.base, (uint32_t)len, NULL), 0);
	evbuffer_drain(b, 1);
	raw = take_frame(b, &h);
	ck_assert_uint_eq(h.length, len);
	free(raw);
	free(big);

	/* a payload alone over 4 MiB */
	big = repeat("y", TTRPC_MAX_MESSAGE_SIZE);
	msg.value = big;
	ck_assert_int_eq(
		ttrpc__wire_request(b, 1, 0, &head, &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL),
		-EMSGSIZE);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	free(big);

	/* the head alone can be too big too */
	ck_assert_int_eq(ttrpc__wire_request(b, 1, 0, &head, NULL, 3, NULL), -EMSGSIZE);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

/* proto3 leaves out an empty bytes field, and so must the hand-written payload field. */
START_TEST(test_request_empty_payload)
{
	const struct ttrpc__request_head head = { .service = "svc", .method = "M" };
	Ttrpc__Request expect = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue empty = TTRPC__KEY_VALUE__INIT;
	const ProtobufCMessage *msgs[] = { NULL, &empty.base };

	expect.service = "svc";
	expect.method = "M";
	ck_assert_uint_eq(protobuf_c_message_get_packed_size(&empty.base), 0);
	for (size_t i = 0; i < 2; i++) {
		struct evbuffer *b = evbuffer_new();
		struct ttrpc__frame_header h;
		Ttrpc__Request *req;
		uint8_t *raw;

		ck_assert_int_eq(
			ttrpc__wire_request(b, 1, 0, &head, msgs[i], TTRPC_MAX_MESSAGE_SIZE, NULL),
			0);
		raw = take_frame(b, &h);
		ck_assert_uint_eq(h.length, ttrpc__request__get_packed_size(&expect));
		req = ttrpc__request__unpack(NULL, h.length, raw);
		ck_assert_ptr_nonnull(req);
		ck_assert_uint_eq(req->payload.len, 0);
		ck_assert_str_eq(req->service, "svc");
		ttrpc__request__free_unpacked(req, NULL);
		free(raw);
		evbuffer_free(b);
	}
}
END_TEST

/* A payload whose length needs a multi-byte varint. */
START_TEST(test_request_large_payload)
{
	const struct ttrpc__request_head head = { .service = "svc", .method = "M" };
	Ttrpc__KeyValue msg = TTRPC__KEY_VALUE__INIT;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	char *big = repeat("0123456789abcdef", 200000);
	Ttrpc__Request *req;
	uint8_t *packed, *raw;
	size_t packed_len;

	msg.key = big;
	packed = pack_msg(&msg.base, &packed_len);
	ck_assert_int_eq(
		ttrpc__wire_request(b, 9, 0, &head, &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL), 0);
	raw = take_frame(b, &h);
	req = ttrpc__request__unpack(NULL, h.length, raw);
	ck_assert_ptr_nonnull(req);
	ck_assert_uint_eq(req->payload.len, packed_len);
	ck_assert_int_eq(memcmp(req->payload.data, packed, packed_len), 0);
	ttrpc__request__free_unpacked(req, NULL);
	free(raw);
	free(packed);
	free(big);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_response_ok_fields)
{
	Google__Rpc__Status msg = GOOGLE__RPC__STATUS__INIT;
	struct evbuffer *b = evbuffer_new();
	struct ttrpc__frame_header h;
	Ttrpc__Response *resp;
	uint8_t *packed, *raw;
	size_t packed_len;

	/* a Status as payload, distinct from the envelope's own status */
	msg.code = TTRPC_NOT_FOUND;
	msg.message = "payload, not the status";
	packed = pack_msg(&msg.base, &packed_len);
	ck_assert_int_eq(
		ttrpc__wire_response_ok(b, 0xfffffffd, &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL), 0);
	raw = take_frame(b, &h);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_uint_eq(h.stream_id, 0xfffffffd);
	ck_assert_uint_eq(h.type, TTRPC__TYPE_RESPONSE);
	ck_assert_uint_eq(h.flags, 0);

	resp = ttrpc__response__unpack(NULL, h.length, raw);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_nonnull(resp->status);
	ck_assert_int_eq(resp->status->code, TTRPC_OK);
	ck_assert_str_eq(resp->status->message, "");
	ck_assert_uint_eq(resp->status->n_details, 0);
	ck_assert_uint_eq(resp->payload.len, packed_len);
	ck_assert_mem_eq(resp->payload.data, packed, packed_len);
	ttrpc__response__free_unpacked(resp, NULL);
	free(raw);
	free(packed);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_response_ok_exact_bytes)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x02,
		0x00, 0x0a, 0x00, 0x12, 0x03, 0x0a, 0x01, 'k',
	};
	static const uint8_t want_empty[] = {
		0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00,
	};
	Ttrpc__KeyValue msg = TTRPC__KEY_VALUE__INIT;
	Ttrpc__KeyValue empty = TTRPC__KEY_VALUE__INIT;
	struct evbuffer *b = evbuffer_new();

	msg.key = "k";
	ck_assert_int_eq(ttrpc__wire_response_ok(b, 3, &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof(want));
	ck_assert_mem_eq(evbuffer_pullup(b, -1), want, sizeof(want));
	evbuffer_drain(b, sizeof(want));

	/* an empty message, or none, still carries the empty OK status */
	ck_assert_int_eq(ttrpc__wire_response_ok(b, 1, &empty.base, TTRPC_MAX_MESSAGE_SIZE, NULL),
			 0);
	ck_assert_int_eq(ttrpc__wire_response_ok(b, 1, NULL, TTRPC_MAX_MESSAGE_SIZE, NULL), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 2 * sizeof(want_empty));
	ck_assert_mem_eq(evbuffer_pullup(b, -1), want_empty, sizeof(want_empty));
	ck_assert_mem_eq(evbuffer_pullup(b, -1) + sizeof(want_empty), want_empty,
			 sizeof(want_empty));
	evbuffer_free(b);
}
END_TEST

START_TEST(test_response_ok_limit)
{
	Ttrpc__KeyValue msg = TTRPC__KEY_VALUE__INIT;
	struct evbuffer *b = evbuffer_new();
	char *big = repeat("z", 1000);
	/* 0a 00, 12 <2-byte len>, then 12 <2-byte len> <1000 bytes> inside */
	const uint32_t len = 2 + 1 + 2 + 1 + 2 + 1000;

	msg.value = big;
	evbuffer_add(b, "q", 1);
	ck_assert_int_eq(ttrpc__wire_response_ok(b, 1, &msg.base, len - 1, NULL), -EMSGSIZE);
	ck_assert_uint_eq(evbuffer_get_length(b), 1);
	ck_assert_int_eq(ttrpc__wire_response_ok(b, 1, &msg.base, len, NULL), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 1 + TTRPC__HEADER_SIZE + len);
	free(big);

	big = repeat("z", TTRPC_MAX_MESSAGE_SIZE);
	msg.value = big;
	ck_assert_int_eq(ttrpc__wire_response_ok(b, 1, &msg.base, TTRPC_MAX_MESSAGE_SIZE, NULL),
			 -EMSGSIZE);
	ck_assert_uint_eq(evbuffer_get_length(b), 1 + TTRPC__HEADER_SIZE + len);
	free(big);
	evbuffer_free(b);
}
END_TEST

static Ttrpc__Response *status_frame(int code, const char *message, uint32_t max,
				     struct ttrpc__frame_header *h)
{
	struct evbuffer *b = evbuffer_new();
	Ttrpc__Response *resp;
	uint8_t *raw;

	ck_assert_int_eq(ttrpc__wire_response_status(b, 11, code, message, max), 0);
	raw = take_frame(b, h);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_uint_eq(h->stream_id, 11);
	ck_assert_uint_eq(h->type, TTRPC__TYPE_RESPONSE);
	ck_assert_uint_eq(h->flags, 0);
	resp = ttrpc__response__unpack(NULL, h->length, raw);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_nonnull(resp->status);
	ck_assert_uint_eq(resp->payload.len, 0);
	free(raw);
	evbuffer_free(b);
	return resp;
}

START_TEST(test_response_status)
{
	static const struct {
		int code;
		const char *message;
		const char *want;
	} cases[] = {
		{ TTRPC_NOT_FOUND, "no such method", "no such method" },
		{ TTRPC_UNAUTHENTICATED, "who are you", "who are you" },
		{ TTRPC_CANCELLED, "", "" },
		{ TTRPC_INTERNAL, NULL, "" },
		{ TTRPC_OK, NULL, "" },
		{ -1, "negative codes are int32 varints", "negative codes are int32 varints" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ttrpc__frame_header h;
		Ttrpc__Response *resp = status_frame(cases[i].code, cases[i].message,
						     TTRPC_MAX_MESSAGE_SIZE, &h);

		ck_assert_msg(resp->status->code == cases[i].code, "case %zu: code %d", i,
			      resp->status->code);
		ck_assert_str_eq(resp->status->message, cases[i].want);
		ttrpc__response__free_unpacked(resp, NULL);
	}
}
END_TEST

/* A message that fits is never shortened, right up to the limit's margin. */
START_TEST(test_response_status_fits_whole)
{
	const uint32_t max = 200;
	char *msg = repeat("m", max - 32);
	struct ttrpc__frame_header h;
	Ttrpc__Response *resp = status_frame(TTRPC_ABORTED, msg, max, &h);

	ck_assert_str_eq(resp->status->message, msg);
	ck_assert_uint_le(h.length, max);
	ttrpc__response__free_unpacked(resp, NULL);
	free(msg);
}
END_TEST

/* Over the limit the message is cut, to a prefix, and the frame fits. */
START_TEST(test_response_status_cut)
{
	static const uint32_t maxes[] = { 64, 65, 66, 80, 100, 127, 128, 129, 1000, 16384, 16385 };
	static const int codes[] = { TTRPC_RESOURCE_EXHAUSTED, -1, 0x7fffffff };

	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
			const uint32_t max = maxes[i];
			size_t lens[] = { max - 31, max - 1, max, max + 1, 2 * max + 100 };

			for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				char *msg = repeat("abcdefghij", lens[l] / 10 + 1);
				struct ttrpc__frame_header h;
				Ttrpc__Response *resp;
				size_t got;

				msg[lens[l]] = '\0';
				resp = status_frame(codes[c], msg, max, &h);
				got = strlen(resp->status->message);
				ck_assert_msg(h.length <= max, "max %u, message %zu: frame %u", max,
					      lens[l], h.length);
				ck_assert_int_eq(resp->status->code, codes[c]);
				ck_assert_uint_lt(got, lens[l]);
				ck_assert_msg(strncmp(resp->status->message, msg, got) == 0,
					      "max %u: not a prefix", max);
				/* cut no shorter than needed to leave room for the envelope */
				if (max > 64)
					ck_assert_uint_ge(got, max - 64);
				ttrpc__response__free_unpacked(resp, NULL);
				free(msg);
			}
		}
	}
}
END_TEST

START_TEST(test_response_status_cut_at_default_max)
{
	char *msg = repeat("e", TTRPC_MAX_MESSAGE_SIZE + 1000);
	struct ttrpc__frame_header h;
	Ttrpc__Response *resp = status_frame(TTRPC_INTERNAL, msg, TTRPC_MAX_MESSAGE_SIZE, &h);

	ck_assert_uint_le(h.length, TTRPC_MAX_MESSAGE_SIZE);
	ck_assert_uint_gt(strlen(resp->status->message), 0);
	ck_assert_int_eq(strncmp(resp->status->message, msg, strlen(resp->status->message)), 0);
	ttrpc__response__free_unpacked(resp, NULL);
	free(msg);
}
END_TEST

/*
 * google.rpc.Status.message is a proto3 string: it must stay valid UTF-8
 * when cut, or Go and C++ peers refuse to parse the whole Response.
 */
START_TEST(test_response_status_cut_keeps_utf8)
{
	/* 2-, 3- and 4-byte sequences, each cut at every offset by some max */
	static const char *const units[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		for (uint32_t max = 65; max < 69; max++) {
			char *msg = repeat(units[u], 100);
			struct ttrpc__frame_header h;
			Ttrpc__Response *resp = status_frame(TTRPC_INTERNAL, msg, max, &h);
			size_t kept = strlen(resp->status->message);
			bool valid = valid_utf8(resp->status->message);

			/* freed first: this one is expected to fail, and must not leak then */
			ttrpc__response__free_unpacked(resp, NULL);
			free(msg);
			ck_assert_uint_le(h.length, max);
			ck_assert_msg(
				valid,
				"max %u: cut inside a %zu-byte character leaves invalid UTF-8 "
				"(%zu bytes kept)",
				max, strlen(units[u]), kept);
		}
	}
}
END_TEST

START_TEST(test_data_frames)
{
	struct evbuffer *b = evbuffer_new();
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	struct ttrpc__frame_header h;
	uint8_t *p;

	/* a message: type Data, the flags given, the packed message as payload */
	kv.key = "k";
	ck_assert_int_eq(ttrpc__wire_data(b, 7, 0, &kv.base, 1024, NULL), 0);
	p = take_frame(b, &h);
	ck_assert_uint_eq(h.type, TTRPC__TYPE_DATA);
	ck_assert_uint_eq(h.stream_id, 7);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.length, 3);
	ck_assert_mem_eq(p, "\x0a\x01k", 3);
	free(p);
	/* an empty message is a zero-length frame; NULL with flags is a close */
	kv.key = "";
	ck_assert_int_eq(ttrpc__wire_data(b, 7, 0, &kv.base, 1024, NULL), 0);
	free(take_frame(b, &h));
	ck_assert_uint_eq(h.length, 0);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_int_eq(ttrpc__wire_data(b, 7, TTRPC__FLAG_REMOTE_CLOSED | TTRPC__FLAG_NO_DATA,
					  NULL, 1024, NULL),
			 0);
	free(take_frame(b, &h));
	ck_assert_uint_eq(h.length, 0);
	ck_assert_uint_eq(h.flags, 0x5);
	/* over the limit: nothing appended */
	kv.key = "0123456789";
	ck_assert_int_eq(ttrpc__wire_data(b, 7, 0, &kv.base, 5, NULL), -EMSGSIZE);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_request_has_payload)
{
	/* service "s", then payload present but empty */
	static const uint8_t empty_payload[] = { 0x0a, 0x01, 's', 0x1a, 0x00 };
	/* service, method, timeout (varint), metadata: no payload */
	static const uint8_t none[] = { 0x0a, 0x01, 's',  0x12, 0x01, 'm', 0x20,
					0x96, 0x01, 0x2a, 0x02, 0x0a, 0x00 };
	/* unknown fixed64 and fixed32 fields before the payload */
	static const uint8_t fixed[] = { 0x79, 1,    2, 3, 4, 5, 6,    7,    8,
					 0x85, 0x01, 1, 2, 3, 4, 0x1a, 0x01, 'x' };
	/* truncated: a length beyond the end */
	static const uint8_t cut[] = { 0x0a, 0x09, 's' };

	ck_assert(ttrpc__wire_request_has_payload(empty_payload, sizeof(empty_payload)));
	ck_assert(!ttrpc__wire_request_has_payload(none, sizeof(none)));
	ck_assert(ttrpc__wire_request_has_payload(fixed, sizeof(fixed)));
	ck_assert(!ttrpc__wire_request_has_payload(cut, sizeof(cut)));
	ck_assert(!ttrpc__wire_request_has_payload(NULL, 0));
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("request");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_fields);
	tcase_add_test(tc, test_request_exact_bytes);
	tcase_add_test(tc, test_request_many_metadata);
	tcase_add_test(tc, test_request_timeouts);
	tcase_add_test(tc, test_request_limit);
	tcase_add_test(tc, test_request_empty_payload);
	tcase_add_test(tc, test_request_large_payload);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_response_ok_fields);
	tcase_add_test(tc, test_response_ok_exact_bytes);
	tcase_add_test(tc, test_response_ok_limit);
	tcase_add_test(tc, test_response_status);
	tcase_add_test(tc, test_response_status_fits_whole);
	tcase_add_test(tc, test_response_status_cut);
	tcase_add_test(tc, test_response_status_cut_at_default_max);
	tcase_add_test(tc, test_data_frames);
	tcase_add_test(tc, test_request_has_payload);
	tcase_add_test(tc, test_response_status_cut_keeps_utf8);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
