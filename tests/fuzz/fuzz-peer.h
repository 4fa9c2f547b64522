/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory transport of the connection fuzzers: a socketpair whose
 * one end the library owns, the other written with the fuzz input by the
 * harness, one chunk per loop iteration, and read back so that the
 * library's output drains.
 */
#ifndef TTRPC_FUZZ_PEER_H
#define TTRPC_FUZZ_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz-check.h"

struct event_base;

struct fuzz_peer {
	int fd;              /* our end; -1 once closed */
	const uint8_t *data; /* bytes still to send: data[pos..size) */
	size_t size, pos;
	size_t chunk; /* bytes sent per iteration; 0: all the socket takes */
	bool no_read; /* leave the library's output unread (backpressure) */
	bool eof;     /* the library closed its end */
};

/*
 * A loop whose timers use the precise clock: with the default coarse one a
 * deadline of a microsecond passes only at the next tick, milliseconds
 * later, after the run is over.
 */
struct event_base *fuzz_base_new(void);

/* A connected non-blocking socketpair: @lib for the library, the peer's end in @p. */
void fuzz_peer_open(struct fuzz_peer *p, int *lib, const uint8_t *data, size_t size);

/*
 * Run @base until the input is sent, the library has read all of it and
 * its output is drained (or @no_read), and a few iterations pass with
 * nothing moving; at most @max_iter iterations, so that a stream that never
 * ends cannot hang the fuzzer.
 */
void fuzz_peer_run(struct fuzz_peer *p, struct event_base *base, size_t max_iter);

/* End of input for the library: close our end, or only its write side. */
void fuzz_peer_close(struct fuzz_peer *p);
void fuzz_peer_shutdown_write(struct fuzz_peer *p);

#endif
