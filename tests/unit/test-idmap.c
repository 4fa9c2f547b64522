/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the stream-id map: put/get/remove/pop, growth, backward-shift deletion. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "idmap.h"

/* splitmix64: the same sequence on every libc, unlike rand(). */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Values are addresses in here, so that a wrong value is a wrong pointer. */
static char values[1 << 17];

static void *val(size_t i)
{
	return &values[i % sizeof(values)];
}

/* The structural invariants every operation must keep. */
static void check_invariants(const struct ttrpc__idmap *m)
{
	size_t used = 0;

	if (m->cap == 0) {
		ck_assert_ptr_null(m->slots);
		ck_assert_uint_eq(m->len, 0);
		return;
	}
	ck_assert_uint_eq(m->cap & (m->cap - 1), 0);
	ck_assert_uint_le(m->len * 4, m->cap * 3);
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			used++;
	ck_assert_uint_eq(used, m->len);
}

START_TEST(test_empty)
{
	struct ttrpc__idmap m;

	ttrpc__idmap_init(&m);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 1));
	ck_assert_ptr_null(ttrpc__idmap_remove(&m, 1));
	ck_assert_ptr_null(ttrpc__idmap_pop(&m));
	check_invariants(&m);
	ttrpc__idmap_clear(&m);
}
END_TEST

START_TEST(test_put_get_remove)
{
	struct ttrpc__idmap m;

	ttrpc__idmap_init(&m);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 1, val(1)), 0);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 3, val(3)), 0);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 0xffffffff, val(5)), 0);
	ck_assert_uint_eq(m.len, 3);
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 1), val(1));
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 3), val(3));
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 0xffffffff), val(5));
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 5));
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 2));

	ck_assert_ptr_eq(ttrpc__idmap_remove(&m, 1), val(1));
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 1));
	ck_assert_ptr_null(ttrpc__idmap_remove(&m, 1));
	ck_assert_uint_eq(m.len, 2);
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 3), val(3));
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 0xffffffff), val(5));

	/* a removed key can come back with another value */
	ck_assert_int_eq(ttrpc__idmap_put(&m, 1, val(7)), 0);
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 1), val(7));
	ck_assert_uint_eq(m.len, 3);
	check_invariants(&m);
	ttrpc__idmap_clear(&m);
}
END_TEST

/* A duplicate stream id is refused and the first entry stays as it was. */
START_TEST(test_duplicate)
{
	struct ttrpc__idmap m;

	ttrpc__idmap_init(&m);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 7, val(1)), 0);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 7, val(2)), -EEXIST);
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 7), val(1));
	ck_assert_uint_eq(m.len, 1);

	/* also when the duplicate sits further along a probe chain */
	for (uint32_t k = 9; k < 200; k += 2)
		ck_assert_int_eq(ttrpc__idmap_put(&m, k, val(k)), 0);
	for (uint32_t k = 7; k < 200; k += 2)
		ck_assert_int_eq(ttrpc__idmap_put(&m, k, val(0)), -EEXIST);
	ck_assert_uint_eq(m.len, 97);
	for (uint32_t k = 9; k < 200; k += 2)
		ck_assert_ptr_eq(ttrpc__idmap_get(&m, k), val(k));
	check_invariants(&m);
	ttrpc__idmap_clear(&m);
}
END_TEST

/* 0 marks an empty slot, so it can never be a key. */
START_TEST(test_key_zero)
{
	struct ttrpc__idmap m;

	ttrpc__idmap_init(&m);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 0, val(1)), -EINVAL);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 0));
	ck_assert_int_eq(ttrpc__idmap_put(&m, 1, val(1)), 0);
	ck_assert_int_eq(ttrpc__idmap_put(&m, 0, val(2)), -EINVAL);
	ck_assert_uint_eq(m.len, 1);
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 0));
	ck_assert_ptr_null(ttrpc__idmap_remove(&m, 0));
	ck_assert_uint_eq(m.len, 1);
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 1), val(1));
	ttrpc__idmap_clear(&m);
}
END_TEST

