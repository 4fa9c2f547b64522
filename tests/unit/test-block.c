/* SPDX-License-Identifier: Apache-2.0 */
/* Counted memory (block.c): references from output buffers, the block pool, lent memory. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "block.h"

/* ---- lent memory, whose release is observable ---- */

static int released;
static void *released_with;

static void on_release(void *userdata)
{
	released++;
	released_with = userdata;
}

static void reset(void)
{
	released = 0;
	released_with = NULL;
}

START_TEST(test_output_chunk_holds_a_reference)
{
	static uint8_t mem[10000];
	struct ttrpc__lent *list = NULL;
	struct evbuffer *out = evbuffer_new();
	struct ttrpc__ref *ref;
	struct evbuffer_iovec vec[2];

	reset();
	ck_assert_int_eq(ttrpc__lend(&list, mem, sizeof(mem), on_release, mem), 0);
	ref = ttrpc__lent_find(list, mem + 100, 5000);
	ck_assert_ptr_nonnull(ref);
	ck_assert_int_eq(ttrpc__ref_add(out, ref, mem + 100, 5000), 0);
	ck_assert_uint_eq(ref->refs, 2);
	/* the output refers to the memory itself, not to a copy */
	ck_assert_int_eq(evbuffer_peek(out, -1, NULL, vec, 2), 1);
	ck_assert_ptr_eq(vec[0].iov_base, mem + 100);
	ck_assert_uint_eq(vec[0].iov_len, 5000);
	/* the lender lets go first: the memory stays until the bytes leave */
	ttrpc__lent_clear(&list);
	ck_assert_ptr_null(list);
	ck_assert_int_eq(released, 0);
	evbuffer_drain(out, 4999);
	ck_assert_int_eq(released, 0);
	evbuffer_drain(out, 1);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_eq(released_with, mem);
	evbuffer_free(out);
	ck_assert_int_eq(released, 1);
}
END_TEST

START_TEST(test_lent_find_and_unlend)
{
	static uint8_t mem[300];
	uint8_t *a = mem, *b = mem + 150;
	struct ttrpc__lent *list = NULL;
	struct evbuffer *out = evbuffer_new();

	reset();
	ck_assert_int_eq(ttrpc__lend(&list, a, 100, on_release, a), 0);
	ck_assert_int_eq(ttrpc__lend(&list, b, 100, on_release, b), 0);
	/* inside, at both edges; not straddling the end, not outside */
	ck_assert_ptr_eq(ttrpc__lent_find(list, a, 100)->data, a);
	ck_assert_ptr_eq(ttrpc__lent_find(list, b + 99, 1)->data, b);
	ck_assert_ptr_eq(ttrpc__lent_find(list, b + 100, 0)->data, b);
	ck_assert_ptr_null(ttrpc__lent_find(list, a + 50, 51));
	ck_assert_ptr_null(ttrpc__lent_find(list, b + 101, 0));
	/* unlending what a chunk still refers to releases it when the chunk goes */
	ck_assert_int_eq(ttrpc__ref_add(out, ttrpc__lent_find(list, b, 10), b, 10), 0);
	ck_assert_int_eq(ttrpc__unlend(&list, b), 0);
	ck_assert_int_eq(ttrpc__unlend(&list, b), -ENOENT);
	ck_assert_ptr_null(ttrpc__lent_find(list, b, 10));
	ck_assert_int_eq(released, 0);
	evbuffer_free(out);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_eq(released_with, b);
	/* nothing refers to a: released at once */
	ck_assert_int_eq(ttrpc__unlend(&list, a), 0);
	ck_assert_int_eq(released, 2);
	ck_assert_ptr_eq(released_with, a);
	ck_assert_ptr_null(list);
}
END_TEST

/* ---- blocks and their pool ---- */

START_TEST(test_block_reused_from_the_pool)
{
	struct event_base *base = event_base_new();
	struct ttrpc__pool *pool = ttrpc__pool_new(base);
	struct ttrpc__block *b1, *b2, *b3;
	uint8_t *first;

	b1 = ttrpc__block_new(pool, 100000);
	ck_assert_ptr_nonnull(b1);
	ck_assert_uint_eq(b1->ref.len, 100000);
	ck_assert_ptr_eq(b1->ref.data, b1->data);
	ck_assert_ptr_eq(ttrpc__block_of(b1->data), b1);
	memset(b1->data, 1, 100000);
	first = b1->data;
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 0);
	ttrpc__ref_put(&b1->ref);
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 1);
	/* a frame of about the same size gets the same pages back */
	b2 = ttrpc__block_new(pool, 99000);
	ck_assert_ptr_eq(b2->data, first);
	ck_assert_uint_eq(b2->ref.len, 99000);
	ck_assert_uint_eq(b2->ref.refs, 1);
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 0);
	/* a larger one does not fit in it */
	b3 = ttrpc__block_new(pool, 300000);
	ck_assert_ptr_ne(b3->data, first);
	ttrpc__ref_put(&b3->ref);
	ttrpc__ref_put(&b2->ref);
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 2);
	/* the smallest spare that fits is taken */
	b1 = ttrpc__block_new(pool, 50000);
	ck_assert_ptr_eq(b1->data, first);
	ttrpc__ref_put(&b1->ref);
	ttrpc__pool_free(pool);
	event_base_free(base);
}
END_TEST

START_TEST(test_pool_bounds_and_owner_gone)
{
	struct event_base *base = event_base_new();
	struct ttrpc__pool *pool = ttrpc__pool_new(base);
	struct ttrpc__block *b[20];

	for (int i = 0; i < 20; i++)
		b[i] = ttrpc__block_new(pool, 64 << 10);
	for (int i = 0; i < 20; i++)
		ttrpc__ref_put(&b[i]->ref);
	/* at most 16 spares; the rest are freed */
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 16);
	ttrpc__pool_free(pool);
	/* at most 32 MiB of spares */
	pool = ttrpc__pool_new(base);
	for (int i = 0; i < 16; i++)
		b[i] = ttrpc__block_new(pool, 4 << 20);
	for (int i = 0; i < 16; i++)
		ttrpc__ref_put(&b[i]->ref);
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 8);
	/* a block that outlives its pool's owner is freed when released (LSan, valgrind) */
	b[0] = ttrpc__block_new(pool, 1000);
	ttrpc__pool_free(pool);
	memset(b[0]->data, 2, 1000);
	ttrpc__ref_put(&b[0]->ref);
	event_base_free(base);
}
END_TEST

START_TEST(test_spares_freed_when_idle)
{
	struct event_base *base = event_base_new();
	struct ttrpc__pool *pool = ttrpc__pool_new(base);
	struct ttrpc__block *b = ttrpc__block_new(pool, 100000);

	ttrpc__ref_put(&b->ref);
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 1);
	/* the pool's timer is the only event: the loop returns once it is done */
	event_base_dispatch(base);
	ck_assert_uint_eq(ttrpc__pool_spares(pool), 0);
	ttrpc__pool_free(pool);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("block");
	TCase *tc = tcase_create("block");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_output_chunk_holds_a_reference);
	tcase_add_test(tc, test_lent_find_and_unlend);
	tcase_add_test(tc, test_block_reused_from_the_pool);
	tcase_add_test(tc, test_pool_bounds_and_owner_gone);
	tcase_add_test(tc, test_spares_freed_when_idle);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
