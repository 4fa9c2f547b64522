/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message types ttrpcctl knows: serialized FileDescriptorSets (what the
 * daemon's Control.Describe answers, or what protoc -o writes) decoded with
 * protobuf-c into descriptor.proto's subset, then indexed by full name with
 * every type reference resolved, for the JSON codec (pbjson.c) to walk.
 * Nothing of a module is loaded: the descriptors are data.
 */
#ifndef TTRPCCTL_POOL_H
#define TTRPCCTL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ttrpc/ttrpc.h>

/* google.protobuf.FieldDescriptorProto.Type, by the same numbers. */
enum pb_type {
	PB_DOUBLE = 1,
	PB_FLOAT = 2,
	PB_INT64 = 3,
	PB_UINT64 = 4,
	PB_INT32 = 5,
	PB_FIXED64 = 6,
	PB_FIXED32 = 7,
	PB_BOOL = 8,
	PB_STRING = 9,
	PB_GROUP = 10,
	PB_MESSAGE = 11,
	PB_BYTES = 12,
	PB_UINT32 = 13,
	PB_ENUM = 14,
	PB_SFIXED32 = 15,
	PB_SFIXED64 = 16,
	PB_SINT32 = 17,
	PB_SINT64 = 18,
};

/* The well-known types whose JSON form is not that of their fields. */
enum pb_wkt {
	PB_WKT_NONE,
	PB_WKT_ANY,
	PB_WKT_TIMESTAMP,
	PB_WKT_DURATION,
	PB_WKT_STRUCT,
	PB_WKT_VALUE,
	PB_WKT_LIST_VALUE,
	PB_WKT_FIELD_MASK,
	PB_WKT_WRAPPER, /* DoubleValue ... BytesValue: their value field alone */
};

struct pb_enum_value {
	const char *name;
	int32_t number;
};

struct pb_enum {
	const char *name; /* full name, "pkg.Color" */
	const struct pb_enum_value *values;
	size_t n_values;
	bool null_value; /* google.protobuf.NullValue: JSON null */
};

struct pb_message;

struct pb_field {
	const char *name;      /* as in the .proto */
	const char *json_name; /* lowerCamelCase, or the .proto's json_name */
	uint32_t number;
	enum pb_type type;
	bool repeated;
	bool packed;                      /* repeated scalars: written packed */
	bool has_presence;                /* written and printed when set, even to its default */
	int oneof;                        /* index among the message's oneofs, -1: none */
	const char *type_name;            /* messages and enums: full name */
	const struct pb_message *message; /* NULL until resolved */
	const struct pb_enum *enumeration;
};

struct pb_message {
	const char *name; /* full name, "pkg.Outer.Inner" */
	struct pb_field *fields;
	size_t n_fields; /* in number order */
	size_t n_oneofs;
	bool map_entry; /* the entry of a map<K, V> field: key = 1, value = 2 */
	enum pb_wkt wkt;
};

struct pb_method {
	const char *name;
	enum ttrpc_method_kind kind;
	const char *input_name, *output_name; /* full names */
	const struct pb_message *input, *output;
};

struct pb_service {
	const char *name; /* full name */
	struct pb_method *methods;
	size_t n_methods;
};

struct pb_pool;

/* pb_pool_new() - an empty pool. Return: 0 or -ENOMEM. */
int pb_pool_new(struct pb_pool **ret);

/* pb_pool_free() - free the pool and every type it holds. NULL is accepted. */
void pb_pool_free(struct pb_pool *pool);

/*
 * pb_pool_add() - add the files of a serialized google.protobuf.FileDescriptorSet.
 * @data: borrowed; the pool keeps what it needs.
 * @what: names @data in errors ("the daemon's descriptors of S", a file name).
 *
 * A file the pool holds already (by name) is skipped. A type that a file
 * refers to and no file of the pool defines stays unresolved: the codec
 * says so when it meets it.
 *
 * Return: 0; -EINVAL when @data is no FileDescriptorSet (@err says why);
 * -ENOMEM.
 */
int pb_pool_add(struct pb_pool *pool, const uint8_t *data, size_t len, const char *what, char *err,
		size_t err_size);

/* pb_pool_add_file() - pb_pool_add() of the contents of the file at @path. */
int pb_pool_add_file(struct pb_pool *pool, const char *path, char *err, size_t err_size);

/* The message type of full name @name ("pkg.Msg", a leading '.' allowed), or NULL. */
const struct pb_message *pb_pool_message(const struct pb_pool *pool, const char *name);

/* The @i-th message type of the pool, in the order the files gave them, or NULL past the last. */
const struct pb_message *pb_pool_message_at(const struct pb_pool *pool, size_t i);

/* The service of full name @name, or NULL. */
const struct pb_service *pb_pool_service(const struct pb_pool *pool, const char *name);

/* The method @name of @svc, or NULL. */
const struct pb_method *pb_service_method(const struct pb_service *svc, const char *name);

/* The field of @m numbered @number, or NULL. */
const struct pb_field *pb_message_field(const struct pb_message *m, uint32_t number);

/*
 * pb_json_name() - the lowerCamelCase JSON name of the field named @name
 * ("latency_bounds_us" -> "latencyBoundsUs"), as protoc derives it.
 */
void pb_json_name(const char *name, char *buf, size_t size);

#endif