/* Client stream ids are consecutive odd numbers; many of them force many rehashes. */
START_TEST(test_growth_odd_ids)
{
	const uint32_t n = 100000;
	struct ttrpc__idmap m;
	size_t bad = 0;

	ttrpc__idmap_init(&m);
	for (uint32_t i = 0; i < n; i++) {
		if (ttrpc__idmap_put(&m, 2 * i + 1, val(i)) != 0)
			ck_abort_msg("put %u failed", 2 * i + 1);
		if (m.len != i + 1)
			ck_abort_msg("len %zu after %u puts", m.len, i + 1);
	}
	check_invariants(&m);
	for (uint32_t i = 0; i < n; i++) {
		if (ttrpc__idmap_get(&m, 2 * i + 1) != val(i))
			bad++;
		if (ttrpc__idmap_get(&m, 2 * i + 2) != NULL)
			bad++;
	}
	ck_assert_uint_eq(bad, 0);

	/* remove every other one, the rest must stay reachable */
	for (uint32_t i = 0; i < n; i += 2)
		if (ttrpc__idmap_remove(&m, 2 * i + 1) != val(i))
			bad++;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(m.len, n / 2);
	for (uint32_t i = 0; i < n; i++)
		if (ttrpc__idmap_get(&m, 2 * i + 1) != (i % 2 ? val(i) : NULL))
			bad++;
	ck_assert_uint_eq(bad, 0);
	check_invariants(&m);
	ttrpc__idmap_clear(&m);
}
END_TEST

/* Keys spread over the whole 32-bit range, including the top. */
START_TEST(test_growth_wide_keys)
{
	const uint32_t n = 50000;
	struct ttrpc__idmap m;
	size_t bad = 0;

	ttrpc__idmap_init(&m);
	for (uint32_t i = 0; i < n; i++)
		if (ttrpc__idmap_put(&m, 0xffffffffu - i * 85899u, val(i)) != 0)
			bad++;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(m.len, n);
	for (uint32_t i = 0; i < n; i++)
		if (ttrpc__idmap_get(&m, 0xffffffffu - i * 85899u) != val(i))
			bad++;
	ck_assert_uint_eq(bad, 0);
	check_invariants(&m);
	ttrpc__idmap_clear(&m);
}
END_TEST

static size_t home_of(uint32_t key, size_t cap)
{
	return (size_t)((key * 2654435769u) & (uint32_t)(cap - 1));
}

/*
 * Keys whose home slot in a @cap table is @slot. Not only odd ones: the
 * hash keeps the parity of the key, odd keys never land on even slots.
 */
static size_t keys_homed_at(size_t slot, size_t cap, uint32_t *out, size_t n)
{
	size_t got = 0;

	for (uint32_t k = 1; got < n && k < 1000000; k++)
		if (home_of(k, cap) == slot)
			out[got++] = k;
	ck_assert_uint_eq(got, n);
	return got;
}

/*
 * A cluster that wraps from the last slot to the first: removing from it in
 * every position must shift back exactly the entries the hole would hide.
 */
START_TEST(test_remove_wrapping_cluster)
{
	uint32_t keys[10];
	size_t nkeys = 0;

	/* 4 keys homed at 14, 3 at 15, 3 at 0 of the initial 16 slots: 10 < 12 */
	nkeys += keys_homed_at(14, 16, keys + nkeys, 4);
	nkeys += keys_homed_at(15, 16, keys + nkeys, 3);
	nkeys += keys_homed_at(0, 16, keys + nkeys, 3);
	ck_assert_uint_eq(nkeys, 10);

	for (size_t victim = 0; victim < nkeys; victim++) {
		struct ttrpc__idmap m;

		ttrpc__idmap_init(&m);
		for (size_t i = 0; i < nkeys; i++)
			ck_assert_int_eq(ttrpc__idmap_put(&m, keys[i], val(i)), 0);
		/* the test relies on no growth happening */
		ck_assert_uint_eq(m.cap, 16);
		ck_assert_ptr_eq(ttrpc__idmap_remove(&m, keys[victim]), val(victim));
		for (size_t i = 0; i < nkeys; i++)
			ck_assert_msg(ttrpc__idmap_get(&m, keys[i]) ==
					      (i == victim ? NULL : val(i)),
				      "victim %zu: key %u (home %zu) lost", victim, keys[i],
				      home_of(keys[i], 16));
		/* and then everything else, in reverse, still one by one */
		for (size_t i = nkeys; i-- > 0;) {
			if (i == victim)
				continue;
			ck_assert_ptr_eq(ttrpc__idmap_remove(&m, keys[i]), val(i));
			for (size_t j = 0; j < i; j++)
				if (j != victim)
					ck_assert_ptr_eq(ttrpc__idmap_get(&m, keys[j]), val(j));
		}
		ck_assert_uint_eq(m.len, 0);
		check_invariants(&m);
		ttrpc__idmap_clear(&m);
	}
}
END_TEST

