/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON <-> protobuf-c messages in the proto3 JSON mapping, for any message
 * whose descriptor is at hand: the descriptors are walked, nothing is
 * generated per type.
 *
 * Mapping (https://protobuf.dev/programming-guides/proto3/#json):
 *  - output names are lowerCamelCase; input accepts them and the proto names;
 *  - 64-bit integers are strings on output, strings or numbers on input;
 *    32-bit integers are numbers, and strings are accepted on input;
 *  - float and double are numbers, "NaN", "Infinity" and "-Infinity";
 *  - bytes are standard base64 with padding; input also takes URL-safe
 *    base64 and no padding;
 *  - enums are names (numbers when the value has no name); input takes both;
 *  - repeated fields are arrays, maps (repeated XEntry messages, as protoc
 *    makes them) are objects keyed by the key's string form;
 *  - fields with their default value and no presence are left out on
 *    output; null on input leaves a field unset.
 * Well-known types (Timestamp, Duration, Any, wrappers, Struct) are printed
 * as the plain messages they are, not in their special JSON forms.
 */
#ifndef TTRPCCTL_PBJSON_H
#define TTRPCCTL_PBJSON_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct json_object;

/* Memory of messages built from JSON, all freed at once. */
struct pbjson_arena {
	struct pbjson_chunk *chunks;
};

void pbjson_arena_free(struct pbjson_arena *arena);

/*
 * pbjson_to_message() - build a message of type @desc from the JSON object @obj.
 * @arena: holds every allocation of the message; free it when the message
 *         is no longer used (never protobuf_c_message_free_unpacked()).
 * @err: on -EINVAL, why, with the path of the offending value, e.g.
 *       "chunks[1].payload: invalid base64".
 *
 * Return: 0, -EINVAL for JSON that does not fit the type, -ENOMEM.
 */
int pbjson_to_message(const ProtobufCMessageDescriptor *desc, struct json_object *obj,
		      struct pbjson_arena *arena, ProtobufCMessage **ret, char *err,
		      size_t err_size);

/*
 * pbjson_from_message() - the JSON object of @msg.
 *
 * Return: a new reference (json_object_put() it), or NULL for -ENOMEM.
 */
struct json_object *pbjson_from_message(const ProtobufCMessage *msg);

/*
 * pbjson_json_name() - the lowerCamelCase JSON name of the field named @name
 * ("latency_bounds_us" -> "latencyBoundsUs"), as protoc derives it.
 */
void pbjson_json_name(const char *name, char *buf, size_t size);

#endif
