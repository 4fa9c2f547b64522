/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unpacking: the top-level fields are walked once to find the large bytes
 * fields; protobuf-c unpacks the message without them, and they are then
 * set to point into the input. Anything the walk does not understand is
 * left to protobuf-c as a whole, which copies as usual or rejects it.
 *
 * Packing: protobuf_c_message_pack_to_buffer() hands every bytes field to
 * the buffer's append() as the pointer the message holds, so a buffer that
 * recognizes memory it may refer to adds it to the evbuffer by reference.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <event2/buffer.h>

#include "refmsg.h"

/* Distinct fields referred to in one message; a message has one or two. */
#define MAX_REF_FIELDS 8

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

int ttrpc__field_next(const uint8_t **pp, const uint8_t *end, struct ttrpc__field *f)
{
	const uint8_t *p = *pp;
	uint64_t key, len;

	if (p >= end)
		return 0;
	if (!get_varint(&p, end, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
		return -1;
	f->number = (uint32_t)(key >> 3);
	f->wire_type = key & 7;
	f->value = NULL;
	f->value_len = 0;
	switch (f->wire_type) {
	case 0:
		if (!get_varint(&p, end, &len))
			return -1;
		break;
	case 1:
	case 5:
		len = f->wire_type == 1 ? 8 : 4;
		if ((uint64_t)(end - p) < len)
			return -1;
		p += len;
		break;
	case 2:
		if (!get_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return -1;
		f->value = p;
		f->value_len = (size_t)len;
		p += len;
		break;
	default:
		/* groups, and wire types that do not exist */
		return -1;
	}
	*pp = p;
	return 1;
}

struct ref_field {
	const ProtobufCFieldDescriptor *desc;
	const uint8_t *value; /* the last occurrence wins, as for any singular field */
	size_t len;
};

static struct ref_field *find_field(struct ref_field *v, size_t n, uint32_t number)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].desc->id == number)
			return &v[i];
	return NULL;
}

/* The fields to refer to: those with an occurrence of at least TTRPC__REF_MIN bytes. */
static int find_ref_fields(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
			   struct ref_field *v, size_t *n)
{
	const uint8_t *p = data, *end = data + len;
	struct ttrpc__field f;
	int r;

	*n = 0;
	while ((r = ttrpc__field_next(&p, end, &f)) > 0) {
		const ProtobufCFieldDescriptor *fd;

		if (f.wire_type != 2 || f.value_len < TTRPC__REF_MIN || *n == MAX_REF_FIELDS ||
		    find_field(v, *n, f.number))
			continue;
		fd = protobuf_c_message_descriptor_get_field(desc, f.number);
		if (!fd || fd->type != PROTOBUF_C_TYPE_BYTES ||
		    (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
		    (fd->label != PROTOBUF_C_LABEL_NONE && fd->label != PROTOBUF_C_LABEL_OPTIONAL))
			continue;
		v[(*n)++].desc = fd;
	}
	return r;
}

/*
 * Walk the fields: those referred to give their value, the others are
 * copied to @rest when it is not NULL. Return: the bytes of the others.
 */
static size_t split(const uint8_t *data, size_t len, struct ref_field *v, size_t n, uint8_t *rest)
{
	const uint8_t *p = data, *end = data + len;
	struct ttrpc__field f;
	size_t kept = 0;

	for (const uint8_t *start = p; ttrpc__field_next(&p, end, &f) > 0; start = p) {
		struct ref_field *rf = f.wire_type == 2 ? find_field(v, n, f.number) : NULL;

		if (rf) {
			rf->value = f.value;
			rf->len = f.value_len;
			continue;
		}
		if (rest)
			memcpy(rest + kept, start, (size_t)(p - start));
		kept += (size_t)(p - start);
	}
	return kept;
}

/* Not inlined: its stack frame would be paid by small messages too. */
__attribute__((noinline)) static ProtobufCMessage *
unpack_split(const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *alloc, size_t len,
	     const uint8_t *data, bool *referenced)
{
	struct ref_field v[MAX_REF_FIELDS];
	ProtobufCMessage *msg;
	uint8_t *rest;
	size_t n, kept;

	if (find_ref_fields(desc, data, len, v, &n) < 0 || n == 0)
		return protobuf_c_message_unpack(desc, alloc, len, data);
	kept = split(data, len, v, n, NULL);
	rest = alloc->alloc(alloc->allocator_data, kept ? kept : 1);
	if (!rest)
		return NULL;
	split(data, len, v, n, rest);
	msg = protobuf_c_message_unpack(desc, alloc, kept, rest);
	if (!msg)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const ProtobufCFieldDescriptor *fd = v[i].desc;
		ProtobufCBinaryData *bd = (ProtobufCBinaryData *)((uint8_t *)msg + fd->offset);

		bd->data = v[i].len ? (uint8_t *)v[i].value : NULL;
		bd->len = v[i].len;
		if (fd->label == PROTOBUF_C_LABEL_OPTIONAL)
			*(protobuf_c_boolean *)((uint8_t *)msg + fd->quantifier_offset) = 1;
		if (v[i].len)
			*referenced = true;
	}
	return msg;
}

ProtobufCMessage *ttrpc__unpack_ref(const ProtobufCMessageDescriptor *desc,
				    ProtobufCAllocator *alloc, size_t len, const uint8_t *data,
				    bool *referenced)
{
	/* Small messages (no block to refer to) pay for one test; an empty
	 * one may come as NULL, where no field walk may start. */
	if (!referenced || len == 0)
		return protobuf_c_message_unpack(desc, alloc, len, data);
	return unpack_split(desc, alloc, len, data, referenced);
}

struct ref_buffer {
	ProtobufCBuffer base;
	struct evbuffer *out;
	const struct ttrpc__refs *refs;
	int err;
};

static void ref_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct ref_buffer *b = (struct ref_buffer *)buffer;
	struct ttrpc__ref *ref;

	if (b->err || len == 0)
		return;
	if (len >= TTRPC__REF_MIN && (ref = b->refs->find(b->refs->ctx, data, len)))
		b->err = ttrpc__ref_add(b->out, ref, data, len);
	else if (evbuffer_add(b->out, data, len) < 0)
		b->err = -ENOMEM;
}

int ttrpc__pack_ref(struct evbuffer *out, const ProtobufCMessage *msg,
		    const struct ttrpc__refs *refs)
{
	struct ref_buffer b = { .base.append = ref_append, .out = out, .refs = refs };

	protobuf_c_message_pack_to_buffer(msg, &b.base);
	return b.err;
}
