/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON <-> protobuf wire bytes over a descriptor pool; see pbjson.h for the
 * mapping and why. json-c parses and prints; this file only maps values.
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

/* Messages nested deeper are refused, both ways (as protobuf's own limit). */
#define MAX_DEPTH 100

/* Wire types. */
enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_START = 3, WT_END = 4, WT_FIXED32 = 5 };

/* google.protobuf.Timestamp's range, 0001-01-01 to 9999-12-31, and Duration's. */
#define TIMESTAMP_MIN -62135596800LL
#define TIMESTAMP_MAX 253402300799LL
#define DURATION_MAX 315576000000LL

struct ctx {
	const struct pb_pool *pool;
	char path[256];
	char *err;
	size_t err_size;
	int depth;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
	char msg[300];
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

/* Extend c->path by @fmt for the duration of a nested value; returns the old length. */
static size_t path_push(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(struct ctx *c, const char *fmt, ...)
{
	size_t old = strlen(c->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	return old;
}

static const char *json_kind(struct json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

static bool wkt_is(const struct pb_message *m, enum pb_wkt wkt)
{
	return m && m->wkt == wkt;
}

/* The field's message type, or a failure naming the type the pool lacks. */
static int message_of(struct ctx *c, const struct pb_field *f, const struct pb_message **m)
{
	if (f->type == PB_GROUP)
		return fail(c, "field %s is a group, which ttrpcctl does not handle", f->name);
	*m = f->message;
	if (!*m)
		return fail(c, "type %s of field %s is not among the descriptors", f->type_name,
			    f->name);
	return 0;
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

/* ---- dates: days since 1970-01-01 and back, proleptic Gregorian ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ".5", ".500" or ".000000500": as many digits as protojson prints, none for 0. */
static void print_nanos(char *buf, size_t size, int32_t nanos)
{
	if (nanos == 0)
		buf[0] = '\0';
	else if (nanos % 1000000 == 0)
		snprintf(buf, size, ".%03d", nanos / 1000000);
	else if (nanos % 1000 == 0)
		snprintf(buf, size, ".%06d", nanos / 1000);
	else
		snprintf(buf, size, ".%09d", nanos);
}

/* Exactly @n digits at *@p. */
static bool digits(const char **p, int n, int64_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

/* ".d" to ".ddddddddd" at *@p, as nanoseconds; nothing there is 0. */
static bool fraction(const char **p, int32_t *nanos)
{
	int n = 0;

	*nanos = 0;
	if (**p != '.')
		return true;
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
		if (n == 9)
			return false;
		*nanos = *nanos * 10 + (**p - '0');
	}
	for (int i = n; i < 9; i++)
		*nanos *= 10;
	return n > 0;
}

/* RFC 3339: 1972-01-01T10:00:20.021Z, or an offset in place of Z. */
static bool parse_timestamp(const char *s, int64_t *seconds, int32_t *nanos)
{
	int64_t y, mo, d, h, mi, sec, oh = 0, om = 0, cy;
	unsigned cm, cd;
	int sign = 0;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
	    !digits(&s, 2, &d) || (*s != 'T' && *s != 't'))
		return false;
	s++;
	if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' ||
	    !digits(&s, 2, &sec) || !fraction(&s, nanos))
		return false;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return false;
	/* A day the month does not have comes back as another date. */
	civil_from_days(days_from_civil(y, (unsigned)mo, (unsigned)d), &cy, &cm, &cd);
	if (cy != y || cm != mo || cd != d)
		return false;
	*seconds = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		   sec - sign * (oh * 3600 + om * 60);
	return *seconds >= TIMESTAMP_MIN && *seconds <= TIMESTAMP_MAX;
}

/* "1.5s", "-0.000001s": seconds with up to 9 decimals. */
static bool parse_duration(const char *s, int64_t *seconds, int32_t *nanos)
{
	bool neg = *s == '-';
	int64_t v = 0;
	int n = 0;

	s += neg;
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (v > DURATION_MAX)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (n == 0 || !fraction(&s, nanos) || strcmp(s, "s") != 0 || v > DURATION_MAX)
		return false;
	*seconds = neg ? -v : v;
	*nanos = neg ? -*nanos : *nanos;
	return true;
}

/* ---- JSON -> wire ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 64;
		uint8_t *p;

		while (cap - b->len < n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	put(b, tmp, n);
}

static void put_tag(struct buf *b, uint32_t number, int wt)
{
	put_varint(b, (uint64_t)number << 3 | (unsigned)wt);
}

static void put_fixed(struct buf *b, uint64_t v, size_t n)
{
	uint8_t tmp[8];

	for (size_t i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	put(b, tmp, n);
}

/* A length-delimited field: @number, the length of @sub, its bytes. */
static void put_sub(struct buf *b, uint32_t number, const struct buf *sub)
{
	if (sub->oom)
		b->oom = true;
	put_tag(b, number, WT_LEN);
	put_varint(b, sub->len);
	put(b, sub->p, sub->len);
}

static int wire_type(enum pb_type t)
{
	switch (t) {
	case PB_DOUBLE:
	case PB_FIXED64:
	case PB_SFIXED64:
		return WT_FIXED64;
	case PB_FLOAT:
	case PB_FIXED32:
	case PB_SFIXED32:
		return WT_FIXED32;
	case PB_STRING:
	case PB_BYTES:
	case PB_MESSAGE:
		return WT_LEN;
	case PB_GROUP:
		return WT_START;
	default:
		return WT_VARINT;
	}
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
static int parse_int(struct ctx *c, struct json_object *j, bool is_signed, int64_t min, int64_t max,
		     uint64_t umax, int64_t *sv, uint64_t *uv)
{
	const char *s = int_text(j);
	char *end;
	double d;

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
	d = strtod(s, &end);
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

static int parse_double(struct ctx *c, struct json_object *j, bool is_float, double *ret)
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

/* One scalar value as it goes on the wire, after its tag. */
struct scalar {
	uint64_t bits;       /* varint value or fixed bits */
	const uint8_t *data; /* strings and bytes */
	size_t len;
	uint8_t *owned; /* decoded base64, freed by the writer */
};

static void put_scalar(struct buf *b, enum pb_type t, const struct scalar *v)
{
	switch (wire_type(t)) {
	case WT_FIXED64:
		put_fixed(b, v->bits, 8);
		break;
	case WT_FIXED32:
		put_fixed(b, v->bits, 4);
		break;
	case WT_LEN:
		put_varint(b, v->len);
		put(b, v->data, v->len);
		break;
	default:
		put_varint(b, v->bits);
	}
}

static bool scalar_is_default(enum pb_type t, const struct scalar *v)
{
	/* For floats the bits: -0.0 is not the default. */
	return wire_type(t) == WT_LEN ? v->len == 0 : v->bits == 0;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int parse_enum(struct ctx *c, const struct pb_field *f, struct json_object *j, int64_t *v)
{
	const struct pb_enum *e = f->enumeration;
	uint64_t unused;

	if (!e)
		return fail(c, "type %s of field %s is not among the descriptors", f->type_name,
			    f->name);
	if (e->null_value && json_object_is_type(j, json_type_null)) {
		*v = 0;
		return 0;
	}
	if (json_object_is_type(j, json_type_string)) {
		const char *name = json_object_get_string(j);

		for (size_t i = 0; i < e->n_values; i++) {
			if (strcmp(e->values[i].name, name) == 0) {
				*v = e->values[i].number;
				return 0;
			}
		}
		return fail(c, "%s has no value %s", e->name, name);
	}
	/* proto3 enums are open: any number goes. */
	return parse_int(c, j, true, INT32_MIN, INT32_MAX, 0, v, &unused);
}

/* A scalar of field @f (not a message) from @j. */
static int parse_scalar(struct ctx *c, const struct pb_field *f, struct json_object *j,
			struct scalar *v)
{
	int64_t sv = 0;
	uint64_t uv = 0;
	uint32_t b32;
	double d;
	float fl;
	int r;

	*v = (struct scalar){ 0 };
	switch (f->type) {
	case PB_INT32:
	case PB_SINT32:
	case PB_SFIXED32:
		r = parse_int(c, j, true, INT32_MIN, INT32_MAX, 0, &sv, &uv);
		v->bits = f->type == PB_SINT32     ? zigzag(sv)
			  : f->type == PB_SFIXED32 ? (uint32_t)sv
						   : (uint64_t)sv;
		return r;
	case PB_INT64:
	case PB_SINT64:
	case PB_SFIXED64:
		r = parse_int(c, j, true, INT64_MIN, INT64_MAX, 0, &sv, &uv);
		v->bits = f->type == PB_SINT64 ? zigzag(sv) : (uint64_t)sv;
		return r;
	case PB_UINT32:
	case PB_FIXED32:
		r = parse_int(c, j, false, 0, 0, UINT32_MAX, &sv, &uv);
		v->bits = uv;
		return r;
	case PB_UINT64:
	case PB_FIXED64:
		r = parse_int(c, j, false, 0, 0, UINT64_MAX, &sv, &uv);
		v->bits = uv;
		return r;
	case PB_FLOAT:
		r = parse_double(c, j, true, &d);
		fl = (float)d;
		memcpy(&b32, &fl, sizeof(b32));
		v->bits = b32;
		return r;
	case PB_DOUBLE:
		r = parse_double(c, j, false, &d);
		memcpy(&v->bits, &d, sizeof(v->bits));
		return r;
	case PB_BOOL:
		if (!json_object_is_type(j, json_type_boolean))
			return fail(c, "expected true or false, got %s", json_kind(j));
		v->bits = json_object_get_boolean(j) ? 1 : 0;
		return 0;
	case PB_STRING:
		if (!json_object_is_type(j, json_type_string))
			return fail(c, "expected a string, got %s", json_kind(j));
		v->data = (const uint8_t *)json_object_get_string(j);
		v->len = (size_t)json_object_get_string_len(j);
		return 0;
	case PB_BYTES: {
		size_t len;

		if (!json_object_is_type(j, json_type_string))
			return fail(c, "expected a base64 string, got %s", json_kind(j));
		len = (size_t)json_object_get_string_len(j);
		v->owned = malloc(len / 4 * 3 + 3);
		if (!v->owned)
			return -ENOMEM;
		v->data = v->owned;
		if (base64_decode(json_object_get_string(j), len, v->owned, &v->len) < 0) {
			free(v->owned);
			v->owned = NULL;
			return fail(c, "invalid base64");
		}
		return 0;
	}
	case PB_ENUM:
		r = parse_enum(c, f, j, &sv);
		v->bits = (uint64_t)sv;
		return r;
	default:
		return fail(c, "field %s has a type ttrpcctl does not handle (%d)", f->name,
			    (int)f->type);
	}
}

static int enc_message(struct ctx *c, const struct pb_message *m, struct json_object *j,
		       struct buf *out);

/*
 * One value of field @f: tag and value; a field without presence is left
 * out at its default unless @always (an element of an array, a map entry).
 */
static int enc_single(struct ctx *c, const struct pb_field *f, struct json_object *j,
		      struct buf *out, bool always)
{
	struct scalar v;
	int r;

	if (f->type == PB_MESSAGE || f->type == PB_GROUP) {
		const struct pb_message *m;
		struct buf sub = { 0 };

		r = message_of(c, f, &m);
		if (r == 0)
			r = enc_message(c, m, j, &sub);
		if (r == 0)
			put_sub(out, f->number, &sub);
		free(sub.p);
		return r;
	}
	r = parse_scalar(c, f, j, &v);
	if (r == 0 && (always || f->has_presence || !scalar_is_default(f->type, &v))) {
		put_tag(out, f->number, wire_type(f->type));
		put_scalar(out, f->type, &v);
	}
	free(v.owned);
	return r;
}

/* Whether JSON null is a value of @f (google.protobuf.Value, NullValue), not "unset". */
static bool null_is_value(const struct pb_field *f)
{
	return wkt_is(f->message, PB_WKT_VALUE) || (f->enumeration && f->enumeration->null_value);
}

static int enc_repeated(struct ctx *c, const struct pb_field *f, struct json_object *j,
			struct buf *out)
{
	struct buf packed = { 0 };
	size_t n;
	int r = 0;

	if (!json_object_is_type(j, json_type_array))
		return fail(c, "expected an array, got %s", json_kind(j));
	n = json_object_array_length(j);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct json_object *v = json_object_array_get_idx(j, i);
		size_t old = path_push(c, "[%zu]", i);
		struct scalar s;

		if (json_object_is_type(v, json_type_null) && !null_is_value(f)) {
			r = fail(c, "null in an array");
		} else if (!f->packed) {
			r = enc_single(c, f, v, out, true);
		} else if ((r = parse_scalar(c, f, v, &s)) == 0) {
			put_scalar(&packed, f->type, &s);
			free(s.owned);
		}
		if (r == 0)
			c->path[old] = '\0';
	}
	if (r == 0 && packed.len > 0)
		put_sub(out, f->number, &packed);
	if (packed.oom)
		out->oom = true;
	free(packed.p);
	return r;
}

/* A map key from its JSON object key, as field 1 of the entry. */
static int enc_map_key(struct ctx *c, const struct pb_field *kf, const char *key, struct buf *entry)
{
	struct json_object *j;
	int r;

	if (kf->type == PB_BOOL) {
		if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
			return fail(c, "map key is not true or false: \"%s\"", key);
		put_tag(entry, kf->number, WT_VARINT);
		put_varint(entry, key[0] == 't');
		return 0;
	}
	j = json_object_new_string(key);
	if (!j)
		return -ENOMEM;
	r = enc_single(c, kf, j, entry, true);
	json_object_put(j);
	return r;
}

static int enc_map(struct ctx *c, const struct pb_field *f, struct json_object *j, struct buf *out)
{
	const struct pb_message *e;
	const struct pb_field *kf, *vf;
	int r;

	if ((r = message_of(c, f, &e)) < 0)
		return r;
	kf = pb_message_field(e, 1);
	vf = pb_message_field(e, 2);
	if (!kf || !vf)
		return fail(c, "map entry %s lacks its key or value field", e->name);
	if (!json_object_is_type(j, json_type_object))
		return fail(c, "expected an object (a map), got %s", json_kind(j));
	json_object_object_foreach(j, key, val)
	{
		size_t old = path_push(c, "[\"%s\"]", key);
		struct buf entry = { 0 };

		r = enc_map_key(c, kf, key, &entry);
		if (r == 0 && (!json_object_is_type(val, json_type_null) || null_is_value(vf)))
			r = enc_single(c, vf, val, &entry, true);
		if (r == 0)
			put_sub(out, f->number, &entry);
		free(entry.p);
		if (r < 0)
			return r;
		c->path[old] = '\0';
	}
	return 0;
}

static const struct pb_field *find_field(const struct pb_message *m, const char *key)
{
	for (size_t i = 0; i < m->n_fields; i++)
		if (strcmp(m->fields[i].name, key) == 0 || strcmp(m->fields[i].json_name, key) == 0)
			return &m->fields[i];
	return NULL;
}

/* The fields of an object; an Any's body skips its "@type". */
static int enc_fields(struct ctx *c, const struct pb_message *m, struct json_object *obj,
		      struct buf *out, bool any_body)
{
	uint8_t *seen = calloc(m->n_fields + 1, 1), *oneofs = calloc(m->n_oneofs + 1, 1);
	int r = 0;

	if (!seen || !oneofs) {
		r = -ENOMEM;
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		r = fail(c, "expected an object (%s), got %s", m->name, json_kind(obj));
		goto out;
	}
	json_object_object_foreach(obj, key, val)
	{
		const struct pb_field *f;
		size_t old;

		if (any_body && strcmp(key, "@type") == 0)
			continue;
		f = find_field(m, key);
		if (!f) {
			r = fail(c, "%s has no field \"%s\"", m->name, key);
			goto out;
		}
		if (seen[f - m->fields]++) {
			r = fail(c, "field %s given twice", f->name);
			goto out;
		}
		/* null is the field's default: leave it unset. */
		if (json_object_is_type(val, json_type_null) && (f->repeated || !null_is_value(f)))
			continue;
		old = path_push(c, "%s%s", c->path[0] ? "." : "", key);
		if (!f->repeated)
			r = enc_single(c, f, val, out, f->has_presence);
		else if (f->message && f->message->map_entry)
			r = enc_map(c, f, val, out);
		else
			r = enc_repeated(c, f, val, out);
		if (r < 0)
			goto out;
		c->path[old] = '\0';
		if (f->oneof >= 0 && (size_t)f->oneof < m->n_oneofs && oneofs[f->oneof]++) {
			r = fail(c, "%s: more than one field of a oneof", f->name);
			goto out;
		}
	}
out:
	free(seen);
	free(oneofs);
	return r;
}

/* Seconds and nanos, fields 1 and 2 of Timestamp and Duration. */
static void put_seconds(struct buf *out, int64_t seconds, int32_t nanos)
{
	if (seconds) {
		put_tag(out, 1, WT_VARINT);
		put_varint(out, (uint64_t)seconds);
	}
	if (nanos) {
		put_tag(out, 2, WT_VARINT);
		put_varint(out, (uint64_t)(int64_t)nanos);
	}
}

/* "fooBar.baz" -> "foo_bar.baz": FieldMask paths are written in JSON names. */
static int enc_field_mask(struct ctx *c, struct json_object *j, struct buf *out)
{
	const char *s;
	char *path;
	size_t n = 0;

	if (!json_object_is_type(j, json_type_string))
		return fail(c, "expected a field mask string (\"a.b,cD\"), got %s", json_kind(j));
	s = json_object_get_string(j);
	path = malloc(2 * strlen(s) + 1);
	if (!path)
		return -ENOMEM;
	/* "" is no path; otherwise each of the comma-separated parts is one. */
	for (const char *p = s; *s; p++) {
		if (*p == ',' || !*p) {
			put_tag(out, 1, WT_LEN);
			put_varint(out, n);
			put(out, path, n);
			n = 0;
			if (!*p)
				break;
		} else if (*p == '_') {
			free(path);
			return fail(
				c,
				"field mask path with '_': \"%s\" (JSON names are lowerCamelCase)",
				s);
		} else if (*p >= 'A' && *p <= 'Z') {
			path[n++] = '_';
			path[n++] = (char)(*p - 'A' + 'a');
		} else {
			path[n++] = *p;
		}
	}
	free(path);
	return 0;
}

static int enc_any(struct ctx *c, struct json_object *j, struct buf *out)
{
	struct json_object *type_url, *value;
	const struct pb_message *m;
	struct buf body = { 0 };
	const char *url, *slash;
	int r;

	if (!json_object_is_type(j, json_type_object))
		return fail(c, "expected an object (google.protobuf.Any), got %s", json_kind(j));
	if (json_object_object_length(j) == 0)
		return 0;
	if (!json_object_object_get_ex(j, "@type", &type_url) ||
	    !json_object_is_type(type_url, json_type_string))
		return fail(c, "google.protobuf.Any without its \"@type\"");
	url = json_object_get_string(type_url);
	slash = strrchr(url, '/');
	m = pb_pool_message(c->pool, slash ? slash + 1 : url);
	if (!m)
		return fail(c, "google.protobuf.Any of type %s, which is not among the descriptors",
			    url);
	if (m->wkt != PB_WKT_NONE) {
		if (!json_object_object_get_ex(j, "value", &value))
			return fail(c, "google.protobuf.Any of type %s without its \"value\"", url);
		r = enc_message(c, m, value, &body);
	} else {
		r = enc_fields(c, m, j, &body, true);
	}
	if (r == 0) {
		put_tag(out, 1, WT_LEN);
		put_varint(out, strlen(url));
		put(out, url, strlen(url));
		put_sub(out, 2, &body);
	}
	free(body.p);
	return r;
}

/* google.protobuf.Value: the field of its oneof that holds @j's kind of value. */
static int enc_value(struct ctx *c, const struct pb_message *m, struct json_object *j,
		     struct buf *out)
{
	uint32_t number;
	const struct pb_field *f;

	switch (json_object_get_type(j)) {
	case json_type_null:
		number = 1;
		break;
	case json_type_int:
	case json_type_double:
		number = 2;
		break;
	case json_type_string:
		number = 3;
		break;
	case json_type_boolean:
		number = 4;
		break;
	case json_type_object:
		number = 5;
		break;
	default:
		number = 6;
	}
	f = pb_message_field(m, number);
	if (!f)
		return fail(c, "%s has no field %u", m->name, number);
	return enc_single(c, f, j, out, true);
}

static int enc_message(struct ctx *c, const struct pb_message *m, struct json_object *j,
		       struct buf *out)
{
	int64_t seconds;
	int32_t nanos;
	int r;

	if (c->depth >= MAX_DEPTH)
		return fail(c, "messages nested more than %d deep", MAX_DEPTH);
	c->depth++;
	switch (m->wkt) {
	case PB_WKT_TIMESTAMP:
		if (!json_object_is_type(j, json_type_string))
			r = fail(c, "expected an RFC 3339 time (\"1970-01-01T00:00:00Z\"), got %s",
				 json_kind(j));
		else if (!parse_timestamp(json_object_get_string(j), &seconds, &nanos))
			r = fail(c, "not an RFC 3339 time from year 1 to 9999: \"%s\"",
				 json_object_get_string(j));
		else
			r = (put_seconds(out, seconds, nanos), 0);
		break;
	case PB_WKT_DURATION:
		if (!json_object_is_type(j, json_type_string))
			r = fail(c, "expected a duration (\"1.5s\"), got %s", json_kind(j));
		else if (!parse_duration(json_object_get_string(j), &seconds, &nanos))
			r = fail(c, "not a duration of seconds up to +-%lld: \"%s\"", DURATION_MAX,
				 json_object_get_string(j));
		else
			r = (put_seconds(out, seconds, nanos), 0);
		break;
	case PB_WKT_WRAPPER:
		r = m->n_fields ? enc_single(c, &m->fields[0], j, out, false)
				: fail(c, "%s has no value field", m->name);
		break;
	case PB_WKT_STRUCT:
		r = m->n_fields ? enc_map(c, &m->fields[0], j, out)
				: fail(c, "%s has no fields field", m->name);
		break;
	case PB_WKT_LIST_VALUE:
		r = m->n_fields ? enc_repeated(c, &m->fields[0], j, out)
				: fail(c, "%s has no values field", m->name);
		break;
	case PB_WKT_VALUE:
		r = enc_value(c, m, j, out);
		break;
	case PB_WKT_FIELD_MASK:
		r = enc_field_mask(c, j, out);
		break;
	case PB_WKT_ANY:
		r = enc_any(c, j, out);
		break;
	default:
		r = enc_fields(c, m, j, out, false);
	}
	c->depth--;
	return r;
}

int pbjson_encode(const struct pb_pool *pool, const struct pb_message *type,
		  struct json_object *obj, uint8_t **data, size_t *len, char *err, size_t err_size)
{
	struct ctx c = { .pool = pool, .err = err, .err_size = err_size };
	struct buf out = { 0 };
	int r;

	r = enc_message(&c, type, obj, &out);
	/* An empty message: still an allocation the caller frees. */
	if (r == 0 && !out.p && !(out.p = malloc(1)))
		out.oom = true;
	if (r == 0 && out.oom)
		r = -ENOMEM;
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(err, err_size, "%s", strerror(ENOMEM));
		free(out.p);
		return r;
	}
	*data = out.p;
	*len = out.len;
	return 0;
}

/* ---- wire -> JSON ---- */

/* One occurrence of a field on the wire. */
struct occ {
	int wt;
	uint64_t v;       /* varint, fixed 32 or 64 bits */
	const uint8_t *p; /* length-delimited */
	size_t len;
	size_t seq; /* its place among the message's fields */
};

/* The occurrences of one field. */
struct occs {
	struct occ *v;
	size_t n, cap;
};

static void occs_free(struct occs *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++)
		free(o[i].v);
	free(o);
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p == end)
			return -EINVAL;
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return 0;
	}
	return -EINVAL;
}

static uint64_t get_fixed(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* One field at *@p: its number and its value; a group is skipped whole. */
static int get_field(const uint8_t **p, const uint8_t *end, uint32_t *number, struct occ *o,
		     int depth)
{
	uint64_t tag, len;

	if (get_varint(p, end, &tag) < 0 || tag >> 3 == 0 || tag >> 3 > 536870911)
		return -EINVAL;
	*number = (uint32_t)(tag >> 3);
	*o = (struct occ){ .wt = (int)(tag & 7) };
	switch (o->wt) {
	case WT_VARINT:
		return get_varint(p, end, &o->v);
	case WT_FIXED64:
	case WT_FIXED32:
		len = o->wt == WT_FIXED64 ? 8 : 4;
		if ((size_t)(end - *p) < len)
			return -EINVAL;
		o->v = get_fixed(*p, len);
		*p += len;
		return 0;
	case WT_LEN:
		if (get_varint(p, end, &len) < 0 || len > (size_t)(end - *p))
			return -EINVAL;
		o->p = *p;
		o->len = (size_t)len;
		*p += len;
		return 0;
	case WT_START:
		if (depth >= MAX_DEPTH)
			return -EINVAL;
		for (;;) {
			uint32_t inner;
			struct occ io;
			const uint8_t *at = *p;
			uint64_t t;

			if (get_varint(&at, end, &t) < 0)
				return -EINVAL;
			if ((t & 7) == WT_END) {
				*p = at;
				return t >> 3 == *number ? 0 : -EINVAL;
			}
			if (get_field(p, end, &inner, &io, depth + 1) < 0)
				return -EINVAL;
		}
	default:
		return -EINVAL;
	}
}

static bool packable(enum pb_type t)
{
	return wire_type(t) != WT_LEN && t != PB_GROUP;
}

/* Every field of @m in @data, by field index; fields the descriptors lack are skipped. */
static int scan(struct ctx *c, const struct pb_message *m, const uint8_t *data, size_t len,
		struct occs **ret)
{
	struct occs *per = calloc(m->n_fields + 1, sizeof(*per));
	/* Empty data may come as NULL (a merge of empty occurrences). */
	const uint8_t *p = data, *end = data ? data + len : data;
	size_t seq = 0;

	if (!per)
		return -ENOMEM;
	while (p < end) {
		const struct pb_field *f;
		uint32_t number;
		struct occ o;
		struct occs *v;

		if (get_field(&p, end, &number, &o, c->depth) < 0) {
			occs_free(per, m->n_fields);
			return fail(c, "not a valid %s: malformed protobuf at byte %zu", m->name,
				    (size_t)(p - data));
		}
		f = pb_message_field(m, number);
		if (!f)
			continue;
		if (f->type == PB_GROUP ||
		    (o.wt != wire_type(f->type) &&
		     !(o.wt == WT_LEN && f->repeated && packable(f->type)))) {
			occs_free(per, m->n_fields);
			return fail(c, "not a valid %s: field %s comes with wire type %d", m->name,
				    f->name, o.wt);
		}
		o.seq = seq++;
		v = &per[f - m->fields];
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 4;
			struct occ *grown = realloc(v->v, cap * sizeof(*grown));

			if (!grown) {
				occs_free(per, m->n_fields);
				return -ENOMEM;
			}
			v->v = grown;
			v->cap = cap;
		}
		v->v[v->n++] = o;
	}
	*ret = per;
	return 0;
}

static int add_to_object(struct json_object *obj, const char *key, struct json_object *v)
{
	if (json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_to_array(struct json_object *arr, struct json_object *v)
{
	if (json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* A new JSON value, or -ENOMEM. */
static int made(struct json_object *j, struct json_object **ret)
{
	*ret = j;
	return j ? 0 : -ENOMEM;
}

static int double_json(double d, bool is_float, struct json_object **ret)
{
	char buf[48];

	if (isnan(d))
		return made(json_object_new_string("NaN"), ret);
	if (isinf(d))
		return made(json_object_new_string(d > 0 ? "Infinity" : "-Infinity"), ret);
	/* The shortest text that reads back as the same value. */
	for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (is_float ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d)
			break;
	}
	return made(json_object_new_double_s(d, buf), ret);
}

static int int64_json(int64_t v, struct json_object **ret)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return made(json_object_new_string(buf), ret);
}

static int uint64_json(uint64_t v, struct json_object **ret)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return made(json_object_new_string(buf), ret);
}

static int dec_message(struct ctx *c, const struct pb_message *m, const uint8_t *data, size_t len,
		       struct json_object **ret);

/* One value of field @f; JSON null (NullValue) is a NULL *@ret. */
static int dec_value(struct ctx *c, const struct pb_field *f, const struct occ *o,
		     struct json_object **ret)
{
	const struct pb_message *m;
	uint32_t b32 = (uint32_t)o->v;
	float fl;
	double d;
	int r;

	switch (f->type) {
	case PB_INT32:
	case PB_SFIXED32:
		return made(json_object_new_int64((int32_t)b32), ret);
	case PB_SINT32:
		return made(json_object_new_int64((int32_t)(b32 >> 1) ^ -(int32_t)(b32 & 1)), ret);
	case PB_UINT32:
	case PB_FIXED32:
		return made(json_object_new_int64(b32), ret);
	case PB_INT64:
	case PB_SFIXED64:
		return int64_json((int64_t)o->v, ret);
	case PB_SINT64:
		return int64_json((int64_t)(o->v >> 1) ^ -(int64_t)(o->v & 1), ret);
	case PB_UINT64:
	case PB_FIXED64:
		return uint64_json(o->v, ret);
	case PB_FLOAT:
		memcpy(&fl, &b32, sizeof(fl));
		return double_json(fl, true, ret);
	case PB_DOUBLE:
		memcpy(&d, &o->v, sizeof(d));
		return double_json(d, false, ret);
	case PB_BOOL:
		return made(json_object_new_boolean(o->v != 0), ret);
	case PB_STRING:
		return made(json_object_new_string_len((const char *)o->p, (int)o->len), ret);
	case PB_BYTES: {
		char *s = base64_encode(o->p, o->len);

		if (!s)
			return -ENOMEM;
		r = made(json_object_new_string(s), ret);
		free(s);
		return r;
	}
	case PB_ENUM: {
		const struct pb_enum *e = f->enumeration;

		/* NULL_VALUE is null; another number of NullValue is a number. */
		if (e && e->null_value && b32 == 0) {
			*ret = NULL;
			return 0;
		}
		for (size_t i = 0; e && i < e->n_values; i++)
			if (e->values[i].number == (int32_t)b32)
				return made(json_object_new_string(e->values[i].name), ret);
		return made(json_object_new_int64((int32_t)b32), ret);
	}
	case PB_MESSAGE:
	case PB_GROUP:
		if ((r = message_of(c, f, &m)) < 0)
			return r;
		return dec_message(c, m, o->p, o->len, ret);
	}
	return fail(c, "field %s has a type ttrpcctl does not handle (%d)", f->name, (int)f->type);
}

/* The value of @f when the wire has none: the type's default. */
static int dec_default(struct ctx *c, const struct pb_field *f, struct json_object **ret)
{
	const struct occ zero = { .p = (const uint8_t *)"" };

	return dec_value(c, f, &zero, ret);
}

/* The elements of one occurrence of a repeated field, packed or not, onto @arr. */
static int dec_elements(struct ctx *c, const struct pb_field *f, const struct occ *o,
			struct json_object *arr)
{
	const uint8_t *p, *end;
	struct json_object *v;
	int r;

	if (o->wt != WT_LEN || !packable(f->type)) {
		r = dec_value(c, f, o, &v);
		return r < 0 ? r : add_to_array(arr, v);
	}
	p = o->p;
	end = o->p + o->len;
	while (p < end) {
		struct occ e = { .wt = wire_type(f->type) };

		if (e.wt == WT_VARINT) {
			if (get_varint(&p, end, &e.v) < 0)
				return fail(c, "malformed packed %s", f->name);
		} else {
			size_t n = e.wt == WT_FIXED64 ? 8 : 4;

			if ((size_t)(end - p) < n)
				return fail(c, "malformed packed %s", f->name);
			e.v = get_fixed(p, n);
			p += n;
		}
		r = dec_value(c, f, &e, &v);
		if (r < 0 || (r = add_to_array(arr, v)) < 0)
			return r;
	}
	return 0;
}

/* The key and value of a map entry, the last of each on the wire, or their defaults. */
static int dec_entry(struct ctx *c, const struct pb_message *e, const struct occ *o,
		     struct json_object **key, struct json_object **value)
{
	const struct pb_field *kf = pb_message_field(e, 1), *vf = pb_message_field(e, 2);
	struct occs *per;
	int r;

	if (!kf || !vf)
		return fail(c, "map entry %s lacks its key or value field", e->name);
	if ((r = scan(c, e, o->p, o->len, &per)) < 0)
		return r;
	{
		const struct occs *k = &per[kf - e->fields], *v = &per[vf - e->fields];

		r = k->n ? dec_value(c, kf, &k->v[k->n - 1], key) : dec_default(c, kf, key);
		if (r == 0) {
			r = v->n ? dec_value(c, vf, &v->v[v->n - 1], value)
				 : dec_default(c, vf, value);
			if (r < 0)
				json_object_put(*key);
		}
	}
	occs_free(per, e->n_fields);
	return r;
}

static int dec_map(struct ctx *c, const struct pb_field *f, const struct occs *o,
		   struct json_object **ret)
{
	struct json_object *obj = json_object_new_object(), *key, *value;
	const struct pb_message *e;
	int r = message_of(c, f, &e);

	if (!obj)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < o->n; i++) {
		r = dec_entry(c, e, &o->v[i], &key, &value);
		if (r < 0)
			break;
		/* Keys in their string forms: numbers as text, bools as true and false. */
		if (json_object_is_type(key, json_type_boolean))
			r = add_to_object(obj, json_object_get_boolean(key) ? "true" : "false",
					  value);
		else
			r = add_to_object(obj,
					  json_object_is_type(key, json_type_string)
						  ? json_object_get_string(key)
						  : json_object_to_json_string_ext(
							    key, JSON_C_TO_STRING_PLAIN),
					  value);
		json_object_put(key);
	}
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	*ret = obj;
	return 0;
}

/* All occurrences of a singular message field, merged: their bytes one after the other. */
static int dec_merged(struct ctx *c, const struct pb_field *f, const struct occs *o,
		      struct json_object **ret)
{
	struct buf all = { 0 };
	struct occ merged = { .wt = WT_LEN };
	int r;

