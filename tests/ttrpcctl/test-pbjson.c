/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proto3 JSON mapping of ttrpcctl (daemon/ttrpcctl/pbjson.c), driven by
 * the descriptor sets protoc writes for jsontest.proto and wkt.proto, as the
 * daemon would serve them (daemon/ttrpcctl/pool.c): every scalar type,
 * enums, nested and repeated messages, maps, oneofs and bytes; the
 * well-known types in their JSON forms; what it accepts, what it prints and
 * what it refuses; that the bytes it writes are what protoc-c reads and
 * protoc writes, and that it reads what protoc-c writes.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsontest.pb-c.h"
#include "pbjson.h"
#include "pool.h"

static struct pb_pool *pool;
static const struct pb_message *all_type, *wkt_type;

/* JSON text -> wire bytes of @type; asserts success. */
static uint8_t *parse_as(const struct pb_message *type, const char *text, size_t *len)
{
	struct json_object *j = json_tokener_parse(text);
	uint8_t *data = NULL;
	char err[256] = "";
	int r;

	ck_assert_msg(j != NULL || strcmp(text, "null") == 0, "bad test JSON: %s", text);
	r = pbjson_encode(pool, type, j, &data, len, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %s", text, err);
	json_object_put(j);
	return data;
}

/* JSON text -> the error message; asserts failure. */
static void parse_fails_as(const struct pb_message *type, const char *text, const char *want)
{
	struct json_object *j = json_tokener_parse(text);
	uint8_t *data = NULL;
	char err[256] = "";
	size_t len;

	ck_assert_msg(j != NULL, "bad test JSON: %s", text);
	ck_assert_int_eq(pbjson_encode(pool, type, j, &data, &len, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(data);
	ck_assert_msg(strstr(err, want), "%s: error \"%s\" lacks \"%s\"", text, err, want);
	json_object_put(j);
}

static void parse_fails(const char *text, const char *want)
{
	parse_fails_as(all_type, text, want);
}

/* Wire bytes of @type as compact JSON, malloc'd. */
static char *print_as(const struct pb_message *type, const uint8_t *data, size_t len)
{
	struct json_object *j = NULL;
	char err[256] = "";
	char *s;

	ck_assert_msg(pbjson_decode(pool, type, data, len, &j, err, sizeof(err)) == 0, "%s", err);
	s = strdup(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE)
		     : "null");
	json_object_put(j);
	return s;
}

/* Wire bytes -> the decoding error; asserts failure. */
static void print_fails_as(const struct pb_message *type, const uint8_t *data, size_t len,
			   const char *want)
{
	struct json_object *j = NULL;
	char err[256] = "";

	ck_assert_int_eq(pbjson_decode(pool, type, data, len, &j, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, want), "error \"%s\" lacks \"%s\"", err, want);
}

/* Through protoc-c as well: unpack what was built with its code, pack it again, print. */
static char *through_protoc_c(const uint8_t *data, size_t len)
{
	Ttrpcctl__Test__V1__All *back = ttrpcctl__test__v1__all__unpack(NULL, len, data);
	size_t n;
	uint8_t *buf;
	char *s;

	ck_assert_ptr_nonnull(back);
	n = protobuf_c_message_get_packed_size(&back->base);
	buf = malloc(n + 1);
	ck_assert_uint_eq(protobuf_c_message_pack(&back->base, buf), n);
	s = print_as(all_type, buf, n);
	ttrpcctl__test__v1__all__free_unpacked(back, NULL);
	free(buf);
	return s;
}

/* @in, converted and printed (directly and after protoc-c), gives @want. */
static void roundtrip(const char *in, const char *want)
{
	size_t len;
	uint8_t *data = parse_as(all_type, in, &len);
	char *direct = print_as(all_type, data, len), *wire = through_protoc_c(data, len);

	ck_assert_str_eq(direct, want);
	ck_assert_str_eq(wire, want);
	free(direct);
	free(wire);
	free(data);
}

/* The same for wkt.proto, which protoc-c does not compile here. */
static void roundtrip_wkt(const char *in, const char *want)
{
	size_t len;
	uint8_t *data = parse_as(wkt_type, in, &len);
	char *s = print_as(wkt_type, data, len);

	ck_assert_str_eq(s, want);
	free(s);
	free(data);
}

/* @in encodes as @want, bytes that protoc --encode writes for the same message. */
static void encodes_as(const char *in, const char *want, size_t want_len)
{
	size_t len;
	uint8_t *data = parse_as(wkt_type, in, &len);

	ck_assert_uint_eq(len, want_len);
	ck_assert_mem_eq(data, want, len);
	free(data);
}

static const char every_field[] =
	"{\"fDouble\":1.5,\"fFloat\":0.1,\"fInt32\":-7,\"fInt64\":\"-9007199254740993\","
	"\"fUint32\":4294967295,\"fUint64\":\"18446744073709551615\",\"fSint32\":-2147483648,"
	"\"fSint64\":\"-9223372036854775808\",\"fFixed32\":7,\"fFixed64\":\"8\","
	"\"fSfixed32\":-9,\"fSfixed64\":\"-10\",\"fBool\":true,\"fString\":\"héllo \\\"x\\\"\","
	"\"fBytes\":\"AAEC/w==\",\"color\":\"GREEN\",\"inner\":{\"name\":\"in\",\"values\":[1,-2]},"
	"\"rDouble\":[0.25,-1e+100],\"rInt64\":[\"1\",\"-2\"],\"rUint32\":[0,3],"
	"\"rBool\":[true,false],\"rString\":[\"a\",\"\"],\"rBytes\":[\"YQ==\",\"\"],"
	"\"rColor\":[\"RED\",\"COLOR_UNSPECIFIED\"],\"rInner\":[{},{\"name\":\"b\"}],"
	"\"mStringInt32\":{\"one\":1,\"zero\":0},\"mInt64String\":{\"-5\":\"minus five\"},"
	"\"mBoolInner\":{\"true\":{\"name\":\"t\"}},\"mUint32Color\":{\"4\":\"RED\"},"
	"\"cText\":\"chosen\"}";

START_TEST(test_every_field)
{
	roundtrip(every_field, every_field);
}
END_TEST

/* The C values behind the JSON: the bytes say what protoc-c reads. */
START_TEST(test_struct_values)
{
	size_t len;
	uint8_t *buf = parse_as(all_type, every_field, &len);
	Ttrpcctl__Test__V1__All *b;

	b = ttrpcctl__test__v1__all__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(b);
	ck_assert(b->f_double == 1.5);
	ck_assert(b->f_float == 0.1f);
	ck_assert_int_eq(b->f_int32, -7);
	ck_assert(b->f_int64 == -9007199254740993LL);
	ck_assert(b->f_uint32 == 4294967295u);
	ck_assert(b->f_uint64 == UINT64_MAX);
	ck_assert(b->f_sint32 == INT32_MIN);
	ck_assert(b->f_sint64 == INT64_MIN);
	ck_assert(b->f_fixed64 == 8 && b->f_sfixed32 == -9 && b->f_sfixed64 == -10);
	ck_assert(b->f_bool);
	ck_assert_str_eq(b->f_string, "héllo \"x\"");
	ck_assert_uint_eq(b->f_bytes.len, 4);
	ck_assert_mem_eq(b->f_bytes.data, "\x00\x01\x02\xff", 4);
	ck_assert_int_eq(b->color, TTRPCCTL__TEST__V1__COLOR__GREEN);
	ck_assert_str_eq(b->inner->name, "in");
	ck_assert_uint_eq(b->inner->n_values, 2);
	ck_assert_int_eq(b->inner->values[1], -2);
	ck_assert_uint_eq(b->n_r_inner, 2);
	ck_assert_str_eq(b->r_inner[1]->name, "b");
	ck_assert_uint_eq(b->n_m_string_int32, 2);
	ck_assert_str_eq(b->m_string_int32[0]->key, "one");
	ck_assert_int_eq(b->m_string_int32[0]->value, 1);
	ck_assert(b->m_int64_string[0]->key == -5);
	ck_assert(b->m_bool_inner[0]->key);
	ck_assert_str_eq(b->m_bool_inner[0]->value->name, "t");
	ck_assert_int_eq(b->choice_case, TTRPCCTL__TEST__V1__ALL__CHOICE_C_TEXT);
	ck_assert_str_eq(b->c_text, "chosen");
	ttrpcctl__test__v1__all__free_unpacked(b, NULL);
	free(buf);
}
END_TEST

/* protoc-c's own message, printed: the codec reads what protoc-c writes. */
START_TEST(test_print_generated)
{
	Ttrpcctl__Test__V1__All a = TTRPCCTL__TEST__V1__ALL__INIT;
	Ttrpcctl__Test__V1__Inner in = TTRPCCTL__TEST__V1__INNER__INIT;
	Ttrpcctl__Test__V1__All__MUint32ColorEntry e =
		TTRPCCTL__TEST__V1__ALL__MUINT32_COLOR_ENTRY__INIT;
	Ttrpcctl__Test__V1__All__MUint32ColorEntry *entries[] = { &e };
	int64_t r_int64[] = { INT64_MAX };
	uint8_t buf[256];
	size_t len;
	char *s;

	a.f_uint64 = 42;
	a.r_int64 = r_int64;
	a.n_r_int64 = 1;
	e.key = 0;
	e.value = 7; /* no name in Color: printed as its number */
	a.m_uint32_color = entries;
	a.n_m_uint32_color = 1;
	a.choice_case = TTRPCCTL__TEST__V1__ALL__CHOICE_C_INNER;
	a.c_inner = &in;
	len = protobuf_c_message_pack(&a.base, buf);
	s = print_as(all_type, buf, len);
	ck_assert_str_eq(s, "{\"fUint64\":\"42\",\"rInt64\":[\"9223372036854775807\"],"
			    "\"mUint32Color\":{\"0\":7},\"cInner\":{}}");
	free(s);
}
END_TEST

START_TEST(test_defaults_omitted)
{
	roundtrip("{}", "{}");
	roundtrip("{\"f_int32\":0,\"fString\":\"\",\"fBytes\":\"\",\"color\":\"COLOR_UNSPECIFIED\","
		  "\"fBool\":false,\"fDouble\":0,\"rInt64\":[],\"mStringInt32\":{}}",
		  "{}");
	/* A oneof member and a message field have presence: set, they print. */
	roundtrip("{\"cNumber\":0}", "{\"cNumber\":0}");
	roundtrip("{\"inner\":{}}", "{\"inner\":{}}");
	/* null leaves a field unset. */
	roundtrip("{\"fInt32\":null,\"inner\":null,\"rString\":null}", "{}");
}
END_TEST

START_TEST(test_names_and_forms_accepted)
{
	/* proto names and JSON names alike */
	roundtrip("{\"f_int64\":5,\"r_uint32\":[\"1\"],\"m_string_int32\":{\"a\":\"2\"}}",
		  "{\"fInt64\":\"5\",\"rUint32\":[1],\"mStringInt32\":{\"a\":2}}");
	/* whole numbers in any notation; 64-bit numbers past 2^53 as JSON numbers */
	roundtrip("{\"fInt32\":1e2,\"fUint32\":5.0,\"fUint64\":18446744073709551615,"
		  "\"fInt64\":-9223372036854775808}",
		  "{\"fInt32\":100,\"fInt64\":\"-9223372036854775808\",\"fUint32\":5,"
		  "\"fUint64\":\"18446744073709551615\"}");
	/* enums by number, known or not */
	roundtrip("{\"color\":1,\"rColor\":[2,99]}",
		  "{\"color\":\"RED\",\"rColor\":[\"GREEN\",99]}");
	/* URL-safe base64, no padding */
	roundtrip("{\"fBytes\":\"-_8\"}", "{\"fBytes\":\"+/8=\"}");
	roundtrip("{\"rBytes\":[\"YWI\",\"YWJj\"]}", "{\"rBytes\":[\"YWI=\",\"YWJj\"]}");
	/* map keys in their string forms */
	roundtrip(
		"{\"mInt64String\":{\"9223372036854775807\":\"max\"},\"mBoolInner\":{\"false\":{}}}",
		"{\"mInt64String\":{\"9223372036854775807\":\"max\"},\"mBoolInner\":{\"false\":{}}}");
}
END_TEST

START_TEST(test_floats)
{
	roundtrip("{\"fDouble\":\"NaN\",\"rDouble\":[\"Infinity\",\"-Infinity\",\"2.5\"]}",
		  "{\"fDouble\":\"NaN\",\"rDouble\":[\"Infinity\",\"-Infinity\",2.5]}");
	/* the shortest text that reads back: float 0.1 is not 0.10000000149011612 */
	roundtrip("{\"fFloat\":0.1,\"fDouble\":0.1}", "{\"fDouble\":0.1,\"fFloat\":0.1}");
	roundtrip("{\"fDouble\":1e300,\"fFloat\":3.4028235e38}",
		  "{\"fDouble\":1e+300,\"fFloat\":3.4028235e+38}");
	roundtrip("{\"fDouble\":123456789012}", "{\"fDouble\":123456789012}");
	/* -0 is not the default: its bits differ (protobuf-c would not encode it) */
	size_t len;
	uint8_t *data = parse_as(all_type, "{\"fDouble\":-0.0}", &len);
	char *s = print_as(all_type, data, len);

	ck_assert_str_eq(s, "{\"fDouble\":-0}");
	free(s);
	free(data);
}
END_TEST

START_TEST(test_refused)
{
	parse_fails("{\"nope\":1}", "ttrpcctl.test.v1.All has no field \"nope\"");
	parse_fails("{\"fInt32\":2147483648}", "fInt32: not a valid signed integer");
	parse_fails("{\"fInt32\":1.5}", "not a valid signed integer: 1.5");
	parse_fails("{\"fUint32\":-1}", "fUint32: not a valid unsigned integer");
	parse_fails("{\"fUint64\":\"18446744073709551616\"}", "not a valid unsigned integer");
	parse_fails("{\"fInt64\":\"12x\"}", "not a valid signed integer: 12x");
	parse_fails("{\"fInt64\":true}", "expected an integer, got boolean");
	parse_fails("{\"fBool\":1}", "fBool: expected true or false, got int");
	parse_fails("{\"fString\":5}", "expected a string, got int");
	parse_fails("{\"fBytes\":\"a\"}", "fBytes: invalid base64");
	parse_fails("{\"fBytes\":\"ab!c\"}", "invalid base64");
	parse_fails("{\"fFloat\":1e39}", "out of range for float");
	parse_fails("{\"fDouble\":\"fast\"}", "not a number");
	parse_fails("{\"color\":\"BLUE\"}", "ttrpcctl.test.v1.Color has no value BLUE");
	parse_fails("{\"inner\":[]}",
		    "inner: expected an object (ttrpcctl.test.v1.Inner), got array");
	parse_fails("{\"rInner\":[{},{\"values\":[1,\"x\"]}]}",
		    "rInner[1].values[1]: not a valid signed integer: x");
	parse_fails("{\"rString\":\"a\"}", "rString: expected an array, got string");
	parse_fails("{\"rString\":[null]}", "rString[0]: null in an array");
	parse_fails("{\"mStringInt32\":[]}", "expected an object (a map), got array");
	parse_fails("{\"mInt64String\":{\"x\":\"y\"}}", "mInt64String[\"x\"]: not a valid signed");
	parse_fails("{\"mBoolInner\":{\"yes\":{}}}", "map key is not true or false");
	parse_fails("{\"cText\":\"a\",\"cNumber\":1}", "more than one field of a oneof");
	parse_fails("{\"fInt32\":1,\"f_int32\":2}", "field f_int32 given twice");
	parse_fails("[]", "expected an object (ttrpcctl.test.v1.All), got array");
}
END_TEST

START_TEST(test_json_names)
{
	char buf[64];

	pb_json_name("latency_bounds_us", buf, sizeof(buf));
	ck_assert_str_eq(buf, "latencyBoundsUs");
	pb_json_name("name", buf, sizeof(buf));
	ck_assert_str_eq(buf, "name");
	pb_json_name("f_int32", buf, sizeof(buf));
	ck_assert_str_eq(buf, "fInt32");
	pb_json_name("a__b_", buf, sizeof(buf));
	ck_assert_str_eq(buf, "aB");
}
END_TEST

/* Maps are the fields whose entry type says map_entry, not a naming guess. */
START_TEST(test_maps)
{
	const struct pb_field *f = NULL;

	for (size_t i = 0; i < all_type->n_fields; i++)
		if (strcmp(all_type->fields[i].name, "m_bool_inner") == 0)
			f = &all_type->fields[i];
	ck_assert_ptr_nonnull(f);
	ck_assert(f->repeated && f->message && f->message->map_entry);
	/* An entry without its key or value is the default key or value. */
	static const uint8_t no_value[] = { 0xfa, 0x01, 0x03, 0x0a, 0x01, 'k' };
	char *s = print_as(all_type, no_value, sizeof(no_value));

	ck_assert_str_eq(s, "{\"mStringInt32\":{\"k\":0}}");
	free(s);
	/* A map of well-known types, and its bytes as protoc writes them. */
	roundtrip_wkt("{\"durations\":{\"a\":\"1s\",\"b\":\"0s\"}}",
		      "{\"durations\":{\"a\":\"1s\",\"b\":\"0s\"}}");
	encodes_as("{\"durations\":{\"k\":\"2s\"}}", "\x9a\x01\x07\x0a\x01k\x12\x02\x08\x02", 10);
}
END_TEST

static const char every_wkt[] =
	"{\"time\":\"1972-01-01T10:00:20.021Z\",\"duration\":\"1.500s\","
	"\"i32\":0,\"i64\":\"5\",\"u32\":7,\"u64\":\"18446744073709551615\","
	"\"f\":1.5,\"d\":-2.5,\"b\":false,\"s\":\"\",\"bytes\":\"AAE=\","
	"\"struct\":{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":{}}},"
	"\"value\":\"text\",\"list\":[1,\"two\",null,{}],\"empty\":{},"
	"\"mask\":\"fooBar,baz.quxQuux\","
	"\"times\":[\"0001-01-01T00:00:00Z\",\"9999-12-31T23:59:59.999999999Z\"],"
	"\"maybe\":0,\"values\":[null,false]}";

