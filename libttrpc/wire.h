/*
 * The ttrpc envelopes (Request, Response) on top of frames. Payload messages
 * are serialized straight into the output buffer, inside the envelope.
 */
#ifndef TTRPC_WIRE_H
#define TTRPC_WIRE_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include <ttrpc/common.h>

struct evbuffer;

/*
 * Append a Response frame with an OK status and @msg as payload.
 * Return: 0; -EMSGSIZE when the frame would exceed @max (nothing appended);
 * -ENOMEM.
 */
int ttrpc__wire_response_ok(struct evbuffer *out, uint32_t id, const ProtobufCMessage *msg,
                            uint32_t max);

/*
 * Append a Response frame carrying only a status. A message that would not
 * fit @max is cut. Return: 0 or -ENOMEM.
 */
int ttrpc__wire_response_status(struct evbuffer *out, uint32_t id, int code, const char *message,
                                uint32_t max);

/* The fields of a Request besides its payload. */
struct ttrpc__request_head {
	const char *service;
	const char *method;
	int64_t timeout_nano;
	const struct ttrpc_kv *metadata;
	size_t n_metadata;
};

/*
 * Append a Request frame with @msg as payload.
 * Return: 0; -EMSGSIZE over @max (nothing appended); -ENOMEM.
 */
int ttrpc__wire_request(struct evbuffer *out, uint32_t id, uint8_t flags,
                        const struct ttrpc__request_head *head, const ProtobufCMessage *msg,
                        uint32_t max);

#endif