	if (o->n == 1)
		return dec_value(c, f, &o->v[0], ret);
	for (size_t i = 0; i < o->n; i++)
		put(&all, o->v[i].p, o->v[i].len);
	if (all.oom) {
		free(all.p);
		return -ENOMEM;
	}
	merged.p = all.p;
	merged.len = all.len;
	r = dec_value(c, f, &merged, ret);
	free(all.p);
	return r;
}

static bool occ_is_default(const struct occ *o)
{
	return o->wt == WT_LEN ? o->len == 0 : o->v == 0;
}

/* The last of the fields of oneof @index on the wire, as its place; -1: none. */
static long oneof_last(const struct pb_message *m, const struct occs *per, int index)
{
	long last = -1;

	for (size_t i = 0; i < m->n_fields; i++)
		if (m->fields[i].oneof == index && per[i].n > 0 &&
		    (long)per[i].v[per[i].n - 1].seq > last)
			last = (long)per[i].v[per[i].n - 1].seq;
	return last;
}

/* Field @f of a message, from its occurrences; NULL *@ret and 1: left out. */
static int dec_field(struct ctx *c, const struct pb_message *m, const struct pb_field *f,
		     const struct occs *per, struct json_object **ret)
{
	const struct occs *o = &per[f - m->fields];
	struct json_object *arr;
	int r = 0;

	if (o->n == 0)
		return 1;
	if (f->repeated) {
		if (f->message && f->message->map_entry)
			return dec_map(c, f, o, ret);
		arr = json_object_new_array();
		if (!arr)
			return -ENOMEM;
		for (size_t i = 0; r == 0 && i < o->n; i++)
			r = dec_elements(c, f, &o->v[i], arr);
		if (r < 0 || json_object_array_length(arr) == 0) {
			/* Empty packed occurrences make no element: nothing to print. */
			json_object_put(arr);
			return r < 0 ? r : 1;
		}
		*ret = arr;
		return 0;
	}
	/* Of a oneof, the member set last wins. */
	if (f->oneof >= 0 && (long)o->v[o->n - 1].seq != oneof_last(m, per, f->oneof))
		return 1;
	if (f->type == PB_MESSAGE)
		return dec_merged(c, f, o, ret);
	if (!f->has_presence && occ_is_default(&o->v[o->n - 1]))
		return 1;
	return dec_value(c, f, &o->v[o->n - 1], ret);
}

static int dec_fields(struct ctx *c, const struct pb_message *m, const struct occs *per,
		      struct json_object *obj)
{
	struct json_object *v;
	int r = 0;

