/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcd's log: native journal entries with structured fields when stderr
 * is connected to the journal, otherwise lines on stderr with the "<N>"
 * level prefixes that journald and systemd understand.
 */
#ifndef TTRPCD_LOG_H
#define TTRPCD_LOG_H

#include <stdarg.h>

#include <ttrpc/common.h>

/*
 * ttrpcd_log_open() - pick the sink: the journal when $JOURNAL_STREAM names
 * the device and inode of stderr, stderr otherwise.
 */
void ttrpcd_log_open(void);

/* ttrpcd_log_set_level() - drop messages above @level (enum ttrpc_log_level). */
void ttrpcd_log_set_level(int level);

/* ttrpcd_log_get_level() - the current maximum level. */
int ttrpcd_log_get_level(void);

/*
 * ttrpcd_log_level_parse() - "err", "warning", "notice", "info", "debug".
 * @level: receives the enum ttrpc_log_level value.
 *
 * Return: 0 or -EINVAL.
 */
int ttrpcd_log_level_parse(const char *name, int *level);

/* ttrpcd_log() - one line of the daemon itself. */
void ttrpcd_log(int level, const char *fmt, ...) TTRPC_PRINTF(2, 3);

/*
 * ttrpcd_log_module() - one line on behalf of a module, tagged with its name
 * (the TTRPCD_MODULE= field in the journal, a "NAME: " prefix on stderr).
 */
void ttrpcd_log_module(int level, const char *module, const char *fmt, ...) TTRPC_PRINTF(3, 4);

/* ttrpcd_log_vmodule() - ttrpcd_log_module() with a va_list. */
void ttrpcd_log_vmodule(int level, const char *module, const char *fmt, va_list ap)
	TTRPC_PRINTF(3, 0);

/* ttrpcd_plural() - @one when @n is 1, else @many: "1 module", "2 modules". */
static inline const char *ttrpcd_plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* ttrpcd_log_library() - a ttrpc_log_fn for libttrpc's servers; @userdata unused. */
void ttrpcd_log_library(int level, const char *msg, void *userdata);

#endif
