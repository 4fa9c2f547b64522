/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sd_notify(3) messages. unset_environment is always 0: later messages
 * (WATCHDOG, STOPPING) need $NOTIFY_SOCKET still set.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon/log.h"
#include "daemon/notify.h"

struct ttrpcd_notify {
	struct event *status_timer;
	struct event *watchdog_timer;
	ttrpcd_status_fn status;
	void *userdata;
	char last[256]; /* the last status line sent */
};

static void send_status(struct ttrpcd_notify *n, const char *prefix)
{
	char line[256];

	n->status(line, sizeof(line), n->userdata);
	if (!prefix && strcmp(line, n->last) == 0)
		return;
	snprintf(n->last, sizeof(n->last), "%s", line);
	sd_notifyf(0, "%sSTATUS=%s", prefix ? prefix : "", line);
}

static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
	send_status(arg, NULL);
}

static void on_watchdog_timer(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

int ttrpcd_notify_start(struct event_base *base, ttrpcd_status_fn status, void *userdata,
			struct ttrpcd_notify **ret)
{
	struct ttrpcd_notify *n = calloc(1, sizeof(*n));
	struct timeval second = { .tv_sec = 1 };
	uint64_t usec = 0;

	if (!n)
		return -ENOMEM;
	n->status = status;
	n->userdata = userdata;
	n->status_timer = event_new(base, -1, EV_PERSIST, on_status_timer, n);
	if (!n->status_timer || event_add(n->status_timer, &second) < 0)
		goto fail;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		struct timeval half = { .tv_sec = (time_t)(usec / 2 / 1000000),
					.tv_usec = (suseconds_t)(usec / 2 % 1000000) };

		n->watchdog_timer = event_new(base, -1, EV_PERSIST, on_watchdog_timer, n);
		if (!n->watchdog_timer || event_add(n->watchdog_timer, &half) < 0)
			goto fail;
		ttrpcd_log(TTRPC_LOG_DEBUG, "watchdog: pinging every %llu ms",
			   (unsigned long long)(usec / 2000));
	}
	*ret = n;
	return 0;
fail:
	ttrpcd_notify_free(n);
	return -ENOMEM;
}

void ttrpcd_notify_free(struct ttrpcd_notify *n)
{
	if (!n)
		return;
	if (n->status_timer)
		event_free(n->status_timer);
	if (n->watchdog_timer)
		event_free(n->watchdog_timer);
	free(n);
}

void ttrpcd_notify_ready(struct ttrpcd_notify *n, const char *text)
{
	if (text)
		sd_notifyf(0, "READY=1\nSTATUS=%s", text);
	else
		send_status(n, "READY=1\n");
}

void ttrpcd_notify_reloading(struct ttrpcd_notify *n)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ull +
			   (unsigned long long)ts.tv_nsec / 1000);
}

void ttrpcd_notify_status(struct ttrpcd_notify *n, const char *text)
{
	sd_notifyf(0, "STATUS=%s", text);
}

void ttrpcd_notify_stopping(struct ttrpcd_notify *n, const char *text)
{
	sd_notifyf(0, "STOPPING=1\nSTATUS=%s", text);
}

int ttrpcd_notify_fdstore(int fd, const char *name)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	return sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
}
