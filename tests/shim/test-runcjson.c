/* SPDX-License-Identifier: Apache-2.0 */
/* services/shim/runcjson.c: runc's JSON log and `ps --format json`. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "services/shim/runcjson.h"
#include "services/shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* The last error wins; warnings and lines cut in half do not count. */
START_TEST(last_error)
{
	const char log[] = "ut\",\"time\":\"2026\"}\n"
			   "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"x\"}\n"
			   "{\"level\":\"error\",\"msg\":\" runc create failed: exec: \\\"sh\\\": "
			   "not found \\n\",\"time\":\"x\"}\n"
			   "{\"level\":\"warning\",\"msg\":\"later\",\"time\":\"x\"}\n"
			   "not json\n";
	char msg[128];

	ck_assert_int_eq(shim_runc_last_error(log, strlen(log), msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "runc create failed: exec: \"sh\": not found");
	ck_assert_int_eq(shim_runc_last_error(log, strlen(log), msg, 6), 1);
	ck_assert_str_eq(msg, "runc");
	ck_assert_int_eq(
		shim_runc_last_error("{\"level\":\"info\",\"msg\":\"x\"}", 26, msg, sizeof(msg)),
		0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(shim_runc_last_error("", 0, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(pids)
{
	uint32_t *p = NULL;

	ck_assert_int_eq(shim_runc_pids("[1234,1240]\n", &p), 2);
	ck_assert_uint_eq(p[0], 1234);
	ck_assert_uint_eq(p[1], 1240);
	free(p);
	ck_assert_int_eq(shim_runc_pids("[]", &p), 0);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(shim_runc_pids("null", &p), 0);
	ck_assert_int_eq(shim_runc_pids("{\"a\":1}", &p), -EINVAL);
	ck_assert_int_eq(shim_runc_pids("[1,\"x\"]", &p), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(shim_runc_pids("[0]", &p), -EINVAL);
	ck_assert_int_eq(shim_runc_pids("[99999999999]", &p), -EINVAL);
	ck_assert_int_eq(shim_runc_pids("", &p), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-runcjson");
	TCase *tc = tcase_create("runcjson");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, last_error);
	tcase_add_test(tc, pids);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
