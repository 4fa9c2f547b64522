/* SPDX-License-Identifier: Apache-2.0 */
/* The C side of the interop contract (interop.proto), shared by the test
 * server program and the loopback tests. */
#ifndef TTRPC_INTEROP_SERVICE_H
#define TTRPC_INTEROP_SERVICE_H

#include <ttrpc/ttrpc.h>

#include "interop.ttrpc-c.h"

#define INTEROP_SERVICE "ttrpc.interop.v1.Interop"

/* The handlers of ttrpc.interop.v1.Interop, for the ttrpcd module. */
extern const struct ttrpc__interop__v1__interop_handlers interop_service_handlers;

/* Register ttrpc.interop.v1.Interop on @srv. Return: as ttrpc_server_register(). */
int interop_service_register(struct ttrpc_server *srv);

#endif
