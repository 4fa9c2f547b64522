/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages whose large bytes fields refer to memory instead of holding a
 * copy of it. protobuf-c copies every bytes field when it unpacks and
 * packs; for a payload of a megabyte those copies, and the fresh pages they
 * land in, cost more than the socket. Here protobuf-c still does all the
 * decoding and encoding of everything else.
 */
#ifndef TTRPC_REFMSG_H
#define TTRPC_REFMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "block.h"

struct evbuffer;

/* Bytes fields of at least this size are referred to, smaller ones copied. */
#ifdef TTRPC_FUZZING
#define TTRPC__REF_MIN 16u
#else
#define TTRPC__REF_MIN 4096u
#endif

/* One field of a serialized message. */
struct ttrpc__field {
	uint32_t number;
	unsigned wire_type;
	const uint8_t *value; /* wire type 2: the bytes after the length */
	size_t value_len;
};

/*
 * ttrpc__field_next() - read the field at *@p and move *@p past it.
 * Return: 1, 0 at @end, -1 when malformed or a group (which protobuf-c rejects).
 */
int ttrpc__field_next(const uint8_t **p, const uint8_t *end, struct ttrpc__field *f);

/*
 * ttrpc__unpack_ref() - protobuf_c_message_unpack(), except that top-level
 * singular bytes fields (not in a oneof) of at least TTRPC__REF_MIN bytes
 * point into @data: the message is valid as long as @data is.
 * @alloc: an allocator whose free does nothing (an arena), since
 *         protobuf_c_message_free_unpacked() would free those pointers.
 * @referenced: set to true when a field points into @data, else untouched;
 *              NULL to copy everything, as protobuf_c_message_unpack() does.
 *
 * Return: the message, or NULL when @data is not a valid @desc message.
 */
ProtobufCMessage *ttrpc__unpack_ref(const ProtobufCMessageDescriptor *desc,
				    ProtobufCAllocator *alloc, size_t len, const uint8_t *data,
				    bool *referenced);

/*
 * ttrpc__pack_ref() - append @msg serialized to @out: bytes fields (at any
 * depth) of at least TTRPC__REF_MIN bytes that @refs finds are added by
 * reference, everything else is copied.
 * Return: 0, or -ENOMEM with part of the message appended (use a scratch buffer).
 */
int ttrpc__pack_ref(struct evbuffer *out, const ProtobufCMessage *msg,
		    const struct ttrpc__refs *refs);

#endif
