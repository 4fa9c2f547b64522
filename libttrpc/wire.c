/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Envelope encoding. The envelope is packed by protobuf-c without its
 * payload field; the payload field (tag, length, message) is then written
 * after it, in the same reserved region. Field order does not matter to
 * protobuf parsers, and this saves serializing the payload twice. A large
 * payload whose bytes fields the caller's references hold is appended after
 * the envelope's head instead, those fields by reference (refmsg.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"
#include "proto/ttrpc/request.pb-c.h"
#include "refmsg.h"
#include "wire.h"

/* Wire tags: field << 3 | 2 (length-delimited). */
#define TAG_REQUEST_PAYLOAD 0x1a
#define TAG_RESPONSE_PAYLOAD 0x12

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

struct envelope {
	const ProtobufCMessage *head; /* envelope without payload; NULL for Data */
	size_t head_size;
	uint8_t payload_tag;
	const ProtobufCMessage *payload;
	size_t payload_size;
};

/*
 * Size of the envelope with its payload field; a 0-byte payload is omitted,
 * as proto3 does. A Data frame is its payload alone.
 */
static uint64_t envelope_size(struct envelope *e)
{
	e->head_size = e->head ? protobuf_c_message_get_packed_size(e->head) : 0;
	e->payload_size = e->payload ? protobuf_c_message_get_packed_size(e->payload) : 0;
	if (!e->head || e->payload_size == 0)
		return e->head_size + e->payload_size;
	return (uint64_t)e->head_size + 1 + varint_size(e->payload_size) + e->payload_size;
}

/* Everything before the payload message: the head, the payload's tag and length. */
static uint8_t *fill_head(uint8_t *p, const struct envelope *e)
{
	if (!e->head)
		return p;
	p += protobuf_c_message_pack(e->head, p);
	if (e->payload_size > 0) {
		*p++ = e->payload_tag;
		p = put_varint(p, e->payload_size);
	}
	return p;
}

static void fill_head_only(uint8_t *dst, size_t len, void *ctx)
{
	fill_head(dst, ctx);
	(void)len;
}

static void fill_envelope(uint8_t *dst, size_t len, void *ctx)
{
	struct envelope *e = ctx;
	uint8_t *p = fill_head(dst, e);

	if (e->payload_size > 0)
		protobuf_c_message_pack(e->payload, p);
	(void)len;
}

/* The frame is built in a scratch buffer, so that a failure appends nothing. */
static int append_by_reference(struct evbuffer *out, const struct ttrpc__frame_header *h,
			       struct envelope *e, const struct ttrpc__refs *refs)
{
	struct evbuffer *tmp = evbuffer_new();
	int r;

	if (!tmp)
		return -ENOMEM;
	r = ttrpc__frame_append_start(tmp, h, h->length - e->payload_size, fill_head_only, e);
	if (r == 0)
		r = ttrpc__pack_ref(tmp, e->payload, refs);
	if (r == 0 && evbuffer_add_buffer(out, tmp) < 0)
		r = -ENOMEM;
	evbuffer_free(tmp);
	return r;
}

static int append_envelope(struct evbuffer *out, uint32_t id, uint8_t type, uint8_t flags,
			   struct envelope *e, uint32_t max, const struct ttrpc__refs *refs)
{
	uint64_t size = envelope_size(e);
	struct ttrpc__frame_header h = { .stream_id = id, .type = type, .flags = flags };

	if (size > max)
		return -EMSGSIZE;
	h.length = (uint32_t)size;
	if (refs && e->payload_size >= TTRPC__REF_MIN)
		return append_by_reference(out, &h, e, refs);
	return ttrpc__frame_append(out, &h, fill_envelope, e);
}

int ttrpc__wire_response_ok(struct evbuffer *out, uint32_t id, const ProtobufCMessage *msg,
			    uint32_t max, const struct ttrpc__refs *refs)
{
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	struct envelope e = {
		.head = &resp.base,
		.payload_tag = TAG_RESPONSE_PAYLOAD,
		.payload = msg,
	};

	/* Go always sends a status, an empty one for OK; peers may expect it. */
	resp.status = &st;
	return append_envelope(out, id, TTRPC__TYPE_RESPONSE, 0, &e, max, refs);
}

int ttrpc__wire_response_status(struct evbuffer *out, uint32_t id, int code, const char *message,
				uint32_t max)
{
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	struct envelope e = { .head = &resp.base };
	char *cut = NULL;
	int r;

	st.code = code;
	st.message = (char *)(message ? message : "");
	resp.status = &st;
	/* Room for the envelope's own tags and lengths besides the message. */
	if (strlen(st.message) + 32 > max) {
		size_t n = max > 64 ? max - 64 : 0;

		/* Cut at a character boundary: a proto3 string must stay valid
		 * UTF-8, or Go's decoder rejects the whole Response. */
		while (n > 0 && ((uint8_t)st.message[n] & 0xc0) == 0x80)
			n--;
		cut = strndup(st.message, n);
		if (!cut)
			return -ENOMEM;
		st.message = cut;
	}
	r = append_envelope(out, id, TTRPC__TYPE_RESPONSE, 0, &e, max, NULL);
	free(cut);
	return r;
}

int ttrpc__wire_request(struct evbuffer *out, uint32_t id, uint8_t flags,
			const struct ttrpc__request_head *head, const ProtobufCMessage *msg,
			uint32_t max, const struct ttrpc__refs *refs)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue kv_small[8];
	Ttrpc__KeyValue *kvp_small[8];
	Ttrpc__KeyValue *kv = kv_small;
	Ttrpc__KeyValue **kvp = kvp_small;
	struct envelope e = {
		.head = &req.base,
		.payload_tag = TAG_REQUEST_PAYLOAD,
		.payload = msg,
	};
	int r;

	if (head->n_metadata > 8) {
		kv = calloc(head->n_metadata, sizeof(*kv));
		kvp = calloc(head->n_metadata, sizeof(*kvp));
		if (!kv || !kvp) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < head->n_metadata; i++) {
		ttrpc__key_value__init(&kv[i]);
		kv[i].key = (char *)head->metadata[i].key;
		kv[i].value = (char *)head->metadata[i].value;
		kvp[i] = &kv[i];
	}
	req.service = (char *)head->service;
	req.method = (char *)head->method;
	req.timeout_nano = head->timeout_nano;
	req.n_metadata = head->n_metadata;
	req.metadata = kvp;
	r = append_envelope(out, id, TTRPC__TYPE_REQUEST, flags, &e, max, refs);
out:
	if (kv != kv_small)
		free(kv);
	if (kvp != kvp_small)
		free(kvp);
	return r;
}

int ttrpc__wire_data(struct evbuffer *out, uint32_t id, uint8_t flags, const ProtobufCMessage *msg,
		     uint32_t max, const struct ttrpc__refs *refs)
{
	struct envelope e = { .payload = msg };

	return append_envelope(out, id, TTRPC__TYPE_DATA, flags, &e, max, refs);
}

/*
 * protobuf-c does not say whether a proto3 bytes field was present, and Go
 * tells "empty first message" from "no first message" by exactly that, so
 * walk the fields of the Request.
 */
bool ttrpc__wire_request_has_payload(const uint8_t *p, size_t n)
{
	const uint8_t *end;
	struct ttrpc__field f;

	if (n == 0)
		return false;
	end = p + n;
	while (ttrpc__field_next(&p, end, &f) > 0)
		if (f.number == 3 && f.wire_type == 2)
			return true;
	return false;
}
