/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pid1-client: the clients of the systemd-as-PID-1 test (pid1.sh) that
 * ttrpcctl cannot be, driven line by line on stdin so that the test decides
 * when each request is written. Linked statically: it runs inside the
 * container whatever the library cache says.
 *
 *   pid1-client held SOCKET
 *       one connection for the whole run; "connected" once it is made, then
 *       for each "check" line a grpc.health.v1.Health/Check of the daemon
 *       on that same connection, answered by one line: "SERVING" (or the
 *       status name), "status CODE MESSAGE", or "error MESSAGE". Ends at EOF.
 *   pid1-client probe SOCKET
 *       connects and closes again and again until stdin reaches EOF, then
 *       prints "connects N refused M": M counts the connects that failed
 *       (ECONNREFUSED when nothing listens, ENOENT without the socket file).
 *       "probing" once the first connect succeeded.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "health.ttrpc-c.h"

/* Bounds a call's wait, so that a connection nobody serves fails the test. */
#define CALL_TIMEOUT_US (60ull * 1000 * 1000)

static void check(struct ttrpc_client *client)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp = NULL;
	const struct ttrpc_call_opts opts = { .timeout_us = CALL_TIMEOUT_US };
	const ProtobufCEnumValue *v;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = "";
	r = grpc__health__v1__health_check_sync(client, &req, &opts, &resp, &st);
	if (r == -EREMOTEIO) {
		printf("status %d %s\n", st.code, st.message ? st.message : "");
	} else if (r < 0) {
		printf("error %s\n", strerror(-r));
	} else {
		v = protobuf_c_enum_descriptor_get_value(
			&grpc__health__v1__health_check_response__serving_status__descriptor,
			resp->status);
		printf("%s\n", v ? v->name : "?");
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	ttrpc_status_clear(&st);
}

static int held(const char *path)
{
	struct ttrpc_client *client;
	char line[64];
	int r;

	r = ttrpc_client_open(path, &client);
	if (r < 0) {
		printf("error connect %s: %s\n", path, strerror(-r));
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "check\n") == 0)
			check(client);
		else
			printf("error unknown command %s", line);
		fflush(stdout);
	}
	ttrpc_client_free(client);
	return 0;
}

/* 0, or the errno of a connect that failed. */
static int connect_once(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = errno;
	close(fd);
	return r;
}

static int probe(const char *path)
{
	unsigned long connects = 0, refused = 0;
	struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
	int r, last = 0;

	/* A millisecond between connects: every moment of a restart is tried
	 * without filling the listen backlog faster than ttrpcd empties it. */
	while (poll(&in, 1, 1) == 0) {
		r = connect_once(path);
		connects++;
		if (r) {
			refused++;
			last = r;
		} else if (connects - refused == 1) {
			printf("probing\n");
			fflush(stdout);
		}
	}
	printf("connects %lu refused %lu%s%s\n", connects, refused, last ? " last: " : "",
	       last ? strerror(last) : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "held") == 0)
		return held(argv[2]);
	if (argc == 3 && strcmp(argv[1], "probe") == 0)
		return probe(argv[2]);
	fprintf(stderr, "usage: %s held|probe SOCKET\n", argv[0]);
	return 2;
}
