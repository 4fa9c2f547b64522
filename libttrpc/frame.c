/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame codec. Oversized frames are skipped as their bytes arrive, never
 * buffered, so a peer announcing 4 GiB costs nothing but the skipping.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "frame.h"

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void ttrpc__frame_header_encode(const struct ttrpc__frame_header *h,
				uint8_t out[TTRPC__HEADER_SIZE])
{
	put_be32(out, h->length);
	put_be32(out + 4, h->stream_id);
	out[8] = h->type;
	out[9] = h->flags;
}

void ttrpc__frame_header_decode(const uint8_t in[TTRPC__HEADER_SIZE], struct ttrpc__frame_header *h)
{
	h->length = get_be32(in);
	h->stream_id = get_be32(in + 4);
	h->type = in[8];
	h->flags = in[9];
}

void ttrpc__frame_reader_init(struct ttrpc__frame_reader *r, uint32_t max_length)
{
	memset(r, 0, sizeof(*r));
	r->max_length = max_length;
}

enum ttrpc__frame_event ttrpc__frame_next(struct ttrpc__frame_reader *r, struct evbuffer *in,
					  struct ttrpc__frame_header *h, const uint8_t **payload)
{
	uint8_t raw[TTRPC__HEADER_SIZE];
	size_t avail;

	if (r->discard > 0) {
		size_t n = evbuffer_get_length(in);

		if (n > r->discard)
			n = (size_t)r->discard;
		evbuffer_drain(in, n);
		r->discard -= n;
		if (r->discard > 0)
			return TTRPC__FRAME_NEED_MORE;
	}

	avail = evbuffer_get_length(in);
	if (avail < TTRPC__HEADER_SIZE)
		return TTRPC__FRAME_NEED_MORE;
	if (evbuffer_copyout(in, raw, sizeof(raw)) != (ev_ssize_t)sizeof(raw))
		return TTRPC__FRAME_NEED_MORE;
	ttrpc__frame_header_decode(raw, h);

	if (h->length > r->max_length) {
		evbuffer_drain(in, TTRPC__HEADER_SIZE);
		r->discard = h->length;
		return raw[0] != 0 ? TTRPC__FRAME_CORRUPT : TTRPC__FRAME_OVERSIZED;
	}

	if (avail - TTRPC__HEADER_SIZE < h->length)
		return TTRPC__FRAME_NEED_MORE;

	/* Make header and payload contiguous; the header bytes are then skipped. */
	if (h->length == 0) {
		*payload = NULL;
	} else {
		const uint8_t *p = evbuffer_pullup(in,
						   (ev_ssize_t)(TTRPC__HEADER_SIZE + h->length));

		if (!p)
			return TTRPC__FRAME_NEED_MORE;
		*payload = p + TTRPC__HEADER_SIZE;
	}
	r->pending = true;
	r->pending_length = h->length;
	return TTRPC__FRAME_OK;
}

void ttrpc__frame_consume(struct ttrpc__frame_reader *r, struct evbuffer *in)
{
	if (!r->pending)
		return;
	evbuffer_drain(in, TTRPC__HEADER_SIZE + (size_t)r->pending_length);
	r->pending = false;
}

int ttrpc__frame_append_start(struct evbuffer *out, const struct ttrpc__frame_header *h, size_t len,
			      ttrpc__fill_fn fill, void *ctx)
{
	struct evbuffer_iovec vec;
	size_t total = TTRPC__HEADER_SIZE + len;
	uint8_t *p;

	if (evbuffer_reserve_space(out, (ev_ssize_t)total, &vec, 1) != 1 || vec.iov_len < total)
		return -ENOMEM;
	p = vec.iov_base;
	ttrpc__frame_header_encode(h, p);
	if (len > 0)
		fill(p + TTRPC__HEADER_SIZE, len, ctx);
	vec.iov_len = total;
	if (evbuffer_commit_space(out, &vec, 1) != 0)
		return -ENOMEM;
	return 0;
}

int ttrpc__frame_append(struct evbuffer *out, const struct ttrpc__frame_header *h,
			ttrpc__fill_fn fill, void *ctx)
{
	return ttrpc__frame_append_start(out, h, h->length, fill, ctx);
}
