/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bump allocator for protobuf-c: a call's envelope and messages are
 * decoded into it and released together when the call ends, so a small call
 * costs one malloc (the call itself, which holds the first block) instead of
 * one per string, byte field and submessage. protobuf-c frees nothing
 * through it: release does it all.
 */
#ifndef TTRPC_ARENA_H
#define TTRPC_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

struct ttrpc__arena_chunk;

struct ttrpc__arena {
	ProtobufCAllocator allocator; /* pass &arena->allocator to protobuf-c */
	uint8_t *cur, *end;
	struct ttrpc__arena_chunk *chunks; /* blocks malloc'ed past the first */
};

/* Start an arena on @buf (@len bytes, borrowed, 16-byte aligned). */
void ttrpc__arena_init(struct ttrpc__arena *a, void *buf, size_t len);

/* Free every block malloc'ed since init; @buf stays the caller's. */
void ttrpc__arena_release(struct ttrpc__arena *a);

#endif
