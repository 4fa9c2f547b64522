/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A module as ABI 1.0 built it: its struct ends with fini, so it has no
 * services list, and the daemon must read no byte past its struct_size.
 * Its Echo has the interop types and answers "abi 1.0".
 */
#include <stddef.h>

#include <ttrpc/module.h>

#include "interop.pb-c.h"

static void on_echo(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	resp.text = (char *)"abi 1.0";
	ttrpc_call_reply(call, &resp.base);
}

static const struct ttrpc_method abi10_methods[] = {
	TTRPC_UNARY("Echo", &ttrpc__interop__v1__echo_request__descriptor,
		    &ttrpc__interop__v1__echo_response__descriptor, on_echo),
	TTRPC_METHODS_END,
};

static int abi10_init(struct ttrpcd_host *host)
{
	return ttrpcd_host_register(host, "ttrpc.test.v1.Old", abi10_methods, NULL);
}

TTRPCD_MODULE_EXPORT const struct ttrpcd_module ttrpcd_module = {
	.abi_major = 1,
	.abi_minor = 0,
	.struct_size = offsetof(struct ttrpcd_module, fini) + sizeof(void (*)(void)),
	.flags = TTRPCD_MODULE_UNLOAD_SAFE,
	.name = "abi10",
	.init = abi10_init,
	/* .services exists in this header, but not in the struct_size above. */
	.services = (const struct ttrpcd_service_decl *)1,
};
