/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A map from stream id (non-zero uint32) to pointer: the stream table of a
 * connection. Open addressing with linear probing and backward-shift
 * deletion, so lookups stay short without tombstones.
 */
#ifndef TTRPC_IDMAP_H
#define TTRPC_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct ttrpc__idmap_slot {
	uint32_t key; /* 0: empty */
	void *value;
};

struct ttrpc__idmap {
	struct ttrpc__idmap_slot *slots;
	size_t cap;     /* 0 or a power of two */
	unsigned shift; /* 32 - log2(cap): the hash takes the top bits */
	size_t len;
	size_t pop_hint; /* where ttrpc__idmap_pop() resumes */
};

void ttrpc__idmap_init(struct ttrpc__idmap *m);
void ttrpc__idmap_clear(struct ttrpc__idmap *m);
/* Return: 0, -EEXIST, -EINVAL (key 0) or -ENOMEM. */
int ttrpc__idmap_put(struct ttrpc__idmap *m, uint32_t key, void *value);
void *ttrpc__idmap_get(const struct ttrpc__idmap *m, uint32_t key);
/* Return: the removed value, or NULL when absent. */
void *ttrpc__idmap_remove(struct ttrpc__idmap *m, uint32_t key);
/* Remove and return any one entry, or NULL when empty (for teardown loops). */
void *ttrpc__idmap_pop(struct ttrpc__idmap *m);

#endif