/*
 * Random puts, gets and removes against a reference array. The key space is
 * small so that clusters form and shift, and the table grows and shrinks in
 * occupancy many times.
 */
static void run_random_ops(uint64_t seed, uint32_t nkeys, size_t nops)
{
	void **ref = calloc(nkeys, sizeof(*ref)); /* ref[i]: value of key i + 1, or NULL */
	uint32_t *keys = malloc(nkeys * sizeof(*keys));
	struct ttrpc__idmap m;
	size_t len = 0;

	ck_assert_ptr_nonnull(ref);
	ck_assert_ptr_nonnull(keys);
	/* a scattered key set, top of the range included, no duplicates */
	for (uint32_t i = 0; i < nkeys; i++)
		keys[i] = i == 0 ? 0xffffffffu : (uint32_t)(i * 2654435761u) | 1u;
	for (uint32_t i = 0; i < nkeys; i++)
		for (uint32_t j = 0; j < i; j++)
			if (keys[i] == keys[j])
				ck_abort_msg("key set has %u twice", keys[i]);

	ttrpc__idmap_init(&m);
	for (size_t op = 0; op < nops; op++) {
		uint64_t x = rng_next(&seed);
		uint32_t i = (uint32_t)(x % nkeys);
		unsigned kind = (unsigned)((x >> 32) % 10);
		uint32_t key = keys[i];

		if (kind < 5) {
			int r = ttrpc__idmap_put(&m, key, val(op));

			if (ref[i]) {
				if (r != -EEXIST)
					ck_abort_msg("op %zu: put of present %u gave %d", op, key,
						     r);
			} else {
				if (r != 0)
					ck_abort_msg("op %zu: put of %u gave %d", op, key, r);
				ref[i] = val(op);
				len++;
			}
		} else if (kind < 9) {
			void *v = ttrpc__idmap_remove(&m, key);

			if (v != ref[i])
				ck_abort_msg("op %zu: remove %u gave %p, want %p", op, key, v,
					     ref[i]);
			if (ref[i])
				len--;
			ref[i] = NULL;
		} else {
			if (ttrpc__idmap_get(&m, key) != ref[i])
				ck_abort_msg("op %zu: get %u wrong", op, key);
		}
		if (m.len != len)
			ck_abort_msg("op %zu: len %zu, want %zu", op, m.len, len);
		/* every so often, every key, present or not */
		if (op % 997 == 0) {
			for (uint32_t j = 0; j < nkeys; j++)
				if (ttrpc__idmap_get(&m, keys[j]) != ref[j])
					ck_abort_msg("op %zu: key %u lost", op, keys[j]);
			check_invariants(&m);
		}
	}
	for (uint32_t j = 0; j < nkeys; j++)
		if (ttrpc__idmap_get(&m, keys[j]) != ref[j])
			ck_abort_msg("end: key %u lost", keys[j]);
	ck_assert_uint_gt(len, 0);
	ttrpc__idmap_clear(&m);
	free(keys);
	free(ref);
}

START_TEST(test_random_small)
{
	run_random_ops(0x69646d6170ull, 40, 200000);
}
END_TEST

START_TEST(test_random_large)
{
	run_random_ops(0x7265667276ull, 3000, 300000);
}
END_TEST

