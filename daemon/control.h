/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's built-in control service, ttrpcd.v1.Control
 * (daemon/control/control.proto): List the modules and services, Stats of
 * every method and of the oldest calls in flight, Reload. It is served on every listener, but each call is
 * checked against the [control] allow-lists, so that the other services of
 * a listener stay open to everyone the listener admits.
 */
#ifndef TTRPCD_CONTROL_H
#define TTRPCD_CONTROL_H

#include <ttrpc/server.h>

#include "daemon/conf.h"
#include "daemon/modules.h"

struct ttrpcd_control;

/* What the control service asks of the daemon; both run on the loop. */
struct ttrpcd_control_ops {
	/* The counters of every server, summed. */
	void (*server_stats)(struct ttrpc_server_stats *sum, void *userdata);
	/* Visit the calls in flight of every server (ttrpc_server_foreach_call()). */
	void (*foreach_call)(ttrpc_call_visit_fn fn, void *arg, void *userdata);
	/*
	 * Reload as SIGHUP does. Return 0, or a negative errno with *why a
	 * malloc'd reason (or NULL), which the caller frees.
	 */
	int (*reload)(char **why, void *userdata);
};

/*
 * ttrpcd_control_new() - the control service, added to @modules as a
 * built-in service; call it before the modules load.
 * @cfg: read at every call for its [control] allow-lists, borrowed for the
 *       service's life; the daemon may replace its content on reload.
 * @modules: borrowed; it must outlive the service.
 * @ops: borrowed; @userdata is passed to them.
 *
 * Return: 0, -EEXIST (the name is taken), -ENOMEM.
 */
int ttrpcd_control_new(const struct ttrpcd_config *cfg, struct ttrpcd_modules *modules,
		       const struct ttrpcd_control_ops *ops, void *userdata,
		       struct ttrpcd_control **ret);

/*
 * ttrpcd_control_prepare_server() - add the interceptor that checks the
 * callers of the control service and counts every call of @srv for Stats.
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_control_prepare_server(struct ttrpcd_control *ctl, struct ttrpc_server *srv);

/*
 * ttrpcd_control_services_changed() - a reload loaded or unloaded modules:
 * Stats counts the methods served now, and keeps the counts of those that
 * stay. Call it before the loop runs again.
 */
void ttrpcd_control_services_changed(struct ttrpcd_control *ctl);

/* ttrpcd_control_free() - once the servers are freed. NULL is accepted. */
void ttrpcd_control_free(struct ttrpcd_control *ctl);

#endif
