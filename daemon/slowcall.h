/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calls that hang are logged: once, when a unary call has been in flight
 * for [ttrpcd] slow-call, with its method, its peer, and whether its
 * handler still holds it although it was cancelled (its deadline passed,
 * or its client left). Streams are left out: they last as long as their
 * clients want.
 */
#ifndef TTRPCD_SLOWCALL_H
#define TTRPCD_SLOWCALL_H

struct event_base;
struct ttrpcd_listeners;
struct ttrpcd_slowcall;

/*
 * ttrpcd_slowcall_new() - watch the calls of every server of @ls; idle
 * until ttrpcd_slowcall_set() gives it a threshold.
 * @base, @ls: borrowed; they must outlive the watch.
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_slowcall_new(struct event_base *base, const struct ttrpcd_listeners *ls,
			struct ttrpcd_slowcall **ret);

/*
 * ttrpcd_slowcall_set() - log the unary calls in flight for @threshold_ms
 * from now on (0: none). A call is logged by the scan during which its age
 * passed the threshold, so each is logged once, within a quarter of the
 * threshold (a second at most) after it passed. Called again (a reload),
 * the scans go on from the last one: a call whose age passed a new, lower
 * threshold before it is not logged.
 *
 * Return: 0 or -ENOMEM (then nothing is logged).
 */
int ttrpcd_slowcall_set(struct ttrpcd_slowcall *w, unsigned threshold_ms);

/* ttrpcd_slowcall_free() - stop watching. NULL is accepted. */
void ttrpcd_slowcall_free(struct ttrpcd_slowcall *w);

#endif
