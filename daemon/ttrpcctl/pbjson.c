/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON <-> protobuf-c by walking the descriptors; see pbjson.h for the
 * mapping. json-c parses and prints; this file only maps values.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pbjson.h"

struct pbjson_chunk {
	struct pbjson_chunk *next;
	max_align_t data[];
};

/* Zeroed memory owned by @arena. */
static void *arena_alloc(struct pbjson_arena *arena, size_t size)
{
	struct pbjson_chunk *c = calloc(1, sizeof(*c) + (size ? size : 1));

	if (!c)
		return NULL;
	c->next = arena->chunks;
	arena->chunks = c;
	return c->data;
}

void pbjson_arena_free(struct pbjson_arena *arena)
{
	while (arena->chunks) {
		struct pbjson_chunk *c = arena->chunks;

		arena->chunks = c->next;
		free(c);
	}
}

void pbjson_json_name(const char *name, char *buf, size_t size)
{
	bool upper = false;
	size_t n = 0;

	for (; *name && n + 1 < size; name++) {
		if (*name == '_') {
			upper = true;
			continue;
		}
		buf[n++] = upper && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A')
								 : *name;
		upper = false;
	}
	buf[n] = '\0';
}

#define MEMBER(msg, off) ((void *)((char *)(msg) + (off)))
#define CMEMBER(msg, off) ((const void *)((const char *)(msg) + (off)))

/* Bytes of one value of @type in a message or a repeated array. */
static size_t value_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static void upper_camel(const char *name, char *buf, size_t size)
{
	pbjson_json_name(name, buf, size);
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
}

/*
 * Whether @f is a map: protobuf-c keeps no map_entry option, so recognise
 * what protoc makes of map<K, V> name: a repeated nested message NameEntry
 * with key = 1 and value = 2.
 */
static bool is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	char want[256], camel[200];

	if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED ||
	    e->n_fields != 2 || e->fields[0].id != 1 || strcmp(e->fields[0].name, "key") != 0 ||
	    e->fields[1].id != 2 || strcmp(e->fields[1].name, "value") != 0)
		return false;
	upper_camel(f->name, camel, sizeof(camel));
	snprintf(want, sizeof(want), "%s.%sEntry", parent->name, camel);
	return strcmp(e->name, want) == 0;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *data, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		*p++ = b64[v >> 18 & 63];
		*p++ = b64[v >> 12 & 63];
		*p++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*p++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Standard or URL-safe alphabet, padding optional (as protojson reads it). */
static int base64_decode(const char *s, size_t len, uint8_t *out, size_t *out_len)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = n;
	return 0;
}

/* ---- JSON -> message ---- */

struct in_ctx {
	struct pbjson_arena *arena;
	char path[256];
	char *err;
	size_t err_size;
};

static int fail(struct in_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct in_ctx *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->path[0])
		snprintf(c->err, c->err_size, "%s: %s", c->path, msg);
	else
		snprintf(c->err, c->err_size, "%s", msg);
	return -EINVAL;
}

