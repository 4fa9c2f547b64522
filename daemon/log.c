/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log sinks. sd_journal_send() drops messages silently when no journald
 * runs, so the journal is used only when stderr is known to be connected to
 * it, and tests, which read stderr, never depend on a journald.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "daemon/log.h"

static const char *const level_names[] = {
	[TTRPC_LOG_ERR] = "err",   [TTRPC_LOG_WARNING] = "warning", [TTRPC_LOG_NOTICE] = "notice",
	[TTRPC_LOG_INFO] = "info", [TTRPC_LOG_DEBUG] = "debug",
};

static int max_level = TTRPC_LOG_INFO;
static bool to_journal;

void ttrpcd_log_open(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
		     fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void ttrpcd_log_set_level(int level)
{
	max_level = level;
}

int ttrpcd_log_get_level(void)
{
	return max_level;
}

int ttrpcd_log_level_parse(const char *name, int *level)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
		if (level_names[i] && strcmp(level_names[i], name) == 0) {
			*level = i;
			return 0;
		}
	}
	return -EINVAL;
}

void ttrpcd_log_vmodule(int level, const char *module, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (to_journal) {
		if (module)
			sd_journal_send("MESSAGE=%s: %s", module, msg, "PRIORITY=%d", level,
					"TTRPCD_MODULE=%s", module, NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, NULL);
		return;
	}
	/* One write per line, so that lines of concurrent writers do not mix. */
	if (module)
		dprintf(STDERR_FILENO, "<%d>ttrpcd: %s: %s\n", level, module, msg);
	else
		dprintf(STDERR_FILENO, "<%d>ttrpcd: %s\n", level, msg);
}

void ttrpcd_log_module(int level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ttrpcd_log_vmodule(level, module, fmt, ap);
	va_end(ap);
}

void ttrpcd_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ttrpcd_log_vmodule(level, NULL, fmt, ap);
	va_end(ap);
}

void ttrpcd_log_library(int level, const char *msg, void *userdata)
{
	ttrpcd_log(level, "%s", msg);
}
