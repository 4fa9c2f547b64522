/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdalign.h>
#include <stdlib.h>

#include "arena.h"

/* Requests past the inline block come in blocks of this size, or their own. */
#define BLOCK_SIZE 4096u
#define ALIGN 16u

struct ttrpc__arena_chunk {
	struct ttrpc__arena_chunk *next;
	alignas(16) uint8_t data[];
};

static void *chunk_new(struct ttrpc__arena *a, size_t size)
{
	struct ttrpc__arena_chunk *c = malloc(sizeof(*c) + size);

	if (!c)
		return NULL;
	c->next = a->chunks;
	a->chunks = c;
	return c->data;
}

static void *arena_alloc(void *data, size_t size)
{
	struct ttrpc__arena *a = data;
	uint8_t *p;

	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (size <= (size_t)(a->end - a->cur)) {
		p = a->cur;
		a->cur += size;
		return p;
	}
	/* Large byte fields get a block of their own; the rest a new block. */
	if (size > BLOCK_SIZE / 4)
		return chunk_new(a, size);
	p = chunk_new(a, BLOCK_SIZE);
	if (!p)
		return NULL;
	a->cur = p + size;
	a->end = p + BLOCK_SIZE;
	return p;
}

static void arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

void ttrpc__arena_init(struct ttrpc__arena *a, void *buf, size_t len)
{
	a->allocator.alloc = arena_alloc;
	a->allocator.free = arena_free;
	a->allocator.allocator_data = a;
	a->cur = buf;
	a->end = (uint8_t *)buf + len;
	a->chunks = NULL;
}

void ttrpc__arena_release(struct ttrpc__arena *a)
{
	while (a->chunks) {
		struct ttrpc__arena_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
}
