/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What ttrpcd tells its service manager through sd_notify(3): readiness,
 * reloads, shutdown, a status line, watchdog pings and fds to keep across a
 * restart, to the address $NOTIFY_SOCKET held at start-up. Without one
 * every message is silently dropped.
 */
#ifndef TTRPCD_NOTIFY_H
#define TTRPCD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct ttrpcd_notify;

/*
 * Writes the current status line (connections, calls, modules) into @buf;
 * called at most once a second.
 */
typedef void (*ttrpcd_status_fn)(char *buf, size_t size, void *userdata);

/*
 * ttrpcd_notify_new() - take what the service manager put in the
 * environment, once, before any module loads: the address of
 * $NOTIFY_SOCKET and the watchdog interval of $WATCHDOG_USEC (when
 * $WATCHDOG_PID is unset or this process). Both variables are removed from
 * the environment, so that no child inherits them and nothing a module
 * does to the environment changes where messages go. Without a manager
 * every message is dropped; an address ttrpcd cannot use is logged.
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_notify_new(struct ttrpcd_notify **ret);

/*
 * ttrpcd_notify_start() - start the once-a-second status refresh, and the
 * watchdog pings at half of the watchdog interval when this process is
 * watched. Both run from the event loop, so a loop that is stuck stops
 * pinging and gets the daemon restarted.
 * @status: called from the loop; @userdata is borrowed.
 *
 * Return: 0 or -ENOMEM (ttrpcd_notify_free() stops what started).
 */
int ttrpcd_notify_start(struct ttrpcd_notify *n, struct event_base *base, ttrpcd_status_fn status,
			void *userdata);

/*
 * ttrpcd_notify_managed() - whether a service manager listens: there is a
 * notify address, and the last message was not refused for want of a
 * receiver (a launcher that waited only for READY=1 and left).
 */
bool ttrpcd_notify_managed(const struct ttrpcd_notify *n);

/* ttrpcd_notify_free() - stop the timers, close the socket; NULL is accepted. */
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
int ttrpcd_notify_fdstore(struct ttrpcd_notify *n, int fd, const char *name);

#endif
