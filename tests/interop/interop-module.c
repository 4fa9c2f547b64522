/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interop module: ttrpc.interop.v1.Interop, the service every peer of
 * the interop tests calls, served by ttrpcd.
 */
#include <ttrpc/module.h>

#include "interop-service.h"

static int interop_init(struct ttrpcd_host *host)
{
	struct ttrpc_service svc = ttrpc__interop__v1__interop_service(&interop_service_handlers);

	return ttrpcd_host_register_service(host, &svc);
}

static const struct ttrpcd_service_decl interop_services[] = {
	{ INTEROP_SERVICE, ttrpc__interop__v1__interop_methods },
	TTRPCD_SERVICES_END,
};

/* Its handlers keep no state past their calls, which are over before fini. */
TTRPCD_MODULE_DEFINE(.name = "interop", .flags = TTRPCD_MODULE_UNLOAD_SAFE, .init = interop_init,
		     .services = interop_services, );