/* Teardown drains the map: each value exactly once, then NULL. */
START_TEST(test_pop_until_empty)
{
	const size_t n = 5000;
	unsigned char *seen = calloc(n, 1);
	struct ttrpc__idmap m;
	size_t popped = 0;
	void *v;

	ck_assert_ptr_nonnull(seen);
	ttrpc__idmap_init(&m);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(ttrpc__idmap_put(&m, (uint32_t)(2 * i + 1), val(i)), 0);
	while ((v = ttrpc__idmap_pop(&m)) != NULL) {
		size_t i = (size_t)((char *)v - values);

		if (i >= n)
			ck_abort_msg("pop gave a foreign value");
		if (seen[i]++)
			ck_abort_msg("value %zu popped twice", i);
		popped++;
		if (m.len != n - popped)
			ck_abort_msg("len %zu after %zu pops", m.len, popped);
		if (popped > n)
			break;
	}
	ck_assert_uint_eq(popped, n);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_ptr_null(ttrpc__idmap_pop(&m));
	for (size_t i = 0; i < n; i++)
		if (ttrpc__idmap_get(&m, (uint32_t)(2 * i + 1)))
			ck_abort_msg("key %zu still there", 2 * i + 1);
	/* the map stays usable */
	ck_assert_int_eq(ttrpc__idmap_put(&m, 1, val(1)), 0);
	ck_assert_ptr_eq(ttrpc__idmap_pop(&m), val(1));
	ck_assert_ptr_null(ttrpc__idmap_pop(&m));
	check_invariants(&m);
	ttrpc__idmap_clear(&m);
	free(seen);
}
END_TEST

/* Pop interleaved with the wrapping cluster: backward shift into the popped slot. */
START_TEST(test_pop_wrapping_cluster)
{
	uint32_t keys[10];
	unsigned seen = 0;
	struct ttrpc__idmap m;
	void *v;

	keys_homed_at(15, 16, keys, 5);
	keys_homed_at(0, 16, keys + 5, 5);
	ttrpc__idmap_init(&m);
	for (size_t i = 0; i < 10; i++)
		ck_assert_int_eq(ttrpc__idmap_put(&m, keys[i], val(i)), 0);
	ck_assert_uint_eq(m.cap, 16);
	while ((v = ttrpc__idmap_pop(&m)) != NULL) {
		size_t i = (size_t)((char *)v - values);

		ck_assert_uint_lt(i, 10);
		ck_assert_uint_eq(seen & (1u << i), 0);
		seen |= 1u << i;
		/* what is left is still findable */
		for (size_t j = 0; j < 10; j++)
			if (!(seen & (1u << j)))
				ck_assert_ptr_eq(ttrpc__idmap_get(&m, keys[j]), val(j));
	}
	ck_assert_uint_eq(seen, 0x3ff);
	ck_assert_uint_eq(m.len, 0);
	ttrpc__idmap_clear(&m);
}
END_TEST

START_TEST(test_clear)
{
	struct ttrpc__idmap m;

	ttrpc__idmap_init(&m);
	ttrpc__idmap_clear(&m);
	for (uint32_t k = 1; k < 1000; k += 2)
		ck_assert_int_eq(ttrpc__idmap_put(&m, k, val(k)), 0);
	ttrpc__idmap_clear(&m);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_uint_eq(m.cap, 0);
	ck_assert_ptr_null(m.slots);
	ck_assert_ptr_null(ttrpc__idmap_get(&m, 1));
	ck_assert_ptr_null(ttrpc__idmap_pop(&m));
	/* reusable, and clearing twice is harmless */
	ck_assert_int_eq(ttrpc__idmap_put(&m, 1, val(2)), 0);
	ck_assert_ptr_eq(ttrpc__idmap_get(&m, 1), val(2));
	ttrpc__idmap_clear(&m);
	ttrpc__idmap_clear(&m);
	ck_assert_uint_eq(m.len, 0);
}
END_TEST

static Suite *idmap_suite(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("basic");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_put_get_remove);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_key_zero);
	tcase_add_test(tc, test_clear);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	/* slow under valgrind and ASan */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_growth_odd_ids);
	tcase_add_test(tc, test_growth_wide_keys);
	tcase_add_test(tc, test_remove_wrapping_cluster);
	tcase_add_test(tc, test_random_small);
	tcase_add_test(tc, test_random_large);
	tcase_add_test(tc, test_pop_until_empty);
	tcase_add_test(tc, test_pop_wrapping_cluster);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(idmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
