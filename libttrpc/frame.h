/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ttrpc frame: a 10-byte big-endian header (length, stream id, type,
 * flags) followed by length bytes. This file does no I/O: it encodes
 * headers and cuts frames out of an evbuffer, so it can be tested and
 * fuzzed on bytes alone.
 */
#ifndef TTRPC_FRAME_H
#define TTRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define TTRPC__HEADER_SIZE 10

enum {
	TTRPC__TYPE_REQUEST = 1,
	TTRPC__TYPE_RESPONSE = 2,
	TTRPC__TYPE_DATA = 3,
};

enum {
	TTRPC__FLAG_REMOTE_CLOSED = 0x1,
	TTRPC__FLAG_REMOTE_OPEN = 0x2,
	TTRPC__FLAG_NO_DATA = 0x4,
};

struct ttrpc__frame_header {
	uint32_t length;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

void ttrpc__frame_header_encode(const struct ttrpc__frame_header *h,
				uint8_t out[TTRPC__HEADER_SIZE]);
void ttrpc__frame_header_decode(const uint8_t in[TTRPC__HEADER_SIZE],
				struct ttrpc__frame_header *h);

/* What ttrpc__frame_next() found. */
enum ttrpc__frame_event {
	TTRPC__FRAME_NEED_MORE, /* no whole frame buffered yet */
	TTRPC__FRAME_OK,        /* a whole frame: header and payload */
	/* length above the limit: the header is consumed, the payload will be
	 * skipped as it arrives; answer RESOURCE_EXHAUSTED on its stream id */
	TTRPC__FRAME_OVERSIZED,
	/* like OVERSIZED, but the reserved first length byte is not zero: the
	 * peer does not speak ttrpc; answer, then close */
	TTRPC__FRAME_CORRUPT,
};

/* Reader state of one connection's input direction. */
struct ttrpc__frame_reader {
	uint32_t max_length; /* inclusive */
	uint64_t discard;    /* payload bytes of an oversized frame still to skip */
	bool pending;        /* an OK frame was returned and not yet consumed */
	uint32_t pending_length;
};

void ttrpc__frame_reader_init(struct ttrpc__frame_reader *r, uint32_t max_length);

/*
 * ttrpc__frame_next() - take the next event from @in.
 * @h: receives the header for OK, OVERSIZED and CORRUPT.
 * @payload: for OK, receives a pointer to h->length contiguous bytes inside
 *           @in (NULL when the length is 0), valid until
 *           ttrpc__frame_consume(), which must be called before the next
 *           call to this function.
 */
enum ttrpc__frame_event ttrpc__frame_next(struct ttrpc__frame_reader *r, struct evbuffer *in,
					  struct ttrpc__frame_header *h, const uint8_t **payload);

/* Drop the frame last returned as TTRPC__FRAME_OK from @in. */
void ttrpc__frame_consume(struct ttrpc__frame_reader *r, struct evbuffer *in);

/* Writes exactly @len payload bytes at @dst. */
typedef void (*ttrpc__fill_fn)(uint8_t *dst, size_t len, void *ctx);

/*
 * ttrpc__frame_append() - append one frame to @out, its payload written in
 * place by @fill (no intermediate buffer).
 * Return: 0 or -ENOMEM (nothing appended).
 */
int ttrpc__frame_append(struct evbuffer *out, const struct ttrpc__frame_header *h,
			ttrpc__fill_fn fill, void *ctx);

/*
 * ttrpc__frame_append_start() - the same for the header and the first @len
 * bytes of the payload only: the caller appends the other h->length - @len.
 */
int ttrpc__frame_append_start(struct evbuffer *out, const struct ttrpc__frame_header *h, size_t len,
			      ttrpc__fill_fn fill, void *ctx);

#endif
