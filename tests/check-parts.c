/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-parts.h"

int check_parts_main(const char *argv0, const struct check_part *parts, size_t n)
{
	const char *name = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	const char *why;
	SRunner *sr;
	int failed;

	if (strncmp(name, "lt-", 3) == 0)
		name += 3;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(name, parts[i].program) != 0)
			continue;
		why = parts[i].missing ? parts[i].missing() : NULL;
		if (why) {
			fprintf(stderr, "SKIP: %s %s\n", name, why);
			return CHECK_SKIP;
		}
		sr = srunner_create(parts[i].suite());
		srunner_run_all(sr, CK_NORMAL);
		failed = srunner_ntests_failed(sr);
		srunner_free(sr);
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	fprintf(stderr, "%s: no part of this program has that name\n", name);
	return EXIT_FAILURE;
}

const char *check_need_root(void)
{
	return geteuid() == 0 ? NULL : "needs root";
}

const char *check_need_root_and_setpriv(void)
{
	if (geteuid() != 0)
		return "needs root (it runs a peer under another uid)";
	if (access("/usr/bin/setpriv", X_OK) < 0)
		return "needs /usr/bin/setpriv (apt-get install util-linux)";
	return NULL;
}

const char *check_need_nobody_runs_build(void)
{
	static char why[4200];
	const char *b = getenv("top_builddir");
	const char *missing = check_need_root_and_setpriv();
	char prog[4096];
	int status;
	pid_t pid;

	if (missing)
		return missing;
	snprintf(prog, sizeof(prog), "%s/daemon/ttrpcd", b ? b : ".");
	/* Asked as nobody itself: the kernel's answer, ACLs and all. */
	pid = fork();
	if (pid == 0) {
		bool can = setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0 &&
			   access(prog, R_OK | X_OK) == 0;

		_exit(can ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(why, sizeof(why),
			 "needs uid 65534 to run %s (a directory above the build tree keeps "
			 "others out)",
			 prog);
		return why;
	}
	return NULL;
}
