/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A module for the daemon's tests, driven by its settings:
 *   service      the service it registers (default ttrpc.test.v1.Greeter),
 *                to clash with another module on purpose;
 *   greeting     the text its Echo method answers with, changed by reload;
 *   fail-init    yes: init fails, with no reason but its errno;
 *   fail-reload  yes: reload fails, with no reason but its errno;
 *   serving      its serving status: yes (default), no or unknown, set by
 *                init and every reload, for the health service's tests;
 *                another value fails init or reload with a reason
 *                (ttrpcd_host_fail()) that names the setting;
 *   dirs         yes: init asks for its state and cache directories, logs
 *                them (or why there are none) and leaves a file in each.
 * Its init also checks the refusals of ttrpcd_host_set_serving().
 * Its Echo has the interop EchoRequest/EchoResponse types; asked to echo
 * "host-fail", it calls ttrpcd_host_fail() outside init and reload; "hold"
 * is kept unanswered, whatever its deadline or its client does, until an
 * Echo of "release" answers both (a handler that hangs, on demand).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttrpc/module.h>

#include "interop.pb-c.h"

struct testmod {
	char *greeting;
	struct ttrpc_call *held; /* an Echo of "hold" */
};

static void on_echo(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	struct ttrpcd_host *host = userdata;
	struct testmod *t = ttrpcd_host_get_data(host);
	const Ttrpc__Interop__V1__EchoRequest *req = (const void *)msg;
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	if (req->text && strcmp(req->text, "host-fail") == 0)
		ttrpcd_host_fail(host, -EIO, "asked to fail by a call, outside init and reload");
	if (req->text && strcmp(req->text, "hold") == 0 && !t->held) {
		t->held = call;
		return;
	}
	resp.text = t->greeting;
	if (req->text && strcmp(req->text, "release") == 0 && t->held) {
		ttrpc_call_reply(t->held, &resp.base);
		t->held = NULL;
	}
	ttrpc_call_reply(call, &resp.base);
}

static const struct ttrpc_method testmod_methods[] = {
	TTRPC_UNARY("Echo", &ttrpc__interop__v1__echo_request__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_echo),
	TTRPC_METHODS_END,
};

static bool setting_is_yes(struct ttrpcd_host *host, const char *key)
{
	const char *v = ttrpcd_host_config(host, key);

	return v && strcmp(v, "yes") == 0;
}

static const char *service_name(struct ttrpcd_host *host)
{
	const char *service = ttrpcd_host_config(host, "service");

	return service ? service : "ttrpc.test.v1.Greeter";
}

/* Take the greeting and the serving status of the current settings. */
static int apply(struct ttrpcd_host *host, struct testmod *t)
{
	static const struct {
		const char *name;
		int status;
	} statuses[] = {
		{ "yes", TTRPCD_SERVING },
		{ "no", TTRPCD_NOT_SERVING },
		{ "unknown", TTRPCD_SERVING_UNKNOWN },
	};
	const char *g = ttrpcd_host_config(host, "greeting");
	const char *serving = ttrpcd_host_config(host, "serving");
	int status = -1;
	char *copy;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(serving ? serving : "yes", statuses[i].name) == 0)
			status = statuses[i].status;
	if (status < 0)
		return ttrpcd_host_fail(host, -EINVAL,
					"serving = '%s': expected yes, no or unknown", serving);
	copy = strdup(g ? g : "hello");
	if (!copy)
		return -ENOMEM;
	free(t->greeting);
	t->greeting = copy;
	return ttrpcd_host_set_serving(host, service_name(host), status);
}

/* What ttrpcd_host_register_service() and _set_serving() must refuse; 0 when they do. */
static int check_refusals(struct ttrpcd_host *host)
{
	const char *service = service_name(host);

	if (ttrpcd_host_register_service(host, NULL) != -EINVAL ||
	    ttrpcd_host_set_serving(host, "", TTRPCD_SERVING) != -EPERM ||
	    ttrpcd_host_set_serving(host, "no.such.Service", TTRPCD_SERVING) != -ENOENT ||
	    ttrpcd_host_set_serving(host, service, TTRPCD_SERVICE_UNKNOWN) != -EINVAL ||
	    ttrpcd_host_get_serving(host, "no.such.Service") != -ENOENT) {
		ttrpcd_host_log(host, TTRPC_LOG_ERR, "the host API took a bad request");
		return -EPROTO;
	}
	return 0;
}

/* "NAME: PATH" for each directory the module has, or "NAME: none (ERROR)". */
static void use_dirs(struct ttrpcd_host *host)
{
	static const struct {
		const char *name;
		int (*get)(struct ttrpcd_host *host, const char **ret);
	} dirs[] = {
		{ "state", ttrpcd_host_state_dir },
		{ "cache", ttrpcd_host_cache_dir },
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *path, *again;
		char file[4096];
		FILE *f;
		int r = dirs[i].get(host, &path);

		if (r < 0) {
			ttrpcd_host_log(host, TTRPC_LOG_INFO, "%s: none (%s)", dirs[i].name,
					strerror(-r));
			continue;
		}
		/* The second call answers the same path. */
		if (dirs[i].get(host, &again) < 0 || strcmp(again, path) != 0)
			continue;
		snprintf(file, sizeof(file), "%s/testmod-was-here", path);
		f = fopen(file, "w");
		if (f)
			fclose(f);
		ttrpcd_host_log(host, TTRPC_LOG_INFO, "%s: %s", dirs[i].name, path);
	}
}

static int testmod_init(struct ttrpcd_host *host)
{
	const char *service = service_name(host);
	struct testmod *t;
	int r;

	if (setting_is_yes(host, "fail-init")) {
		ttrpcd_host_log(host, TTRPC_LOG_ERR, "failing init, as fail-init asks");
		return -EIO;
	}
	if (setting_is_yes(host, "dirs"))
		use_dirs(host);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = ttrpcd_host_register(host, service, testmod_methods, host);
	if (r == 0)
		r = apply(host, t);
	if (r == 0)
		r = check_refusals(host);
	if (r < 0) {
		free(t->greeting);
		free(t);
		return r;
	}
	ttrpcd_host_set_data(host, t);
	return 0;
}

static int testmod_reload(struct ttrpcd_host *host)
{
	if (setting_is_yes(host, "fail-reload"))
		return -EIO;
	return apply(host, ttrpcd_host_get_data(host));
}

static void testmod_fini(struct ttrpcd_host *host)
{
	struct testmod *t = ttrpcd_host_get_data(host);

	if (t->held)
		ttrpc_call_fail(t->held, TTRPC_UNAVAILABLE, "testmod is going");
	free(t->greeting);
	free(t);
}

static const char *const testmod_keys[] = { "service", "greeting", "fail-init", "fail-reload",
					    "serving", "dirs",     NULL };

/* Not what "service = ..." registers: the daemon warns about that. */
static const struct ttrpcd_service_decl testmod_services[] = {
	{ "ttrpc.test.v1.Greeter", testmod_methods },
	TTRPCD_SERVICES_END,
};

/* Built twice: testmod2 declares the same service, so that the two clash. */
#ifndef TESTMOD_NAME
#define TESTMOD_NAME "testmod"
#endif

TTRPCD_MODULE_DEFINE(.name = TESTMOD_NAME, .flags = TTRPCD_MODULE_UNLOAD_SAFE,
		     .config_keys = testmod_keys, .init = testmod_init, .reload = testmod_reload,
		     .fini = testmod_fini, .services = testmod_services, );
