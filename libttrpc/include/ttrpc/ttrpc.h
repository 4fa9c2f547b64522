/* SPDX-License-Identifier: Apache-2.0 */
/* libttrpc: containerd's ttrpc protocol in C, on libevent and protobuf-c. */
#ifndef TTRPC_TTRPC_H
#define TTRPC_TTRPC_H

#include <ttrpc/common.h>
#include <ttrpc/call.h>
#include <ttrpc/server.h>
#include <ttrpc/client.h>

#endif
