/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A timer scans the calls in flight of every server a few times per
 * threshold. Each scan logs the calls whose age passed the threshold since
 * the scan before it: the windows follow each other without a gap or an
 * overlap, so every call is logged once, and nothing is kept per call (a
 * call costs the watch nothing until it is slow).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "daemon/duration.h"
#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/slowcall.h"

/* Scans per threshold, and the bounds of their period. */
#define SCANS_PER_THRESHOLD 4
#define MIN_PERIOD_US 10000u
#define MAX_PERIOD_US 1000000u

struct ttrpcd_slowcall {
	const struct ttrpcd_listeners *ls;
	struct event *timer;
	uint64_t threshold_us; /* 0: off */
	uint64_t scanned_us;   /* calls that passed the threshold before this are logged */
};

/* One scan: the window (from, to] in which a call's age passed the threshold. */
struct scan {
	uint64_t threshold_us, from, to;
};

static bool log_if_slow(const struct ttrpc_call *call, void *arg)
{
	const struct scan *sc = arg;
	uint64_t passed = ttrpc_call_arrival(call) + sc->threshold_us;
	const struct ttrpc_peer *peer = ttrpc_call_peer(call);

	if (ttrpc_call_kind(call) != TTRPC_METHOD_UNARY || passed <= sc->from || passed > sc->to)
		return true;
	ttrpcd_log(TTRPC_LOG_NOTICE,
		   "call %s/%s from pid %d uid %u has been in flight for %.1f s (slow-call "
		   "is %.1f s): %s",
		   ttrpc_call_service(call), ttrpc_call_method(call), (int)peer->pid,
		   (unsigned)peer->uid, (double)(sc->to - ttrpc_call_arrival(call)) / 1e6,
		   (double)sc->threshold_us / 1e6,
		   ttrpc_call_is_cancelled(call)
			   ? "its deadline passed or its client left, but its handler still "
			     "holds it"
			   : "its handler has not answered yet");
	return true;
}

static void on_scan(evutil_socket_t fd, short what, void *arg)
{
	struct ttrpcd_slowcall *w = arg;
	struct scan sc = { .threshold_us = w->threshold_us, .from = w->scanned_us };

	sc.to = ttrpcd_now_us();
	w->scanned_us = sc.to;
	ttrpcd_listen_foreach_call(w->ls, log_if_slow, &sc);
}

int ttrpcd_slowcall_new(struct event_base *base, const struct ttrpcd_listeners *ls,
			struct ttrpcd_slowcall **ret)
{
	struct ttrpcd_slowcall *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->ls = ls;
	w->timer = event_new(base, -1, EV_PERSIST, on_scan, w);
	if (!w->timer) {
		free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

int ttrpcd_slowcall_set(struct ttrpcd_slowcall *w, unsigned threshold_ms)
{
	uint64_t period = (uint64_t)threshold_ms * 1000u / SCANS_PER_THRESHOLD;
	struct timeval tv;

	/* Running already (a reload), the windows go on where they were. */
	if (w->threshold_us == 0)
		w->scanned_us = ttrpcd_now_us();
	evtimer_del(w->timer);
	w->threshold_us = (uint64_t)threshold_ms * 1000u;
	if (threshold_ms == 0)
		return 0;
	period = period < MIN_PERIOD_US   ? MIN_PERIOD_US
		 : period > MAX_PERIOD_US ? MAX_PERIOD_US
					  : period;
	tv.tv_sec = (time_t)(period / 1000000u);
	tv.tv_usec = (suseconds_t)(period % 1000000u);
	return evtimer_add(w->timer, &tv) == 0 ? 0 : -ENOMEM;
}

void ttrpcd_slowcall_free(struct ttrpcd_slowcall *w)
{
	if (!w)
		return;
	event_free(w->timer);
	free(w);
}
