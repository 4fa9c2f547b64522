/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exit statuses that the daemon reaped before anyone asked for them: an
 * orphan reparented to the subreaper can exit before the module that will
 * watch it has learnt its pid. Kept for a bounded time and number; the
 * clock is the caller's, so that the bounds can be tested.
 */
#ifndef TTRPCD_EXITS_H
#define TTRPCD_EXITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The bounds ttrpcd uses. */
#define TTRPCD_EXITS_KEPT 256
#define TTRPCD_EXITS_MAX_AGE_MS (60 * 1000)

struct ttrpcd_exits;

/*
 * ttrpcd_exits_new() - an empty record of at most @capacity exits, each
 * kept for at most @max_age_ms.
 *
 * Return: 0, -EINVAL for a capacity of 0, or -ENOMEM.
 */
int ttrpcd_exits_new(size_t capacity, uint64_t max_age_ms, struct ttrpcd_exits **ret);

/* ttrpcd_exits_free() - NULL is accepted. */
void ttrpcd_exits_free(struct ttrpcd_exits *ex);

/*
 * ttrpcd_exits_add() - keep the exit of @pid, reaped at @now_ms. An older
 * exit of the same pid (a pid used again) is replaced; when the record is
 * full, the oldest exit makes room.
 */
void ttrpcd_exits_add(struct ttrpcd_exits *ex, pid_t pid, int wstatus, uint64_t now_ms);

/*
 * ttrpcd_exits_take() - the kept exit of @pid, removed from the record,
 * unless it is older than the maximum age at @now_ms.
 *
 * Return: true with *@wstatus set, or false.
 */
bool ttrpcd_exits_take(struct ttrpcd_exits *ex, pid_t pid, uint64_t now_ms, int *wstatus);

/*
 * ttrpcd_exits_forget() - drop a kept exit of @pid, if any: @pid is a live
 * process again, so what is kept is about an older one.
 */
void ttrpcd_exits_forget(struct ttrpcd_exits *ex, pid_t pid);

/* ttrpcd_exits_count() - how many exits are kept and younger than the maximum age. */
size_t ttrpcd_exits_count(const struct ttrpcd_exits *ex, uint64_t now_ms);

#endif
