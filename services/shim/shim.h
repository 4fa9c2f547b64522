/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the files of the shim module share: its host, loop and settings,
 * the task it serves, its event publisher, and its log.
 */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <stdbool.h>
#include <sys/types.h>

#include <ttrpc/common.h>

struct ttrpcd_host;
struct event_base;
struct shim_events;
struct task;

/* The module's state: one per ttrpcd, the launcher starts one per task. */
struct shim {
	struct ttrpcd_host *host;
	struct event_base *base;
	/* Settings: namespace, id, ttrpc-address, socket, runc, runc-root. */
	const char *ns, *id, *ttrpc_address, *socket, *runc, *runc_root;
	struct task *task;
	struct shim_events *events;
	/* Shutdown asked: the daemon stops once the events are out. */
	bool exiting;
	struct event *exit_timer;
};

extern struct shim shim;

/* shim_log() - one line of the module's log (the daemon's, tagged "shim"). */
void shim_log(int level, const char *fmt, ...) TTRPC_PRINTF(2, 3);

/* shim_exit_status() - a wait status as the Go shim reports it: the code, or 128 + signal. */
int shim_exit_status(int wstatus);

#endif