static const char *json_kind(struct json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

/*
 * The text of an integer given as a JSON number or string; numbers keep the
 * text json-c parsed (doubles) or their exact value (integers).
 */
static const char *int_text(struct json_object *j)
{
	if (json_object_is_type(j, json_type_string))
		return json_object_get_string(j);
	if (json_object_is_type(j, json_type_int) || json_object_is_type(j, json_type_double))
		return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	return NULL;
}

/* Parse an integer in [min, max] (signed) or [0, umax] (unsigned). */
static int parse_int(struct in_ctx *c, struct json_object *j, bool is_signed, int64_t min,
		     int64_t max, uint64_t umax, int64_t *sv, uint64_t *uv)
{
	const char *s = int_text(j);
	char *end;

	if (!s)
		return fail(c, "expected an integer, got %s", json_kind(j));
	errno = 0;
	if (*s && !strpbrk(s, ".eE")) {
		if (is_signed) {
			long long v = strtoll(s, &end, 10);

			if (*end || end == s || errno || v < min || v > max)
				goto bad;
			*sv = v;
		} else {
			unsigned long long v;

			if (*s == '-' || *s == ' ')
				goto bad;
			v = strtoull(s, &end, 10);
			if (*end || end == s || errno || v > umax)
				goto bad;
			*uv = v;
		}
		return 0;
	}
	/* 1e3 and 5.0 are integers too, when they are whole. */
	double d = strtod(s, &end);

	if (!*s || *end || errno || d != floor(d))
		goto bad;
	if (is_signed) {
		if (d < (double)min || d > (double)max || d >= 9223372036854775808.0)
			goto bad;
		*sv = (int64_t)d;
	} else {
		if (d < 0 || d > (double)umax || d >= 18446744073709551616.0)
			goto bad;
		*uv = (uint64_t)d;
	}
	return 0;
bad:
	return fail(c, "not a valid %s integer: %s", is_signed ? "signed" : "unsigned", s);
}

static int parse_double(struct in_ctx *c, struct json_object *j, bool is_float, double *ret)
{
	if (json_object_is_type(j, json_type_int) || json_object_is_type(j, json_type_double)) {
		*ret = json_object_get_double(j);
	} else if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j);
		char *end;

		if (strcmp(s, "NaN") == 0) {
			*ret = NAN;
			return 0;
		}
		if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
			*ret = s[0] == '-' ? -INFINITY : INFINITY;
			return 0;
		}
		errno = 0;
		*ret = strtod(s, &end);
		if (!*s || *end || errno || !isfinite(*ret))
			return fail(c, "not a number: \"%s\"", s);
	} else {
		return fail(c, "expected a number, got %s", json_kind(j));
	}
	/* Out of range is what rounds to infinity as a float, as protojson says. */
	if (is_float && isfinite(*ret) && isinf((float)*ret))
		return fail(c, "out of range for float: %g", *ret);
	return 0;
}

static int to_message(struct in_ctx *c, const ProtobufCMessageDescriptor *desc,
		      struct json_object *obj, ProtobufCMessage **ret);

/* One value of field @f from @j into @dst (a member or an array element). */
static int to_value(struct in_ctx *c, const ProtobufCFieldDescriptor *f, struct json_object *j,
		    void *dst)
{
	int64_t sv = 0;
	uint64_t uv = 0;
	double d;
	int r;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		r = parse_int(c, j, true, INT32_MIN, INT32_MAX, 0, &sv, &uv);
		if (r == 0)
			*(int32_t *)dst = (int32_t)sv;
		return r;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		r = parse_int(c, j, true, INT64_MIN, INT64_MAX, 0, &sv, &uv);
		if (r == 0)
			*(int64_t *)dst = sv;
		return r;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		r = parse_int(c, j, false, 0, 0, UINT32_MAX, &sv, &uv);
		if (r == 0)
			*(uint32_t *)dst = (uint32_t)uv;
		return r;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		r = parse_int(c, j, false, 0, 0, UINT64_MAX, &sv, &uv);
		if (r == 0)
			*(uint64_t *)dst = uv;
		return r;
	case PROTOBUF_C_TYPE_FLOAT:
		r = parse_double(c, j, true, &d);
		if (r == 0)
			*(float *)dst = (float)d;
		return r;
	case PROTOBUF_C_TYPE_DOUBLE:
		return parse_double(c, j, false, (double *)dst);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(j, json_type_boolean))
			return fail(c, "expected true or false, got %s", json_kind(j));
		*(protobuf_c_boolean *)dst = json_object_get_boolean(j);
		return 0;
	case PROTOBUF_C_TYPE_STRING: {
		size_t len;
		char *s;

		if (!json_object_is_type(j, json_type_string))
			return fail(c, "expected a string, got %s", json_kind(j));
		len = (size_t)json_object_get_string_len(j);
		s = arena_alloc(c->arena, len + 1);
		if (!s)
			return -ENOMEM;
		memcpy(s, json_object_get_string(j), len);
		if (memchr(s, '\0', len))
			return fail(c, "string with a NUL character");
		*(char **)dst = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = dst;
		size_t len;

		if (!json_object_is_type(j, json_type_string))
			return fail(c, "expected a base64 string, got %s", json_kind(j));
		len = (size_t)json_object_get_string_len(j);
		b->data = arena_alloc(c->arena, len / 4 * 3 + 3);
		if (!b->data)
			return -ENOMEM;
		if (base64_decode(json_object_get_string(j), len, b->data, &b->len) < 0)
			return fail(c, "invalid base64");
		return 0;
	}
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		const ProtobufCEnumValue *v;

		if (json_object_is_type(j, json_type_string)) {
			v = protobuf_c_enum_descriptor_get_value_by_name(e,
									 json_object_get_string(j));
			if (!v)
				return fail(c, "%s has no value %s", e->name,
					    json_object_get_string(j));
			*(int32_t *)dst = v->value;
			return 0;
		}
		/* proto3 enums are open: any number goes. */
		r = parse_int(c, j, true, INT32_MIN, INT32_MAX, 0, &sv, &uv);
		if (r == 0)
			*(int32_t *)dst = (int32_t)sv;
		return r;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return to_message(c, f->descriptor, j, dst);
	}
	return fail(c, "field type %d not supported", (int)f->type);
}

