/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>

#include <ttrpc/common.h>

static const char *const code_names[] = {
	[TTRPC_OK] = "OK",
	[TTRPC_CANCELLED] = "CANCELLED",
	[TTRPC_UNKNOWN] = "UNKNOWN",
	[TTRPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[TTRPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[TTRPC_NOT_FOUND] = "NOT_FOUND",
	[TTRPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[TTRPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[TTRPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[TTRPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[TTRPC_ABORTED] = "ABORTED",
	[TTRPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[TTRPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[TTRPC_INTERNAL] = "INTERNAL",
	[TTRPC_UNAVAILABLE] = "UNAVAILABLE",
	[TTRPC_DATA_LOSS] = "DATA_LOSS",
	[TTRPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

TTRPC_EXPORT const char *ttrpc_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(code_names) / sizeof(code_names[0]))
		return "INVALID_CODE";
	return code_names[code];
}

TTRPC_EXPORT void ttrpc_status_clear(struct ttrpc_status *st)
{
	if (!st)
		return;
	free(st->message);
	st->message = NULL;
	st->code = TTRPC_OK;
}
