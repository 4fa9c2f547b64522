/* SPDX-License-Identifier: Apache-2.0 */
/* Where the library's log lines go: a sink per server or client. */
#ifndef TTRPC_LOG_H
#define TTRPC_LOG_H

#include <ttrpc/common.h>

struct ttrpc__log {
	ttrpc_log_fn fn; /* NULL: the default stderr sink */
	void *userdata;
	int max_level; /* lines above it are not even formatted; 0: the default */
};

/* The default: up to WARNING on stderr, up to INFO for a sink of one's own. */
#define TTRPC__LOG_MAX(log) \
	((log)->max_level ? (log)->max_level : (log)->fn ? TTRPC_LOG_INFO : TTRPC_LOG_WARNING)

void ttrpc__log_line(const struct ttrpc__log *log, int level, const char *fmt, ...)
	TTRPC_PRINTF(3, 4);

/* @one when @n is 1, else @many: "1 call", "2 calls". */
static inline const char *ttrpc__plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A macro, so that the arguments of a line nobody reads are not evaluated. */
#define ttrpc__log(log, level, ...)                                   \
	do {                                                          \
		if ((level) <= TTRPC__LOG_MAX(log))                   \
			ttrpc__log_line((log), (level), __VA_ARGS__); \
	} while (0)

#endif