/* Extend c->path by @fmt for the duration of a nested conversion; returns the old length. */
static size_t path_push(struct in_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static size_t path_push(struct in_ctx *c, const char *fmt, ...)
{
	size_t old = strlen(c->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	return old;
}

/* A map key from its JSON object key. */
static int to_map_key(struct in_ctx *c, const ProtobufCFieldDescriptor *kf, const char *key,
		      void *dst)
{
	struct json_object *j;
	int r;

	if (kf->type == PROTOBUF_C_TYPE_BOOL) {
		if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
			return fail(c, "map key is not true or false: \"%s\"", key);
		*(protobuf_c_boolean *)dst = key[0] == 't';
		return 0;
	}
	j = json_object_new_string(key);
	if (!j)
		return -ENOMEM;
	r = to_value(c, kf, j, dst);
	json_object_put(j);
	return r;
}

static int to_map(struct in_ctx *c, const ProtobufCFieldDescriptor *f, struct json_object *j,
		  void *msg)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	size_t n = 0, i = 0;
	ProtobufCMessage **entries;
	int r;

	if (!json_object_is_type(j, json_type_object))
		return fail(c, "expected an object (a map), got %s", json_kind(j));
	n = (size_t)json_object_object_length(j);
	entries = arena_alloc(c->arena, n * sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	json_object_object_foreach(j, key, val)
	{
		size_t old = path_push(c, "[\"%s\"]", key);
		ProtobufCMessage *entry = arena_alloc(c->arena, e->sizeof_message);

		if (!entry)
			return -ENOMEM;
		protobuf_c_message_init(e, entry);
		r = to_map_key(c, &e->fields[0], key, MEMBER(entry, e->fields[0].offset));
		if (r == 0 && !json_object_is_type(val, json_type_null))
			r = to_value(c, &e->fields[1], val, MEMBER(entry, e->fields[1].offset));
		if (r < 0)
			return r;
		c->path[old] = '\0';
		entries[i++] = entry;
	}
	*(size_t *)MEMBER(msg, f->quantifier_offset) = i;
	*(ProtobufCMessage ***)MEMBER(msg, f->offset) = entries;
	return 0;
}

static int to_repeated(struct in_ctx *c, const ProtobufCFieldDescriptor *f, struct json_object *j,
		       void *msg)
{
	size_t n, size = value_size(f->type);
	char *arr;
	int r;

	if (!json_object_is_type(j, json_type_array))
		return fail(c, "expected an array, got %s", json_kind(j));
	n = json_object_array_length(j);
	arr = arena_alloc(c->arena, n * size);
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(j, i);
		size_t old = path_push(c, "[%zu]", i);

		if (json_object_is_type(v, json_type_null))
			return fail(c, "null in an array");
		r = to_value(c, f, v, arr + i * size);
		if (r < 0)
			return r;
		c->path[old] = '\0';
	}
	*(size_t *)MEMBER(msg, f->quantifier_offset) = n;
	*(void **)MEMBER(msg, f->offset) = arr;
	return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
						  const char *key)
{
	char json_name[256];

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (strcmp(f->name, key) == 0)
			return f;
		pbjson_json_name(f->name, json_name, sizeof(json_name));
		if (strcmp(json_name, key) == 0)
			return f;
	}
	return NULL;
}

