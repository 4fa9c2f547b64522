/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the public status helpers: ttrpc_code_name() and ttrpc_status_clear(). */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ttrpc/common.h>

/* Spelled out rather than derived, so a shifted table shows. */
static const char *const want_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};
_Static_assert(sizeof(want_names) / sizeof(want_names[0]) == TTRPC_UNAUTHENTICATED + 1,
	       "one name per google.rpc.Code");

START_TEST(test_code_name_every_code)
{
	const char *name = ttrpc_code_name(_i);

	ck_assert_ptr_nonnull(name);
	ck_assert_str_eq(name, want_names[_i]);
}
END_TEST

/* The enum constants and the names agree, as google.rpc.Code numbers them. */
START_TEST(test_code_name_spot_checks)
{
	ck_assert_str_eq(ttrpc_code_name(TTRPC_OK), "OK");
	ck_assert_str_eq(ttrpc_code_name(TTRPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	ck_assert_str_eq(ttrpc_code_name(4), "DEADLINE_EXCEEDED");
	ck_assert_str_eq(ttrpc_code_name(TTRPC_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
	ck_assert_str_eq(ttrpc_code_name(TTRPC_UNIMPLEMENTED), "UNIMPLEMENTED");
	ck_assert_str_eq(ttrpc_code_name(12), "UNIMPLEMENTED");
	ck_assert_str_eq(ttrpc_code_name(TTRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	ck_assert_str_eq(ttrpc_code_name(16), "UNAUTHENTICATED");
	/* static strings: the same pointer every time */
	ck_assert_ptr_eq(ttrpc_code_name(TTRPC_INTERNAL), ttrpc_code_name(TTRPC_INTERNAL));
}
END_TEST

START_TEST(test_code_name_out_of_range)
{
	static const int codes[] = { -1, 17, 18, 100, INT_MIN, INT_MAX };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *name = ttrpc_code_name(codes[i]);

		ck_assert_ptr_nonnull(name);
		ck_assert_msg(strcmp(name, "INVALID_CODE") == 0, "code %d: \"%s\"", codes[i], name);
	}
}
END_TEST

/*
 * NULL is accepted: the call returns. It runs in a child of its own, so that
 * a crash fails this case with the signal named, whether Check forks or not
 * (CK_FORK=no under valgrind), instead of taking the whole suite down.
 */
START_TEST(test_status_clear_null)
{
	pid_t pid = fork();
	int wstatus;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ttrpc_status_clear(NULL);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert_msg(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
		      "ttrpc_status_clear(NULL) did not return: %s",
		      WIFSIGNALED(wstatus) ? strsignal(WTERMSIG(wstatus)) : "exit status not 0");
}
END_TEST

START_TEST(test_status_clear_zeroed)
{
	struct ttrpc_status st;

	memset(&st, 0, sizeof(st));
	ttrpc_status_clear(&st);
	ck_assert_int_eq(st.code, TTRPC_OK);
	ck_assert_ptr_null(st.message);
}
END_TEST

/* The message is freed (valgrind and ASan watch) and the struct reset to OK. */
START_TEST(test_status_clear_message)
{
	struct ttrpc_status st = { .code = TTRPC_NOT_FOUND };

	st.message = strdup("no such service");
	ck_assert_ptr_nonnull(st.message);
	ttrpc_status_clear(&st);
	ck_assert_int_eq(st.code, TTRPC_OK);
	ck_assert_ptr_null(st.message);
	/* clearing again must not free twice */
	ttrpc_status_clear(&st);
	ck_assert_ptr_null(st.message);

	/* a code without a message is reset as well */
	st.code = TTRPC_DATA_LOSS;
	ttrpc_status_clear(&st);
	ck_assert_int_eq(st.code, TTRPC_OK);
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("code_name");

	tcase_add_loop_test(tc, test_code_name_every_code, TTRPC_OK, TTRPC_UNAUTHENTICATED + 1);
	tcase_add_test(tc, test_code_name_spot_checks);
	tcase_add_test(tc, test_code_name_out_of_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("clear");
	tcase_add_test(tc, test_status_clear_null);
	tcase_add_test(tc, test_status_clear_zeroed);
	tcase_add_test(tc, test_status_clear_message);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