	for (size_t i = 0; r == 0 && i < m->n_fields; i++) {
		const struct pb_field *f = &m->fields[i];
		size_t old = path_push(c, "%s%s", c->path[0] ? "." : "", f->json_name);

		r = dec_field(c, m, f, per, &v);
		if (r == 0)
			r = add_to_object(obj, f->json_name, v);
		else if (r == 1)
			r = 0;
		if (r == 0)
			c->path[old] = '\0';
	}
	return r;
}

/* The last occurrence of field @number, or NULL. */
static const struct occ *last_of(const struct pb_message *m, const struct occs *per,
				 uint32_t number)
{
	const struct pb_field *f = pb_message_field(m, number);
	const struct occs *o = f ? &per[f - m->fields] : NULL;

	return o && o->n ? &o->v[o->n - 1] : NULL;
}

static int dec_time(struct ctx *c, const struct pb_message *m, const struct occs *per,
		    struct json_object **ret)
{
	const struct occ *s = last_of(m, per, 1), *n = last_of(m, per, 2);
	int64_t seconds = s ? (int64_t)s->v : 0, y;
	int32_t nanos = n ? (int32_t)n->v : 0;
	char buf[64], frac[16];
	unsigned mo, d;
	int64_t days, rem;

	if (m->wkt == PB_WKT_DURATION) {
		if (seconds < -DURATION_MAX || seconds > DURATION_MAX || nanos <= -1000000000 ||
		    nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0))
			return fail(c, "not a valid %s: %" PRId64 "s and %" PRId32 "ns", m->name,
				    seconds, nanos);
		print_nanos(frac, sizeof(frac), nanos < 0 ? -nanos : nanos);
		snprintf(buf, sizeof(buf), "%s%" PRIu64 "%ss", seconds < 0 || nanos < 0 ? "-" : "",
			 seconds < 0 ? (uint64_t)-seconds : (uint64_t)seconds, frac);
		return made(json_object_new_string(buf), ret);
	}
	if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX || nanos < 0 || nanos > 999999999)
		return fail(c, "not a valid %s: %" PRId64 "s and %" PRId32 "ns", m->name, seconds,
			    nanos);
	days = seconds / 86400;
	rem = seconds % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	print_nanos(frac, sizeof(frac), nanos);
	snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d%sZ", y, mo, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
	return made(json_object_new_string(buf), ret);
}