static int to_message(struct in_ctx *c, const ProtobufCMessageDescriptor *desc,
		      struct json_object *obj, ProtobufCMessage **ret)
{
	ProtobufCMessage *msg;
	uint8_t *seen;
	int r;

	if (!json_object_is_type(obj, json_type_object))
		return fail(c, "expected an object (%s), got %s", desc->name, json_kind(obj));
	msg = arena_alloc(c->arena, desc->sizeof_message);
	seen = arena_alloc(c->arena, desc->n_fields);
	if (!msg || !seen)
		return -ENOMEM;
	protobuf_c_message_init(desc, msg);
	json_object_object_foreach(obj, key, val)
	{
		const ProtobufCFieldDescriptor *f = find_field(desc, key);
		size_t old;

		if (!f)
			return fail(c, "%s has no field \"%s\"", desc->name, key);
		if (seen[f - desc->fields]++)
			return fail(c, "field %s given twice", f->name);
		/* null is the field's default: leave it unset. */
		if (json_object_is_type(val, json_type_null))
			continue;
		old = path_push(c, "%s%s", c->path[0] ? "." : "", key);
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			r = is_map(desc, f) ? to_map(c, f, val, msg) : to_repeated(c, f, val, msg);
		else
			r = to_value(c, f, val, MEMBER(msg, f->offset));
		if (r < 0)
			return r;
		c->path[old] = '\0';
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *which = MEMBER(msg, f->quantifier_offset);

			if (*which != 0)
				return fail(c, "%s: more than one field of a oneof", f->name);
			*which = f->id;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			   f->type != PROTOBUF_C_TYPE_STRING &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE) {
			/* Strings and messages have presence by pointer, the rest a has_ flag. */
			*(protobuf_c_boolean *)MEMBER(msg, f->quantifier_offset) = 1;
		}
	}
	*ret = msg;
	return 0;
}

int pbjson_to_message(const ProtobufCMessageDescriptor *desc, struct json_object *obj,
		      struct pbjson_arena *arena, ProtobufCMessage **ret, char *err,
		      size_t err_size)
{
	struct in_ctx c = { .arena = arena, .err = err, .err_size = err_size };
	int r;

	r = to_message(&c, desc, obj, ret);
	if (r == -ENOMEM)
		snprintf(err, err_size, "out of memory");
	return r;
}

/* ---- message -> JSON ---- */

static struct json_object *double_json(double d, bool is_float)
{
	char buf[48];

	if (isnan(d))
		return json_object_new_string("NaN");
	if (isinf(d))
		return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
	/* The shortest text that reads back as the same value. */
	for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (is_float ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d)
			break;
	}
	return json_object_new_double_s(d, buf);
}

static struct json_object *int64_json(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_object_new_string(buf);
}

static struct json_object *uint64_json(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_object_new_string(buf);
}

static struct json_object *from_message(const ProtobufCMessage *msg);

/* One value of field @f at @src (a member or an array element). */
static struct json_object *from_value(const ProtobufCFieldDescriptor *f, const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_object_new_int64(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_object_new_int64(*(const uint32_t *)src);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return int64_json(*(const int64_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return uint64_json(*(const uint64_t *)src);
	case PROTOBUF_C_TYPE_FLOAT:
		return double_json(*(const float *)src, true);
	case PROTOBUF_C_TYPE_DOUBLE:
		return double_json(*(const double *)src, false);
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;

		return json_object_new_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = src;
		char *s = base64_encode(b->data, b->len);
		struct json_object *j;

		if (!s)
			return NULL;
		j = json_object_new_string(s);
		free(s);
		return j;
	}
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t v = *(const int32_t *)src;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor,
										    v);

		return ev ? json_object_new_string(ev->name) : json_object_new_int64(v);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;

		return m ? from_message(m) : json_object_new_object();
	}
	}
	return NULL;
}

