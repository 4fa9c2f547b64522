/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Check program's cases split by what they need to run. One source is
 * built into a program per part (test-robust, test-robust-root): each name
 * runs its own suite, and a part whose need is missing here exits 77, which
 * Automake counts as SKIP, instead of passing cases that did not run.
 */
#ifndef TTRPC_TEST_CHECK_PARTS_H
#define TTRPC_TEST_CHECK_PARTS_H

#include <check.h>
#include <stddef.h>

/* The exit status Automake's test driver counts as a skip. */
#define CHECK_SKIP 77

struct check_part {
	const char *program; /* the name it runs under, e.g. "test-robust-root" */
	Suite *(*suite)(void);
	/* Why the part cannot run here, or NULL when it can; NULL: it always can. */
	const char *(*missing)(void);
};

/*
 * check_parts_main() - run the part named as @argv0 is (a libtool "lt-"
 * prefix aside): CHECK_SKIP with the reason on stderr when it is missing
 * something, else its suite; EXIT_FAILURE when a case failed or no part has
 * that name.
 */
int check_parts_main(const char *argv0, const struct check_part *parts, size_t n);

/* What parts commonly need: the reason it is missing, or NULL. */
const char *check_need_root(void);
const char *check_need_root_and_setpriv(void);
/* Root and setpriv, and uid 65534 may run the build's daemon/ttrpcd. */
const char *check_need_nobody_runs_build(void);

#endif
