/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages by reference (refmsg.c): large bytes fields unpacked as pointers
 * into the input, packed as references to memory the caller knows; always
 * the same message as protobuf-c's own unpack and pack.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "arena.h"
#include "block.h"
#include "proto/ttrpc/request.pb-c.h"
#include "refmsg-test.pb-c.h"
#include "refmsg.h"

#define BIG (TTRPC__REF_MIN + 904)

/* A serialized message written field by field, duplicates and all. */
struct wbuf {
	uint8_t p[1 << 18];
	size_t n;
};

static void put_varint(struct wbuf *w, uint64_t v)
{
	while (v >= 0x80) {
		w->p[w->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	w->p[w->n++] = (uint8_t)v;
}

/* Wire type 2: @len bytes of @c; 0: the varint @len; 1 and 5: 8 or 4 bytes of @c. */
static void put_field(struct wbuf *w, uint32_t number, unsigned wire_type, size_t len, uint8_t c)
{
	put_varint(w, (uint64_t)number << 3 | wire_type);
	switch (wire_type) {
	case 0:
		put_varint(w, len);
		return;
	case 1:
		len = 8;
		break;
	case 5:
		len = 4;
		break;
	case 2:
		put_varint(w, len);
		break;
	default:
		return;
	}
	memset(w->p + w->n, c, len);
	w->n += len;
}

static bool inside(const void *p, const void *buf, size_t n)
{
	return (const uint8_t *)p >= (const uint8_t *)buf &&
	       (const uint8_t *)p < (const uint8_t *)buf + n;
}

static uint8_t *filled(size_t n, uint8_t seed)
{
	uint8_t *p = malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
	return p;
}

START_TEST(test_request_payload_points_into_input)
{
	_Alignas(16) uint8_t abuf[512];
	Ttrpc__Request in = TTRPC__REQUEST__INIT, *out;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *kvp = &kv;
	uint8_t *payload = filled(BIG, 3), *packed = malloc(BIG + 100);
	struct ttrpc__arena a;
	bool referenced = false;
	size_t n;

	in.service = "svc";
	in.method = "m";
	in.timeout_nano = 5;
	kv.key = "k";
	kv.value = "v";
	in.n_metadata = 1;
	in.metadata = &kvp;
	in.payload.data = payload;
	in.payload.len = BIG;
	n = ttrpc__request__pack(&in, packed);

	ttrpc__arena_init(&a, abuf, sizeof(abuf));
	out = (Ttrpc__Request *)ttrpc__unpack_ref(&ttrpc__request__descriptor, &a.allocator, n,
						  packed, &referenced);
	ck_assert_ptr_nonnull(out);
	ck_assert(referenced);
	ck_assert(inside(out->payload.data, packed, n));
	ck_assert_uint_eq(out->payload.len, BIG);
	ck_assert_mem_eq(out->payload.data, payload, BIG);
	ck_assert_str_eq(out->service, "svc");
	ck_assert_str_eq(out->method, "m");
	ck_assert_int_eq(out->timeout_nano, 5);
	ck_assert_uint_eq(out->n_metadata, 1);
	ck_assert_str_eq(out->metadata[0]->value, "v");
	ttrpc__arena_release(&a);

	/* without @referenced, a copy, as protobuf-c makes */
	ttrpc__arena_init(&a, abuf, sizeof(abuf));
	out = (Ttrpc__Request *)ttrpc__unpack_ref(&ttrpc__request__descriptor, &a.allocator, n,
						  packed, NULL);
	ck_assert(!inside(out->payload.data, packed, n));
	ck_assert_mem_eq(out->payload.data, payload, BIG);
	ttrpc__arena_release(&a);

	/* a small payload is copied and @referenced stays as it was */
	in.payload.len = TTRPC__REF_MIN - 1;
	n = ttrpc__request__pack(&in, packed);
	referenced = false;
	ttrpc__arena_init(&a, abuf, sizeof(abuf));
	out = (Ttrpc__Request *)ttrpc__unpack_ref(&ttrpc__request__descriptor, &a.allocator, n,
						  packed, &referenced);
	ck_assert(!referenced);
	ck_assert(!inside(out->payload.data, packed, n));
	ck_assert_mem_eq(out->payload.data, payload, TTRPC__REF_MIN - 1);
	/* an absent payload comes as NULL: an empty message, no field walk */
	out = (Ttrpc__Request *)ttrpc__unpack_ref(&ttrpc__request__descriptor, &a.allocator, 0,
						  NULL, &referenced);
	ck_assert_ptr_nonnull(out);
	ck_assert(!referenced);
	ttrpc__arena_release(&a);
	free(payload);
	free(packed);
}
END_TEST

START_TEST(test_optional_fields_and_default)
{
	_Alignas(16) uint8_t abuf[512];
	Reftest__Msg in, *out;
	uint8_t *opt = filled(BIG, 1), *def = filled(BIG, 2), *packed = malloc(3 * BIG);
	struct ttrpc__arena a;
	bool referenced = false;
	size_t n;

	reftest__msg__init(&in);
	in.has_opt = 1;
	in.opt.data = opt;
	in.opt.len = BIG;
	in.req.data = (uint8_t *)"r";
	in.req.len = 1;
	n = reftest__msg__pack(&in, packed);
	ttrpc__arena_init(&a, abuf, sizeof(abuf));
	out = (Reftest__Msg *)ttrpc__unpack_ref(&reftest__msg__descriptor, &a.allocator, n, packed,
						&referenced);
	ck_assert(referenced);
	ck_assert(out->has_opt);
	ck_assert(inside(out->opt.data, packed, n));
	ck_assert_mem_eq(out->opt.data, opt, BIG);
	/* absent: its default, as protobuf-c leaves it */
	ck_assert(!out->has_with_default);
	ck_assert_uint_eq(out->with_default.len, 1);
	ck_assert_mem_eq(out->with_default.data, "d", 1);
	ttrpc__arena_release(&a);

	in.has_with_default = 1;
	in.with_default.data = def;
	in.with_default.len = BIG;
	n = reftest__msg__pack(&in, packed);
	ttrpc__arena_init(&a, abuf, sizeof(abuf));
	out = (Reftest__Msg *)ttrpc__unpack_ref(&reftest__msg__descriptor, &a.allocator, n, packed,
						&referenced);
	ck_assert(out->has_with_default);
	ck_assert(inside(out->with_default.data, packed, n));
	ck_assert_mem_eq(out->with_default.data, def, BIG);
	ck_assert(inside(out->opt.data, packed, n));
	ttrpc__arena_release(&a);
	free(opt);
	free(def);
	free(packed);
}
END_TEST

/* Required, repeated, oneof and nested fields are left to protobuf-c, copied. */
START_TEST(test_other_kinds_copied)
{
	_Alignas(16) uint8_t abuf[512];
	Reftest__Msg in, *out;
	Reftest__Inner inner = REFTEST__INNER__INIT;
	uint8_t *big = filled(BIG, 9), *packed = malloc(5 * BIG);
	ProtobufCBinaryData rep = { BIG, big };
	struct ttrpc__arena a;
	bool referenced = false;
	size_t n;

	reftest__msg__init(&in);
	in.req.data = big;
	in.req.len = BIG;
	in.n_rep = 1;
	in.rep = &rep;
	in.choice_case = REFTEST__MSG__CHOICE_ONE;
	in.one.data = big;
	in.one.len = BIG;
	inner.has_blob = 1;
	inner.blob.data = big;
	inner.blob.len = BIG;
	in.inner = &inner;
	n = reftest__msg__pack(&in, packed);
	ttrpc__arena_init(&a, abuf, sizeof(abuf));
	out = (Reftest__Msg *)ttrpc__unpack_ref(&reftest__msg__descriptor, &a.allocator, n, packed,
						&referenced);
	ck_assert_ptr_nonnull(out);
	ck_assert(!referenced);
	ck_assert(!inside(out->req.data, packed, n));
	ck_assert(!inside(out->rep[0].data, packed, n));
	ck_assert(!inside(out->one.data, packed, n));
	ck_assert(!inside(out->inner->blob.data, packed, n));
	ck_assert_mem_eq(out->req.data, big, BIG);
	ck_assert_mem_eq(out->rep[0].data, big, BIG);
	ck_assert_mem_eq(out->one.data, big, BIG);
	ck_assert_mem_eq(out->inner->blob.data, big, BIG);
	ttrpc__arena_release(&a);
	free(big);
	free(packed);
}
END_TEST

/* Unpacked by protobuf-c and by reference: both fail, or both pack to the same bytes. */
static void check_same(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t n)
{
	_Alignas(16) uint8_t abuf[512];
	ProtobufCMessage *a = protobuf_c_message_unpack(desc, NULL, n, buf), *b;
	struct ttrpc__arena arena;
	bool referenced = false;

	ttrpc__arena_init(&arena, abuf, sizeof(abuf));
	b = ttrpc__unpack_ref(desc, &arena.allocator, n, buf, &referenced);
	ck_assert_msg(!a == !b, "protobuf-c %s, by reference %s", a ? "ok" : "failed",
		      b ? "ok" : "failed");
	if (a) {
		size_t la = protobuf_c_message_get_packed_size(a);
		uint8_t *pa = malloc(la + 1), *pb = malloc(la + 1);

		ck_assert_uint_eq(protobuf_c_message_get_packed_size(b), la);
		protobuf_c_message_pack(a, pa);
		protobuf_c_message_pack(b, pb);
		ck_assert_mem_eq(pa, pb, la);
		free(pa);
		free(pb);
		protobuf_c_message_free_unpacked(a, NULL);
	}
	ttrpc__arena_release(&arena);
}

START_TEST(test_last_occurrence_wins)
{
	static struct wbuf w;

	/* large then small, small then large, on a field referred to */
	w.n = 0;
	put_field(&w, 1, 2, BIG, 'a');
	put_field(&w, 2, 2, 1, 'r');
	put_field(&w, 1, 2, 3, 'b');
	check_same(&reftest__msg__descriptor, w.p, w.n);
	w.n = 0;
	put_field(&w, 1, 2, 3, 'b');
	put_field(&w, 2, 2, 1, 'r');
	put_field(&w, 1, 2, BIG, 'a');
	put_field(&w, 99, 2, BIG, 'u'); /* unknown: kept by both */
	check_same(&reftest__msg__descriptor, w.p, w.n);
	/* the field with another wire type: protobuf-c refuses it, so do we */
	w.n = 0;
	put_field(&w, 2, 2, 1, 'r');
	put_field(&w, 1, 2, BIG, 'a');
	put_field(&w, 1, 0, 7, 0);
	check_same(&reftest__msg__descriptor, w.p, w.n);
	ck_assert_ptr_null(protobuf_c_message_unpack(&reftest__msg__descriptor, NULL, w.n, w.p));
}
END_TEST

/* Random sequences of fields, many malformed: the same outcome as protobuf-c. */
START_TEST(test_same_as_protobuf_c)
{
	static const unsigned wire_types[] = { 0, 1, 2, 2, 2, 5, 3, 7 };
	static const size_t lengths[] = { 0, 1, 10, TTRPC__REF_MIN - 1, TTRPC__REF_MIN, BIG };
	static struct wbuf w;

	srandom(16);
	for (int i = 0; i < 3000; i++) {
		int fields = (int)(random() % 6);

		w.n = 0;
		for (int f = 0; f < fields; f++)
			put_field(&w, (uint32_t)(random() % 9 + 1),
				  wire_types[random() % (random() % 4 ? 5 : 8)],
				  lengths[random() % 6], (uint8_t)random());
		/* a message cut anywhere */
		if (random() % 8 == 0 && w.n > 0)
			w.n -= (size_t)random() % w.n;
		check_same(&reftest__msg__descriptor, w.p, w.n);
		check_same(&ttrpc__request__descriptor, w.p, w.n);
	}
}
END_TEST

/* ---- packing ---- */

static struct ttrpc__ref *find_lent(void *list, const uint8_t *p, size_t len)
{
	return ttrpc__lent_find(list, p, len);
}

static int released;

static void on_release(void *unused)
{
	released++;
}

/* Whether one chunk of @out starts at @p. */
static bool has_chunk(struct evbuffer *out, const void *p)
{
	struct evbuffer_iovec vec[32];
	int n = evbuffer_peek(out, -1, NULL, vec, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (vec[i].iov_base == p)
			return true;
	return false;
}

static void check_packed(struct evbuffer *out, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *want = malloc(n), *got;

	protobuf_c_message_pack(msg, want);
	ck_assert_uint_eq(evbuffer_get_length(out), n);
	got = evbuffer_pullup(out, -1);
	ck_assert_mem_eq(got, want, n);
	free(want);
}

START_TEST(test_pack_refers_to_known_memory)
{
	Reftest__Msg msg;
	Reftest__Inner inner = REFTEST__INNER__INIT;
	uint8_t *opt = filled(BIG, 4), *blob = filled(BIG, 5);
	ProtobufCBinaryData rep = { 1, (uint8_t *)"x" };
	struct ttrpc__lent *list = NULL;
	struct ttrpc__refs refs = { find_lent, NULL };
	struct evbuffer *out = evbuffer_new();

	released = 0;
	reftest__msg__init(&msg);
	ck_assert_int_eq(ttrpc__lend(&list, opt, BIG, on_release, NULL), 0);
	ck_assert_int_eq(ttrpc__lend(&list, blob, BIG, on_release, NULL), 0);
	refs.ctx = list;
	msg.has_opt = 1;
	msg.opt.data = opt;
	msg.opt.len = BIG;
	msg.req.data = (uint8_t *)"r";
	msg.req.len = 1;
	msg.n_rep = 1;
	msg.rep = &rep;
	msg.name = "name";
	inner.has_blob = 1;
	inner.blob.data = blob;
	inner.blob.len = BIG;
	msg.inner = &inner;

	ck_assert_int_eq(ttrpc__pack_ref(out, &msg.base, &refs), 0);
	/* the large fields, nested too, are the lent memory itself */
	ck_assert(has_chunk(out, opt));
	ck_assert(has_chunk(out, blob));
	ck_assert_uint_eq(ttrpc__lent_find(list, opt, 1)->refs, 2);
	ck_assert_uint_eq(ttrpc__lent_find(list, blob, 1)->refs, 2);
	check_packed(out, &msg.base);
	evbuffer_free(out);
	ck_assert_uint_eq(ttrpc__lent_find(list, opt, 1)->refs, 1);
	ttrpc__lent_clear(&list);
	ck_assert_int_eq(released, 2);

	/* memory nobody lent is copied */
	refs.ctx = NULL;
	out = evbuffer_new();
	ck_assert_int_eq(ttrpc__pack_ref(out, &msg.base, &refs), 0);
	ck_assert(!has_chunk(out, opt));
	ck_assert(!has_chunk(out, blob));
	check_packed(out, &msg.base);
	evbuffer_free(out);
	free(opt);
	free(blob);
}
END_TEST

START_TEST(test_field_walk)
{
	static const struct {
		uint8_t bytes[4];
		size_t n;
	} bad[] = {
		{ { 0x08 }, 1 },             /* a varint that does not come */
		{ { 0x08, 0x80 }, 2 },       /* one cut short */
		{ { 0x0a, 0x05, 1, 2 }, 4 }, /* a length past the end */
		{ { 0x09, 1, 2, 3 }, 4 },    /* 64-bit cut short */
		{ { 0x0d, 1 }, 2 },          /* 32-bit cut short */
		{ { 0x0b }, 1 },             /* a group */
		{ { 0x0e }, 1 },             /* wire type 6 */
		{ { 0x02, 0x00 }, 2 },       /* field 0 */
	};
	static const uint8_t good[] = { 0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i' };
	const uint8_t *p;
	struct ttrpc__field f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = bad[i].bytes;
		ck_assert_int_eq(ttrpc__field_next(&p, bad[i].bytes + bad[i].n, &f), -1);
	}
	p = good;
	ck_assert_int_eq(ttrpc__field_next(&p, good + sizeof(good), &f), 1);
	ck_assert_uint_eq(f.number, 1);
	ck_assert_uint_eq(f.wire_type, 0);
	ck_assert_int_eq(ttrpc__field_next(&p, good + sizeof(good), &f), 1);
	ck_assert_uint_eq(f.number, 2);
	ck_assert_uint_eq(f.wire_type, 2);
	ck_assert_uint_eq(f.value_len, 2);
	ck_assert_ptr_eq(f.value, good + 5);
	ck_assert_int_eq(ttrpc__field_next(&p, good + sizeof(good), &f), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("refmsg");
	TCase *tc = tcase_create("refmsg");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_request_payload_points_into_input);
	tcase_add_test(tc, test_optional_fields_and_default);
	tcase_add_test(tc, test_other_kinds_copied);
	tcase_add_test(tc, test_last_occurrence_wins);
	tcase_add_test(tc, test_same_as_protobuf_c);
	tcase_add_test(tc, test_pack_refers_to_known_memory);
	tcase_add_test(tc, test_field_walk);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