/*
 * Each well-known type in its JSON form, printed as it was read. The bytes
 * compared are those of protoc --encode=ttrpcctl.test.v1.Wkt wkt.proto for
 * the same message in protobuf's text format.
 */
START_TEST(test_well_known)
{
	roundtrip_wkt(every_wkt, every_wkt);
	roundtrip_wkt("{\"duration\":\"1.5s\"}", "{\"duration\":\"1.500s\"}");
	/* Times: offsets and lower case read, UTC printed, with 0, 3, 6 or 9
	 * decimals, as protojson prints them (and durations: "1.5s" is read,
	 * "1.500s" printed). */
	roundtrip_wkt("{\"time\":\"1972-01-01t12:00:20.5+02:00\"}",
		      "{\"time\":\"1972-01-01T10:00:20.500Z\"}");
	roundtrip_wkt("{\"time\":\"1969-12-31T23:59:59.000001z\"}",
		      "{\"time\":\"1969-12-31T23:59:59.000001Z\"}");
	roundtrip_wkt("{\"duration\":\"-0.5s\",\"next\":{\"duration\":\"-3.000000001s\"}}",
		      "{\"duration\":\"-0.500s\",\"next\":{\"duration\":\"-3.000000001s\"}}");
	encodes_as("{\"time\":\"1970-01-01T00:00:01.5Z\"}",
		   "\x0a\x08\x08\x01\x10\x80\xca\xb5\xee\x01", 10);
	encodes_as("{\"duration\":\"-1.5s\"}",
		   "\x12\x16\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
		   "\x10\x80\xb6\xca\x91\xfe\xff\xff\xff\xff\x01",
		   24);
	/* A wrapper set to its default is there, empty. */
	encodes_as("{\"i32\":0}", "\x22\x00", 2);
	encodes_as("{\"struct\":{\"a\":null}}", "\x6a\x09\x0a\x07\x0a\x01\x61\x12\x02\x08\x00", 11);
	encodes_as("{\"mask\":\"fooBar,baz\"}",
		   "\x8a\x01\x0e\x0a\x07\x66\x6f\x6f\x5f\x62\x61\x72\x0a\x03\x62\x61\x7a", 17);
	/* A FieldMask's empty string is no path; any comma parts them all, empty too. */
	encodes_as("{\"mask\":\"\"}", "\x8a\x01\x00", 3);
	encodes_as("{\"mask\":\",\"}", "\x8a\x01\x04\x0a\x00\x0a\x00", 7);
	roundtrip_wkt("{\"mask\":\",a\"}", "{\"mask\":\",a\"}");
	/* Value takes any JSON, null too; NullValue is null. */
	roundtrip_wkt("{\"value\":null}", "{\"value\":null}");
	roundtrip_wkt("{\"value\":{\"k\":[1.5]}}", "{\"value\":{\"k\":[1.5]}}");
	roundtrip_wkt("{\"nothing\":null}", "{}");
	/* The top level may be a well-known type, null included. */
	char *s;
	size_t len;
	uint8_t *data = parse_as(pb_pool_message(pool, "google.protobuf.Value"), "null", &len);

	s = print_as(pb_pool_message(pool, "google.protobuf.Value"), data, len);
	ck_assert_str_eq(s, "null");
	free(s);
	free(data);
}
END_TEST

