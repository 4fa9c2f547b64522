/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "idmap.h"

static size_t slot_of(const struct ttrpc__idmap *m, uint32_t key)
{
	/*
	 * Fibonacci hashing: the top bits of the product depend on every bit of
	 * the key, so ids a peer picks to share their low bits still spread.
	 */
	return (size_t)((uint32_t)(key * 2654435769u) >> m->shift);
}

void ttrpc__idmap_init(struct ttrpc__idmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->shift = 32;
	m->len = 0;
	m->pop_hint = 0;
}

void ttrpc__idmap_clear(struct ttrpc__idmap *m)
{
	free(m->slots);
	ttrpc__idmap_init(m);
}

static int grow(struct ttrpc__idmap *m)
{
	struct ttrpc__idmap old = *m;
	size_t cap = old.cap ? old.cap * 2 : 16;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->shift = 32 - (unsigned)__builtin_ctzl(cap);
	m->len = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			ttrpc__idmap_put(m, old.slots[i].key, old.slots[i].value);
	free(old.slots);
	return 0;
}

int ttrpc__idmap_put(struct ttrpc__idmap *m, uint32_t key, void *value)
{
	size_t i;

	if (key == 0)
		return -EINVAL;
	/* Keep the load factor under 3/4. */
	if ((m->len + 1) * 4 > m->cap * 3) {
		int r = grow(m);

		if (r < 0)
			return r;
	}
	for (i = slot_of(m, key); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return -EEXIST;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->len++;
	return 0;
}

static size_t find(const struct ttrpc__idmap *m, uint32_t key)
{
	if (m->cap == 0 || key == 0)
		return SIZE_MAX;
	for (size_t i = slot_of(m, key); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return i;
	return SIZE_MAX;
}

void *ttrpc__idmap_get(const struct ttrpc__idmap *m, uint32_t key)
{
	size_t i = find(m, key);

	return i == SIZE_MAX ? NULL : m->slots[i].value;
}

static void remove_at(struct ttrpc__idmap *m, size_t i)
{
	size_t mask = m->cap - 1;
	size_t j = i;

	m->slots[i].key = 0;
	m->len--;
	/* Shift back every following entry that the hole would hide. */
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!m->slots[j].key)
			return;
		home = slot_of(m, m->slots[j].key);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = 0;
			i = j;
		}
	}
}

void *ttrpc__idmap_remove(struct ttrpc__idmap *m, uint32_t key)
{
	size_t i = find(m, key);
	void *v;

	if (i == SIZE_MAX)
		return NULL;
	v = m->slots[i].value;
	remove_at(m, i);
	return v;
}

/*
 * Resume where the last pop left off, so that emptying the map costs one
 * sweep, not one per entry. Scanning the whole circle keeps it correct even
 * when a backward shift moved an entry behind the hint.
 */
void *ttrpc__idmap_pop(struct ttrpc__idmap *m)
{
	for (size_t n = 0; n < m->cap && m->len > 0; n++) {
		size_t i = (m->pop_hint + n) & (m->cap - 1);

		if (m->slots[i].key) {
			void *v = m->slots[i].value;

			remove_at(m, i);
			m->pop_hint = i;
			return v;
		}
	}
	return NULL;
}
