/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: every kind of value, drop-ins, and the errors, each naming its
 * file, line and key. Files are real files in a temporary directory.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttrpc/common.h>

#include "daemon/conf.h"

static char dir[64];
static struct ttrpcd_config cfg;
static char *error;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ttrpcd-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ttrpcd_config_init(&cfg), 0);
	error = NULL;
}

static void teardown(void)
{
	char cmd[128];

	ttrpcd_config_clear(&cfg);
	free(error);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write @name in the test directory; return its path (static). */
static const char *put(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *put(const char *name, const char *fmt, ...)
{
	static char path[4][256];
	static int i;
	va_list ap;
	FILE *f;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	f = fopen(path[i], "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
	return path[i];
}

/* Load @text as ttrpcd.conf and expect failure with "ttrpcd.conf:@suffix". */
static void expect_error(const char *text, const char *suffix)
{
	const char *path = put("ttrpcd.conf", "%s", text);
	char want[512];

	ck_assert_int_lt(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_ptr_nonnull(error);
	snprintf(want, sizeof(want), "%s:%s", path, suffix);
	ck_assert_str_eq(error, want);
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(cfg.log_level, TTRPC_LOG_INFO);
	ck_assert_uint_eq(cfg.drain_timeout_ms, 10000);
	ck_assert_uint_eq(cfg.busy_poll_us, 50);
	ck_assert_uint_eq(cfg.limits.message_size, TTRPC_MAX_MESSAGE_SIZE);
	ck_assert_uint_eq(cfg.limits.output_queue, 64u << 20);
	ck_assert_uint_eq(cfg.limits.connections, 0);
	ck_assert_uint_eq(cfg.limits.calls_per_connection, 0);
	ck_assert_uint_eq(cfg.limits.streams_per_connection, 0);
	ck_assert_uint_eq(cfg.limits.frame_timeout_ms, 10000);
	ck_assert_uint_eq(cfg.limits.idle_timeout_ms, 0);
	ck_assert_str_eq(cfg.module_dir, TTRPCD_MODULE_DIR);
	ck_assert_uint_eq(cfg.n_listeners, 0);
	/* A missing optional file is the built-in defaults, not an error. */
	ck_assert_int_eq(ttrpcd_config_load(&cfg, "/nonexistent/ttrpcd.conf", false, &error), 0);
	ck_assert(!cfg.from_file);
	ck_assert_int_eq(ttrpcd_config_load(&cfg, "/nonexistent/ttrpcd.conf", true, &error),
			 -ENOENT);
	ck_assert_str_eq(error, "/nonexistent/ttrpcd.conf: No such file or directory");
}
END_TEST

START_TEST(test_values)
{
	const char *path = put(
		"ttrpcd.conf",
		"[ttrpcd]\nlog-level = debug\ndrain-timeout = 1500ms\n"
		"module-dir = /opt/mods\nbusy-poll = 120us\n"
		"[limits]\nconnections = 10\nmessage-size = 1024\n"
		"calls-per-connection = 4\noutput-queue = 65536\n"
		"streams-per-connection = 2\nframe-timeout = 0.75s\n"
		"idle-timeout = 0.1h\n"
		"[listener api]\npath = /run/x.sock\nmode = 0600\nowner = 0\n"
		"group = root\nallow-users = root 1000\nallow-groups = 0\n"
		"[module echo]\nfile = echo.so\noptional = yes\ngreeting = hi there\n");

	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert(cfg.from_file);
	ck_assert_int_eq(cfg.log_level, TTRPC_LOG_DEBUG);
	ck_assert_uint_eq(cfg.drain_timeout_ms, 1500);
	ck_assert_uint_eq(cfg.busy_poll_us, 120);
	ck_assert_str_eq(cfg.module_dir, "/opt/mods");
	ck_assert_uint_eq(cfg.limits.connections, 10);
	ck_assert_uint_eq(cfg.limits.message_size, 1024);
	ck_assert_uint_eq(cfg.limits.calls_per_connection, 4);
	ck_assert_uint_eq(cfg.limits.output_queue, 65536);
	ck_assert_uint_eq(cfg.limits.streams_per_connection, 2);
	ck_assert_uint_eq(cfg.limits.frame_timeout_ms, 750);
	ck_assert_uint_eq(cfg.limits.idle_timeout_ms, 360000);
	ck_assert_uint_eq(cfg.n_listeners, 1);
	ck_assert_str_eq(cfg.listeners[0].name, "api");
	ck_assert_str_eq(cfg.listeners[0].path, "/run/x.sock");
	ck_assert_uint_eq(cfg.listeners[0].mode, 0600);
	ck_assert_uint_eq(cfg.listeners[0].owner, 0);
	ck_assert_uint_eq(cfg.listeners[0].group, 0);
	ck_assert_uint_eq(cfg.listeners[0].n_allow_uids, 2);
	ck_assert_uint_eq(cfg.listeners[0].allow_uids[0], 0);
	ck_assert_uint_eq(cfg.listeners[0].allow_uids[1], 1000);
	ck_assert_uint_eq(cfg.listeners[0].n_allow_gids, 1);
	ck_assert_uint_eq(cfg.n_modules, 1);
	ck_assert_str_eq(cfg.modules[0].name, "echo");
	ck_assert_str_eq(cfg.modules[0].file, "echo.so");
	ck_assert(cfg.modules[0].optional);
	/* Keys the daemon does not know belong to the module, which checks them. */
	ck_assert_uint_eq(cfg.modules[0].n_settings, 1);
	ck_assert_str_eq(cfg.modules[0].settings[0].key, "greeting");
	ck_assert_str_eq(cfg.modules[0].settings[0].value, "hi there");
	ck_assert_uint_eq(cfg.modules[0].settings[0].origin.line, 24);
	ck_assert_str_eq(cfg.modules[0].settings[0].origin.file, path);
	ck_assert_ptr_eq(ttrpcd_config_find_listener(&cfg, "api"), &cfg.listeners[0]);
	ck_assert_ptr_null(ttrpcd_config_find_listener(&cfg, "other"));
}
END_TEST

START_TEST(test_listener_defaults)
{
	const char *path = put("ttrpcd.conf", "[listener activated]\n[module bare]\n");

	/* Sections without keys exist too: libinih does not report them. */
	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_uint_eq(cfg.n_listeners, 1);
	ck_assert_uint_eq(cfg.n_modules, 1);
	ck_assert_str_eq(cfg.modules[0].name, "bare");
	ck_assert_ptr_null(cfg.listeners[0].path);
	ck_assert_uint_eq(cfg.listeners[0].mode, 0660);
	ck_assert_uint_eq(cfg.listeners[0].owner, (uid_t)-1);
	ck_assert_uint_eq(cfg.listeners[0].group, (gid_t)-1);
	ck_assert_int_eq(ttrpcd_config_add_listener(&cfg, "activated", "/x"), -EEXIST);
	ck_assert_int_eq(ttrpcd_config_add_listener(&cfg, "cli", "/run/cli.sock"), 0);
	ck_assert_str_eq(cfg.listeners[1].path, "/run/cli.sock");
}
END_TEST

/* [control]: root and the effective user by default; each key replaces its own list. */
START_TEST(test_control)
{
	const char *path;

	ck_assert_uint_eq(cfg.control.n_allow_uids, geteuid() == 0 ? 1 : 2);
	ck_assert_uint_eq(cfg.control.allow_uids[0], 0);
	if (geteuid() != 0)
		ck_assert_uint_eq(cfg.control.allow_uids[1], geteuid());
	ck_assert_uint_eq(cfg.control.n_allow_gids, 0);

	path = put("ttrpcd.conf", "[control]\nallow-groups = root 1234\n");
	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_uint_eq(cfg.control.n_allow_uids, geteuid() == 0 ? 1 : 2);
	ck_assert_uint_eq(cfg.control.n_allow_gids, 2);
	ck_assert_uint_eq(cfg.control.allow_gids[0], 0);
	ck_assert_uint_eq(cfg.control.allow_gids[1], 1234);

	/* Empty: nobody by uid. */
	path = put("ttrpcd.conf", "[control]\nallow-users =\n");
	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_uint_eq(cfg.control.n_allow_uids, 0);

	path = put("ttrpcd.conf", "[control]\nallow-users = 7 no-such-user-here\n");
	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, "ttrpcd.conf:2: bad value '7 no-such-user-here' "
					    "for key 'allow-users' in [control]"));
}
END_TEST

START_TEST(test_dropins)
{
	char path[256], d[128];

	/* put() reuses its buffers: keep a copy. */
	snprintf(path, sizeof(path), "%s",
		 put("ttrpcd.conf", "[ttrpcd]\nlog-level = err\n[module m]\nkey = 1\n"));

	snprintf(d, sizeof(d), "%s/ttrpcd.conf.d", dir);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	/* Applied in name order, each over the previous; other names are ignored. */
	put("ttrpcd.conf.d/20-b.conf", "[ttrpcd]\nlog-level = debug\n[module m]\nkey = 3\n");
	put("ttrpcd.conf.d/10-a.conf", "[ttrpcd]\nlog-level = notice\n[module m]\nkey = 2\n");
	put("ttrpcd.conf.d/30-c.conf.disabled", "[ttrpcd]\nlog-level = bogus\n");
	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_int_eq(cfg.log_level, TTRPC_LOG_DEBUG);
	ck_assert_str_eq(cfg.modules[0].settings[0].value, "3");
	ck_assert_ptr_nonnull(strstr(cfg.modules[0].settings[0].origin.file, "20-b.conf"));
	/* An error in a drop-in names the drop-in. */
	put("ttrpcd.conf.d/40-d.conf", "\n[limits]\nconections = 3\n");
	ck_assert_int_lt(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_ptr_nonnull(strstr(error, "ttrpcd.conf.d/40-d.conf:3: unknown key 'conections' "
					    "in [limits]"));
}
END_TEST

/*
 * A module's file: a bare name stays for module-dir, an absolute path as
 * it is, and a relative path is taken from the directory of the file that
 * sets it, a drop-in's own.
 */
START_TEST(test_module_file_paths)
{
	char path[256], d[128], want[512];

	snprintf(path, sizeof(path), "%s",
		 put("ttrpcd.conf", "[module a]\nfile = a.so\n[module b]\nfile = /opt/b.so\n"
				    "[module c]\nfile = ./c.so\n[module d]\nfile = mods/d.so\n"));
	snprintf(d, sizeof(d), "%s/ttrpcd.conf.d", dir);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	put("ttrpcd.conf.d/e.conf", "[module e]\nfile = ../e/e.so\n");
	ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), 0);
	ck_assert_uint_eq(cfg.n_modules, 5);
	ck_assert_str_eq(ttrpcd_config_find_module(&cfg, "a")->file, "a.so");
	ck_assert_str_eq(ttrpcd_config_find_module(&cfg, "b")->file, "/opt/b.so");
	snprintf(want, sizeof(want), "%s/./c.so", dir);
	ck_assert_str_eq(ttrpcd_config_find_module(&cfg, "c")->file, want);
	snprintf(want, sizeof(want), "%s/mods/d.so", dir);
	ck_assert_str_eq(ttrpcd_config_find_module(&cfg, "d")->file, want);
	snprintf(want, sizeof(want), "%s/ttrpcd.conf.d/../e/e.so", dir);
	ck_assert_str_eq(ttrpcd_config_find_module(&cfg, "e")->file, want);
	/* --module adds an entry of its own, nameless, besides the named ones. */
	ck_assert_int_eq(ttrpcd_config_add_module(&cfg, NULL, "/opt/x.so"), 0);
	ck_assert_uint_eq(cfg.n_modules, 6);
	ck_assert_ptr_null(cfg.modules[5].name);
	ck_assert_str_eq(cfg.modules[5].file, "/opt/x.so");
}
END_TEST

START_TEST(test_errors)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "[ttrpcd]\nlog-level = loud\n",
		  "2: bad value 'loud' for key 'log-level' in [ttrpcd]: expected err, warning, "
		  "notice, info or debug" },
		{ "[ttrpcd]\n\ndrain-timeout = 3d\n",
		  "3: bad value '3d' for key 'drain-timeout' in [ttrpcd]: expected a duration such "
		  "as 10s or 500ms" },
		{ "[limits]\nconnections = -1\n",
		  "2: bad value '-1' for key 'connections' in [limits]: expected a number, 0 for none" },
		/* What libttrpc's servers refuse, said when the file is read. */
		{ "[limits]\nmessage-size = 5000000\n",
		  "[limits] message-size must be 64 to 4194304" },
		{ "[limits]\nmessage-size = 63\n", "[limits] message-size must be 64 to 4194304" },
		{ "[limits]\noutput-queue = 0\n", "[limits] output-queue must be at least 1 byte" },
		{ "[limits]\nframe-timeout = soon\n",
		  "2: bad value 'soon' for key 'frame-timeout' in [limits]: expected a duration "
		  "such as 10s or 500ms, 0 for none" },
		{ "[limits]\nidle-timeout = 1 h\n",
		  "2: bad value '1 h' for key 'idle-timeout' in [limits]: expected a duration such "
		  "as 10min or 30s, 0 for none" },
		{ "[limits]\nstreams-per-connection = x\n",
		  "2: bad value 'x' for key 'streams-per-connection' in [limits]: expected a "
		  "number, 0 for none" },
		{ "[listener api]\nmode = 0999\n",
		  "2: bad value '0999' for key 'mode' in [listener api]: expected an octal file mode "
		  "such as 0660" },
		{ "[listener api]\npath = relative.sock\n",
		  "2: bad value 'relative.sock' for key 'path' in [listener api]: expected an "
		  "absolute path" },
		{ "[listener api]\nowner = no-such-user-here\n",
		  "2: bad value 'no-such-user-here' for key 'owner' in [listener api]: expected a "
		  "user name or uid" },
		{ "[listener api]\nallow-groups = 0 no-such-group-here\n",
		  "2: bad value '0 no-such-group-here' for key 'allow-groups' in [listener api]: "
		  "expected group names or gids, separated by spaces" },
		{ "[module m]\noptional = maybe\n",
		  "2: bad value 'maybe' for key 'optional' in [module m]: expected yes or no" },
		{ "[ttrpcd]\nlog_level = info\n", "2: unknown key 'log_level' in [ttrpcd]" },
		{ "[daemon]\nx = 1\n", "1: unknown section [daemon]" },
		{ "[ttrpcd]\n[listener a/b]\n",
		  "2: bad name in section [listener a/b]: use letters, digits, '-' and '_'" },
		{ "log-level = info\n", "1: key 'log-level' outside of any [section]" },
		{ "[ttrpcd]\nthis line is no key\n",
		  "2: syntax error: expected [section] or key = value" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ttrpcd_config_clear(&cfg);
		ck_assert_int_eq(ttrpcd_config_init(&cfg), 0);
		free(error);
		error = NULL;
		if (cases[i].error[0] == '[') {
			/* Checked once the whole file is read: no line to name. */
			const char *path = put("ttrpcd.conf", "%s", cases[i].text);

			ck_assert_int_eq(ttrpcd_config_load(&cfg, path, true, &error), -EINVAL);
			ck_assert_str_eq(error, cases[i].error);
			continue;
		}
		expect_error(cases[i].text, cases[i].error);
	}
}
END_TEST

START_TEST(test_long_line)
{
	char text[600];

	/* libinih would cut it silently at 200 bytes: it must be an error. */
	snprintf(text, sizeof(text), "[module m]\nok = 1\nkey = %0300d\nlater = 2\n", 7);
	expect_error(text, "3: line is 307 characters long; at most 198 are allowed");
	/* The longest line allowed passes whole. */
	free(error);
	ttrpcd_config_clear(&cfg);
	ck_assert_int_eq(ttrpcd_config_init(&cfg), 0);
	snprintf(text, sizeof(text), "[module m]\nkey = %0192d\n", 7);
	ck_assert_int_eq(ttrpcd_config_load(&cfg, put("ttrpcd.conf", "%s", text), true, &error), 0);
	ck_assert_uint_eq(strlen(cfg.modules[0].settings[0].value), 192);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_listener_defaults);
	tcase_add_test(tc, test_control);
	tcase_add_test(tc, test_dropins);
	tcase_add_test(tc, test_module_file_paths);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