/* Any: "@type" names a type of the pool; a well-known type goes in "value". */
START_TEST(test_any)
{
	roundtrip_wkt("{\"any\":{\"@type\":\"type.googleapis.com/ttrpcctl.test.v1.Point\","
		      "\"x\":1,\"y\":3}}",
		      "{\"any\":{\"@type\":\"type.googleapis.com/ttrpcctl.test.v1.Point\","
		      "\"x\":1,\"y\":3}}");
	encodes_as("{\"any\":{\"@type\":\"type.googleapis.com/ttrpcctl.test.v1.Point\","
		   "\"x\":1,\"y\":3}}",
		   "\x1a\x32\x0a\x2a"
		   "type.googleapis.com/ttrpcctl.test.v1.Point"
		   "\x12\x04\x08\x01\x10\x03",
		   52);
	roundtrip_wkt("{\"any\":{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
		      "\"value\":\"2s\"}}",
		      "{\"any\":{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
		      "\"value\":\"2s\"}}");
	/* An Any in an Any, and Empty, a well-known type of the plain form */
	roundtrip_wkt("{\"any\":{\"@type\":\"x/google.protobuf.Any\",\"value\":"
		      "{\"@type\":\"y/google.protobuf.Empty\"}}}",
		      "{\"any\":{\"@type\":\"x/google.protobuf.Any\",\"value\":"
		      "{\"@type\":\"y/google.protobuf.Empty\"}}}");
	roundtrip_wkt("{\"any\":{}}", "{\"any\":{}}");
	/* A type URL of any length comes back whole. */
	char long_url[1024];

	snprintf(long_url, sizeof(long_url),
		 "{\"any\":{\"@type\":\"x/%0700d/ttrpcctl.test.v1.Point\",\"x\":1}}", 0);
	roundtrip_wkt(long_url, long_url);
	parse_fails_as(wkt_type, "{\"any\":{\"@type\":\"x/no.such.Type\"}}",
		       "any: google.protobuf.Any of type x/no.such.Type, which is not among the "
		       "descriptors");
	parse_fails_as(wkt_type, "{\"any\":{\"x\":1}}",
		       "google.protobuf.Any without its \"@type\"");
	parse_fails_as(wkt_type, "{\"any\":{\"@type\":\"x/ttrpcctl.test.v1.Point\",\"z\":1}}",
		       "ttrpcctl.test.v1.Point has no field \"z\"");
	/* On output too, the type must be known. */
	static const uint8_t unknown[] = { 0x1a, 0x07, 0x0a, 0x05, 'x', '/', 'n', '.', 'T' };

	print_fails_as(wkt_type, unknown, sizeof(unknown), "x/n.T, which is not among");
	/* An Any whose message fails inside: one error, nothing freed twice. */
	static const uint8_t bad_inside[] = {
		0x1a, 0x23, 0x0a, 0x16, 'x',  '/',  't',  't',  'r',  'p',  'c',  'c', 't',
		'l',  '.',  't',  'e',  's',  't',  '.',  'v',  '1',  '.',  'W',  'k', 't',
		0x12, 0x09, 0x0a, 0x07, 0x08, 0x80, 0x83, 0xd1, 0xff, 0xaf, 0x07,
	};

	print_fails_as(wkt_type, bad_inside, sizeof(bad_inside),
		       "any.time: not a valid google.protobuf.Timestamp");
}
END_TEST