/* FieldMask: "foo_bar.baz" paths joined as "fooBar.baz". */
static int dec_field_mask(struct ctx *c, const struct pb_message *m, const struct occs *per,
			  struct json_object **ret)
{
	const struct pb_field *f = pb_message_field(m, 1);
	const struct occs *o = f ? &per[f - m->fields] : NULL;
	struct buf text = { 0 };
	char *name;
	int r;

	/* A set may name any message so: only the real one has string paths. */
	if (f && (f->type != PB_STRING || !f->repeated))
		return fail(c, "%s has no repeated string paths", m->name);
	for (size_t i = 0; o && i < o->n; i++) {
		name = malloc(o->v[i].len + 1);
		if (!name) {
			free(text.p);
			return -ENOMEM;
		}
		memcpy(name, o->v[i].p, o->v[i].len);
		name[o->v[i].len] = '\0';
		pb_json_name(name, name, o->v[i].len + 1);
		if (i)
			put(&text, ",", 1);
		put(&text, name, strlen(name));
		free(name);
	}
	put(&text, "", 1);
	r = text.oom ? -ENOMEM : made(json_object_new_string((char *)text.p), ret);
	free(text.p);
	return r;
}

static int dec_any(struct ctx *c, const struct pb_message *m, const struct occs *per,
		   struct json_object **ret)
{
	const struct occ *u = last_of(m, per, 1), *v = last_of(m, per, 2);
	const struct pb_message *type;
	struct json_object *obj, *body = NULL;
	const char *slash;
	char *url;
	int r;

