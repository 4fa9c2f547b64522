/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exits.c: the exit statuses reaped before anyone asked, kept for a
 * bounded number and time, on a clock the test moves.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "daemon/exits.h"

START_TEST(test_take_once)
{
	struct ttrpcd_exits *ex;
	int st = -1;

	ck_assert_int_eq(ttrpcd_exits_new(4, 1000, &ex), 0);
	ck_assert(!ttrpcd_exits_take(ex, 100, 0, &st));
	ttrpcd_exits_add(ex, 100, 7 << 8, 0);
	ttrpcd_exits_add(ex, 101, 9, 0);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 0), 2);
	ck_assert(ttrpcd_exits_take(ex, 101, 10, &st));
	ck_assert_int_eq(st, 9);
	ck_assert(!ttrpcd_exits_take(ex, 101, 10, &st));
	ck_assert(ttrpcd_exits_take(ex, 100, 10, &st));
	ck_assert_int_eq(st, 7 << 8);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 10), 0);
	ttrpcd_exits_free(ex);
}
END_TEST

/* A pid used again: its newer exit replaces the older one. */
START_TEST(test_pid_reused)
{
	struct ttrpcd_exits *ex;
	int st = -1;

	ck_assert_int_eq(ttrpcd_exits_new(4, 1000, &ex), 0);
	ttrpcd_exits_add(ex, 100, 1, 0);
	ttrpcd_exits_add(ex, 100, 2, 5);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 5), 1);
	ck_assert(ttrpcd_exits_take(ex, 100, 5, &st));
	ck_assert_int_eq(st, 2);
	ck_assert(!ttrpcd_exits_take(ex, 100, 5, &st));
	/* And a live process of that pid makes what is kept stale. */
	ttrpcd_exits_add(ex, 100, 3, 6);
	ttrpcd_exits_forget(ex, 100);
	ck_assert(!ttrpcd_exits_take(ex, 100, 6, &st));
	ttrpcd_exits_free(ex);
}
END_TEST

/* Full: the oldest goes, unless a taken one left room. */
START_TEST(test_bounded_number)
{
	struct ttrpcd_exits *ex;
	int st = -1;

	ck_assert_int_eq(ttrpcd_exits_new(3, 1000, &ex), 0);
	for (pid_t pid = 1; pid <= 5; pid++)
		ttrpcd_exits_add(ex, pid, (int)pid, 0);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 0), 3);
	ck_assert(!ttrpcd_exits_take(ex, 1, 0, &st));
	ck_assert(!ttrpcd_exits_take(ex, 2, 0, &st));
	/* A hole in the middle is reused before anything is dropped. */
	ck_assert(ttrpcd_exits_take(ex, 4, 0, &st));
	ttrpcd_exits_add(ex, 6, 6, 0);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 0), 3);
	for (pid_t pid = 3; pid <= 6; pid++) {
		if (pid == 4)
			continue;
		ck_assert(ttrpcd_exits_take(ex, pid, 0, &st));
		ck_assert_int_eq(st, (int)pid);
	}
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 0), 0);
	ttrpcd_exits_free(ex);
}
END_TEST

START_TEST(test_bounded_age)
{
	struct ttrpcd_exits *ex;
	int st = -1;

	ck_assert_int_eq(ttrpcd_exits_new(8, 1000, &ex), 0);
	ttrpcd_exits_add(ex, 10, 1, 0);
	ttrpcd_exits_add(ex, 11, 2, 500);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 1000), 2);
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 1001), 1);
	ck_assert(!ttrpcd_exits_take(ex, 10, 1001, &st));
	ck_assert(ttrpcd_exits_take(ex, 11, 1500, &st));
	ck_assert_int_eq(st, 2);
	ttrpcd_exits_add(ex, 12, 3, 1600);
	ck_assert(!ttrpcd_exits_take(ex, 12, 2601, &st));
	ck_assert_uint_eq(ttrpcd_exits_count(ex, 2601), 0);
	ttrpcd_exits_free(ex);
}
END_TEST

START_TEST(test_new_refuses_nothing)
{
	struct ttrpcd_exits *ex = NULL;

	ck_assert_int_eq(ttrpcd_exits_new(0, 1000, &ex), -EINVAL);
	ck_assert_ptr_null(ex);
	ttrpcd_exits_free(NULL);
}
END_TEST

static Suite *exits_suite(void)
{
	Suite *s = suite_create("exits");
	TCase *tc = tcase_create("exits");

	tcase_add_test(tc, test_take_once);
	tcase_add_test(tc, test_pid_reused);
	tcase_add_test(tc, test_bounded_number);
	tcase_add_test(tc, test_bounded_age);
	tcase_add_test(tc, test_new_refuses_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(exits_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
