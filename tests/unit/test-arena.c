/* SPDX-License-Identifier: Apache-2.0 */
/* The protobuf-c arena (arena.c): bump allocation, spills, release. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "proto/ttrpc/request.pb-c.h"

START_TEST(test_bump_and_alignment)
{
	_Alignas(16) uint8_t buf[256];
	struct ttrpc__arena a;
	uint8_t *p, *q;

	ttrpc__arena_init(&a, buf, sizeof(buf));
	p = a.allocator.alloc(a.allocator.allocator_data, 3);
	q = a.allocator.alloc(a.allocator.allocator_data, 5);
	/* both from the caller's block, 16-byte aligned, not overlapping */
	ck_assert(p >= buf && q + 5 <= buf + sizeof(buf));
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	ck_assert_uint_eq((uintptr_t)q % 16, 0);
	ck_assert_ptr_eq(q, p + 16);
	ck_assert_ptr_null(a.chunks);
	ttrpc__arena_release(&a);
}
END_TEST

START_TEST(test_spills_and_release)
{
	_Alignas(16) uint8_t buf[64];
	struct ttrpc__arena a;
	uint8_t *big, *small;

	ttrpc__arena_init(&a, buf, sizeof(buf));
	/* past the block: a large request gets its own chunk, a small one a new block */
	big = a.allocator.alloc(a.allocator.allocator_data, 100000);
	ck_assert_ptr_nonnull(big);
	memset(big, 0xab, 100000);
	small = a.allocator.alloc(a.allocator.allocator_data, 100);
	ck_assert_ptr_nonnull(small);
	ck_assert(small < buf || small >= buf + sizeof(buf));
	ck_assert_ptr_nonnull(a.chunks);
	/* free is a no-op; release frees the chunks (valgrind/LSan see no leak) */
	a.allocator.free(a.allocator.allocator_data, small);
	ttrpc__arena_release(&a);
	ck_assert_ptr_null(a.chunks);
}
END_TEST

START_TEST(test_protobuf_unpack)
{
	_Alignas(16) uint8_t buf[128];
	struct ttrpc__arena a;
	Ttrpc__Request in = TTRPC__REQUEST__INIT, *out;
	uint8_t packed[1200], payload[1000];
	size_t n;

	memset(payload, 7, sizeof(payload));
	in.service = "svc";
	in.method = "m";
	in.payload.data = payload;
	in.payload.len = sizeof(payload);
	n = ttrpc__request__pack(&in, packed);
	ttrpc__arena_init(&a, buf, sizeof(buf));
	out = ttrpc__request__unpack(&a.allocator, n, packed);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out->service, "svc");
	ck_assert_uint_eq(out->payload.len, sizeof(payload));
	ck_assert_mem_eq(out->payload.data, payload, sizeof(payload));
	/* a truncated message fails and leaves nothing behind after release */
	ck_assert_ptr_null(ttrpc__request__unpack(&a.allocator, n - 10, packed));
	ttrpc__arena_release(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("arena");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_bump_and_alignment);
	tcase_add_test(tc, test_spills_and_release);
	tcase_add_test(tc, test_protobuf_unpack);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
