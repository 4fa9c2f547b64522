/*
 * A module for the daemon's tests, driven by its settings:
 *   service      the service it registers (default ttrpc.test.v1.Greeter),
 *                to clash with another module on purpose;
 *   greeting     the text its Echo method answers with, changed by reload;
 *   fail-init    yes: init fails;
 *   fail-reload  yes: reload fails.
 * Its Echo has the interop EchoRequest/EchoResponse types.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ttrpc/module.h>

#include "interop.pb-c.h"

struct testmod {
	char *greeting;
};

static void on_echo(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	struct ttrpcd_host *host = userdata;
	struct testmod *t = ttrpcd_host_get_data(host);
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	resp.text = t->greeting;
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

/* Take the greeting of the current settings. */
static int apply(struct ttrpcd_host *host, struct testmod *t)
{
	const char *g = ttrpcd_host_config(host, "greeting");
	char *copy = strdup(g ? g : "hello");

	if (!copy)
		return -ENOMEM;
	free(t->greeting);
	t->greeting = copy;
	return 0;
}

static int testmod_init(struct ttrpcd_host *host)
{
	const char *service = ttrpcd_host_config(host, "service");
	struct testmod *t;
	int r;

	if (setting_is_yes(host, "fail-init")) {
		ttrpcd_host_log(host, TTRPC_LOG_ERR, "failing init, as fail-init asks");
		return -EIO;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = apply(host, t);
	if (r == 0)
		r = ttrpcd_host_register(host, service ? service : "ttrpc.test.v1.Greeter",
		                         testmod_methods, host);
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

	free(t->greeting);
	free(t);
}

static const char *const testmod_keys[] = { "service", "greeting", "fail-init", "fail-reload",
	                                    NULL };

TTRPCD_MODULE_DEFINE(
	.name = "testmod",
	.flags = TTRPCD_MODULE_UNLOAD_SAFE,
	.config_keys = testmod_keys,
	.init = testmod_init,
	.reload = testmod_reload,
	.fini = testmod_fini,
);
