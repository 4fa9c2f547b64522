/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void ttrpc__log_line(const struct ttrpc__log *log, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log->fn)
		log->fn(level, line, log->userdata);
	else
		fprintf(stderr, "<%d>ttrpc: %s\n", level, line);
}