	if (!u || u->len == 0) {
		if (v && v->len)
			return fail(c, "google.protobuf.Any with a value and no type URL");
		return made(json_object_new_object(), ret);
	}
	url = strndup((const char *)u->p, u->len);
	if (!url)
		return -ENOMEM;
	slash = strrchr(url, '/');
	type = pb_pool_message(c->pool, slash ? slash + 1 : url);
	r = type ? dec_message(c, type, v ? v->p : (const uint8_t *)"", v ? v->len : 0, &body)
		 : fail(c, "google.protobuf.Any of type %s, which is not among the descriptors",
			url);
	obj = r < 0 ? NULL : json_object_new_object();
	if (r == 0 && (!obj || add_to_object(obj, "@type", json_object_new_string(url)) < 0))
		r = -ENOMEM;
	free(url);
	if (r < 0) {
		json_object_put(obj);
		json_object_put(body);
		return r;
	}
	if (type->wkt != PB_WKT_NONE) {
		r = add_to_object(obj, "value", body);
	} else {
		json_object_object_foreach(body, key, val)
		{
			if ((r = add_to_object(obj, key, json_object_get(val))) < 0)
				break;
		}
		json_object_put(body);
	}
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	*ret = obj;
	return 0;
}

/* google.protobuf.Value: the value of the member of its oneof set last. */
static int dec_value_wkt(struct ctx *c, const struct pb_message *m, const struct occs *per,
			 struct json_object **ret)
{
	const struct pb_field *set = NULL;
	long last = -1;

