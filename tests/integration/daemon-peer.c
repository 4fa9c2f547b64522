/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw ttrpc peer over a blocking unix socket: frames written as the test
 * wants them, right or wrong, and read back with bounded waits.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon-peer.h"
#include "interop.pb-c.h"
#include "ttrpc/request.pb-c.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int peer_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int peer_write(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void peer_header(uint8_t hdr[10], uint32_t length, uint32_t id, uint8_t type, uint8_t flags)
{
	hdr[0] = (uint8_t)(length >> 24);
	hdr[1] = (uint8_t)(length >> 16);
	hdr[2] = (uint8_t)(length >> 8);
	hdr[3] = (uint8_t)length;
	hdr[4] = (uint8_t)(id >> 24);
	hdr[5] = (uint8_t)(id >> 16);
	hdr[6] = (uint8_t)(id >> 8);
	hdr[7] = (uint8_t)id;
	hdr[8] = type;
	hdr[9] = flags;
}

int peer_send(int fd, uint32_t length, uint32_t id, uint8_t type, uint8_t flags,
	      const void *payload, size_t n)
{
	uint8_t *frame = malloc(10 + n);
	int r;

	ck_assert_ptr_nonnull(frame);
	peer_header(frame, length, id, type, flags);
	if (n)
		memcpy(frame + 10, payload, n);
	/* One write: the header and its payload arrive together. */
	r = peer_write(fd, frame, 10 + n);
	free(frame);
	return r;
}

static size_t request_to(uint8_t **out, const char *service, const char *method,
			 const ProtobufCMessage *msg, const char *key, const char *value)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *kvs[1] = { &kv };
	uint8_t *payload = NULL;
	size_t n;

	req.service = (char *)service;
	req.method = (char *)method;
	if (msg) {
		payload = malloc(protobuf_c_message_get_packed_size(msg) + 1);
		ck_assert_ptr_nonnull(payload);
		req.payload.len = protobuf_c_message_pack(msg, payload);
		req.payload.data = payload;
	}
	if (key) {
		kv.key = (char *)key;
		kv.value = (char *)value;
		req.n_metadata = 1;
		req.metadata = kvs;
	}
	*out = malloc(ttrpc__request__get_packed_size(&req) + 1);
	ck_assert_ptr_nonnull(*out);
	n = ttrpc__request__pack(&req, *out);
	free(payload);
	return n;
}

size_t peer_request(uint8_t **out, const char *method, const ProtobufCMessage *msg, const char *key,
		    const char *value)
{
	return request_to(out, INTEROP, method, msg, key, value);
}

int peer_call_to(int fd, uint32_t id, uint8_t flags, const char *service, const char *method,
		 const ProtobufCMessage *msg)
{
	uint8_t *req;
	size_t n = request_to(&req, service, method, msg, NULL, NULL);
	int r = peer_send(fd, (uint32_t)n, id, PEER_REQUEST, flags, req, n);

	free(req);
	return r;
}

int peer_call(int fd, uint32_t id, uint8_t flags, const char *method, const ProtobufCMessage *msg)
{
	return peer_call_to(fd, id, flags, INTEROP, method, msg);
}

int peer_echo(int fd, uint32_t id, const char *text)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;

	req.text = (char *)text;
	return peer_call(fd, id, 0, "Echo", &req.base);
}

/* Read @n bytes by @end. Return: 1, 0 at EOF or reset, -ETIMEDOUT. */
static int read_full(int fd, uint8_t *buf, size_t n, uint64_t end)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t r;

		if (now >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

int peer_read(int fd, struct peer_frame *f, int timeout_ms)
{
	uint64_t end = mono_ms() + (uint64_t)timeout_ms;
	uint8_t hdr[10];
	int r;

	memset(f, 0, sizeof(*f));
	r = read_full(fd, hdr, sizeof(hdr), end);
	if (r <= 0)
		return r;
	f->length = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
		    hdr[3];
	f->id = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
	f->type = hdr[8];
	f->flags = hdr[9];
	ck_assert_uint_le(f->length, 4u << 20);
	f->payload = malloc(f->length + 1);
	ck_assert_ptr_nonnull(f->payload);
	r = read_full(fd, f->payload, f->length, end);
	if (r <= 0)
		peer_frame_clear(f);
	return r;
}

void peer_frame_clear(struct peer_frame *f)
{
	free(f->payload);
	f->payload = NULL;
}

int peer_status(const struct peer_frame *f, char *msg, size_t size)
{
	Ttrpc__Response *resp;
	int code;

	ck_assert_uint_eq(f->type, PEER_RESPONSE);
	resp = ttrpc__response__unpack(NULL, f->length, f->payload);
	ck_assert_ptr_nonnull(resp);
	code = resp->status ? resp->status->code : 0;
	if (msg)
		snprintf(msg, size, "%s",
			 resp->status && resp->status->message ? resp->status->message : "");
	ttrpc__response__free_unpacked(resp, NULL);
	return code;
}

int peer_response(int fd, uint32_t id, char *msg, size_t size)
{
	struct peer_frame f;
	int r = peer_read(fd, &f, 10000), code;

	ck_assert_msg(r == 1, "no frame for stream %u (%d)", id, r);
	ck_assert_uint_eq(f.id, id);
	code = peer_status(&f, msg, size);
	peer_frame_clear(&f);
	return code;
}

void peer_expect(int fd, uint32_t id, int code, const char *message)
{
	char msg[512];

	ck_assert_int_eq(peer_response(fd, id, msg, sizeof(msg)), code);
	ck_assert_msg(strncmp(msg, message, strlen(message)) == 0, "status message '%s', not '%s'",
		      msg, message);
}

bool peer_wait_eof(int fd, int timeout_ms)
{
	uint64_t end = mono_ms() + (uint64_t)timeout_ms;
	uint8_t buf[65536];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t r;

		if (now >= end)
			return false;
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return true;
	}
}
