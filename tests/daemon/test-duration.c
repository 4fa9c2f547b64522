/* SPDX-License-Identifier: Apache-2.0 */
/*
 * duration.c: the one syntax of durations that ttrpcd's config and
 * ttrpcctl's --timeout share.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/duration.h"

static const struct {
	const char *text;
	uint64_t us;
} good[] = {
	{ "0", 0 },
	{ "10", 10000000 },
	{ "10s", 10000000 },
	{ "500ms", 500000 },
	{ "50us", 50 },
	{ "2m", 120000000 },
	{ "2min", 120000000 },
	{ "1h", 3600000000ULL },
	{ "1.5s", 1500000 },
	{ "0.1s", 100000 },
	{ ".5s", 500000 },
	{ "1.5min", 90000000 },
	{ "0.25h", 900000000 },
	{ "2.5ms", 2500 },
	{ "1.0000005s", 1000000 }, /* below a microsecond: dropped */
	{ "0.9us", 0 },
	{ "18446744073709551615us", UINT64_MAX },
};

static const char *const bad[] = {
	"",    ".",    "s",  ".s",     "5.",  "5.s", "-1",   "+1",  " 1s", "1s ",
	"1 s", "1sec", "1S", "1.5.5s", "abc", "1d",  "0x10", "1e3", "ms",
};

static const char *const too_big[] = {
	"18446744073709551616us", "99999999999999999999", "5124095577h",
	"18446744073709551.9ms", /* the fraction carries it over */
};

START_TEST(test_good)
{
	uint64_t us = 12345;

	ck_assert_msg(ttrpcd_duration_parse(good[_i].text, &us) == 0, "\"%s\" refused",
		      good[_i].text);
	ck_assert_msg(us == good[_i].us, "\"%s\": %llu us, expected %llu", good[_i].text,
		      (unsigned long long)us, (unsigned long long)good[_i].us);
}
END_TEST

START_TEST(test_bad)
{
	uint64_t us = 12345;

	ck_assert_msg(ttrpcd_duration_parse(bad[_i], &us) == -EINVAL, "\"%s\" taken", bad[_i]);
	ck_assert_msg(us == 12345, "\"%s\" wrote its output", bad[_i]);
}
END_TEST

START_TEST(test_too_big)
{
	uint64_t us = 12345;

	ck_assert_msg(ttrpcd_duration_parse(too_big[_i], &us) == -ERANGE, "\"%s\" not -ERANGE",
		      too_big[_i]);
	ck_assert_msg(us == 12345, "\"%s\" wrote its output", too_big[_i]);
}
END_TEST

static Suite *duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("duration");

	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_too_big, 0, sizeof(too_big) / sizeof(too_big[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(duration_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
