/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw ttrpc peer on a blocking unix socket, for the tests that send ttrpcd
 * what no well-behaved client sends, or frames written while it is not
 * serving (test-hostile, test-robust, test-ttrpcd). Every read is bounded by
 * a timeout; nothing asserts on timing.
 */
#ifndef TTRPCD_TEST_DAEMON_PEER_H
#define TTRPCD_TEST_DAEMON_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define INTEROP "ttrpc.interop.v1.Interop"

/* Frame types and flags of the ttrpc protocol. */
enum {
	PEER_REQUEST = 1,
	PEER_RESPONSE = 2,
	PEER_DATA = 3,
	PEER_REMOTE_CLOSED = 0x1,
	PEER_REMOTE_OPEN = 0x2,
	PEER_NO_DATA = 0x4,
};

struct peer_frame {
	uint32_t length, id;
	uint8_t type, flags;
	uint8_t *payload; /* malloc'd; freed by peer_frame_clear() */
};

/* peer_connect() - a connected blocking socket, or -errno (-ECONNREFUSED...). */
int peer_connect(const char *path);

/* peer_write() - write all of @buf. Return: 0 or -errno (-EPIPE once closed). */
int peer_write(int fd, const void *buf, size_t n);

/* peer_header() - the 10-byte header: length, stream id, type, flags. */
void peer_header(uint8_t hdr[10], uint32_t length, uint32_t id, uint8_t type, uint8_t flags);

/* peer_send() - one frame whose header says @length, with @n bytes of @payload. */
int peer_send(int fd, uint32_t length, uint32_t id, uint8_t type, uint8_t flags,
	      const void *payload, size_t n);

/*
 * peer_request() - a ttrpc.Request for INTEROP/@method with @msg (NULL: no
 * payload) and, when @key is not NULL, one metadata pair; malloc'd into *out.
 * Return: its length.
 */
size_t peer_request(uint8_t **out, const char *method, const ProtobufCMessage *msg, const char *key,
		    const char *value);

/* peer_call() - send a Request frame for INTEROP/@method on @id. Return: 0 or -errno. */
int peer_call(int fd, uint32_t id, uint8_t flags, const char *method, const ProtobufCMessage *msg);

/* peer_call_to() - peer_call() of @service/@method. */
int peer_call_to(int fd, uint32_t id, uint8_t flags, const char *service, const char *method,
		 const ProtobufCMessage *msg);

/* peer_echo() - an Echo with @text on @id. */
int peer_echo(int fd, uint32_t id, const char *text);

/*
 * peer_read() - the next frame, waiting up to @timeout_ms.
 * Return: 1, 0 at EOF (or a reset connection), -ETIMEDOUT.
 */
int peer_read(int fd, struct peer_frame *f, int timeout_ms);
void peer_frame_clear(struct peer_frame *f);

/*
 * peer_status() - the status code of a Response frame (0: OK), and its
 * message into @msg (may be NULL).
 */
int peer_status(const struct peer_frame *f, char *msg, size_t size);

/*
 * peer_response() - the status code of the next frame, which must come
 * within 10 s and be a Response on @id; its message into @msg (may be NULL).
 */
int peer_response(int fd, uint32_t id, char *msg, size_t size);

/*
 * peer_expect() - the next frame is a Response on @id with @code and a
 * message that starts with @message ("" for any); the test fails otherwise.
 */
void peer_expect(int fd, uint32_t id, int code, const char *message);

/* peer_wait_eof() - whether the server closes within @timeout_ms; frames meanwhile are skipped. */
bool peer_wait_eof(int fd, int timeout_ms);

#endif
