/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A ring of the last exits nobody claimed, oldest first. A handful are
 * kept at any time (containers' inits and exec'd processes, between their
 * exit and their module's question), so a linear search is enough.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/exits.h"

struct exit_entry {
	pid_t pid; /* 0: a free slot */
	int wstatus;
	uint64_t at_ms;
};

struct ttrpcd_exits {
	struct exit_entry *v;
	size_t capacity;
	size_t head; /* the oldest entry */
	size_t n;
	uint64_t max_age_ms;
};

int ttrpcd_exits_new(size_t capacity, uint64_t max_age_ms, struct ttrpcd_exits **ret)
{
	struct ttrpcd_exits *ex;

	if (capacity == 0)
		return -EINVAL;
	ex = calloc(1, sizeof(*ex));
	if (!ex || !(ex->v = calloc(capacity, sizeof(*ex->v)))) {
		free(ex);
		return -ENOMEM;
	}
	ex->capacity = capacity;
	ex->max_age_ms = max_age_ms;
	*ret = ex;
	return 0;
}

void ttrpcd_exits_free(struct ttrpcd_exits *ex)
{
	if (!ex)
		return;
	free(ex->v);
	free(ex);
}

static struct exit_entry *at(const struct ttrpcd_exits *ex, size_t i)
{
	return &ex->v[(ex->head + i) % ex->capacity];
}

static bool expired(const struct ttrpcd_exits *ex, const struct exit_entry *e, uint64_t now_ms)
{
	return now_ms > e->at_ms && now_ms - e->at_ms > ex->max_age_ms;
}

/* Free the slots the oldest entries leave, taken or expired. */
static void trim(struct ttrpcd_exits *ex, uint64_t now_ms)
{
	while (ex->n > 0 && (at(ex, 0)->pid == 0 || expired(ex, at(ex, 0), now_ms))) {
		at(ex, 0)->pid = 0;
		ex->head = (ex->head + 1) % ex->capacity;
		ex->n--;
	}
}

void ttrpcd_exits_forget(struct ttrpcd_exits *ex, pid_t pid)
{
	for (size_t i = 0; i < ex->n; i++)
		if (at(ex, i)->pid == pid)
			at(ex, i)->pid = 0;
}

/* Close the holes that taken entries left, keeping the order. */
static void compact(struct ttrpcd_exits *ex)
{
	size_t j = 0;

	for (size_t i = 0; i < ex->n; i++)
		if (at(ex, i)->pid != 0)
			*at(ex, j++) = *at(ex, i);
	for (size_t i = j; i < ex->n; i++)
		at(ex, i)->pid = 0;
	ex->n = j;
}

void ttrpcd_exits_add(struct ttrpcd_exits *ex, pid_t pid, int wstatus, uint64_t now_ms)
{
	ttrpcd_exits_forget(ex, pid);
	trim(ex, now_ms);
	if (ex->n == ex->capacity)
		compact(ex);
	if (ex->n == ex->capacity) {
		ex->head = (ex->head + 1) % ex->capacity;
		ex->n--;
	}
	*at(ex, ex->n++) = (struct exit_entry){ .pid = pid, .wstatus = wstatus, .at_ms = now_ms };
}

bool ttrpcd_exits_take(struct ttrpcd_exits *ex, pid_t pid, uint64_t now_ms, int *wstatus)
{
	trim(ex, now_ms);
	for (size_t i = 0; i < ex->n; i++) {
		struct exit_entry *e = at(ex, i);

		if (e->pid == pid && !expired(ex, e, now_ms)) {
			*wstatus = e->wstatus;
			e->pid = 0;
			trim(ex, now_ms);
			return true;
		}
	}
	return false;
}

size_t ttrpcd_exits_count(const struct ttrpcd_exits *ex, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < ex->n; i++)
		n += at(ex, i)->pid != 0 && !expired(ex, at(ex, i), now_ms);
	return n;
}
