/* SPDX-License-Identifier: Apache-2.0 */
/* What runc writes as JSON: its log (--log-format json) and ps --format json. */
#ifndef SHIM_RUNCJSON_H
#define SHIM_RUNCJSON_H

#include <stddef.h>
#include <stdint.h>

/*
 * shim_runc_last_error() - the message of the last entry of level "error"
 * in runc's log, one JSON object a line ({"level":"error","msg":"...",
 * "time":"..."}), as the Go shim reports runc's failures. Lines that are not
 * JSON (a first line cut in half) are skipped.
 * @log: @len bytes, borrowed.
 * @msg: receives the message, NUL-terminated, cut to @size; "" when none.
 *
 * Return: 1 when an error entry was found, else 0.
 */
int shim_runc_last_error(const char *log, size_t len, char *msg, size_t size);

/*
 * shim_runc_pids() - the pids of `runc ps --format json`: a JSON array of
 * numbers ("null" when the container has none).
 * @pids: receives an array the caller frees (NULL when there are none).
 *
 * Return: the number of pids, or -EINVAL for another output, -ENOMEM.
 */
int shim_runc_pids(const char *json, uint32_t **pids);

#endif
