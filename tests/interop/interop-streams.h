/* SPDX-License-Identifier: Apache-2.0 */
/* The streaming methods of the interop contract: Download, Upload, Chat. */
#ifndef TTRPC_INTEROP_STREAMS_H
#define TTRPC_INTEROP_STREAMS_H

#include <ttrpc/ttrpc.h>

/* Server streaming: count chunks of size bytes, index 0..count-1, sent as
 * fast as the connection's output queue allows. */
void interop_download(struct ttrpc_call *call, const ProtobufCMessage *request, void *userdata);
/* Client streaming: the totals of what the client sent. */
void interop_upload(struct ttrpc_call *call, const ProtobufCMessage *request, void *userdata);
/* Bidirectional: every chunk echoed back as it arrives. */
void interop_chat(struct ttrpc_call *call, const ProtobufCMessage *request, void *userdata);

#endif