START_TEST(test_well_known_refused)
{
	parse_fails_as(wkt_type, "{\"time\":\"1972-13-01T00:00:00Z\"}",
		       "time: not an RFC 3339 time");
	parse_fails_as(wkt_type, "{\"time\":\"2021-02-29T00:00:00Z\"}", "not an RFC 3339 time");
	parse_fails_as(wkt_type, "{\"time\":\"2021-02-28T00:00:00\"}", "not an RFC 3339 time");
	parse_fails_as(wkt_type, "{\"time\":\"2021-02-28T00:00:00.1234567891Z\"}",
		       "not an RFC 3339 time");
	parse_fails_as(wkt_type, "{\"time\":5}", "expected an RFC 3339 time");
	parse_fails_as(wkt_type, "{\"duration\":\"1.5\"}", "duration: not a duration");
	parse_fails_as(wkt_type, "{\"duration\":\"315576000001s\"}", "not a duration");
	parse_fails_as(wkt_type, "{\"duration\":\"s\"}", "not a duration");
	parse_fails_as(wkt_type, "{\"mask\":\"foo_bar\"}", "field mask path with '_'");
	parse_fails_as(wkt_type, "{\"i32\":\"x\"}", "i32: not a valid signed integer");
	parse_fails_as(wkt_type, "{\"list\":{}}", "list: expected an array, got object");
	parse_fails_as(wkt_type, "{\"struct\":[]}", "expected an object (a map), got array");
	/* Out of range on the wire: a Timestamp in year 10000 */
	static const uint8_t late[] = { 0x0a, 0x07, 0x08, 0x80, 0x83, 0xd1, 0xff, 0xaf, 0x07 };

	print_fails_as(wkt_type, late, sizeof(late), "time: not a valid google.protobuf.Timestamp");
}
END_TEST

