/* Where the library's log lines go: a sink per server or client. */
#ifndef TTRPC_LOG_H
#define TTRPC_LOG_H

#include <ttrpc/common.h>

struct ttrpc__log {
	ttrpc_log_fn fn; /* NULL: the default stderr sink */
	void *userdata;
};

void ttrpc__log(const struct ttrpc__log *log, int level, const char *fmt, ...) TTRPC_PRINTF(3, 4);

#endif
