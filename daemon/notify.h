/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What ttrpcd tells its service manager through sd_notify(3): readiness,
 * reloads, shutdown, a status line, watchdog pings and fds to keep across a
 * restart. Without $NOTIFY_SOCKET every message is silently dropped.
 */
#ifndef TTRPCD_NOTIFY_H
#define TTRPCD_NOTIFY_H

#include <stddef.h>

struct event_base;
struct ttrpcd_notify;

/*
 * Writes the current status line (connections, calls, modules) into @buf;
 * called at most once a second.
 */
typedef void (*ttrpcd_status_fn)(char *buf, size_t size, void *userdata);

/*
 * ttrpcd_notify_start() - start the once-a-second status refresh, and the
 * watchdog pings at half of $WATCHDOG_USEC when sd_watchdog_enabled(3) says
 * this process is watched. Both run from the event loop, so a loop that is
 * stuck stops pinging and gets the daemon restarted.
 * @status: called from the loop; @userdata is borrowed.
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_notify_start(struct event_base *base, ttrpcd_status_fn status, void *userdata,
			struct ttrpcd_notify **ret);

/* ttrpcd_notify_free() - stop the timers; NULL is accepted. */
void ttrpcd_notify_free(struct ttrpcd_notify *n);

/*
 * ttrpcd_notify_ready() - READY=1 with STATUS=@text, or with the current
 * status line when @text is NULL.
 */
void ttrpcd_notify_ready(struct ttrpcd_notify *n, const char *text);

/* ttrpcd_notify_reloading() - RELOADING=1 with MONOTONIC_USEC=now. */
void ttrpcd_notify_reloading(struct ttrpcd_notify *n);

/*
 * ttrpcd_notify_status() - STATUS=@text at once; the periodic refresh
 * replaces it only when the counts change.
 */
void ttrpcd_notify_status(struct ttrpcd_notify *n, const char *text);

/* ttrpcd_notify_stopping() - STOPPING=1 with STATUS=@text. */
void ttrpcd_notify_stopping(struct ttrpcd_notify *n, const char *text);

/*
 * ttrpcd_notify_fdstore() - hand a copy of @fd to the service manager's fd
 * store under @name (FDSTORE=1, FDNAME=), to come back in $LISTEN_FDS on
 * the next start. @fd stays the caller's.
 *
 * Return: 1 when sent, 0 without $NOTIFY_SOCKET, or a negative errno.
 */
int ttrpcd_notify_fdstore(int fd, const char *name);

#endif
