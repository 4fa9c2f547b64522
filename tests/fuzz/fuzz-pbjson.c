/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: ttrpcctl's JSON <-> protobuf codec
 * (daemon/ttrpcctl/pbjson.c) and its descriptor pool (pool.c) on what a
 * daemon may answer. The first input byte says what the rest is:
 *  - protobuf bytes of a type of tests/ttrpcctl's jsontest.proto and
 *    wkt.proto (as protoc -o writes them), chosen by the low bits: what
 *    decodes is encoded back from its JSON, which must succeed and decode
 *    again to the same JSON;
 *  - with bit 0x80, JSON text: what encodes must decode, and go round as
 *    bytes do;
 *  - with bit 0x40, a descriptor set as a hostile module may give it (two
 *    bytes of length, little-endian, then the set) and bytes decoded as
 *    each of its first message types, and encoded back: nothing may crash.
 * Every failure must come with a message.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz-check.h"
#include "pbjson.h"
#include "pool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const type_names[] = {
	"ttrpcctl.test.v1.Wkt",     "ttrpcctl.test.v1.All",      "google.protobuf.Value",
	"google.protobuf.Any",      "google.protobuf.Struct",    "google.protobuf.Timestamp",
	"google.protobuf.Duration", "google.protobuf.FieldMask",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static struct pb_pool *pool;
static const struct pb_message *types[N_TYPES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const sets[] = { FUZZ_PBJSON_SETS "/jsontest.pb",
					    FUZZ_PBJSON_SETS "/wkt.pb" };
	char err[512];

	(void)argc;
	(void)argv;
	FUZZ_CHECK(pb_pool_new(&pool) == 0);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (pb_pool_add_file(pool, sets[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz-pbjson: %s\n", err);
			abort();
		}
	}
	for (size_t i = 0; i < N_TYPES; i++)
		FUZZ_CHECK((types[i] = pb_pool_message(pool, type_names[i])) != NULL);
	return 0;
}

/* The JSON text of @j (JSON null for a NULL @j), malloc'd. */
static char *text_of(struct json_object *j)
{
	char *s = strdup(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "null");

	FUZZ_CHECK(s != NULL);
	return s;
}

/*
 * Decode @data, encode its JSON again and decode that: the same JSON.
 * @must: @data came from the encoder, so it must decode.
 */
static void from_bytes(const struct pb_message *type, const uint8_t *data, size_t size, bool must)
{
	struct json_object *j = NULL, *again = NULL;
	char err[512] = "", *first, *second;
	uint8_t *bytes;
	size_t len;

	if (pbjson_decode(pool, type, data, size, &j, err, sizeof(err)) < 0) {
		FUZZ_CHECK(!must && err[0]);
		return;
	}
	first = text_of(j);
	FUZZ_CHECK(pbjson_encode(pool, type, j, &bytes, &len, err, sizeof(err)) == 0);
	FUZZ_CHECK(pbjson_decode(pool, type, bytes, len, &again, err, sizeof(err)) == 0);
	second = text_of(again);
	if (strcmp(first, second) != 0)
		fprintf(stderr, "decoded:\n%s\nencoded and decoded again:\n%s\n", first, second);
	FUZZ_CHECK(strcmp(first, second) == 0);
	free(first);
	free(second);
	free(bytes);
	json_object_put(j);
	json_object_put(again);
}

/* Encode JSON text; what encodes must decode, and go round as from_bytes() says. */
static void from_json(const struct pb_message *type, const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *j;
	char err[512] = "";
	uint8_t *bytes;
	size_t len;

	FUZZ_CHECK(tok != NULL);
	j = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_tokener_free(tok);
		return;
	}
	json_tokener_free(tok);
	if (pbjson_encode(pool, type, j, &bytes, &len, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0]);
	} else {
		from_bytes(type, bytes, len, true);
		free(bytes);
	}
	json_object_put(j);
}

/* A pool of a descriptor set of the input, and messages of its types. */
static void from_descriptors(const uint8_t *data, size_t size)
{
	const struct pb_message *type;
	struct json_object *j;
	struct pb_pool *p;
	char err[512];
	uint8_t *bytes;
	size_t set, len;

	if (size < 2)
		return;
	set = (size_t)data[0] | (size_t)data[1] << 8;
	if (set > size - 2)
		return;
	FUZZ_CHECK(pb_pool_new(&p) == 0);
	err[0] = '\0';
	if (pb_pool_add(p, data + 2, set, "input", err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0]);
		pb_pool_free(p);
		return;
	}
	for (size_t i = 0; i < 16 && (type = pb_pool_message_at(p, i)); i++) {
		err[0] = '\0';
		if (pbjson_decode(p, type, data + 2 + set, size - 2 - set, &j, err, sizeof(err)) <
		    0) {
			FUZZ_CHECK(err[0]);
			continue;
		}
		if (pbjson_encode(p, type, j, &bytes, &len, err, sizeof(err)) == 0)
			free(bytes);
		json_object_put(j);
	}
	pb_pool_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pb_message *type;

	if (size < 1 || size > 1 << 20)
		return 0;
	if (data[0] & 0x40) {
		from_descriptors(data + 1, size - 1);
		return 0;
	}
	type = types[(data[0] & 0x7f) % N_TYPES];
	if (data[0] & 0x80)
		from_json(type, data + 1, size - 1);
	else
		from_bytes(type, data + 1, size - 1, false);
	return 0;
}
