/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "block.h"

/* Spares kept: enough for 16 large calls in flight to find their pages there. */
#define POOL_SPARES 16
#define POOL_SPARE_BYTES (32u << 20)
#define POOL_IDLE_SECONDS 1
/* Capacities are rounded up so that frames of about one size share blocks. */
#define BLOCK_ROUND 4096u

struct ttrpc__pool {
	unsigned refs; /* the owner's, and one per block in use */
	bool owner_gone;
	bool used; /* a spare was taken since the timer was armed */
	struct ttrpc__block *spares;
	size_t n_spares, spare_bytes;
	struct event *timer;
};

void ttrpc__ref_put(struct ttrpc__ref *ref)
{
	if (--ref->refs == 0)
		ref->release(ref);
}

static void chunk_done(const void *data, size_t len, void *ref)
{
	ttrpc__ref_put(ref);
}

int ttrpc__ref_add(struct evbuffer *out, struct ttrpc__ref *ref, const uint8_t *p, size_t len)
{
	ttrpc__ref_get(ref);
	if (evbuffer_add_reference(out, p, len, chunk_done, ref) < 0) {
		ttrpc__ref_put(ref);
		return -ENOMEM;
	}
	return 0;
}

/* ---- frame blocks ---- */

static void pool_unref(struct ttrpc__pool *pool)
{
	if (--pool->refs == 0)
		free(pool);
}

static void free_spares(struct ttrpc__pool *pool)
{
	while (pool->spares) {
		struct ttrpc__block *b = pool->spares;

		pool->spares = b->next;
		free(b);
	}
	pool->n_spares = 0;
	pool->spare_bytes = 0;
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpc__pool *pool = arg;
	static const struct timeval idle = { POOL_IDLE_SECONDS, 0 };

	if (pool->used) {
		pool->used = false;
		evtimer_add(pool->timer, &idle);
	} else {
		free_spares(pool);
	}
}

struct ttrpc__pool *ttrpc__pool_new(struct event_base *base)
{
	struct ttrpc__pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->refs = 1;
	pool->timer = evtimer_new(base, on_idle, pool);
	if (!pool->timer) {
		free(pool);
		return NULL;
	}
	return pool;
}

void ttrpc__pool_free(struct ttrpc__pool *pool)
{
	if (!pool)
		return;
	pool->owner_gone = true;
	free_spares(pool);
	event_free(pool->timer);
	pool->timer = NULL;
	pool_unref(pool);
}

size_t ttrpc__pool_spares(const struct ttrpc__pool *pool)
{
	return pool->n_spares;
}

static void block_release(struct ttrpc__ref *ref)
{
	struct ttrpc__block *b = (struct ttrpc__block *)((uint8_t *)ref -
							 offsetof(struct ttrpc__block, ref));
	struct ttrpc__pool *pool = b->pool;
	static const struct timeval idle = { POOL_IDLE_SECONDS, 0 };

	if (!pool->owner_gone && pool->n_spares < POOL_SPARES &&
	    pool->spare_bytes + b->cap <= POOL_SPARE_BYTES) {
		b->next = pool->spares;
		pool->spares = b;
		pool->n_spares++;
		pool->spare_bytes += b->cap;
		if (!evtimer_pending(pool->timer, NULL))
			evtimer_add(pool->timer, &idle);
	} else {
		free(b);
	}
	pool_unref(pool);
}

/* The smallest spare that holds @len bytes, taken out of the pool. */
static struct ttrpc__block *take_spare(struct ttrpc__pool *pool, size_t len)
{
	struct ttrpc__block **best = NULL, *b;

	for (struct ttrpc__block **p = &pool->spares; *p; p = &(*p)->next)
		if ((*p)->cap >= len && (!best || (*p)->cap < (*best)->cap))
			best = p;
	if (!best)
		return NULL;
	b = *best;
	*best = b->next;
	pool->n_spares--;
	pool->spare_bytes -= b->cap;
	pool->used = true;
	return b;
}

struct ttrpc__block *ttrpc__block_new(struct ttrpc__pool *pool, size_t len)
{
	struct ttrpc__block *b = take_spare(pool, len);

	if (!b) {
		size_t cap = (len + BLOCK_ROUND - 1) & ~(size_t)(BLOCK_ROUND - 1);

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		b->pool = pool;
	}
	b->ref.refs = 1;
	b->ref.data = b->data;
	b->ref.len = len;
	b->ref.release = block_release;
	b->next = NULL;
	pool->refs++;
	return b;
}

/* ---- lent memory ---- */

static void lent_release(struct ttrpc__ref *ref)
{
	struct ttrpc__lent *l = (struct ttrpc__lent *)((uint8_t *)ref -
						       offsetof(struct ttrpc__lent, ref));

	l->release(l->userdata);
	free(l);
}

int ttrpc__lend(struct ttrpc__lent **list, const void *data, size_t len, ttrpc_release_fn release,
		void *userdata)
{
	struct ttrpc__lent *l = malloc(sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->ref.refs = 1;
	l->ref.data = data;
	l->ref.len = len;
	l->ref.release = lent_release;
	l->release = release;
	l->userdata = userdata;
	l->next = *list;
	*list = l;
	return 0;
}

struct ttrpc__ref *ttrpc__lent_find(struct ttrpc__lent *list, const uint8_t *p, size_t len)
{
	for (; list; list = list->next)
		if (ttrpc__ref_holds(&list->ref, p, len))
			return &list->ref;
	return NULL;
}

int ttrpc__unlend(struct ttrpc__lent **list, const void *data)
{
	for (struct ttrpc__lent **p = list; *p; p = &(*p)->next) {
		struct ttrpc__lent *l = *p;

		if (l->ref.data == data) {
			*p = l->next;
			ttrpc__ref_put(&l->ref);
			return 0;
		}
	}
	return -ENOENT;
}

void ttrpc__lent_clear(struct ttrpc__lent **list)
{
	while (*list) {
		struct ttrpc__lent *l = *list;

		*list = l->next;
		ttrpc__ref_put(&l->ref);
	}
}