/* Bytes that are no message of the type: a clear error, never a crash. */
START_TEST(test_malformed)
{
	static const uint8_t cut[] = { 0x08, 0x80 };              /* a varint cut short */
	static const uint8_t too_long[] = { 0x72, 0x05, 'a' };    /* 5 bytes announced, 1 there */
	static const uint8_t wrong_type[] = { 0x0d, 1, 2, 3, 4 }; /* fDouble as fixed32 */
	static const uint8_t zero_field[] = { 0x00, 0x00 };
	static const uint8_t unknown_field[] = { 0xb8, 0x3e, 0x01, 0x18, 0x02 }; /* 999, then 3 */
	char *s;

	print_fails_as(all_type, cut, sizeof(cut), "malformed protobuf at byte");
	print_fails_as(all_type, too_long, sizeof(too_long), "malformed protobuf");
	print_fails_as(all_type, wrong_type, sizeof(wrong_type),
		       "field f_double comes with wire type 5");
	print_fails_as(all_type, zero_field, sizeof(zero_field), "malformed");
	/* An empty packed run of rColor is no element: the field is left out. */
	s = print_as(all_type, (const uint8_t *)"\xda\x01\x00", 3);
	ck_assert_str_eq(s, "{}");
	free(s);
	s = print_as(all_type, unknown_field, sizeof(unknown_field));
	ck_assert_str_eq(s, "{\"fInt32\":2}");
	free(s);
}
END_TEST

