/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The descriptor pool; see pool.h. Strings point into the decoded sets,
 * which the pool keeps until it is freed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.pb-c.h"
#include "pool.h"

typedef TtrpcDesc__FileDescriptorSet FileSet;
typedef TtrpcDesc__FileDescriptorProto FileProto;
typedef TtrpcDesc__DescriptorProto MessageProto;
typedef TtrpcDesc__EnumDescriptorProto EnumProto;
typedef TtrpcDesc__FieldDescriptorProto FieldProto;

struct pb_pool {
	FileSet **sets; /* decoded, owned */
	size_t n_sets;
	const char **files; /* names of the files held */
	size_t n_files;
	struct pb_message **messages;
	size_t n_messages;
	struct pb_enum **enums;
	size_t n_enums;
	struct pb_service **services;
	size_t n_services;
	char **names; /* full names made here */
	size_t n_names;
};

/* Append @p to the array *@v of *@n pointers; on failure nothing changes. */
static int push(void *v, size_t *n, void *p)
{
	void ***arr = v;
	void **grown = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!grown)
		return -ENOMEM;
	*arr = grown;
	grown[(*n)++] = p;
	return 0;
}

int pb_pool_new(struct pb_pool **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void pb_pool_free(struct pb_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n_messages; i++) {
		free(pool->messages[i]->fields);
		free(pool->messages[i]);
	}
	for (size_t i = 0; i < pool->n_enums; i++) {
		free((void *)pool->enums[i]->values);
		free(pool->enums[i]);
	}
	for (size_t i = 0; i < pool->n_services; i++) {
		free(pool->services[i]->methods);
		free(pool->services[i]);
	}
	for (size_t i = 0; i < pool->n_names; i++)
		free(pool->names[i]);
	for (size_t i = 0; i < pool->n_sets; i++)
		ttrpc_desc__file_descriptor_set__free_unpacked(pool->sets[i], NULL);
	free(pool->sets);
	free(pool->files);
	free(pool->messages);
	free(pool->enums);
	free(pool->services);
	free(pool->names);
	free(pool);
}

void pb_json_name(const char *name, char *buf, size_t size)
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

