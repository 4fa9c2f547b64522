/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the frame decoder (frame.c) fed in chunks that the
 * input chooses, its events handled as server.c handles them, and checked
 * against a reference decoder that sees the whole input as one flat array.
 * Chunk boundaries must never change what is decoded.
 *
 * Input: byte 0 picks the length limit (bit 7 set: 4 MiB, the default;
 * else (byte & 0x7f) * 3, so 0 and tiny limits are reached too), then
 * records of one length byte L and L stream bytes, each record appended to
 * the buffer at once, the decoder drained after each.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <ttrpc/common.h>

#include "frame.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One event of the reference decoder. */
struct model_event {
	enum ttrpc__frame_event ev;
	struct ttrpc__frame_header h;
	size_t payload; /* offset of the payload in the stream, for OK */
};

struct model {
	struct model_event *ev;
	size_t n, next;
	size_t left; /* stream bytes neither decoded nor skipped at the end */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The protocol as the README states it, on a flat array: no buffering questions. */
static void model_run(struct model *m, const uint8_t *s, size_t len, uint32_t max)
{
	size_t pos = 0;
	uint64_t discard = 0;

	/* At most one event per header: len / 10 + 1 bounds the count. */
	m->ev = calloc(len / TTRPC__HEADER_SIZE + 1, sizeof(*m->ev));
	FUZZ_CHECK(m->ev);
	m->n = m->next = 0;
	for (;;) {
		struct model_event *e = &m->ev[m->n];
		size_t skip = len - pos < discard ? len - pos : (size_t)discard;

		pos += skip;
		discard -= skip;
		if (discard > 0 || len - pos < TTRPC__HEADER_SIZE)
			break;
		e->h.length = be32(s + pos);
		e->h.stream_id = be32(s + pos + 4);
		e->h.type = s[pos + 8];
		e->h.flags = s[pos + 9];
		if (e->h.length > max) {
			e->ev = s[pos] ? TTRPC__FRAME_CORRUPT : TTRPC__FRAME_OVERSIZED;
			discard = e->h.length;
			pos += TTRPC__HEADER_SIZE;
			m->n++;
			continue;
		}
		if (len - pos - TTRPC__HEADER_SIZE < e->h.length)
			break;
		e->ev = TTRPC__FRAME_OK;
		e->payload = pos + TTRPC__HEADER_SIZE;
		pos += TTRPC__HEADER_SIZE + e->h.length;
		m->n++;
	}
	m->left = len - pos;
}

/* Take every event the buffer holds now, as server.c's on_read does. */
static void drain(struct ttrpc__frame_reader *r, struct evbuffer *in, struct model *m,
		  const uint8_t *stream)
{
	for (;;) {
		struct ttrpc__frame_header h;
		const uint8_t *payload = NULL;
		enum ttrpc__frame_event ev = ttrpc__frame_next(r, in, &h, &payload);
		const struct model_event *want;
		uint8_t raw[TTRPC__HEADER_SIZE];
		struct ttrpc__frame_header back;

		if (ev == TTRPC__FRAME_NEED_MORE)
			return;
		FUZZ_CHECK(m->next < m->n);
		want = &m->ev[m->next++];
		FUZZ_CHECK(ev == want->ev);
		FUZZ_CHECK(h.length == want->h.length && h.stream_id == want->h.stream_id &&
			   h.type == want->h.type && h.flags == want->h.flags);
		ttrpc__frame_header_encode(&h, raw);
		ttrpc__frame_header_decode(raw, &back);
		FUZZ_CHECK(back.length == h.length && back.stream_id == h.stream_id &&
			   back.type == h.type && back.flags == h.flags);
		if (ev != TTRPC__FRAME_OK)
			continue;
		FUZZ_CHECK(h.length <= r->max_length);
		if (h.length == 0) {
			FUZZ_CHECK(payload == NULL);
		} else {
			FUZZ_CHECK(payload != NULL);
			FUZZ_CHECK(memcmp(payload, stream + want->payload, h.length) == 0);
		}
		ttrpc__frame_consume(r, in);
		/* A second consume is a no-op: nothing is pending any more. */
		ttrpc__frame_consume(r, in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttrpc__frame_reader r;
	struct evbuffer *in;
	struct model m;
	uint8_t *stream;
	size_t len = 0, pos;
	uint32_t max;

	if (size < 1)
		return 0;
	max = data[0] & 0x80 ? TTRPC_MAX_MESSAGE_SIZE : (uint32_t)(data[0] & 0x7f) * 3;

	/* The stream is the records' bytes without their length bytes. */
	stream = malloc(size);
	FUZZ_CHECK(stream);
	for (pos = 1; pos < size;) {
		size_t n = data[pos++];

		if (n > size - pos)
			n = size - pos;
		memcpy(stream + len, data + pos, n);
		len += n;
		pos += n;
	}
	model_run(&m, stream, len, max);

	in = evbuffer_new();
	FUZZ_CHECK(in);
	ttrpc__frame_reader_init(&r, max);
	len = 0;
	for (pos = 1; pos < size;) {
		size_t n = data[pos++];

		if (n > size - pos)
			n = size - pos;
		FUZZ_CHECK(evbuffer_add(in, stream + len, n) == 0);
		len += n;
		pos += n;
		drain(&r, in, &m, stream);
	}
	FUZZ_CHECK(m.next == m.n);
	FUZZ_CHECK(evbuffer_get_length(in) == m.left);
	FUZZ_CHECK(!r.pending);

	evbuffer_free(in);
	free(m.ev);
	free(stream);
	return 0;
}
