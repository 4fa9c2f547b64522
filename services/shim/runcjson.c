/* SPDX-License-Identifier: Apache-2.0 */
/* runc's JSON output, read with json-c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "runcjson.h"

int shim_runc_last_error(const char *log, size_t len, char *msg, size_t size)
{
	const char *p = log, *end = log + len;
	int found = 0;

	if (size)
		msg[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o = tok ? json_tokener_parse_ex(tok, p, (int)n) : NULL;
		struct json_object *level, *m;

		if (o && json_tokener_get_parse_end(tok) == n &&
		    json_object_object_get_ex(o, "level", &level) &&
		    json_object_object_get_ex(o, "msg", &m) &&
		    strcmp(json_object_get_string(level), "error") == 0 && size) {
			const char *s = json_object_get_string(m);

			/* As the Go shim, without the spaces around. */
			while (*s == ' ' || *s == '\n' || *s == '\t')
				s++;
			snprintf(msg, size, "%s", s);
			for (size_t k = strlen(msg); k > 0 && strchr(" \n\t", msg[k - 1]); k--)
				msg[k - 1] = '\0';
			found = 1;
		}
		json_object_put(o);
		if (tok)
			json_tokener_free(tok);
		p += n + 1;
	}
	return found;
}

int shim_runc_pids(const char *json, uint32_t **pids)
{
	struct json_object *o = json_tokener_parse(json);
	size_t n;

	*pids = NULL;
	if (!o)
		return strcmp(json, "null") == 0 ? 0 : -EINVAL;
	if (!json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return -EINVAL;
	}
	n = json_object_array_length(o);
	if (n > 0 && !(*pids = calloc(n, sizeof(**pids)))) {
		json_object_put(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(o, i);
		int64_t pid = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || pid <= 0 || pid > INT32_MAX) {
			free(*pids);
			*pids = NULL;
			json_object_put(o);
			return -EINVAL;
		}
		(*pids)[i] = (uint32_t)pid;
	}
	json_object_put(o);
	return (int)n;
}
