/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ttrpc envelopes (Request, Response) on top of frames. Payload messages
 * are serialized straight into the output buffer, inside the envelope.
 */
#ifndef TTRPC_WIRE_H
#define TTRPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include <ttrpc/common.h>

struct evbuffer;
struct ttrpc__refs;

/*
 * Watermarks of a connection's output queue. A stream sender is told to wait
 * (-EAGAIN) above HIGH and called back once the queue is below LOW, so a
 * stream costs at most about HIGH plus one message per connection.
 */
#define TTRPC__OUTPUT_HIGH (1u << 20)
#define TTRPC__OUTPUT_LOW (256u << 10)

/*
 * Append a Response frame with an OK status and @msg as payload. Large bytes
 * fields that @refs (or NULL) finds are added by reference (refmsg.h), so
 * are the other functions' below.
 * Return: 0; -EMSGSIZE when the frame would exceed @max (nothing appended);
 * -ENOMEM.
 */
int ttrpc__wire_response_ok(struct evbuffer *out, uint32_t id, const ProtobufCMessage *msg,
			    uint32_t max, const struct ttrpc__refs *refs);

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
			uint32_t max, const struct ttrpc__refs *refs);

/*
 * Append a Data frame with @msg serialized as its payload, or an empty
 * payload when @msg is NULL (then @flags usually holds NO_DATA).
 * Return: 0; -EMSGSIZE over @max (nothing appended); -ENOMEM.
 */
int ttrpc__wire_data(struct evbuffer *out, uint32_t id, uint8_t flags, const ProtobufCMessage *msg,
		     uint32_t max, const struct ttrpc__refs *refs);

/* Whether a serialized ttrpc.Request carries its payload field (even empty). */
bool ttrpc__wire_request_has_payload(const uint8_t *p, size_t n);

#endif
