/* SPDX-License-Identifier: Apache-2.0 */
/* The test harness of the loopback suites (harness.c). */
#ifndef TTRPC_TEST_HARNESS_H
#define TTRPC_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <ttrpc/ttrpc.h>

#include "interop-service.h"

#define SVC INTEROP_SERVICE

struct event_base;
struct bufferevent;

/* Set up by setup() for each test: a loop and a server with the interop
 * service listening on sock_path, its log lines captured in logbuf. */
extern struct event_base *base;
extern struct ttrpc_server *srv;
extern char sock_path[108];
extern char dir_path[64];
extern char logbuf[8192];
extern bool timed_out;

void setup(void);
void teardown(void);

/* Run the loop until *flag is set; fail the test after @ms milliseconds. */
void run_until(const bool *flag, int ms);
/* Run the loop for @ms milliseconds. */
void run_for(int ms);

struct ttrpc_client *connect_client(void);
struct ttrpc_server_stats stats(void);

/* A raw peer on the server's socket: frames written and read byte by byte. */
struct raw {
	struct bufferevent *bev;
	bool eof;
};

struct frame {
	uint32_t length, id;
	uint8_t type, flags;
	uint8_t *payload; /* malloc'ed; the caller frees it */
};

struct raw *raw_connect(void);
void raw_free(struct raw *r);
void raw_send(struct raw *r, uint32_t length, uint32_t id, uint8_t type, uint8_t flags,
	      const void *payload, size_t n);
/* A ttrpc.Request for the interop service with an inner message packed by the caller. */
void raw_request(struct raw *r, uint32_t id, const char *method, const void *payload, size_t n);
/* Wait for the next frame; false on EOF. Fails the test after @ms milliseconds. */
bool raw_next(struct raw *r, struct frame *f, int ms);
/* Expect a status Response on @id with @code and a message starting with @prefix. */
void raw_expect_status(struct raw *r, uint32_t id, int code, const char *prefix);
/* A well-formed Echo on @id is answered. */
void raw_expect_echo_works(struct raw *r, uint32_t id);

#endif
