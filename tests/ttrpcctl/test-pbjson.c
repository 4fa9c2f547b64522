/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proto3 JSON mapping of ttrpcctl (daemon/ttrpcctl/pbjson.c) over
 * jsontest.proto: every scalar type, enums, nested and repeated messages,
 * maps, oneofs and bytes; what it accepts, what it prints and what it
 * refuses, and that the messages it builds encode as protoc-c's own do.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsontest.pb-c.h"
#include "pbjson.h"

#define ALL (&ttrpcctl__test__v1__all__descriptor)

/* JSON text -> message; asserts success. The arena is the caller's. */
static ProtobufCMessage *parse(const char *text, struct pbjson_arena *arena)
{
	struct json_object *j = json_tokener_parse(text);
	ProtobufCMessage *msg = NULL;
	char err[256] = "";
	int r;

	ck_assert_msg(j != NULL, "bad test JSON: %s", text);
	r = pbjson_to_message(ALL, j, arena, &msg, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %s", text, err);
	json_object_put(j);
	return msg;
}

/* JSON text -> the error message; asserts failure. */
static void parse_fails(const char *text, const char *want)
{
	struct json_object *j = json_tokener_parse(text);
	struct pbjson_arena arena = { 0 };
	ProtobufCMessage *msg = NULL;
	char err[256] = "";

	ck_assert_msg(j != NULL, "bad test JSON: %s", text);
	ck_assert_int_eq(pbjson_to_message(ALL, j, &arena, &msg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, want), "%s: error \"%s\" lacks \"%s\"", text, err, want);
	json_object_put(j);
	pbjson_arena_free(&arena);
}

/* The message as compact JSON, malloc'd. */
static char *print(const ProtobufCMessage *msg)
{
	struct json_object *j = pbjson_from_message(msg);
	char *s;

	ck_assert_ptr_nonnull(j);
	s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return s;
}

/* Through the wire as well: pack what was built, unpack with the descriptor, print. */
static char *through_wire(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len + 1);
	ProtobufCMessage *back;
	char *s;

	ck_assert_uint_eq(protobuf_c_message_pack(msg, buf), len);
	back = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
	ck_assert_ptr_nonnull(back);
	s = print(back);
	protobuf_c_message_free_unpacked(back, NULL);
	free(buf);
	return s;
}

/* @in, converted and printed (directly and after the wire), gives @want. */
static void roundtrip(const char *in, const char *want)
{
	struct pbjson_arena arena = { 0 };
	ProtobufCMessage *msg = parse(in, &arena);
	char *direct = print(msg), *wire = through_wire(msg);

	ck_assert_str_eq(direct, want);
	ck_assert_str_eq(wire, want);
	free(direct);
	free(wire);
	pbjson_arena_free(&arena);
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

/* The C values behind the JSON: the layout walk writes where protoc-c reads. */
START_TEST(test_struct_values)
{
	struct pbjson_arena arena = { 0 };
	const Ttrpcctl__Test__V1__All *a = (const void *)parse(every_field, &arena);
	size_t len = protobuf_c_message_get_packed_size(&a->base);
	uint8_t *buf = malloc(len);
	Ttrpcctl__Test__V1__All *b;

	protobuf_c_message_pack(&a->base, buf);
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
	pbjson_arena_free(&arena);
}
END_TEST

/* protoc-c's own message, printed: the generic walk reads what protoc-c wrote. */
START_TEST(test_print_generated)
{
	Ttrpcctl__Test__V1__All a = TTRPCCTL__TEST__V1__ALL__INIT;
	Ttrpcctl__Test__V1__Inner in = TTRPCCTL__TEST__V1__INNER__INIT;
	Ttrpcctl__Test__V1__All__MUint32ColorEntry e =
		TTRPCCTL__TEST__V1__ALL__MUINT32_COLOR_ENTRY__INIT;
	Ttrpcctl__Test__V1__All__MUint32ColorEntry *entries[] = { &e };
	int64_t r_int64[] = { INT64_MAX };
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
	s = print(&a.base);
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
	/* -0 is not the default (though protobuf-c does not encode it) */
	struct pbjson_arena arena = { 0 };
	char *s = print(parse("{\"fDouble\":-0.0}", &arena));

	ck_assert_str_eq(s, "{\"fDouble\":-0}");
	free(s);
	pbjson_arena_free(&arena);
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

	pbjson_json_name("latency_bounds_us", buf, sizeof(buf));
	ck_assert_str_eq(buf, "latencyBoundsUs");
	pbjson_json_name("name", buf, sizeof(buf));
	ck_assert_str_eq(buf, "name");
	pbjson_json_name("f_int32", buf, sizeof(buf));
	ck_assert_str_eq(buf, "fInt32");
	pbjson_json_name("a__b_", buf, sizeof(buf));
	ck_assert_str_eq(buf, "aB");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pbjson");
	TCase *tc = tcase_create("mapping");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_every_field);
	tcase_add_test(tc, test_struct_values);
	tcase_add_test(tc, test_print_generated);
	tcase_add_test(tc, test_defaults_omitted);
	tcase_add_test(tc, test_names_and_forms_accepted);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_json_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
