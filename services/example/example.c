/* SPDX-License-Identifier: Apache-2.0 */
/* The example module: example.v1.Greeter on the generated code. Copy it. */
#include <stdio.h>

#include <ttrpc/module.h>

#include "example.ttrpc-c.h"

static char greeting[64] = "Hello";

static void on_hello(struct ttrpc_call *call, const Example__V1__HelloRequest *req, void *data)
{
	Example__V1__HelloResponse resp = EXAMPLE__V1__HELLO_RESPONSE__INIT;
	char text[256];

	(void)data; /* the handlers' userdata: none here */
	snprintf(text, sizeof(text), "%s, %s!", greeting, *req->name ? req->name : "world");
	resp.text = text;
	example__v1__greeter_hello_reply(call, &resp);
}

static const struct example__v1__greeter_handlers greeter = { .hello = on_hello };

/* [module example] greeting = ...: read at start and on every reload. */
static int example_configure(struct ttrpcd_host *host)
{
	const char *g = ttrpcd_host_config(host, "greeting");

	snprintf(greeting, sizeof(greeting), "%s", g ? g : "Hello");
	return 0;
}

static int example_init(struct ttrpcd_host *host)
{
	/* The generated code binds the service to handlers of its own type. */
	struct ttrpc_service svc = example__v1__greeter_service(&greeter);

	example_configure(host);
	return ttrpcd_host_register_service(host, &svc);
}

static const char *const example_keys[] = { "greeting", NULL };

/* What init registers, said without running it. */
static const struct ttrpcd_service_decl example_services[] = {
	{ EXAMPLE__V1__GREETER__NAME, example__v1__greeter_methods },
	TTRPCD_SERVICES_END,
};

TTRPCD_MODULE_DEFINE(.name = "example", .flags = TTRPCD_MODULE_UNLOAD_SAFE,
		     .config_keys = example_keys, .init = example_init, .reload = example_configure,
		     .services = example_services, );