	for (size_t i = 0; i < m->n_fields; i++) {
		if (per[i].n > 0 && (long)per[i].v[per[i].n - 1].seq > last) {
			last = (long)per[i].v[per[i].n - 1].seq;
			set = &m->fields[i];
		}
	}
	if (!set)
		return fail(c, "google.protobuf.Value with no kind of value set");
	if (set->type == PB_MESSAGE)
		return dec_merged(c, set, &per[set - m->fields], ret);
	return dec_value(c, set, &per[set - m->fields].v[per[set - m->fields].n - 1], ret);
}

static int dec_message(struct ctx *c, const struct pb_message *m, const uint8_t *data, size_t len,
		       struct json_object **ret)
{
	struct occs *per;
	int r;

	if (c->depth >= MAX_DEPTH)
		return fail(c, "messages nested more than %d deep", MAX_DEPTH);
	if ((r = scan(c, m, data, len, &per)) < 0)
		return r;
	c->depth++;
	switch (m->wkt) {
	case PB_WKT_TIMESTAMP:
	case PB_WKT_DURATION:
		r = dec_time(c, m, per, ret);
		break;
	case PB_WKT_WRAPPER:
		if (m->n_fields == 0)
			r = fail(c, "%s has no value field", m->name);
		else if (per[0].n)
			r = dec_value(c, &m->fields[0], &per[0].v[per[0].n - 1], ret);
		else
			r = dec_default(c, &m->fields[0], ret);
		break;
	case PB_WKT_STRUCT:
		r = m->n_fields ? dec_map(c, &m->fields[0], &per[0], ret)
				: made(json_object_new_object(), ret);
		break;
	case PB_WKT_LIST_VALUE:
		r = m->n_fields ? dec_field(c, m, &m->fields[0], per, ret) : 1;
		if (r == 1)
			r = made(json_object_new_array(), ret);
		break;
	case PB_WKT_VALUE:
		r = dec_value_wkt(c, m, per, ret);
		break;
	case PB_WKT_FIELD_MASK:
		r = dec_field_mask(c, m, per, ret);
		break;
	case PB_WKT_ANY:
		r = dec_any(c, m, per, ret);
		break;
	default:
		*ret = json_object_new_object();
		r = *ret ? dec_fields(c, m, per, *ret) : -ENOMEM;
		if (r < 0) {
			json_object_put(*ret);
			*ret = NULL;
		}
	}
	c->depth--;
	occs_free(per, m->n_fields);
	return r;
}

int pbjson_decode(const struct pb_pool *pool, const struct pb_message *type, const uint8_t *data,
		  size_t len, struct json_object **ret, char *err, size_t err_size)
{
	struct ctx c = { .pool = pool, .err = err, .err_size = err_size };
	int r = dec_message(&c, type, data ? data : (const uint8_t *)"", len, ret);

	if (r == -ENOMEM)
		snprintf(err, err_size, "%s", strerror(ENOMEM));
	return r;
}
