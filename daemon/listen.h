/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcd's sockets: those it binds, those systemd passes (socket activation
 * and the fd store), and the client connections it hands to the fd store
 * on the way out. Each listener has its own libttrpc server, so that each
 * can admit its own users and groups.
 */
#ifndef TTRPCD_LISTEN_H
#define TTRPCD_LISTEN_H

#include <stdbool.h>

#include <ttrpc/server.h>

#include "daemon/conf.h"

struct event_base;
struct ttrpcd_listeners;
struct ttrpcd_notify;

/*
 * Sets up a new server before it serves anything: log, limits, services.
 * Return 0 or a negative errno.
 */
typedef int (*ttrpcd_prepare_fn)(struct ttrpc_server *srv, void *userdata);

/* The fds the service manager passed in $LISTEN_FDS; opaque. */
struct ttrpcd_inherited;

/*
 * ttrpcd_listen_inherit() - take the fds of $LISTEN_FDS ($LISTEN_PID must
 * be this process) with their $LISTEN_FDNAMES, once, before any module
 * loads; the three variables are removed from the environment and the fds
 * are close-on-exec, so that no child takes them for its own. A bad
 * $LISTEN_FDS is logged and ignored.
 *
 * Return: 0 or -ENOMEM; free the set with ttrpcd_inherited_free().
 */
int ttrpcd_listen_inherit(struct ttrpcd_inherited **ret);

/* ttrpcd_inherited_free() - close the fds nobody took; NULL is accepted. */
void ttrpcd_inherited_free(struct ttrpcd_inherited *set);

/*
 * ttrpcd_listen_open() - make every listener of @cfg serve.
 *
 * Inherited fds (@inherited) come first: a listening socket named like a
 * listener of @cfg is adopted for it (never unlinked); an unnamed one is
 * served with default settings; "conn.NAME" is a client connection stored
 * by the previous process, served by listener NAME; anything else is
 * logged, and closed by ttrpcd_inherited_free(). A configured listener with
 * a path that was not inherited is bound here (a stale socket file is
 * replaced), chmod'ed and chown'ed, and handed to @notify's fd store. The
 * built-in default listener is not bound when sockets were inherited.
 * The limits of @cfg apply before any stored connection is served.
 * @notify: borrowed for the life of the listeners.
 * @prepare: called once per server before it gets any socket.
 *
 * Return: 0, or the first error (logged, naming the listener).
 */
int ttrpcd_listen_open(struct event_base *base, const struct ttrpcd_config *cfg,
		       struct ttrpcd_inherited *inherited, struct ttrpcd_notify *notify,
		       ttrpcd_prepare_fn prepare, void *userdata, struct ttrpcd_listeners **ret);

/*
 * ttrpcd_listen_publish() - serve a service on every server, for a module
 * loaded by a reload (a server made later gets it from its prepare).
 * @name: copied. @methods, @userdata: borrowed until it is retired.
 *
 * Return: 0, or the error of ttrpc_server_register() (then no server serves it).
 */
int ttrpcd_listen_publish(struct ttrpcd_listeners *ls, const char *name,
			  const struct ttrpc_method *methods, void *userdata);

/* ttrpcd_listen_unpublish() - take back a service no call has reached yet. */
void ttrpcd_listen_unpublish(struct ttrpcd_listeners *ls, const char *name);

/*
 * ttrpcd_listen_retire() - stop serving a service on every server, and be
 * told by each once no call of it is left there (ttrpc_server_retire());
 * calls still unanswered after @timeout_ms (0: never) are cancelled.
 * @done: called once per server, from the loop.
 *
 * Return: how many servers will call @done, or -ENOMEM when one could not
 * retire it (it stopped serving it all the same, but cannot tell when its
 * calls are over).
 */
int ttrpcd_listen_retire(struct ttrpcd_listeners *ls, const char *name, unsigned timeout_ms,
			 ttrpc_retired_fn done, void *userdata);

/* ttrpcd_listen_set_limits() - apply @limits to every server. Return: 0 or -EINVAL. */
int ttrpcd_listen_set_limits(struct ttrpcd_listeners *ls, const struct ttrpcd_limits *limits);

/*
 * ttrpcd_listen_set_log_level() - the highest level of libttrpc's lines
 * (enum ttrpc_log_level) on every server; new servers take ttrpcd's own.
 */
void ttrpcd_listen_set_log_level(struct ttrpcd_listeners *ls, int level);

/*
 * ttrpcd_listen_foreach_call() - visit the calls in flight of every server
 * (ttrpc_server_foreach_call()), until @fn returns false.
 */
void ttrpcd_listen_foreach_call(const struct ttrpcd_listeners *ls, ttrpc_call_visit_fn fn,
				void *userdata);

/* ttrpcd_listen_stats() - the counters of every server, summed. */
void ttrpcd_listen_stats(const struct ttrpcd_listeners *ls, struct ttrpc_server_stats *sum);

/* Called once when every server has shut down; @drained: no call was cut off. */
typedef void (*ttrpcd_drained_fn)(bool drained, void *userdata);

/*
 * ttrpcd_listen_shutdown() - stop accepting, let calls in flight finish for
 * up to @timeout_ms (0: forever), and, while a service manager listens
 * (ttrpcd_notify_managed()), hand every connection that becomes idle to its
 * fd store as "conn.NAME".
 *
 * Return: 0 or a negative errno (then @done is not called).
 */
int ttrpcd_listen_shutdown(struct ttrpcd_listeners *ls, unsigned timeout_ms, ttrpcd_drained_fn done,
			   void *userdata);

/*
 * ttrpcd_listen_free() - free the servers. A socket path ttrpcd bound is
 * unlinked unless its fd went to the fd store, which keeps it serving for
 * the next start. NULL is accepted.
 */
void ttrpcd_listen_free(struct ttrpcd_listeners *ls);

#endif