/* Wrap @buf[@start, @end) into field @number of a message, in place before it. */
static size_t wrap(uint8_t *buf, size_t start, size_t end, uint8_t number)
{
	size_t len = end - start, n = 0;
	uint8_t head[8];

	head[n++] = (uint8_t)(number << 3 | 2);
	do {
		head[n++] = (uint8_t)(len & 0x7f) | (len > 0x7f ? 0x80 : 0);
		len >>= 7;
	} while (len);
	memcpy(buf + start - n, head, n);
	return start - n;
}

/*
 * FileDescriptorSet { file { name: "x" message_type { nested_type {... @levels ...} } } },
 * built from the inside out at the end of @buf; returns where it starts.
 */
static size_t nested_set(uint8_t *buf, size_t size, int levels)
{
	size_t start = size;

	/* DescriptorProto.nested_type, then FileDescriptorProto.message_type */
	for (int i = 1; i < levels; i++)
		start = wrap(buf, start, size, 3);
	start = wrap(buf, start, size, 4) - 3;
	memcpy(buf + start, "\x0a\x01x", 3); /* FileDescriptorProto.name */
	return wrap(buf, start, size, 1);    /* FileDescriptorSet.file */
}

/* A descriptor set that is none, one nested too deep, and a type the pool lacks. */
START_TEST(test_pool)
{
	static uint8_t buf[4096];
	struct pb_pool *p;
	size_t start;
	char err[256];

	ck_assert_int_eq(pb_pool_new(&p), 0);
	ck_assert_int_eq(pb_pool_add(p, (const uint8_t *)"\x0a\x05x", 3, "junk", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "junk: not a google.protobuf.FileDescriptorSet");
	ck_assert_int_eq(pb_pool_add_file(p, "/nonexistent.pb", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent.pb: No such file"));
	/* A hostile module's messages nested deep enough to exhaust the stack */
	start = nested_set(buf, sizeof(buf), 101);
	ck_assert_int_eq(pb_pool_add(p, buf + start, sizeof(buf) - start, "deep", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "deep: messages nested more than 100 deep");
	start = nested_set(buf, sizeof(buf), 100);
	ck_assert_msg(pb_pool_add(p, buf + start, sizeof(buf) - start, "deep", err, sizeof(err)) ==
			      0,
		      "%s", err);
	pb_pool_free(p);
	/* wkt.pb's Wkt without the files it imports */
	ck_assert_ptr_null(pb_pool_message(pool, "no.such.Type"));
	ck_assert_ptr_nonnull(pb_pool_message(pool, ".ttrpcctl.test.v1.Wkt"));
}
END_TEST

static void load(const char *name)
{
	const char *dir = getenv("top_builddir");
	char path[4096], err[512];

	snprintf(path, sizeof(path), "%s/tests/ttrpcctl/%s", dir ? dir : ".", name);
	if (pb_pool_add_file(pool, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(EXIT_FAILURE);
	}
}

int main(void)
{
	Suite *s = suite_create("pbjson");
	TCase *tc = tcase_create("mapping");
	SRunner *sr;
	int failed;

	if (pb_pool_new(&pool) < 0)
		return EXIT_FAILURE;
	load("jsontest.pb");
	load("wkt.pb");
	all_type = pb_pool_message(pool, "ttrpcctl.test.v1.All");
	wkt_type = pb_pool_message(pool, "ttrpcctl.test.v1.Wkt");
	if (!all_type || !wkt_type)
		return EXIT_FAILURE;
	tcase_add_test(tc, test_every_field);
	tcase_add_test(tc, test_struct_values);
	tcase_add_test(tc, test_print_generated);
	tcase_add_test(tc, test_defaults_omitted);
	tcase_add_test(tc, test_names_and_forms_accepted);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_json_names);
	tcase_add_test(tc, test_maps);
	tcase_add_test(tc, test_well_known);
	tcase_add_test(tc, test_any);
	tcase_add_test(tc, test_well_known_refused);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_pool);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pb_pool_free(pool);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