/* Whether a field without presence holds its default value, and is left out. */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return *(const uint32_t *)src == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)src == 0;
	case PROTOBUF_C_TYPE_FLOAT: {
		float v = *(const float *)src;

		/* -0.0 is not the default: its bits differ. */
		return v == 0 && !signbit(v);
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v = *(const double *)src;

		return v == 0 && !signbit(v);
	}
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)src;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;

		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)src)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return !*(ProtobufCMessage *const *)src;
	}
	return true;
}

/* Whether @f of @msg is printed. */
static bool is_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *src = CMEMBER(msg, f->offset);

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)CMEMBER(msg, f->quantifier_offset) > 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)CMEMBER(msg, f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(ProtobufCMessage *const *)src != NULL;
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return true;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (f->type == PROTOBUF_C_TYPE_STRING)
			return *(char *const *)src && *(char *const *)src != f->default_value;
		return *(const protobuf_c_boolean *)CMEMBER(msg, f->quantifier_offset);
	default:
		return !is_default(f, src);
	}
}

/* A map key's JSON object key. */
static struct json_object *map_key(const ProtobufCFieldDescriptor *kf, const void *src)
{
	if (kf->type == PROTOBUF_C_TYPE_BOOL)
		return json_object_new_string(*(const protobuf_c_boolean *)src ? "true" : "false");
	if (kf->type == PROTOBUF_C_TYPE_INT32 || kf->type == PROTOBUF_C_TYPE_SINT32 ||
	    kf->type == PROTOBUF_C_TYPE_SFIXED32)
		return int64_json(*(const int32_t *)src);
	if (kf->type == PROTOBUF_C_TYPE_UINT32 || kf->type == PROTOBUF_C_TYPE_FIXED32)
		return uint64_json(*(const uint32_t *)src);
	return from_value(kf, src);
}

static struct json_object *from_map(const ProtobufCFieldDescriptor *f, const void *msg)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	size_t n = *(const size_t *)CMEMBER(msg, f->quantifier_offset);
	ProtobufCMessage *const *entries = *(ProtobufCMessage *const *const *)CMEMBER(msg,
										      f->offset);
	struct json_object *obj = json_object_new_object();

	for (size_t i = 0; obj && i < n; i++) {
		struct json_object *k = map_key(&e->fields[0],
						CMEMBER(entries[i], e->fields[0].offset));
		struct json_object *v = from_value(&e->fields[1],
						   CMEMBER(entries[i], e->fields[1].offset));

		if (!k || !v || json_object_object_add(obj, json_object_get_string(k), v) < 0) {
			json_object_put(v);
			json_object_put(obj);
			obj = NULL;
		}
		json_object_put(k);
	}
	return obj;
}

static struct json_object *from_repeated(const ProtobufCFieldDescriptor *f, const void *msg)
{
	size_t n = *(const size_t *)CMEMBER(msg, f->quantifier_offset), size = value_size(f->type);
	const char *arr = *(char *const *)CMEMBER(msg, f->offset);
	struct json_object *a = json_object_new_array_ext((int)n);

	for (size_t i = 0; a && i < n; i++) {
		struct json_object *v = from_value(f, arr + i * size);

		if (!v || json_object_array_add(a, v) < 0) {
			json_object_put(v);
			json_object_put(a);
			a = NULL;
		}
	}
	return a;
}

static struct json_object *from_message(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	struct json_object *obj = json_object_new_object();
	char name[256];

	for (unsigned i = 0; obj && i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		struct json_object *v;

		if (!is_present(msg, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			v = is_map(desc, f) ? from_map(f, msg) : from_repeated(f, msg);
		else
			v = from_value(f, CMEMBER(msg, f->offset));
		pbjson_json_name(f->name, name, sizeof(name));
		if (!v || json_object_object_add(obj, name, v) < 0) {
			json_object_put(v);
			json_object_put(obj);
			obj = NULL;
		}
	}
	return obj;
}

struct json_object *pbjson_from_message(const ProtobufCMessage *msg)
{
	return from_message(msg);
}