/* "@scope.@name" (or @name in no scope), kept by the pool. */
static const char *full_name(struct pb_pool *pool, const char *scope, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", scope, *scope ? "." : "", name) < 0)
		return NULL;
	if (push(&pool->names, &pool->n_names, s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static enum pb_wkt wkt_of(const char *name)
{
	static const struct {
		const char *name;
		enum pb_wkt wkt;
	} wkts[] = {
		{ "google.protobuf.Any", PB_WKT_ANY },
		{ "google.protobuf.Timestamp", PB_WKT_TIMESTAMP },
		{ "google.protobuf.Duration", PB_WKT_DURATION },
		{ "google.protobuf.Struct", PB_WKT_STRUCT },
		{ "google.protobuf.Value", PB_WKT_VALUE },
		{ "google.protobuf.ListValue", PB_WKT_LIST_VALUE },
		{ "google.protobuf.FieldMask", PB_WKT_FIELD_MASK },
		{ "google.protobuf.DoubleValue", PB_WKT_WRAPPER },
		{ "google.protobuf.FloatValue", PB_WKT_WRAPPER },
		{ "google.protobuf.Int64Value", PB_WKT_WRAPPER },
		{ "google.protobuf.UInt64Value", PB_WKT_WRAPPER },
		{ "google.protobuf.Int32Value", PB_WKT_WRAPPER },
		{ "google.protobuf.UInt32Value", PB_WKT_WRAPPER },
		{ "google.protobuf.BoolValue", PB_WKT_WRAPPER },
		{ "google.protobuf.StringValue", PB_WKT_WRAPPER },
		{ "google.protobuf.BytesValue", PB_WKT_WRAPPER },
	};

	for (size_t i = 0; i < sizeof(wkts) / sizeof(wkts[0]); i++)
		if (strcmp(wkts[i].name, name) == 0)
			return wkts[i].wkt;
	return PB_WKT_NONE;
}

static int add_enum(struct pb_pool *pool, const char *scope, const EnumProto *ep)
{
	struct pb_enum *e = calloc(1, sizeof(*e));
	struct pb_enum_value *values = calloc(ep->n_value + 1, sizeof(*values));

	if (!e || !values || !(e->name = full_name(pool, scope, ep->name ? ep->name : "")) ||
	    push(&pool->enums, &pool->n_enums, e) < 0) {
		free(values);
		free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ep->n_value; i++)
		values[i] = (struct pb_enum_value){ .name = ep->value[i]->name ? ep->value[i]->name
									       : "",
						    .number = ep->value[i]->number };
	e->values = values;
	e->n_values = ep->n_value;
	e->null_value = strcmp(e->name, "google.protobuf.NullValue") == 0;
	return 0;
}

static int field_cmp(const void *a, const void *b)
{
	const struct pb_field *x = a, *y = b;

	return x->number < y->number ? -1 : x->number > y->number;
}

static bool packable(enum pb_type t)
{
	return t != PB_STRING && t != PB_BYTES && t != PB_MESSAGE && t != PB_GROUP;
}

static int fill_field(struct pb_pool *pool, struct pb_field *f, const FieldProto *fp, bool proto3)
{
	char json[256];

	f->name = fp->name ? fp->name : "";
	if (fp->json_name) {
		f->json_name = fp->json_name;
	} else {
		pb_json_name(f->name, json, sizeof(json));
		f->json_name = full_name(pool, "", json);
		if (!f->json_name)
			return -ENOMEM;
	}
	f->number = (uint32_t)fp->number;
	f->type = (enum pb_type)fp->type;
	f->repeated = fp->label == TTRPC_DESC__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
	f->oneof = fp->has_oneof_index ? fp->oneof_index : -1;
	if (f->repeated)
		f->packed = packable(f->type) &&
			    (fp->options && fp->options->has_packed ? fp->options->packed : proto3);
	else
		f->has_presence = !proto3 || f->type == PB_MESSAGE || f->type == PB_GROUP ||
				  f->oneof >= 0;
	/* protoc writes references in full, with a leading dot. */
	f->type_name = fp->type_name && fp->type_name[0] == '.' ? fp->type_name + 1 : fp->type_name;
	return 0;
}

static int add_message(struct pb_pool *pool, const char *scope, const MessageProto *mp, bool proto3)
{
	struct pb_message *m = calloc(1, sizeof(*m));
	int r = -ENOMEM;

	if (!m)
		return -ENOMEM;
	m->fields = calloc(mp->n_field + 1, sizeof(*m->fields));
	m->name = full_name(pool, scope, mp->name ? mp->name : "");
	if (!m->fields || !m->name || push(&pool->messages, &pool->n_messages, m) < 0) {
		free(m->fields);
		free(m);
		return -ENOMEM;
	}
	m->n_fields = mp->n_field;
	m->n_oneofs = mp->n_oneof_decl;
	m->map_entry = mp->options && mp->options->has_map_entry && mp->options->map_entry;
	m->wkt = wkt_of(m->name);
	for (size_t i = 0; i < mp->n_field; i++) {
		r = fill_field(pool, &m->fields[i], mp->field[i], proto3);
		if (r < 0)
			return r;
	}
	qsort(m->fields, m->n_fields, sizeof(*m->fields), field_cmp);
	for (size_t i = 0; i < mp->n_enum_type; i++)
		if ((r = add_enum(pool, m->name, mp->enum_type[i])) < 0)
			return r;
	for (size_t i = 0; i < mp->n_nested_type; i++)
		if ((r = add_message(pool, m->name, mp->nested_type[i], proto3)) < 0)
			return r;
	return 0;
}

static int add_service(struct pb_pool *pool, const char *scope,
		       const TtrpcDesc__ServiceDescriptorProto *sp)
{
	struct pb_service *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->methods = calloc(sp->n_method + 1, sizeof(*s->methods));
	s->name = full_name(pool, scope, sp->name ? sp->name : "");
	if (!s->methods || !s->name || push(&pool->services, &pool->n_services, s) < 0) {
		free(s->methods);
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sp->n_method; i++) {
		const TtrpcDesc__MethodDescriptorProto *mp = sp->method[i];
		struct pb_method *m = &s->methods[s->n_methods++];
		const char *in = mp->input_type ? mp->input_type : "";
		const char *out = mp->output_type ? mp->output_type : "";

		m->name = mp->name ? mp->name : "";
		m->input_name = in[0] == '.' ? in + 1 : in;
		m->output_name = out[0] == '.' ? out + 1 : out;
		m->kind = mp->client_streaming   ? (mp->server_streaming ? TTRPC_METHOD_BIDI_STREAM
									 : TTRPC_METHOD_CLIENT_STREAM)
			  : mp->server_streaming ? TTRPC_METHOD_SERVER_STREAM
						 : TTRPC_METHOD_UNARY;
	}
	return 0;
}

/*
 * Messages nest in a descriptor set through DescriptorProto.nested_type
 * only (of what descriptor.proto's subset reads): protobuf-c's unpacking and
 * add_message() recurse once per level, so a set from a hostile module
 * could exhaust the stack. Walk the nesting first, without recursing past
 * MAX_NESTING.
 */
#define MAX_NESTING 100

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return true;
	}
	return false;
}

typedef bool (*level_fn)(const uint8_t *p, const uint8_t *end, int room);

/* Whether @fn accepts every length-delimited field @number of [@p, @end). */
static bool each_field(const uint8_t *p, const uint8_t *end, uint64_t number, level_fn fn, int room)
{
	uint64_t tag, v;

	while (p < end) {
		/* Malformed bytes stop the walk: protobuf-c refuses them. */
		if (!varint(&p, end, &tag))
			return true;
		switch (tag & 7) {
		case 0:
			if (!varint(&p, end, &v))
				return true;
			break;
		case 1:
		case 5:
			v = (tag & 7) == 1 ? 8 : 4;
			if ((uint64_t)(end - p) < v)
				return true;
			p += v;
			break;
		case 2:
			if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
				return true;
			if (tag >> 3 == number && !fn(p, p + v, room))
				return false;
			p += v;
			break;
		default:
			return true;
		}
	}
	return true;
}

/* A DescriptorProto: its nested_type (3) one level deeper. */
static bool message_shallow(const uint8_t *p, const uint8_t *end, int room)
{
	return room > 0 && each_field(p, end, 3, message_shallow, room - 1);
}

/* A FileDescriptorProto: its message_type (4). */
static bool file_shallow(const uint8_t *p, const uint8_t *end, int room)
{
	return each_field(p, end, 4, message_shallow, room);
}

static bool holds_file(const struct pb_pool *pool, const char *name)
{
	for (size_t i = 0; i < pool->n_files; i++)
		if (strcmp(pool->files[i], name) == 0)
			return true;
	return false;
}

static int add_file(struct pb_pool *pool, const FileProto *f)
{
	const char *pkg = f->package ? f->package : "";
	bool proto3 = f->syntax && strcmp(f->syntax, "proto3") == 0;
	int r;

	if (push(&pool->files, &pool->n_files, f->name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_enum_type; i++)
		if ((r = add_enum(pool, pkg, f->enum_type[i])) < 0)
			return r;
	for (size_t i = 0; i < f->n_message_type; i++)
		if ((r = add_message(pool, pkg, f->message_type[i], proto3)) < 0)
			return r;
	for (size_t i = 0; i < f->n_service; i++)
		if ((r = add_service(pool, pkg, f->service[i])) < 0)
			return r;
	return 0;
}

static const struct pb_enum *find_enum(const struct pb_pool *pool, const char *name)
{
	for (size_t i = 0; name && i < pool->n_enums; i++)
		if (strcmp(pool->enums[i]->name, name) == 0)
			return pool->enums[i];
	return NULL;
}

const struct pb_message *pb_pool_message(const struct pb_pool *pool, const char *name)
{
	if (name && name[0] == '.')
		name++;
	for (size_t i = 0; name && i < pool->n_messages; i++)
		if (strcmp(pool->messages[i]->name, name) == 0)
			return pool->messages[i];
	return NULL;
}

/* Point every reference to a type at it, now that more files may define them. */
static void resolve(struct pb_pool *pool)
{
	for (size_t i = 0; i < pool->n_messages; i++) {
		struct pb_message *m = pool->messages[i];

		for (size_t j = 0; j < m->n_fields; j++) {
			struct pb_field *f = &m->fields[j];

			if ((f->type == PB_MESSAGE || f->type == PB_GROUP) && !f->message)
				f->message = pb_pool_message(pool, f->type_name);
			else if (f->type == PB_ENUM && !f->enumeration)
				f->enumeration = find_enum(pool, f->type_name);
		}
	}
	for (size_t i = 0; i < pool->n_services; i++) {
		struct pb_service *s = pool->services[i];

		for (size_t j = 0; j < s->n_methods; j++) {
			s->methods[j].input = pb_pool_message(pool, s->methods[j].input_name);
			s->methods[j].output = pb_pool_message(pool, s->methods[j].output_name);
		}
	}
}

int pb_pool_add(struct pb_pool *pool, const uint8_t *data, size_t len, const char *what, char *err,
		size_t err_size)
{
	FileSet *set = NULL;
	int r = 0;

	if (!data)
		data = (const uint8_t *)"";
	/* The set's files (1), each walked before protobuf-c unpacks it. */
	if (!each_field(data, data + len, 1, file_shallow, MAX_NESTING)) {
		snprintf(err, err_size, "%s: messages nested more than %d deep", what, MAX_NESTING);
		return -EINVAL;
	}
	set = ttrpc_desc__file_descriptor_set__unpack(NULL, len, data);
	if (!set) {
		snprintf(err, err_size, "%s: not a google.protobuf.FileDescriptorSet", what);
		return -EINVAL;
	}
	if (push(&pool->sets, &pool->n_sets, set) < 0) {
		ttrpc_desc__file_descriptor_set__free_unpacked(set, NULL);
		r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < set->n_file; i++) {
		if (!set->file[i]->name) {
			snprintf(err, err_size, "%s: a file without a name", what);
			return -EINVAL;
		}
		if (!holds_file(pool, set->file[i]->name))
			r = add_file(pool, set->file[i]);
	}
	if (r == -ENOMEM)
		snprintf(err, err_size, "%s", strerror(ENOMEM));
	resolve(pool);
	return r;
}

int pb_pool_add_file(struct pb_pool *pool, const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, k;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	do {
		if (len == cap) {
			uint8_t *b = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!b) {
				free(buf);
				fclose(f);
				snprintf(err, err_size, "%s", strerror(ENOMEM));
				return -ENOMEM;
			}
			buf = b;
		}
		k = fread(buf + len, 1, cap - len, f);
		len += k;
	} while (k > 0);
	if (ferror(f)) {
		r = -EIO;
		snprintf(err, err_size, "%s: %s", path, strerror(EIO));
	} else {
		r = pb_pool_add(pool, buf, len, path, err, err_size);
	}
	fclose(f);
	free(buf);
	return r;
}

const struct pb_message *pb_pool_message_at(const struct pb_pool *pool, size_t i)
{
	return i < pool->n_messages ? pool->messages[i] : NULL;
}

const struct pb_service *pb_pool_service(const struct pb_pool *pool, const char *name)
{
	for (size_t i = 0; i < pool->n_services; i++)
		if (strcmp(pool->services[i]->name, name) == 0)
			return pool->services[i];
	return NULL;
}

const struct pb_method *pb_service_method(const struct pb_service *svc, const char *name)
{
	for (size_t i = 0; i < svc->n_methods; i++)
		if (strcmp(svc->methods[i].name, name) == 0)
			return &svc->methods[i];
	return NULL;
}

const struct pb_field *pb_message_field(const struct pb_message *m, uint32_t number)
{
	size_t lo = 0, hi = m->n_fields;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->fields[mid].number == number)
			return &m->fields[mid];
		if (m->fields[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
