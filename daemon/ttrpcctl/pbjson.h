/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON <-> protobuf wire bytes in the proto3 JSON mapping, driven by the
 * descriptors of a pool (pool.h): no C struct of any message is needed, so
 * ttrpcctl calls services it was never built with, and no code of theirs
 * runs in it.
 *
 * Why a wire codec, not protobuf-c messages built at run time: protobuf-c
 * has no dynamic messages, so that would mean laying out C structs as
 * protoc-c does (offsets, quantifiers, oneof cases, sizeof, init functions)
 * and still lacking what its descriptors do not keep (map_entry, json_name,
 * the well-known types). The wire format is four encodings (varint, 32 and
 * 64 bits, length-delimited); the descriptors say the rest.
 *
 * Mapping (https://protobuf.dev/programming-guides/proto3/#json):
 *  - output names are the fields' JSON names (lowerCamelCase); input
 *    accepts them and the proto names;
 *  - 64-bit integers are strings on output, strings or numbers on input;
 *    32-bit integers are numbers, and strings are accepted on input;
 *  - float and double are numbers, "NaN", "Infinity" and "-Infinity";
 *  - bytes are standard base64 with padding; input also takes URL-safe
 *    base64 and no padding;
 *  - enums are names (numbers when the value has no name); input takes both;
 *  - repeated fields are arrays; map fields (their entry type has the
 *    map_entry option) are objects keyed by the key's string form;
 *  - fields with their default value and no presence are left out on
 *    output; null on input leaves a field unset;
 *  - well-known types in their own forms: Timestamp as RFC 3339
 *    ("1972-01-01T10:00:20.021Z"; input also takes offsets), Duration as
 *    seconds ("1.5s" read, "1.500s" printed: 0, 3, 6 or 9 decimals for
 *    both, as protojson prints them), the wrappers (Int32Value...) as their bare values, Struct as an
 *    object, Value as any JSON value, ListValue as an array, FieldMask as
 *    "a.b,cD", Empty as {}, and Any as an object with "@type" (its type URL,
 *    whose last segment names a type of the pool) and the fields of that
 *    type, or "value" holding the form of a well-known type;
 *  - fields unknown to the descriptors are skipped on output.
 */
#ifndef TTRPCCTL_PBJSON_H
#define TTRPCCTL_PBJSON_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

struct json_object;

/*
 * pbjson_encode() - the wire bytes of a message of type @type from the JSON
 * value @obj (an object, or the form of a well-known type).
 * @pool: the types @type refers to, Any's too.
 * @data: receives the bytes, which the caller frees (non-NULL even when
 *        empty).
 * @err: on -EINVAL, why, with the path of the offending value, e.g.
 *       "chunks[1].payload: invalid base64".
 *
 * Return: 0, -EINVAL for JSON that does not fit the type, -ENOMEM.
 */
int pbjson_encode(const struct pb_pool *pool, const struct pb_message *type,
		  struct json_object *obj, uint8_t **data, size_t *len, char *err, size_t err_size);

/*
 * pbjson_decode() - the JSON value of the message of type @type in @data.
 * @ret: receives a new reference (json_object_put() it).
 * @err: on -EINVAL, why: malformed bytes, or a type the pool lacks.
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int pbjson_decode(const struct pb_pool *pool, const struct pb_message *type, const uint8_t *data,
		  size_t len, struct json_object **ret, char *err, size_t err_size);

#endif
