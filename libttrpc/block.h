/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory that messages and output buffers refer to instead of holding
 * copies, counted by references: a large frame read into a block of its own
 * (its decoded message's bytes fields point into it, its answer may be sent
 * from it), and memory an application lends for its messages to be sent
 * from. A decoded message, an output chunk and the lender each hold a
 * reference; the memory is released with the last one.
 *
 * Blocks come from a pool per server or client: a large frame is read into
 * memory whose pages are already there, instead of fresh pages that the
 * kernel must fault in and zero for every message (1 MiB is 256 faults).
 */
#ifndef TTRPC_BLOCK_H
#define TTRPC_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ttrpc/common.h>

struct event_base;
struct evbuffer;

/* Frames of at least this many bytes are read into a block. */
#ifdef TTRPC_FUZZING
/* Small enough for fuzz inputs to reach every path of large messages. */
#define TTRPC__BLOCK_MIN 64u
#else
#define TTRPC__BLOCK_MIN (32u << 10)
#endif

struct ttrpc__ref {
	unsigned refs;
	const uint8_t *data;
	size_t len;
	void (*release)(struct ttrpc__ref *ref);
};

static inline void ttrpc__ref_get(struct ttrpc__ref *ref)
{
	ref->refs++;
}

/* Drop a reference; the last one releases the memory. */
void ttrpc__ref_put(struct ttrpc__ref *ref);

/* Whether [@p, @p + @len) lies inside @ref's memory. */
static inline bool ttrpc__ref_holds(const struct ttrpc__ref *ref, const uint8_t *p, size_t len)
{
	return p >= ref->data && len <= ref->len && (size_t)(p - ref->data) <= ref->len - len;
}

/*
 * ttrpc__ref_add() - append [@p, @p + @len), inside @ref, to @out by
 * reference: a reference of @ref is held until the bytes have left @out.
 * Return: 0 or -ENOMEM (nothing appended).
 */
int ttrpc__ref_add(struct evbuffer *out, struct ttrpc__ref *ref, const uint8_t *p, size_t len);

/* Finds the memory that holds [@p, @p + @len), or NULL: what may be sent by reference. */
struct ttrpc__refs {
	struct ttrpc__ref *(*find)(void *ctx, const uint8_t *p, size_t len);
	void *ctx;
};

/* ---- frame blocks ---- */

struct ttrpc__pool;

struct ttrpc__block {
	struct ttrpc__ref ref; /* ref.data is data, ref.len the frame's length */
	struct ttrpc__pool *pool;
	size_t cap;
	struct ttrpc__block *next; /* in the pool's spares */
	_Alignas(16) uint8_t data[];
};

/*
 * ttrpc__pool_new() - the spare blocks of one server or client; spares
 * unused for a second are freed, from a timer on @base.
 * Return: the pool, or NULL when out of memory.
 */
struct ttrpc__pool *ttrpc__pool_new(struct event_base *base);

/* The owner is gone: free the spares; blocks still in use are freed when released. */
void ttrpc__pool_free(struct ttrpc__pool *pool);

/* The number of spare blocks kept. */
size_t ttrpc__pool_spares(const struct ttrpc__pool *pool);

/* The block whose data starts at @data. */
static inline struct ttrpc__block *ttrpc__block_of(const void *data)
{
	return (struct ttrpc__block *)((uintptr_t)data - offsetof(struct ttrpc__block, data));
}

/*
 * ttrpc__block_new() - a block of @len bytes with one reference, a spare of
 * @pool when one fits. Return: the block, or NULL when out of memory.
 */
struct ttrpc__block *ttrpc__block_new(struct ttrpc__pool *pool, size_t len);

/* ---- lent memory ---- */

/* Memory an application lent, in its lender's list (a call or a client). */
struct ttrpc__lent {
	struct ttrpc__ref ref;
	ttrpc_release_fn release;
	void *userdata;
	struct ttrpc__lent *next;
};

/*
 * ttrpc__lend() - put [@data, @data + @len) at the head of @list with one
 * reference, the list's. Return: 0 or -ENOMEM (@release is not called).
 */
int ttrpc__lend(struct ttrpc__lent **list, const void *data, size_t len, ttrpc_release_fn release,
		void *userdata);

/* The lent memory of @list that holds [@p, @p + @len), or NULL. */
struct ttrpc__ref *ttrpc__lent_find(struct ttrpc__lent *list, const uint8_t *p, size_t len);

/* Take the entry lent at @data out of @list and drop the list's reference. Return: 0 or -ENOENT. */
int ttrpc__unlend(struct ttrpc__lent **list, const void *data);

/* Drop the list's reference of every entry and empty it. */
void ttrpc__lent_clear(struct ttrpc__lent **list);

#endif
